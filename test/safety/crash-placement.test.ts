/**
 * The placement record is crash-safe: it is written with the finalizer, before the first object is
 * applied, so a controller killed (SIGKILL) right between that write and the first apply orphans
 * nothing. The data plane is reached through a proxy that holds every apply, so the kill lands at
 * exactly that point, with no hook in the controller.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Annotations, FINALIZER, Labels } from '../../src/api/v1alpha1/constants.ts';
import { eventually } from '../support/eventually.ts';
import {
  configMap,
  deleteRelease,
  getRelease,
  releaseObject,
  uniqueName,
  waitReady,
} from '../support/fixtures.ts';
import { ApplyHoldingProxy } from '../support/holdproxy.ts';
import { integrationSuite } from '../support/suite.ts';

describe('crash between the placement write and the first apply', () => {
  const suite = integrationSuite({ org: false });

  test('SIGKILL after the finalizer and placement write, before any apply: nothing orphaned after restart and delete', async () => {
    const { cp, dp, clusters } = suite;
    const proxy = await ApplyHoldingProxy.start(clusters.dp);
    try {
      const org = await proxy.createOrg(cp);
      const ns = uniqueName('crash');
      const name = uniqueName('placed');
      await cp.create(
        releaseObject(org, name, [configMap('a', ns, `${name}-a`), configMap('b', ns, `${name}-b`)], {
          interval: '2s',
          progressingInterval: '1s',
        }),
      );
      const placed = await eventually(
        async () => {
          assert.ok(proxy.held > 0, 'an apply reached the data plane and is held');
          const r = await getRelease(cp, org.namespace, name);
          assert.deepEqual(r?.metadata.finalizers, [FINALIZER]);
          assert.ok(r?.metadata.annotations?.[Annotations.placement], 'the placement is recorded');
          return r;
        },
        { timeoutMs: 60_000, description: 'the first apply to be held, after the placement write' },
      );
      const selector = `${Labels.releaseUid}=${placed.metadata.uid}`;
      assert.deepEqual(await dp.list('v1', 'ConfigMap', ns, selector), [], 'nothing was applied yet');
      const recorded = JSON.parse(placed.metadata.annotations?.[Annotations.placement] ?? '[]') as unknown[];
      assert.deepEqual(recorded.length, 1, 'one placement, written before the first apply');
      assert.equal(placed.status?.appliedTo, undefined, 'no status write came before the apply');

      await suite.controller.kill();
      proxy.release();
      await suite.restartController();

      const ready = await waitReady(cp, org, name);
      assert.deepEqual(ready.status?.appliedTo, recorded, 'the status took the placement in');
      assert.equal((await dp.list('v1', 'ConfigMap', ns, selector)).length, 2);

      await deleteRelease(cp, org.namespace, name, 60_000);
      assert.deepEqual(await dp.list('v1', 'ConfigMap', ns, selector), [], 'no object is orphaned');
    } finally {
      await proxy.close();
    }
  });
});
