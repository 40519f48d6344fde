/**
 * Adoption on a shared data plane: an object someone else made is never taken over unless the
 * object in the Release asks for it (`openchoreo.dev/adopt`); an adopted object is given back (our
 * labels and field ownership removed) or deleted, as the annotation says; a namespace the
 * controller created for one Release survives another Release that lists it; an object carrying
 * only a Release's labels (managed-by, organization and uid, which anyone with patch can write) is
 * left in place when the Release is deleted, and reported.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { API_VERSION, Annotations, Labels } from '../../src/api/v1alpha1/constants.ts';
import type { KubeObject } from '../../src/api/object.ts';
import type { ReleaseResource } from '../../src/api/v1alpha1/schema.ts';
import { eventually } from '../support/eventually.ts';
import {
  condition,
  configMap,
  createOrg,
  deleteRelease,
  isGone,
  getRelease,
  releaseObject,
  uniqueName,
  waitReady,
} from '../support/fixtures.ts';
import { integrationSuite } from '../support/suite.ts';

const FAST = { interval: '1s', progressingInterval: '1s' };
type ConfigMap = KubeObject & { data?: Record<string, string> };

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

describe('adoption', () => {
  const suite = integrationSuite();

  test('an unlabelled object is refused, adopted when asked, then given back or deleted as asked', async () => {
    const { cp, dp, org } = suite;
    const ns = uniqueName('adopt');
    await dp.ensureNamespace(ns);
    for (const name of ['platform', 'legacy']) {
      await dp.apply(
        { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns }, data: { owner: 'helm' } },
        'helm',
      );
    }
    const name = uniqueName('rel');
    await cp.create(
      releaseObject(org, name, [configMap('platform', ns, 'platform', { owner: 'release' })], FAST),
    );

    // Refused: Conflict naming the object and its manager; nothing is written.
    const refused = await eventually(async () => {
      const r = await getRelease(cp, org.namespace, name);
      assert.equal(condition(r, 'ResourcesApplied')?.reason, 'Conflict');
      return r!;
    });
    assert.match(
      refused.status?.resources?.[0]?.message ?? '',
      new RegExp(
        `ConfigMap/${ns}/platform already exists on the data plane and was not created by a Release \\(managed by helm\\); not taken over`,
      ),
    );
    const untouched = await dp.get<ConfigMap>('v1', 'ConfigMap', ns, 'platform');
    assert.equal(untouched?.data?.['owner'], 'helm');
    assert.equal(untouched?.metadata.labels?.[Labels.managedBy], undefined, 'not labelled');

    // Adopted when the object in the Release asks for it.
    await cp.patch(API_VERSION, 'Release', org.namespace, name, {
      spec: {
        resources: [adopting('platform', ns, 'platform', 'true'), adopting('legacy', ns, 'legacy', 'delete')],
      },
    });
    await waitReady(cp, org, name);
    const adopted = await dp.get<ConfigMap>('v1', 'ConfigMap', ns, 'platform');
    assert.equal(adopted?.data?.['owner'], 'release');
    assert.equal(adopted?.metadata.annotations?.[Annotations.adopted], 'true', 'marked adopted');

    // Removed from the spec: given back, the object kept without our labels and field ownership.
    await cp.patch(API_VERSION, 'Release', org.namespace, name, {
      spec: { resources: [adopting('legacy', ns, 'legacy', 'delete')] },
    });
    await eventually(
      async () => {
        const back = await dp.get<ConfigMap>('v1', 'ConfigMap', ns, 'platform');
        assert.ok(back && !back.metadata.deletionTimestamp, 'the given-back object is kept');
        assert.equal(back.metadata.labels?.[Labels.managedBy], undefined, 'managed-by label removed');
        assert.equal(back.metadata.labels?.[Labels.releaseUid], undefined, 'release-uid label removed');
        assert.equal(back.metadata.annotations?.[Annotations.adopted], undefined, 'adopted mark removed');
        const managers = (back.metadata.managedFields ?? []).map((m) => `${m.manager}/${m.operation}`);
        assert.ok(
          !managers.includes('release-controller/Apply'),
          `our field ownership is gone: ${managers.join(', ')}`,
        );
        assert.equal(back.data?.['owner'], 'release', 'the values stay as they were');
      },
      { timeoutMs: 30_000, description: 'the adopted object to be given back' },
    );

    // adopt: "delete" goes with the Release.
    await deleteRelease(cp, org.namespace, name);
    const legacy = await dp.get('v1', 'ConfigMap', ns, 'legacy');
    assert.ok(isGone(legacy), 'adopt: "delete" is deleted with the Release');
    assert.ok(await dp.get('v1', 'ConfigMap', ns, 'platform'), 'the given-back object is still there');
  });

  test('a namespace the controller created survives a Release that lists it and is deleted', async () => {
    const { cp, dp, org } = suite;
    const shared = uniqueName('shared');
    const a = uniqueName('a');
    const b = uniqueName('b');
    await cp.create(releaseObject(org, a, [configMap('cm', shared, 'from-a')], FAST));
    await waitReady(cp, org, a); // the controller created the namespace for a's ConfigMap
    await cp.create(releaseObject(org, b, [configMap('cm', shared, 'from-b')], FAST));
    await waitReady(cp, org, b);
    const namespace = {
      id: 'ns',
      object: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: shared } },
    };
    await cp.patch(API_VERSION, 'Release', org.namespace, a, {
      spec: { resources: [namespace, configMap('cm', shared, 'from-a')] },
    });
    await eventually(async () => {
      const r = await getRelease(cp, org.namespace, a);
      assert.deepEqual(
        r?.status?.resources?.map((e) => e.id),
        ['ns', 'cm'],
      );
      assert.equal(condition(r, 'Ready')?.status, 'True');
    });

    await deleteRelease(cp, org.namespace, a);
    const ns = await dp.get('v1', 'Namespace', undefined, shared);
    assert.ok(ns && !ns.metadata.deletionTimestamp, 'the namespace is kept');
    assert.ok(await dp.get('v1', 'ConfigMap', shared, 'from-b'), "b's object is kept");
    const fromA = await dp.get('v1', 'ConfigMap', shared, 'from-a');
    assert.ok(isGone(fromA), "a's own object is deleted");
  });

  test('an object carrying only the labels of a Release (managed-by, organization, uid) is left in place with the Release and reported', async () => {
    const { cp, dp, org } = suite;
    const ns = uniqueName('stray');
    const name = uniqueName('rel');
    await cp.create(releaseObject(org, name, [configMap('cm', ns, 'settings')], FAST));
    await waitReady(cp, org, name);
    const uid = (await getRelease(cp, org.namespace, name))?.metadata.uid ?? '';
    await dp.create({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: 'stray',
        namespace: ns,
        // The organization label puts it in the organization's DataPlane cache, where the Release
        // finds it; labels are still no proof.
        labels: {
          [Labels.managedBy]: 'release-controller',
          [Labels.releaseNamespace]: org.namespace,
          [Labels.releaseUid]: uid,
        },
      },
    });

    await deleteRelease(cp, org.namespace, name);
    const stray = await dp.get('v1', 'ConfigMap', ns, 'stray');
    assert.ok(stray && !isGone(stray), 'labels are no proof: the object the Release did not create is kept');
    assert.ok(isGone(await dp.get('v1', 'ConfigMap', ns, 'settings')), "the Release's own object is deleted");
    const events = await cp.list<
      KubeObject & { reason?: string; note?: string; regarding?: { name?: string } }
    >('events.k8s.io/v1', 'Event', org.namespace);
    const notes = events
      .filter((e) => e.regarding?.name === name && e.reason === 'NotProven')
      .map((e) => e.note);
    assert.equal(notes.length, 1, 'one NotProven Event');
    assert.match(notes[0] ?? '', new RegExp(`left in place: ConfigMap/${ns}/stray`));
  });

  test('a DataPlane resource policy refuses namespaces, kinds and adoption before anything is sent', async () => {
    const { cp, dp, clusters } = suite;
    const org = await createOrg(cp, clusters.dp, { credentials: 'inline' });
    const allowed = uniqueName('team');
    const denied = uniqueName('denied');
    await dp.ensureNamespace(allowed);
    await dp.apply(
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'legacy', namespace: allowed },
        data: { owner: 'helm' },
      },
      'helm',
    );
    await cp.patch(API_VERSION, 'DataPlane', org.namespace, org.dataPlane, {
      spec: {
        resourcePolicy: {
          namespaces: { deny: [`${denied.slice(0, 7)}*`] },
          kinds: { deny: ['rbac.authorization.k8s.io/ClusterRoleBinding'] },
          adoption: 'Forbidden',
        },
      },
    });
    const crb = uniqueName('crb');
    const name = uniqueName('rel');
    await cp.create(
      releaseObject(
        org,
        name,
        [
          configMap('ok', allowed, 'ok'),
          configMap('denied-ns', denied, 'settings'),
          {
            id: 'crb',
            object: {
              apiVersion: 'rbac.authorization.k8s.io/v1',
              kind: 'ClusterRoleBinding',
              metadata: { name: crb },
              roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
              subjects: [{ kind: 'User', name: 'intruder', apiGroup: 'rbac.authorization.k8s.io' }],
            },
          },
          adopting('legacy', allowed, 'legacy', 'true'),
        ],
        FAST,
      ),
    );
    const release = await eventually(
      async () => {
        const r = await getRelease(cp, org.namespace, name);
        assert.equal(condition(r, 'ResourcesApplied')?.reason, 'NotAllowed');
        assert.equal(r?.status?.resources?.find((e) => e.id === 'ok')?.healthStatus, 'Healthy');
        return r;
      },
      { timeoutMs: 30_000, description: 'ResourcesApplied NotAllowed, the allowed object applied' },
    );
    const message = (id: string) => release?.status?.resources?.find((e) => e.id === id)?.message ?? '';
    assert.match(message('denied-ns'), /spec\.resourcePolicy\.namespaces\.deny/);
    assert.match(
      message('crb'),
      /kind rbac\.authorization\.k8s\.io\/ClusterRoleBinding .*spec\.resourcePolicy\.kinds\.deny/,
    );
    assert.match(message('legacy'), /forbids adoption/);
    assert.equal(
      await dp.get('v1', 'Namespace', undefined, denied),
      undefined,
      'the denied namespace is not created',
    );
    assert.equal(
      await dp.get('rbac.authorization.k8s.io/v1', 'ClusterRoleBinding', undefined, crb),
      undefined,
      'the denied kind is not written',
    );
    const legacy = await dp.get<ConfigMap>('v1', 'ConfigMap', allowed, 'legacy');
    assert.deepEqual(legacy?.data, { owner: 'helm' }, 'the existing object is not taken over');
    assert.equal(legacy?.metadata.labels?.[Labels.managedBy], undefined);
    await deleteRelease(cp, org.namespace, name);
  });
});
