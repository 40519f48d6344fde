/**
 * Tenancy on one shared data plane (docs/tenancy.md), the controller in its default mode
 * (multi-tenant): three organizations, one restricted by an operator's TenantPolicy, one with no
 * policy (the safe default), one hostile. Each test is one attack of the issue "Tenancy", tried as
 * the hostile tenant would, and what the victim and the data plane look like afterwards.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../src/api/object.ts';
import { API_VERSION, TenancyKeys } from '../../src/api/v1alpha1/constants.ts';
import type { Release, ReleaseResource } from '../../src/api/v1alpha1/schema.ts';
import { eventually } from '../support/eventually.ts';
import {
  condition,
  configMap,
  createOrg,
  dataPlaneObject,
  environmentObject,
  getRelease,
  releaseObject,
  uniqueName,
  waitReady,
  type Org,
} from '../support/fixtures.ts';
import { integrationSuite } from '../support/suite.ts';

const FAST = { interval: '1s', progressingInterval: '1s' };
type ConfigMap = KubeObject & { data?: Record<string, string> };

function resource(id: string, object: Record<string, unknown>): ReleaseResource {
  return { id, object };
}

/** refusal waits until a resource of a Release is refused (NotAllowed) and returns its message. */
async function refusal(
  cp: Parameters<typeof getRelease>[0],
  org: Org,
  name: string,
  id: string,
  pattern: RegExp,
): Promise<Release> {
  return eventually(
    async () => {
      const r = await getRelease(cp, org.namespace, name);
      const entry = r?.status?.resources?.find((e) => e.id === id);
      assert.equal(entry?.healthReason ?? condition(r, 'ResourcesApplied')?.reason, 'NotAllowed');
      assert.match(entry?.message ?? '', pattern);
      return r!;
    },
    { timeoutMs: 30_000, description: `resource "${id}" of Release ${name} to be refused` },
  );
}

describe('tenancy: organizations on a shared data plane', () => {
  const suite = integrationSuite({ org: false, controllerArgs: ['--single-tenant=false'] });
  let restricted: Org;
  let open: Org;
  let hostile: Org;
  const policyName = uniqueName('tp');

  before(async () => {
    const { cp, dataPlane } = suite;
    [restricted, open, hostile] = await Promise.all([
      createOrg(cp, dataPlane),
      createOrg(cp, dataPlane),
      createOrg(cp, dataPlane),
    ]);
    await cp.apply({
      apiVersion: API_VERSION,
      kind: 'TenantPolicy',
      metadata: { name: policyName },
      spec: {
        organizations: { names: [restricted.namespace] },
        namespaces: { allow: ['{organization}-*'] },
        clusterScopedKinds: [],
        adoption: 'Forbidden',
      },
    });
  });

  after(async () => {
    await suite.cp.delete(API_VERSION, 'TenantPolicy', undefined, policyName).catch(() => undefined);
  });

  test('the safe default: an organization writes into a namespace created for it, and its Namespace is sealed', async () => {
    const { cp, dp } = suite;
    const ns = uniqueName('open-app');
    const name = uniqueName('rel');
    await cp.create(releaseObject(open, name, [configMap('cm', ns, 'app')], FAST));
    await waitReady(cp, open, name);
    const namespace = await dp.get('v1', 'Namespace', undefined, ns);
    assert.equal(
      namespace?.metadata.labels?.[TenancyKeys.organization],
      open.namespace,
      'owned by the organization',
    );
    assert.ok(namespace?.metadata.annotations?.[TenancyKeys.organizationSeal], 'sealed');
  });

  test('kube-system/coredns cannot be adopted, rewritten or deleted by default', async () => {
    const { cp, dp } = suite;
    await dp.apply(
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'coredns', namespace: 'kube-system' },
        data: { Corefile: '.:53' },
      },
      'kubeadm',
    );
    const name = uniqueName('rel');
    await cp.create(
      releaseObject(
        hostile,
        name,
        [
          resource('coredns', {
            apiVersion: 'v1',
            kind: 'ConfigMap',
            metadata: {
              name: 'coredns',
              namespace: 'kube-system',
              annotations: { 'openchoreo.dev/adopt': 'delete' },
            },
            data: { Corefile: 'hijacked' },
          }),
        ],
        FAST,
      ),
    );
    await refusal(cp, hostile, name, 'coredns', /namespace kube-system is reserved/);
    // Dropped from the spec: nothing to delete, it was never ours.
    await cp.patch(API_VERSION, 'Release', hostile.namespace, name, { spec: { resources: [] } });
    await eventually(async () => {
      const r = await getRelease(cp, hostile.namespace, name);
      assert.equal(condition(r, 'Ready')?.status, 'True');
    });
    const coredns = await dp.get<ConfigMap>('v1', 'ConfigMap', 'kube-system', 'coredns');
    assert.equal(coredns?.data?.['Corefile'], '.:53', 'untouched');
    assert.ok(!coredns?.metadata.deletionTimestamp, 'not deleted');
  });

  test('a cluster-admin binding is refused, through a second DataPlane on the same Secret too', async () => {
    const { cp, dp, dataPlane } = suite;
    const binding = (bindingName: string) =>
      resource('admin', {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRoleBinding',
        metadata: { name: bindingName },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
        subjects: [{ kind: 'User', name: 'mallory', apiGroup: 'rbac.authorization.k8s.io' }],
      });
    const first = uniqueName('crb');
    const name = uniqueName('rel');
    await cp.create(releaseObject(hostile, name, [binding(first)], FAST));
    await refusal(
      cp,
      hostile,
      name,
      'admin',
      /cluster-scoped kind rbac.authorization.k8s.io\/ClusterRoleBinding is not allowed/,
    );

    // A second DataPlane naming the same kubeconfig Secret, with no resourcePolicy: the organization is confined the same.
    await cp.create(
      dataPlaneObject(hostile.namespace, 'second', dataPlane, 'secret', `${hostile.dataPlane}-kubeconfig`),
    );
    await cp.create(environmentObject(hostile.namespace, 'second-env', 'second'));
    const second = uniqueName('crb');
    const name2 = uniqueName('rel');
    await cp.create(
      releaseObject(
        { namespace: hostile.namespace, environment: 'second-env' },
        name2,
        [binding(second)],
        FAST,
      ),
    );
    await refusal(
      cp,
      { ...hostile, environment: 'second-env' },
      name2,
      'admin',
      /ClusterRoleBinding is not allowed/,
    );
    for (const n of [first, second])
      assert.equal(
        await dp.get('rbac.authorization.k8s.io/v1', 'ClusterRoleBinding', undefined, n),
        undefined,
        `${n} not created`,
      );
  });

  test("another organization's namespace: no object goes in, its Namespace is neither relabelled nor given owner references", async () => {
    const { cp, dp } = suite;
    const victimNs = `${restricted.namespace}-app`;
    const victim = uniqueName('rel');
    await cp.create(
      releaseObject(restricted, victim, [configMap('cm', victimNs, 'app', { owner: 'victim' })], FAST),
    );
    await waitReady(cp, restricted, victim);
    const before = await dp.get('v1', 'Namespace', undefined, victimNs);

    const name = uniqueName('rel');
    await cp.create(
      releaseObject(
        hostile,
        name,
        [
          resource('ns', {
            apiVersion: 'v1',
            kind: 'Namespace',
            metadata: {
              name: victimNs,
              labels: {
                'pod-security.kubernetes.io/enforce': 'privileged',
                [TenancyKeys.organization]: hostile.namespace,
              },
              ownerReferences: [
                {
                  apiVersion: 'v1',
                  kind: 'ConfigMap',
                  name: 'x',
                  uid: '00000000-0000-0000-0000-000000000000',
                },
              ],
            },
          }),
          configMap('cm', victimNs, 'app', { owner: 'hostile' }),
          configMap('planted', victimNs, 'planted'),
        ],
        FAST,
      ),
    );
    await refusal(cp, hostile, name, 'ns', /belongs to another organization/);
    await refusal(cp, hostile, name, 'planted', /belongs to another organization/);
    const after = await dp.get('v1', 'Namespace', undefined, victimNs);
    assert.deepEqual(after?.metadata.labels, before?.metadata.labels, 'labels unchanged');
    assert.equal(after?.metadata.ownerReferences, undefined, 'no owner references');
    assert.equal((await dp.get<ConfigMap>('v1', 'ConfigMap', victimNs, 'app'))?.data?.['owner'], 'victim');
    assert.equal(await dp.get('v1', 'ConfigMap', victimNs, 'planted'), undefined, 'nothing planted');
    await waitReady(cp, restricted, victim);
  });

  test('a namespace that exists and nobody owns is not written into, nor its PSA label changed', async () => {
    const { cp, dp } = suite;
    const ns = uniqueName('platform');
    await dp.ensureNamespace(ns, { 'pod-security.kubernetes.io/enforce': 'restricted' });
    const name = uniqueName('rel');
    await cp.create(
      releaseObject(
        open,
        name,
        [
          resource('ns', {
            apiVersion: 'v1',
            kind: 'Namespace',
            metadata: { name: ns, labels: { 'pod-security.kubernetes.io/enforce': 'privileged' } },
          }),
          configMap('cm', ns, 'cm'),
        ],
        FAST,
      ),
    );
    await refusal(
      cp,
      open,
      name,
      'ns',
      new RegExp(
        `namespace ${ns} already exists on the data plane and was not created for organization ${open.namespace}`,
      ),
    );
    await refusal(cp, open, name, 'cm', /not the organization's to write into/);
    const live = await dp.get('v1', 'Namespace', undefined, ns);
    assert.equal(live?.metadata.labels?.['pod-security.kubernetes.io/enforce'], 'restricted');
    assert.equal(await dp.get('v1', 'ConfigMap', ns, 'cm'), undefined);
  });

  test("an organization's own existing Namespace is left as it is: its PSA label cannot be switched", async () => {
    const { cp, dp } = suite;
    const ns = `${restricted.namespace}-psa`;
    const first = uniqueName('rel');
    await cp.create(releaseObject(restricted, first, [configMap('cm', ns, 'cm')], FAST));
    await waitReady(cp, restricted, first);
    // The operator sets a PSA level on the organization's namespace.
    await dp.patch('v1', 'Namespace', undefined, ns, {
      metadata: { labels: { 'pod-security.kubernetes.io/enforce': 'baseline' } },
    });
    const name = uniqueName('rel');
    await cp.create(
      releaseObject(
        restricted,
        name,
        [
          resource('ns', {
            apiVersion: 'v1',
            kind: 'Namespace',
            metadata: { name: ns, labels: { 'pod-security.kubernetes.io/enforce': 'privileged' } },
          }),
        ],
        FAST,
      ),
    );
    const r = await waitReady(cp, restricted, name);
    assert.equal(r.status?.resources?.[0]?.healthStatus, 'Healthy', 'reported as it is');
    const live = await dp.get('v1', 'Namespace', undefined, ns);
    assert.equal(live?.metadata.labels?.['pod-security.kubernetes.io/enforce'], 'baseline');
    const managers = (live?.metadata.managedFields ?? []).map((m) => `${m.manager}/${m.operation}`);
    assert.ok(
      !managers.includes('release-controller/Apply'),
      `nothing applied to it: ${managers.join(', ')}`,
    );
  });

  test('a policy confines namespaces and cluster-scoped kinds: no squatting, no globalDefault PriorityClass', async () => {
    const { cp, dp } = suite;
    const squat = uniqueName('payments');
    const pc = uniqueName('pc');
    const name = uniqueName('rel');
    await cp.create(
      releaseObject(
        restricted,
        name,
        [
          configMap('squat', squat, 'cm'),
          resource('pc', {
            apiVersion: 'scheduling.k8s.io/v1',
            kind: 'PriorityClass',
            metadata: { name: pc },
            value: 1000000,
            globalDefault: true,
          }),
          configMap('ok', `${restricted.namespace}-ok`, 'cm'),
        ],
        FAST,
      ),
    );
    await refusal(
      cp,
      restricted,
      name,
      'squat',
      new RegExp(`TenantPolicy ${policyName} \\(spec.namespaces.allow\\) does not let organization`),
    );
    await refusal(
      cp,
      restricted,
      name,
      'pc',
      new RegExp(`PriorityClass is not allowed by TenantPolicy ${policyName}`),
    );
    assert.equal(await dp.get('v1', 'Namespace', undefined, squat), undefined, 'no namespace squatted');
    assert.equal(await dp.get('scheduling.k8s.io/v1', 'PriorityClass', undefined, pc), undefined);
    assert.ok(
      await dp.get('v1', 'ConfigMap', `${restricted.namespace}-ok`, 'cm'),
      'the allowed object is applied',
    );
  });

  test("Observe of another organization's Pod copies nothing; of a Secret, says nothing of it", async () => {
    const { cp, dp } = suite;
    const ns = `${restricted.namespace}-obs`;
    const owner = uniqueName('rel');
    await cp.create(
      releaseObject(
        restricted,
        owner,
        [
          resource('pod', {
            apiVersion: 'v1',
            kind: 'Pod',
            metadata: { name: 'db', namespace: ns },
            spec: { containers: [{ name: 'db', image: 'db:1' }], nodeName: 'nowhere' },
          }),
        ],
        FAST,
      ),
    );
    await eventually(async () => assert.ok(await dp.get('v1', 'Pod', ns, 'db'), 'the pod exists'));
    const observe = (id: string, kind: string, podName: string): ReleaseResource =>
      resource(id, {
        apiVersion: 'v1',
        kind,
        metadata: { name: podName, namespace: ns, annotations: { 'openchoreo.dev/apply': 'Observe' } },
      });
    const name = uniqueName('rel');
    await cp.create(
      releaseObject(
        hostile,
        name,
        [
          observe('pod', 'Pod', 'db'),
          observe('secret', 'Secret', 'absent'),
          observe('secret2', 'Secret', 'db-password'),
        ],
        FAST,
      ),
    );
    const r = await refusal(cp, hostile, name, 'pod', /nothing was copied|not allowed/);
    for (const e of r.status?.resources ?? [])
      assert.equal(e.status, undefined, `no status copied for ${e.id}`);
    const secret = await refusal(cp, hostile, name, 'secret', /may not be observed by organization/);
    const messages = (secret.status?.resources ?? [])
      .filter((e) => e.id.startsWith('secret'))
      .map((e) => e.message);
    assert.equal(messages.length, 2);
    assert.ok(
      !messages.some((m) => /does not exist/.test(m ?? '')),
      `existence is not told: ${messages.join(' | ')}`,
    );
  });
});
