/**
 * When a deleted Release shows `Finalizing`, as a user watching it sees: a cleanup whose deletes
 * complete at once removes the finalizer in the same pass and never writes the status (nobody
 * could read the status of an object about to vanish); a cleanup that has to wait for an object
 * still terminating says so in `Finalizing=CleanupInProgress`, naming it, until it is gone.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { API_VERSION, FINALIZER, Labels } from '../../src/api/v1alpha1/constants.ts';
import type { Release } from '../../src/api/v1alpha1/schema.ts';
import { Informer } from '../../src/kube/informer.ts';
import { eventually } from '../support/eventually.ts';
import {
  condition,
  configMap,
  getRelease,
  releaseObject,
  uniqueName,
  waitReady,
} from '../support/fixtures.ts';
import type { TestKube } from '../support/kube.ts';
import { integrationSuite } from '../support/suite.ts';

/** HOLD is a finalizer of someone else's on a data-plane object: its deletion waits for it. */
const HOLD = 'example.com/hold';

/** watchRelease records every version of one Release the API server sends a watcher, until it is gone. */
async function watchRelease(cp: TestKube, namespace: string, name: string) {
  const seen: Release[] = [];
  let gone = false;
  const informer = new Informer<Release>({
    client: cp.client,
    path: `/apis/${API_VERSION}/namespaces/${namespace}/releases`,
    fieldSelector: `metadata.name=${name}`,
    name: `test/release ${name}`,
    logger: pino({ level: 'silent' }),
  });
  informer.addHandler((type, release) => {
    if (type === 'deleted') gone = true;
    else seen.push(release);
  });
  informer.start();
  await informer.waitForSync();
  return {
    seen,
    gone: () => gone,
    stop: () => informer.stop(),
  };
}

describe('Finalizing during a Release deletion', () => {
  const suite = integrationSuite();

  test('a cleanup whose deletes complete at once removes the finalizer without writing the status', async () => {
    const { cp, dp, org } = suite;
    const target = uniqueName('at-once');
    const name = uniqueName('rel');
    await cp.create(releaseObject(org, name, [configMap('a', target, 'a'), configMap('b', target, 'b')]));
    await waitReady(cp, org, name);
    const watch = await watchRelease(cp, org.namespace, name);
    try {
      await cp.delete(API_VERSION, 'Release', org.namespace, name);
      await eventually(() => assert.ok(watch.gone(), 'the watch saw the Release deleted'), {
        description: `Release ${name} to be gone`,
      });
      const terminating = watch.seen.filter((r) => r.metadata.deletionTimestamp);
      assert.ok(terminating.length > 0, 'the watch saw the Release terminating');
      for (const r of terminating)
        assert.equal(condition(r, 'Finalizing'), undefined, 'no Finalizing was written');
      const statuses = new Set(terminating.map((r) => JSON.stringify(r.status)));
      assert.equal(statuses.size, 1, 'the status was not written while the Release was terminating');
      const left = await dp.list('v1', 'ConfigMap', target, `${Labels.managedBy}=release-controller`);
      assert.deepEqual(left, [], 'its objects were deleted');
    } finally {
      await watch.stop();
    }
  });

  test('a cleanup that waits for a terminating object says so in Finalizing until it is gone', async () => {
    const { cp, dp, org } = suite;
    const target = uniqueName('waits');
    const name = uniqueName('rel');
    await cp.create(
      releaseObject(org, name, [configMap('held', target, 'held'), configMap('b', target, 'b')]),
    );
    await waitReady(cp, org, name);
    // Someone else's finalizer on one of the Release's objects: its deletion has to wait for it.
    await dp.patch('v1', 'ConfigMap', target, 'held', { metadata: { finalizers: [HOLD] } });

    await cp.delete(API_VERSION, 'Release', org.namespace, name);
    const waiting = await eventually(
      async () => {
        const r = await getRelease(cp, org.namespace, name);
        assert.equal(condition(r, 'Finalizing')?.reason, 'CleanupInProgress', JSON.stringify(r?.status));
        return r!;
      },
      { description: 'Finalizing=CleanupInProgress' },
    );
    assert.equal(condition(waiting, 'Finalizing')?.status, 'True');
    assert.match(
      condition(waiting, 'Finalizing')?.message ?? '',
      new RegExp(`waiting for 1 object to be deleted: ConfigMap/${target}/held`),
    );
    assert.ok(waiting.metadata.finalizers?.includes(FINALIZER), 'the finalizer stays while it waits');
    assert.equal(await dp.get('v1', 'ConfigMap', target, 'b'), undefined, 'the other object is gone');

    await dp.patch('v1', 'ConfigMap', target, 'held', { metadata: { finalizers: null } });
    await eventually(async () => assert.equal(await getRelease(cp, org.namespace, name), undefined), {
      description: `Release ${name} to be gone once its last object is`,
    });
  });
});
