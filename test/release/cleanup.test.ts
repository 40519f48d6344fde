/**
 * Deletion when the data plane is away: the finalizer stays with CleanupFailed, nothing is
 * orphaned, and cleanup finishes once the data plane is back. Uses a data plane of its own.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { API_VERSION, FINALIZER, Labels } from '../../src/api/v1alpha1/constants.ts';
import { eventually } from '../support/eventually.ts';
import {
  condition,
  configMap,
  createOrg,
  getRelease,
  releaseObject,
  uniqueName,
  waitReady,
} from '../support/fixtures.ts';
import { TestKube } from '../support/kube.ts';
import { integrationSuite } from '../support/suite.ts';

describe('Release deletion with an unreachable data plane', () => {
  // The tests stop and start this data plane, and open their clients of it only once it is back.
  const suite = integrationSuite({ ownDataPlane: 'rc-cleanup-dp', org: false });

  test('keeps the finalizer with CleanupFailed, then cleans up once the data plane is back', async () => {
    const { cp, dataPlane: dpCluster } = suite;
    const org = await createOrg(cp, dpCluster);
    const target = uniqueName('gone');
    const name = uniqueName('rel');
    await cp.create(releaseObject(org, name, [configMap('a', target, 'a'), configMap('b', target, 'b')]));
    await waitReady(cp, org, name);

    await dpCluster.stop();
    await cp.delete(API_VERSION, 'Release', org.namespace, name);
    const failing = await eventually(
      async () => {
        const r = await getRelease(cp, org.namespace, name);
        const finalizing = condition(r, 'Finalizing');
        assert.equal(finalizing?.status, 'True');
        assert.equal(finalizing?.reason, 'CleanupFailed');
        return r!;
      },
      { timeoutMs: 60_000, description: 'Finalizing=CleanupFailed' },
    );
    assert.ok(failing.metadata.finalizers?.includes(FINALIZER), 'the finalizer stays while cleanup fails');
    assert.match(condition(failing, 'Finalizing')?.message ?? '', /deletion-policy/);

    await dpCluster.start();
    await eventually(async () => (await getRelease(cp, org.namespace, name)) === undefined, {
      timeoutMs: 90_000,
      description: 'the Release to be gone after the data plane came back',
    });
    const dp = new TestKube(dpCluster);
    try {
      const left = await dp.list('v1', 'ConfigMap', target, `${Labels.managedBy}=release-controller`);
      assert.deepEqual(left, [], 'no object is orphaned');
    } finally {
      await dp.close();
    }
  });

  test('the Orphan deletion policy lets go of a Release whose data plane is gone for good', async () => {
    const { cp, dataPlane: dpCluster } = suite;
    const org = await createOrg(cp, dpCluster);
    const target = uniqueName('orphan');
    const name = uniqueName('rel');
    await cp.create(releaseObject(org, name, [configMap('a', target, 'a')]));
    await waitReady(cp, org, name);
    await dpCluster.stop();
    try {
      await cp.delete(API_VERSION, 'Release', org.namespace, name);
      await eventually(
        async () =>
          assert.equal(
            condition(await getRelease(cp, org.namespace, name), 'Finalizing')?.reason,
            'CleanupFailed',
          ),
        {
          timeoutMs: 60_000,
        },
      );
      await cp.patch(API_VERSION, 'Release', org.namespace, name, {
        metadata: { annotations: { 'openchoreo.dev/deletion-policy': 'Orphan' } },
      });
      await eventually(async () => (await getRelease(cp, org.namespace, name)) === undefined, {
        timeoutMs: 60_000,
      });
    } finally {
      await dpCluster.start();
    }
    const dp = new TestKube(dpCluster);
    try {
      assert.ok(await dp.get('v1', 'ConfigMap', target, 'a'), 'the orphaned object is left in place');
    } finally {
      await dp.close();
    }
  });
});
