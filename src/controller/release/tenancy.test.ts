import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../api/object.ts';
import { TenancyKeys } from '../../api/v1alpha1/constants.ts';
import type { TenantPolicy, TenantPolicySpec } from '../../api/v1alpha1/tenancy.ts';
import {
  admission,
  adoptionAllowed,
  hmacSeal,
  isObservableBy,
  matchesSelector,
  namespaceAccess,
  ownerOf,
  ownershipMarks,
  tenancyOf,
  type Tenancy,
} from './tenancy.ts';

const sealer = hmacSeal(Buffer.alloc(32, 7));
const RESERVED = ['kube-*', 'default'];

function policy(name: string, spec: Partial<TenantPolicySpec>): TenantPolicy {
  return {
    apiVersion: 'openchoreo.dev/v1alpha1',
    kind: 'TenantPolicy',
    metadata: { name },
    spec: { organizations: {}, ...spec },
  };
}

function namespace(
  name: string,
  labels: Record<string, string> = {},
  annotations: Record<string, string> = {},
): KubeObject {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels, annotations } };
}

function sealed(name: string, org: string, cluster = 'c1'): KubeObject {
  const marks = ownershipMarks(cluster, name, org, sealer);
  return namespace(name, marks.labels, marks.annotations);
}

const defaultTenancy: Tenancy = { mode: 'default', organization: 'team-a' };
const cm = (ns: string) => ({ group: '', kind: 'ConfigMap', namespace: ns, namespaced: true });

describe('tenancyOf', () => {
  test('no policy selects the organization: the safe default', () => {
    assert.deepEqual(
      tenancyOf('team-a', {}, [policy('p', { organizations: { names: ['team-b'] } })]),
      defaultTenancy,
    );
  });
  test('a policy selects by name or by namespace labels', () => {
    const byName = tenancyOf('team-a', {}, [policy('p', { organizations: { names: ['team-a'] } })]);
    assert.equal(byName.mode, 'policy');
    const byLabel = tenancyOf('team-a', { tier: 'gold' }, [
      policy('gold', { organizations: { namespaceSelector: { matchLabels: { tier: 'gold' } } } }),
    ]);
    assert.equal(byLabel.mode === 'policy' && byLabel.policy, 'gold');
  });
  test('two policies selecting one organization is a conflict naming both', () => {
    const t = tenancyOf('team-a', {}, [
      policy('b', { organizations: { namespaceSelector: {} } }),
      policy('a', { organizations: { names: ['team-a'] } }),
    ]);
    assert.deepEqual(t, { mode: 'conflict', organization: 'team-a', policies: ['a', 'b'] });
    assert.match(admission(t, cm('x'), RESERVED) ?? '', /TenantPolicies a, b all select organization team-a/);
  });
  test('label selector expressions', () => {
    const labels = { env: 'prod', team: 'a' };
    assert.ok(
      matchesSelector({ matchExpressions: [{ key: 'env', operator: 'In', values: ['prod'] }] }, labels),
      'In',
    );
    assert.ok(
      !matchesSelector({ matchExpressions: [{ key: 'env', operator: 'NotIn', values: ['prod'] }] }, labels),
      'NotIn',
    );
    assert.ok(
      matchesSelector({ matchExpressions: [{ key: 'x', operator: 'DoesNotExist' }] }, labels),
      'DoesNotExist',
    );
    assert.ok(!matchesSelector({ matchExpressions: [{ key: 'x', operator: 'Exists' }] }, labels), 'selector');
    assert.ok(matchesSelector({}, labels), 'an empty selector selects everything');
  });
});

describe('admission', () => {
  test('the safe default: namespaced objects and Namespaces, nothing else cluster-scoped, no reserved namespace', () => {
    assert.equal(admission(defaultTenancy, cm('team-a-web'), RESERVED), undefined);
    assert.equal(
      admission(
        defaultTenancy,
        { group: '', kind: 'Namespace', namespace: 'team-a-web', namespaced: false },
        RESERVED,
      ),
      undefined,
    );
    assert.match(
      admission(
        defaultTenancy,
        { group: 'rbac.authorization.k8s.io', kind: 'ClusterRoleBinding', namespace: '', namespaced: false },
        RESERVED,
      ) ?? '',
      /cluster-scoped kind rbac.authorization.k8s.io\/ClusterRoleBinding is not allowed by the safe default/,
    );
    assert.match(
      admission(defaultTenancy, cm('kube-system'), RESERVED) ?? '',
      /namespace kube-system is reserved/,
    );
    assert.match(admission(defaultTenancy, cm('default'), RESERVED) ?? '', /reserved/);
  });
  test('a policy lists cluster-scoped kinds and namespaces, with the organization placeholder', () => {
    const t = tenancyOf('team-a', {}, [
      policy('p', {
        organizations: { names: ['team-a'] },
        clusterScopedKinds: ['rbac.authorization.k8s.io/ClusterRole'],
        namespaces: { allow: ['{organization}-*'], deny: ['{organization}-secret'] },
        kinds: { deny: ['core/Secret'] },
      }),
    ]);
    assert.equal(
      admission(
        t,
        { group: 'rbac.authorization.k8s.io', kind: 'ClusterRole', namespace: '', namespaced: false },
        RESERVED,
      ),
      undefined,
    );
    assert.match(
      admission(
        t,
        { group: 'scheduling.k8s.io', kind: 'PriorityClass', namespace: '', namespaced: false },
        RESERVED,
      ) ?? '',
      /PriorityClass is not allowed by TenantPolicy p \(spec.clusterScopedKinds\)/,
    );
    assert.match(
      admission(t, cm('team-a-secret'), RESERVED) ?? '',
      /denied by TenantPolicy p \(spec.namespaces.deny\)/,
    );
    assert.match(
      admission(t, { group: '', kind: 'Secret', namespace: 'team-a-x', namespaced: true }, RESERVED) ?? '',
      /kind core\/Secret is denied/,
    );
  });
  test('a reserved namespace is granted only by name, never by a pattern', () => {
    const star = tenancyOf('o', {}, [
      policy('p', { organizations: { names: ['o'] }, namespaces: { allow: ['*'] } }),
    ]);
    assert.match(admission(star, cm('kube-system'), RESERVED) ?? '', /reserved/);
    const named = tenancyOf('o', {}, [
      policy('p', { organizations: { names: ['o'] }, namespaces: { allow: ['kube-system'] } }),
    ]);
    assert.equal(admission(named, cm('kube-system'), RESERVED), undefined);
  });
  test('single-tenant admits everything', () => {
    assert.equal(admission({ mode: 'single-tenant' }, cm('kube-system'), RESERVED), undefined);
  });
});

describe('namespace ownership', () => {
  test('a sealed namespace belongs to its organization on its cluster only', () => {
    assert.equal(ownerOf(sealed('web', 'team-a'), 'c1', sealer), 'team-a');
    assert.equal(
      ownerOf(sealed('web', 'team-a', 'c2'), 'c1', sealer),
      undefined,
      'a seal copied from another cluster',
    );
  });
  test('a relabelled namespace is nobody’s: the seal does not follow the label', () => {
    const stolen = sealed('web', 'team-a');
    stolen.metadata.labels = { [TenancyKeys.organization]: 'team-b' };
    assert.equal(ownerOf(stolen, 'c1', sealer), undefined);
    const copied = sealed('web', 'team-a');
    copied.metadata.name = 'other';
    assert.equal(ownerOf(copied, 'c1', sealer), undefined, 'a seal copied onto another namespace');
  });
  test('another key cannot seal', () => {
    const forged = ownershipMarks('c1', 'web', 'team-b', hmacSeal(Buffer.alloc(32, 1)));
    assert.equal(ownerOf(namespace('web', forged.labels, forged.annotations), 'c1', sealer), undefined);
  });
  test('access: own, just created, missing are fine; foreign and unowned are refused', () => {
    assert.equal(
      namespaceAccess(defaultTenancy, 'web', { created: false, live: sealed('web', 'team-a') }, 'c1', sealer),
      undefined,
    );
    assert.equal(namespaceAccess(defaultTenancy, 'web', { created: true }, 'c1', sealer), undefined);
    assert.equal(namespaceAccess(defaultTenancy, 'web', { created: false }, 'c1', sealer), undefined);
    assert.match(
      namespaceAccess(
        defaultTenancy,
        'web',
        { created: false, live: sealed('web', 'team-b') },
        'c1',
        sealer,
      ) ?? '',
      /belongs to another organization/,
    );
    assert.match(
      namespaceAccess(
        defaultTenancy,
        'legacy',
        { created: false, live: namespace('legacy') },
        'c1',
        sealer,
      ) ?? '',
      /already exists on the data plane and was not created for organization team-a/,
    );
  });
  test('an unowned namespace is granted by a policy pattern, another organization’s never', () => {
    const t = tenancyOf('team-a', {}, [
      policy('p', { organizations: { names: ['team-a'] }, namespaces: { allow: ['shared-*'] } }),
    ]);
    assert.equal(
      namespaceAccess(t, 'shared-1', { created: false, live: namespace('shared-1') }, 'c1', sealer),
      undefined,
    );
    assert.match(
      namespaceAccess(t, 'shared-2', { created: false, live: sealed('shared-2', 'team-b') }, 'c1', sealer) ??
        '',
      /another organization/,
    );
  });
});

describe('adoption and observation', () => {
  test('adoption only where a policy grants it, or single-tenant', () => {
    assert.equal(adoptionAllowed(defaultTenancy), false);
    assert.equal(
      adoptionAllowed(tenancyOf('o', {}, [policy('p', { organizations: { names: ['o'] } })])),
      false,
    );
    assert.equal(
      adoptionAllowed(
        tenancyOf('o', {}, [policy('p', { organizations: { names: ['o'] }, adoption: 'Allowed' })]),
      ),
      true,
    );
    assert.equal(adoptionAllowed({ mode: 'single-tenant' }), true);
  });
  test('an object opts in to be observed by one organization with a label', () => {
    const pod: KubeObject = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p', labels: { [`${TenancyKeys.observablePrefix}team-a`]: 'true' } },
    };
    assert.ok(isObservableBy(pod, 'team-a'), 'the organization named by the label');
    assert.ok(!isObservableBy(pod, 'team-b'), 'another organization');
  });
});
