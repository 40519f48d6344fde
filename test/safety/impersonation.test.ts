/**
 * Impersonation: a DataPlane's kubeconfig may restrict the identity the controller acts as with
 * `as` and `as-groups`. The credentials here are the data plane's admin (system:masters, which may
 * impersonate); the impersonated user `rc-limited` may write ConfigMaps in one namespace only, so
 * a Release writing into another namespace must show rc-limited's Forbidden, not succeed as admin.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { parse, stringify } from 'yaml';
import type { KubeObject } from '../../src/api/object.ts';
import { API_VERSION } from '../../src/api/v1alpha1/constants.ts';
import type { DataPlane } from '../../src/api/v1alpha1/schema.ts';
import { eventually } from '../support/eventually.ts';
import {
  condition,
  configMap,
  credentialsLabels,
  dataPlaneObject,
  deleteRelease,
  environmentObject,
  getRelease,
  releaseObject,
  uniqueName,
  waitReady,
  type Org,
} from '../support/fixtures.ts';
import { integrationSuite } from '../support/suite.ts';

const RBAC = 'rbac.authorization.k8s.io/v1';
const USER = 'rc-limited';
const FAST = { interval: '1s', progressingInterval: '1s' };

describe('impersonation', () => {
  const suite = integrationSuite({ org: false });
  const id = uniqueName('imp');
  const allowed = `${id}-allowed`;
  const denied = `${id}-denied`;
  const group = `${id}-team`;
  const clusterRbac: Array<{ kind: string; name: string }> = [];

  /**
   * org creates an organization whose DataPlane's kubeconfig is the data plane's admin one with
   * `user` changed by `edit`.
   */
  const kubeconfig = async (edit: (user: Record<string, unknown>) => void): Promise<string> => {
    const doc = parse(await readFile(suite.clusters.dp.kubeconfigPath, 'utf8')) as {
      users: Array<{ user: Record<string, unknown> }>;
    };
    for (const entry of doc.users) edit(entry.user);
    return Buffer.from(stringify(doc)).toString('base64');
  };
  const setKubeconfig = async (namespace: string, edit: (user: Record<string, unknown>) => void) =>
    suite.cp.patch('v1', 'Secret', namespace, 'dp-kubeconfig', {
      data: { kubeconfig: await kubeconfig(edit) },
    });
  const org = async (edit: (user: Record<string, unknown>) => void): Promise<Org> => {
    const { cp, clusters } = suite;
    const namespace = uniqueName('org');
    await cp.ensureNamespace(namespace);
    await cp.create({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'dp-kubeconfig', namespace, labels: credentialsLabels(clusters.dp.name) },
      data: { kubeconfig: await kubeconfig(edit) },
    });
    await cp.create(dataPlaneObject(namespace, 'dp', clusters.dp, 'secret'));
    await cp.create(environmentObject(namespace, 'production', 'dp'));
    return { namespace, environment: 'production', dataPlane: 'dp' };
  };

  before(async () => {
    const { dp } = suite;
    await dp.ensureNamespace(allowed);
    await dp.ensureNamespace(denied);
    // What the controller needs beyond writing its objects, found by trying: the uid of
    // kube-system (or default) identifies the cluster, and the target namespace is read before it
    // would be created; its informers list and watch ConfigMaps by label in all namespaces.
    // Granted to the impersonated group, so that the test also proves Impersonate-Group is sent.
    const create = async (obj: KubeObject) => {
      await dp.create(obj);
      if (!obj.metadata.namespace) clusterRbac.push({ kind: obj.kind, name: obj.metadata.name ?? '' });
    };
    await create({
      apiVersion: RBAC,
      kind: 'ClusterRole',
      metadata: { name: `${id}-read` },
      rules: [
        {
          apiGroups: [''],
          resources: ['namespaces'],
          verbs: ['get'],
          resourceNames: ['kube-system', 'default', allowed, denied],
        },
        { apiGroups: [''], resources: ['configmaps'], verbs: ['list', 'watch'] },
      ],
    });
    await create({
      apiVersion: RBAC,
      kind: 'ClusterRoleBinding',
      metadata: { name: `${id}-read` },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: `${id}-read` },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: group }],
    });
    await create({
      apiVersion: RBAC,
      kind: 'Role',
      metadata: { name: 'configmaps', namespace: allowed },
      rules: [
        {
          apiGroups: [''],
          resources: ['configmaps'],
          verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'],
        },
      ],
    });
    await create({
      apiVersion: RBAC,
      kind: 'RoleBinding',
      metadata: { name: 'configmaps', namespace: allowed },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'configmaps' },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: USER }],
    });
  });

  after(async () => {
    if (!suite.ready) return;
    for (const { kind, name } of clusterRbac) await suite.dp.delete(RBAC, kind, undefined, name);
  });

  test('the Release acts as the impersonated user: its Forbidden outside its namespace, Ready inside', async () => {
    const { cp, dp } = suite;
    const target = await org((user) => {
      user['as'] = USER;
      user['as-groups'] = [group];
    });

    const outside = uniqueName('outside');
    await cp.create(releaseObject(target, outside, [configMap('cm', denied, 'settings')], FAST));
    const failed = await eventually(
      async () => {
        const applied = condition(await getRelease(cp, target.namespace, outside), 'ResourcesApplied');
        assert.equal(applied?.status, 'False', `ResourcesApplied: ${JSON.stringify(applied)}`);
        assert.equal(applied?.reason, 'ApplyFailed');
        return applied;
      },
      { timeoutMs: 60_000, description: 'the apply outside the allowed namespace to fail' },
    );
    assert.match(failed?.message ?? '', /forbidden/i);
    assert.match(
      failed?.message ?? '',
      new RegExp(`User "${USER}" cannot`),
      'the impersonated user is named',
    );
    assert.equal(await dp.get('v1', 'ConfigMap', denied, 'settings'), undefined, 'nothing was written');

    const inside = uniqueName('inside');
    await cp.create(releaseObject(target, inside, [configMap('cm', allowed, 'settings')], FAST));
    await waitReady(cp, target, inside);
    const written = await dp.get('v1', 'ConfigMap', allowed, 'settings');
    assert.ok(written, 'the ConfigMap is in the allowed namespace');

    await deleteRelease(cp, target.namespace, inside);
    await deleteRelease(cp, target.namespace, outside);
    assert.equal(await dp.get('v1', 'ConfigMap', allowed, 'settings'), undefined, 'cleaned up as rc-limited');
  });

  test('a malformed impersonation field is DataPlaneInvalid, naming the field', async () => {
    const { cp } = suite;
    const target = await org((user) => {
      user['as'] = USER;
      user['as-groups'] = group;
    });
    const name = uniqueName('rel');
    await cp.create(releaseObject(target, name, [configMap('cm', allowed, 'malformed')], FAST));
    const refused = await eventually(
      async () => {
        const applied = condition(await getRelease(cp, target.namespace, name), 'ResourcesApplied');
        assert.equal(applied?.reason, 'DataPlaneInvalid', `ResourcesApplied: ${JSON.stringify(applied)}`);
        return applied;
      },
      { timeoutMs: 60_000, description: 'DataPlaneInvalid for a malformed as-groups' },
    );
    assert.match(refused?.message ?? '', /users\[\]\.user\.as-groups must be a list/);
    assert.ok(!refused?.message.includes(group), 'the value is not quoted');

    // The finalizer waits for a usable DataPlane (cleanup cannot be confirmed without one):
    // correct the field, which also shows the Secret is read again.
    await setKubeconfig(target.namespace, (user) => {
      user['as'] = USER;
      user['as-groups'] = [group];
    });
    await waitReady(cp, target, name);
    await deleteRelease(cp, target.namespace, name);
  });
  test("a kind the DataPlane's identity may write but not watch holds up only the Releases of that kind", async () => {
    const { cp, dp } = suite;
    // rc-limited may write Secrets in its namespace but not list or watch them: the watch of
    // Secrets on this DataPlane stays broken (403), as a tenant's kind with a failing conversion
    // webhook or a vanished API would.
    await dp.create({
      apiVersion: RBAC,
      kind: 'Role',
      metadata: { name: `${id}-secrets`, namespace: allowed },
      rules: [
        { apiGroups: [''], resources: ['secrets'], verbs: ['get', 'create', 'update', 'patch', 'delete'] },
      ],
    });
    await dp.create({
      apiVersion: RBAC,
      kind: 'RoleBinding',
      metadata: { name: `${id}-secrets`, namespace: allowed },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: `${id}-secrets` },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: USER }],
    });
    const target = await org((user) => {
      user['as'] = USER;
      user['as-groups'] = [group];
    });
    const plain = uniqueName('plain');
    const a = uniqueName('a');
    const b = uniqueName('b');
    await cp.create(
      releaseObject(target, plain, [configMap('a', allowed, a), configMap('b', allowed, b)], FAST),
    );
    await waitReady(cp, target, plain);

    const secretive = uniqueName('secretive');
    const secret = uniqueName('secret');
    await cp.create(
      releaseObject(
        target,
        secretive,
        [
          {
            id: 'secret',
            object: { apiVersion: 'v1', kind: 'Secret', metadata: { name: secret, namespace: allowed } },
          },
        ],
        FAST,
      ),
    );
    await eventually(
      async () => {
        const applied = condition(await getRelease(cp, target.namespace, secretive), 'ResourcesApplied');
        assert.equal(applied?.status, 'False', `ResourcesApplied: ${JSON.stringify(applied)}`);
        assert.match(applied?.message ?? '', /forbidden/i);
      },
      { timeoutMs: 60_000, description: 'the Release of a Secret to say its watch is refused' },
    );
    // The DataPlane says so too, as soon as the watch fails (not at its next periodic check).
    const planeReady = async () =>
      (
        await cp.get<DataPlane>(API_VERSION, 'DataPlane', target.namespace, target.dataPlane)
      )?.status?.conditions?.find((c) => c.type === 'Ready');
    await eventually(
      async () => {
        const ready = await planeReady();
        assert.equal(ready?.reason, 'WatchBroken', JSON.stringify(ready));
        assert.match(ready?.message ?? '', /broken: Secret \(.*forbidden/i);
      },
      { timeoutMs: 60_000, description: 'the DataPlane to say its Secret watch is broken' },
    );

    // The other Release's picture is its own kinds: it still prunes, and is Ready.
    await cp.patch(API_VERSION, 'Release', target.namespace, plain, {
      spec: { resources: [configMap('a', allowed, a)] },
    });
    await eventually(
      async () => assert.equal(await dp.get('v1', 'ConfigMap', allowed, b), undefined, 'b is pruned'),
      {
        timeoutMs: 30_000,
        description: 'the removed ConfigMap to be pruned despite the broken Secret watch',
      },
    );
    const ready = await waitReady(cp, target, plain);
    assert.equal(
      condition(ready, 'ResourcesApplied')?.reason,
      'Applied',
      JSON.stringify(ready.status?.conditions),
    );

    // Once the identity may watch Secrets (the watches are cluster-wide, by label), the Release of
    // the Secret recovers; both clean up.
    for (const obj of [
      {
        apiVersion: RBAC,
        kind: 'ClusterRole',
        metadata: { name: `${id}-watch-secrets` },
        rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['list', 'watch'] }],
      },
      {
        apiVersion: RBAC,
        kind: 'ClusterRoleBinding',
        metadata: { name: `${id}-watch-secrets` },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: `${id}-watch-secrets` },
        subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: group }],
      },
    ]) {
      await dp.create(obj);
      clusterRbac.push({ kind: obj.kind, name: obj.metadata.name });
    }
    await eventually(
      async () =>
        assert.equal(condition(await getRelease(cp, target.namespace, secretive), 'Ready')?.status, 'True'),
      { timeoutMs: 90_000, description: 'the Release of the Secret to recover once Secrets may be watched' },
    );
    await eventually(async () => assert.equal((await planeReady())?.reason, 'Reachable'), {
      timeoutMs: 30_000,
      description: 'the DataPlane to be Ready again once its watches recovered',
    });
    await deleteRelease(cp, target.namespace, secretive);
    await deleteRelease(cp, target.namespace, plain);
    assert.equal(await dp.get('v1', 'Secret', allowed, secret), undefined, 'the Secret is cleaned up');
    assert.equal(await dp.get('v1', 'ConfigMap', allowed, a), undefined, 'the ConfigMap is cleaned up');
  });
});
