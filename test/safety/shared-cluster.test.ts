/**
 * Organizations' DataPlanes on one shared cluster (docs/architecture.md, "One cache per
 * organization"): each DataPlane's watches select only the objects of its own organization's
 * Releases (their release-namespace label), so no organization's cache holds or is woken by another
 * organization's objects; an object of another organization's Release, read when an apply finds it,
 * is still never taken over; and an object whose organization label is missing (applied before the
 * label was selected, or stripped since) is still found: labelled again by the next apply, pruned
 * when it leaves the spec, deleted with its Release.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../src/api/object.ts';
import { Labels } from '../../src/api/v1alpha1/constants.ts';
import { metricValue } from '../support/controller.ts';
import { eventually } from '../support/eventually.ts';
import {
  condition,
  configMap,
  createOrg,
  deleteRelease,
  getRelease,
  isGone,
  releaseObject,
  uniqueName,
  waitReady,
} from '../support/fixtures.ts';
import { integrationSuite } from '../support/suite.ts';

const FAST = { interval: '1s', progressingInterval: '1s' };

describe('organizations sharing one data-plane cluster', () => {
  const suite = integrationSuite({ org: false });

  test("each organization's DataPlane caches only its own organization's objects", async () => {
    const { cp, controller, dataPlane } = suite;
    const [a, b] = [await createOrg(cp, dataPlane), await createOrg(cp, dataPlane)];
    const nsA = uniqueName('own-a');
    const nsB = uniqueName('own-b');
    const relA = uniqueName('rel');
    const relB = uniqueName('rel');
    await cp.create(
      releaseObject(a, relA, [
        configMap('one', nsA, 'one'),
        configMap('two', nsA, 'two'),
        configMap('three', nsA, 'three'),
      ]),
    );
    await cp.create(releaseObject(b, relB, [configMap('one', nsB, 'one'), configMap('two', nsB, 'two')]));
    await waitReady(cp, a, relA);
    await waitReady(cp, b, relB);
    const keyA = `${a.namespace}/${a.dataPlane}`;
    const keyB = `${b.namespace}/${b.dataPlane}`;
    await eventually(
      async () => {
        const text = await controller.metrics();
        // Both DataPlanes watch ConfigMaps on the same cluster, which holds both organizations'
        // objects (and other files'): each cache holds exactly its own organization's.
        assert.equal(
          metricValue(text, 'release_controller_dataplane_cached_objects', { data_plane: keyA }),
          3,
        );
        assert.equal(
          metricValue(text, 'release_controller_dataplane_cached_objects', { data_plane: keyB }),
          2,
        );
      },
      { timeoutMs: 30_000, description: 'each DataPlane to cache its own organization objects only' },
    );

    // B's Release lists an object of A's Release: B's cache does not hold it, the apply reads it, and
    // it is still another live Release's object, never taken over.
    const intruder = uniqueName('rel');
    await cp.create(releaseObject(b, intruder, [configMap('take', nsA, 'one', { key: 'b' })], FAST));
    await eventually(
      async () => {
        const r = await getRelease(cp, b.namespace, intruder);
        assert.equal(condition(r, 'ResourcesApplied')?.status, 'False');
        assert.match(
          r?.status?.resources?.[0]?.message ?? '',
          new RegExp(`belongs to Release ${a.namespace}/${relA}`),
        );
      },
      { timeoutMs: 30_000, description: "B's Release to be refused A's object" },
    );
    const one = await suite.dp.get<KubeObject & { data?: Record<string, string> }>(
      'v1',
      'ConfigMap',
      nsA,
      'one',
    );
    assert.equal(one?.data?.['key'], 'value', "A's object is as A applied it");
    assert.equal(one?.metadata.labels?.[Labels.releaseNamespace], a.namespace);
  });

  test('an object without the organization label is labelled again, pruned and cleaned up', async () => {
    const { cp, dataPlane } = suite;
    const org = await createOrg(cp, dataPlane);
    const ns = uniqueName('legacy');
    const name = uniqueName('rel');
    const resources = [configMap('kept', ns, 'kept'), configMap('pruned', ns, 'pruned')];
    await cp.create(releaseObject(org, name, resources, FAST));
    await waitReady(cp, org, name);

    // What an object applied without the organization label looks like to a DataPlane's watch:
    // outside its selection. Restarted, the controller has no memory of its applies either, so it
    // finds the objects by reading them, as it would objects an older version applied.
    await suite.controller.stop();
    for (const cm of ['kept', 'pruned']) {
      await suite.dp.patch('v1', 'ConfigMap', ns, cm, {
        metadata: { labels: { [Labels.releaseNamespace]: null } },
      });
    }
    await suite.restartController();
    for (const cm of ['kept', 'pruned']) {
      await eventually(
        async () => {
          const obj = await suite.dp.get('v1', 'ConfigMap', ns, cm);
          assert.equal(obj?.metadata.labels?.[Labels.releaseNamespace], org.namespace);
        },
        { timeoutMs: 30_000, description: `ConfigMap ${ns}/${cm} to carry its organization label again` },
      );
    }
    const uid = (await getRelease(cp, org.namespace, name))?.metadata.uid;
    const pruned = await suite.dp.get('v1', 'ConfigMap', ns, 'pruned');
    assert.equal(pruned?.metadata.labels?.[Labels.releaseUid], uid, 'written as the Release own object');

    await cp.patch('openchoreo.dev/v1alpha1', 'Release', org.namespace, name, {
      spec: { resources: [resources[0]] },
    });
    await eventually(
      async () => assert.ok(isGone(await suite.dp.get('v1', 'ConfigMap', ns, 'pruned')), 'pruned'),
      { timeoutMs: 30_000, description: `ConfigMap ${ns}/pruned to be pruned` },
    );
    await deleteRelease(cp, org.namespace, name);
    assert.ok(isGone(await suite.dp.get('v1', 'ConfigMap', ns, 'kept')), 'deleted with its Release');
  });
});
