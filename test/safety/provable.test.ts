/**
 * Provable deletion (issue "Tenancy", invariant 3): the controller deletes or gives back only
 * objects whose uid it recorded in the Release's status inventory when it created or adopted them,
 * as the inventory says. Labels and annotations on the data plane, which anyone with `patch` can
 * write, never make an object deletable: a patch-only identity cannot turn the controller into
 * its deleter, a rewritten `openchoreo.dev/adopt` cannot turn a give-back into a delete, and an
 * object another (deleted) Release left behind is foreign, not taken over without adopt.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { API_VERSION, Annotations, Labels } from '../../src/api/v1alpha1/constants.ts';
import type { KubeObject } from '../../src/api/object.ts';
import type { ReleaseResource } from '../../src/api/v1alpha1/schema.ts';
import { isKubeApiError, KubeClient } from '../../src/kube/client.ts';
import { objectPath } from '../../src/kube/discovery.ts';
import { eventually } from '../support/eventually.ts';
import {
  condition,
  configMap,
  deleteRelease,
  getRelease,
  isGone,
  releaseObject,
  uniqueName,
  waitReady,
} from '../support/fixtures.ts';
import { integrationSuite } from '../support/suite.ts';

const FAST = { interval: '1s', progressingInterval: '1s' };
const RBAC = 'rbac.authorization.k8s.io/v1';
type ConfigMap = KubeObject & { data?: Record<string, string> };
type Event = KubeObject & { reason?: string; note?: string; regarding?: { name?: string } };

/** adopting is a ConfigMap resource whose object asks to adopt an existing one. */
function adopting(id: string, namespace: string, name: string, mode: string): ReleaseResource {
  return {
    id,
    object: {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name, namespace, annotations: { [Annotations.adopt]: mode } },
      data: { owner: 'release' },
    },
  };
}

describe('provable deletion', () => {
  const suite = integrationSuite();
  const patcher = uniqueName('patcher');
  const ns = uniqueName('prov');
  let patchOnly: KubeClient;

  const eventsOf = async (name: string, reason: string) =>
    (await suite.cp.list<Event>('events.k8s.io/v1', 'Event', suite.org.namespace))
      .filter((e) => e.regarding?.name === name && e.reason === reason)
      .map((e) => e.note ?? '');
  const helmConfigMap = (name: string) =>
    suite.dp.apply(
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns }, data: { owner: 'helm' } },
      'helm',
    );

  before(async () => {
    const { dp, dataPlane } = suite;
    await dp.ensureNamespace(ns);
    // An identity bound by the data plane's RBAC to get and patch ConfigMaps in one namespace,
    // nothing else: it can write labels, never delete.
    await dp.create({
      apiVersion: RBAC,
      kind: 'Role',
      metadata: { name: 'patch-only', namespace: ns },
      rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'patch'] }],
    });
    await dp.create({
      apiVersion: RBAC,
      kind: 'RoleBinding',
      metadata: { name: 'patch-only', namespace: ns },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'patch-only' },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: patcher }],
    });
    // The admin credentials impersonate it, as `kubectl --as` would.
    patchOnly = new KubeClient({
      name: 'patch-only',
      server: dataPlane.server,
      ca: Buffer.from(dataPlane.caData, 'base64'),
      cert: Buffer.from(dataPlane.certData, 'base64'),
      key: Buffer.from(dataPlane.keyData, 'base64'),
      maxRetries: 0,
      timeoutMs: 20_000,
      impersonate: { user: patcher },
    });
  });

  after(() => patchOnly?.close());

  test('labels written by a patch-only identity do not get its object deleted by prune nor by the deletion of the Release', async () => {
    const { cp, dp, org } = suite;
    await helmConfigMap('victim');
    const name = uniqueName('rel');
    await cp.create(releaseObject(org, name, [configMap('settings', ns, 'settings')], FAST));
    const ready = await waitReady(cp, org, name);
    const uid = ready.metadata.uid ?? '';
    const settings = await dp.get('v1', 'ConfigMap', ns, 'settings');
    assert.equal(ready.status?.resources?.[0]?.uid, settings?.metadata.uid, 'the created object is recorded');
    assert.equal(ready.status?.resources?.[0]?.origin, 'Created');

    // The identity can patch the victim but not delete it.
    const info = await dp.discovery.resolve({ group: '', version: 'v1', kind: 'ConfigMap' });
    const path = objectPath(info, ns, 'victim');
    await assert.rejects(
      patchOnly.request({ method: 'DELETE', path }),
      (err: unknown) => isKubeApiError(err) && err.statusCode === 403,
      'the patch-only identity may not delete',
    );
    await patchOnly.request({
      method: 'PATCH',
      path,
      contentType: 'application/merge-patch+json',
      body: {
        metadata: {
          labels: {
            [Labels.managedBy]: 'release-controller',
            [Labels.releaseUid]: uid,
            [Labels.releaseName]: name,
            [Labels.releaseNamespace]: org.namespace,
            [Labels.resourceId]: 'victim',
          },
        },
      },
    });

    // A prune runs (the Release's own object leaves the spec and is deleted); the victim stays.
    await cp.patch(API_VERSION, 'Release', org.namespace, name, {
      spec: { resources: [configMap('other', ns, 'other')] },
    });
    await eventually(
      async () => assert.ok(isGone(await dp.get('v1', 'ConfigMap', ns, 'settings')), 'settings is pruned'),
      { description: 'the prune of the object that left the spec' },
    );
    const reported = await eventually(
      async () => {
        const notes = await eventsOf(name, 'NotProven');
        assert.ok(notes.length > 0, 'a NotProven Event');
        return notes;
      },
      { description: 'the NotProven Event' },
    );
    assert.match(
      reported[0] ?? '',
      new RegExp(
        `1 object carries this Release's labels but was not created or adopted by it .*left in place: ConfigMap/${ns}/victim`,
      ),
    );
    let victim = await dp.get<ConfigMap>('v1', 'ConfigMap', ns, 'victim');
    assert.ok(victim && !isGone(victim), 'the labelled object is not pruned');

    await deleteRelease(cp, org.namespace, name);
    victim = await dp.get<ConfigMap>('v1', 'ConfigMap', ns, 'victim');
    assert.ok(victim && !isGone(victim), 'the labelled object is not deleted with the Release');
    assert.equal(victim.data?.['owner'], 'helm', 'nor written');
    assert.ok(isGone(await dp.get('v1', 'ConfigMap', ns, 'other')), "the Release's own object is deleted");
  });

  test('a rewritten live openchoreo.dev/adopt: delete does not turn a give-back into a delete', async () => {
    const { cp, dp, org } = suite;
    await helmConfigMap('legacy');
    const name = uniqueName('rel');
    await cp.create(releaseObject(org, name, [adopting('legacy', ns, 'legacy', 'true')], FAST));
    const ready = await waitReady(cp, org, name);
    const adopted = await dp.get<ConfigMap>('v1', 'ConfigMap', ns, 'legacy');
    assert.equal(adopted?.data?.['owner'], 'release', 'adopted');
    assert.equal(adopted?.metadata.annotations?.[Annotations.adopt], undefined, 'adopt is not sent');
    assert.deepEqual(
      [
        ready.status?.resources?.[0]?.uid,
        ready.status?.resources?.[0]?.origin,
        ready.status?.resources?.[0]?.removal,
      ],
      [adopted?.metadata.uid, 'Adopted', 'GiveBack'],
      'the inventory records the adoption and how it leaves',
    );

    // Anyone with patch rewrites the live marks.
    await dp.patch('v1', 'ConfigMap', ns, 'legacy', {
      metadata: { annotations: { [Annotations.adopt]: 'delete', [Annotations.adopted]: 'false' } },
    });

    await deleteRelease(cp, org.namespace, name);
    const back = await dp.get<ConfigMap>('v1', 'ConfigMap', ns, 'legacy');
    assert.ok(back && !isGone(back), 'given back, not deleted');
    assert.equal(back.metadata.labels?.[Labels.managedBy], undefined, 'our labels are removed');
    assert.equal(back.metadata.labels?.[Labels.releaseUid], undefined);
  });

  test('an object a deleted Release left behind (deletion policy Orphan) is not taken over without adopt', async () => {
    const { cp, dp, org } = suite;
    const first = uniqueName('first');
    await cp.create(releaseObject(org, first, [configMap('cm', ns, 'orphan', { owner: 'first' })], FAST));
    await waitReady(cp, org, first);
    await cp.patch(API_VERSION, 'Release', org.namespace, first, {
      metadata: { annotations: { [Annotations.deletionPolicy]: 'Orphan' } },
    });
    await deleteRelease(cp, org.namespace, first);
    const orphan = await dp.get<ConfigMap>('v1', 'ConfigMap', ns, 'orphan');
    assert.equal(
      orphan?.metadata.labels?.[Labels.releaseName],
      first,
      'left behind with the labels of the first Release',
    );

    const second = uniqueName('second');
    await cp.create(releaseObject(org, second, [configMap('cm', ns, 'orphan', { owner: 'second' })], FAST));
    const refused = await eventually(async () => {
      const r = await getRelease(cp, org.namespace, second);
      assert.equal(condition(r, 'ResourcesApplied')?.reason, 'Conflict');
      return r!;
    });
    assert.match(
      refused.status?.resources?.[0]?.message ?? '',
      new RegExp(
        `ConfigMap/${ns}/orphan already exists on the data plane and carries the labels of Release ${org.namespace}/${first} \\(uid [^)]+\\), which no longer exists .*not taken over.*set annotation ${Annotations.adopt}`,
      ),
    );
    assert.equal(refused.status?.resources?.[0]?.uid, undefined, 'nothing recorded');
    const untouched = await dp.get<ConfigMap>('v1', 'ConfigMap', ns, 'orphan');
    assert.equal(untouched?.data?.['owner'], 'first', 'not written');

    // Asked for, it is adopted, and given back with the Release.
    await cp.patch(API_VERSION, 'Release', org.namespace, second, {
      spec: { resources: [adopting('cm', ns, 'orphan', 'true')] },
    });
    const adopted = await waitReady(cp, org, second);
    assert.equal(adopted.status?.resources?.[0]?.origin, 'Adopted');
    await deleteRelease(cp, org.namespace, second);
    const back = await dp.get<ConfigMap>('v1', 'ConfigMap', ns, 'orphan');
    assert.ok(back && !isGone(back), 'given back, not deleted');
  });
});
