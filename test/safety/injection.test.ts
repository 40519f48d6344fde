/**
 * apiVersion injection: a tenant's `apiVersion` becomes segments of request paths on the data
 * plane. The API server refuses one that is not a DNS group and version; a Release admitted by an
 * older CRD (Helm never upgrades the CRDs of a chart) gets a per-resource message from the
 * controller, and nothing it does breaks the watches of the data plane: another Release on the
 * same DataPlane is still pruned and deleted, and no reconcile loop runs.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../src/api/object.ts';
import { ALL_CRDS } from '../../src/api/v1alpha1/crd.ts';
import { API_VERSION } from '../../src/api/v1alpha1/constants.ts';
import { metricValue } from '../support/controller.ts';
import { eventually } from '../support/eventually.ts';
import {
  configMap,
  deleteRelease,
  getRelease,
  installCRDs,
  isGone,
  releaseObject,
  uniqueName,
  waitReady,
} from '../support/fixtures.ts';
import { integrationSuite } from '../support/suite.ts';

/** releaseCrdWithoutApiVersionCheck is the Release CRD as it was before apiVersion had a pattern. */
function releaseCrdWithoutApiVersionCheck(): KubeObject {
  const crd = structuredClone(ALL_CRDS.find((c) => c.file.includes('releases'))!.crd) as Record<
    string,
    unknown
  >;
  const text = JSON.stringify(crd);
  const stripped = JSON.parse(text, (key, value: unknown) =>
    key === 'object' && typeof value === 'object' && value !== null && 'properties' in value
      ? { ...(value as Record<string, unknown>), properties: undefined }
      : value,
  ) as KubeObject;
  assert.ok(!JSON.stringify(stripped).includes('apiVersion of the object'), 'the check is taken out');
  return stripped;
}

describe('apiVersion injection', () => {
  const suite = integrationSuite();
  // The next file gets the CRDs of this commit again.
  after(async () => {
    if (suite.ready) await installCRDs(suite.cp);
  });

  const badObjects = (ns: string) => [
    {
      id: 'query',
      object: { apiVersion: 'v1?watch=true', kind: 'ConfigMap', metadata: { name: 'q', namespace: ns } },
    },
    {
      id: 'space',
      object: { apiVersion: 'v1 x', kind: 'ConfigMap', metadata: { name: 's', namespace: ns } },
    },
  ];

  test('the API server refuses an apiVersion that is not a DNS group and version', async () => {
    const { cp, org } = suite;
    await assert.rejects(
      cp.create(releaseObject(org, uniqueName('rel'), badObjects(uniqueName('ns')).slice(0, 1))),
      /spec.resources\[0\].object.apiVersion in body should match/,
    );
  });

  test('an invalid apiVersion admitted by an older CRD is reported by id and stops no pruning on the DataPlane', async () => {
    const { cp, dp, org, controller } = suite;
    await cp.apply(releaseCrdWithoutApiVersionCheck(), 'test-crds');
    const ns = uniqueName('inj');
    const neighbour = uniqueName('neighbour');
    await cp.create(
      releaseObject(org, neighbour, [configMap('keep', ns, 'keep'), configMap('stale', ns, 'stale')]),
    );
    await waitReady(cp, org, neighbour);

    const name = uniqueName('injector');
    await eventually(
      () => cp.create(releaseObject(org, name, [configMap('good', ns, 'good'), ...badObjects(ns)])),
      {
        description: 'the older CRD to admit the Release',
      },
    );
    await eventually(
      async () => {
        const r = await getRelease(cp, org.namespace, name);
        const message = (id: string) => r?.status?.resources?.find((e) => e.id === id)?.message ?? '';
        assert.match(
          message('query'),
          /^resource "query": apiVersion "v1\?watch=true" is invalid: the version of apiVersion must be a DNS label/,
        );
        assert.match(message('space'), /^resource "space": apiVersion "v1 x" is invalid/);
        assert.equal(r?.status?.resources?.find((e) => e.id === 'good')?.healthStatus, 'Healthy');
      },
      { description: `Release ${name} to report its invalid resources` },
    );
    assert.ok(await dp.get('v1', 'ConfigMap', ns, 'good'), 'the valid resource is applied');

    const reconciles = async () =>
      metricValue(await controller.metrics(), 'controller_runtime_reconcile_total', {
        controller: 'release',
      });
    const before = await reconciles();
    // Pruning on the same DataPlane goes on: the neighbour drops a resource, then is deleted.
    await cp.patch(API_VERSION, 'Release', org.namespace, neighbour, {
      spec: { resources: [configMap('keep', ns, 'keep')] },
    });
    await eventually(
      async () => assert.ok(isGone(await dp.get('v1', 'ConfigMap', ns, 'stale')), 'stale is pruned'),
      {
        description: 'the neighbour to prune its stale ConfigMap',
      },
    );
    await deleteRelease(cp, org.namespace, neighbour);
    assert.ok(
      isGone(await dp.get('v1', 'ConfigMap', ns, 'keep')),
      'the deleted neighbour left nothing behind',
    );
    // A broken watch made a hot loop of every Release on the DataPlane (479 reconciles/s); here a
    // handful of reconciles of the two Releases did all of it.
    const spent = (await reconciles()) - before;
    assert.ok(spent < 60, `${spent} reconciles for one prune and one deletion`);
    await deleteRelease(cp, org.namespace, name);
  });
});
