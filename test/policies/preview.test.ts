/**
 * Dry-run previews on real clusters: with `openchoreo.dev/apply-mode: DryRun` the controller sends
 * server-side dry-run applies with its own field manager and writes a plan per resource (Create,
 * Update with the changed fields, Unchanged, or the admission error) and the deletions a prune
 * would make; nothing on the data plane changes (no object, no namespace, no prune); Ready says
 * Previewed. Removing the annotation applies for real.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { API_VERSION, Annotations } from '../../src/api/v1alpha1/constants.ts';
import type { KubeObject } from '../../src/api/object.ts';
import type { Release } from '../../src/api/v1alpha1/schema.ts';
import { eventually } from '../support/eventually.ts';
import {
  condition,
  configMap,
  deleteRelease,
  getRelease,
  releaseObject,
  uniqueName,
  waitReady,
} from '../support/fixtures.ts';
import { integrationSuite } from '../support/suite.ts';

const FAST = { interval: '1s', progressingInterval: '1s' };
type ConfigMap = KubeObject & { data?: Record<string, string> };

describe('dry-run preview', () => {
  const suite = integrationSuite();

  test('plans create, update with paths, unchanged, delete and an admission error; changes nothing; then applies', async () => {
    const { cp, dp, org } = suite;
    const ns = uniqueName('preview');
    const missing = uniqueName('nowhere');
    const name = uniqueName('rel');
    await cp.create(
      releaseObject(
        org,
        name,
        [
          configMap('same', ns, 'same'),
          configMap('changed', ns, 'changed', { a: '1', b: '2' }),
          configMap('dropped', ns, 'dropped'),
        ],
        FAST,
      ),
    );
    await waitReady(cp, org, name);
    const versions = async () =>
      Promise.all(
        ['same', 'changed', 'dropped'].map(
          async (n) => (await dp.get('v1', 'ConfigMap', ns, n))?.metadata.resourceVersion,
        ),
      );
    const before = await versions();

    const previewed = await cp.patch<Release>(API_VERSION, 'Release', org.namespace, name, {
      metadata: { annotations: { [Annotations.applyMode]: 'DryRun' } },
      spec: {
        resources: [
          configMap('same', ns, 'same'),
          configMap('changed', ns, 'changed', { a: '9', c: '3' }),
          configMap('added', ns, 'added'),
          // A key the API server refuses: the admission error is the plan.
          configMap('bad', ns, 'bad', { 'not a valid key!': 'x' }),
          configMap('elsewhere', missing, 'elsewhere'),
        ],
      },
    });
    const release = await eventually(async () => {
      const r = await getRelease(cp, org.namespace, name);
      assert.equal(r?.status?.observedGeneration, previewed.metadata.generation);
      assert.equal(condition(r, 'Ready')?.reason, 'Previewed');
      return r!;
    });
    const plans = Object.fromEntries((release.status?.resources ?? []).map((r) => [r.id, r.plan]));
    assert.deepEqual(plans['same'], { action: 'Unchanged' });
    assert.deepEqual(plans['changed'], { action: 'Update', fields: ['/data/a', '/data/c', '/data/b'] });
    assert.deepEqual(plans['added'], { action: 'Create' });
    assert.equal(plans['bad']?.action, 'Error');
    assert.match(plans['bad']?.message ?? '', /ConfigMap "bad" is invalid: .*not a valid key!/);
    assert.deepEqual(plans['elsewhere'], {
      action: 'Create',
      message: `namespace ${missing} does not exist yet: a real apply creates it first (the controller); the object can be checked by the data plane only once it exists`,
    });
    assert.deepEqual(release.status?.plannedDeletions, [
      { id: 'dropped', group: '', version: 'v1', kind: 'ConfigMap', namespace: ns, name: 'dropped' },
    ]);
    const ready = condition(release, 'Ready');
    assert.equal(ready?.status, 'False');
    assert.match(
      ready?.message ?? '',
      /nothing was changed on the data plane: 2 to create, 1 to update, 1 unchanged, 1 to delete, 1 would fail/,
    );

    // Nothing on the data plane changed.
    assert.deepEqual(await versions(), before, 'no object written or deleted');
    assert.equal(await dp.get('v1', 'ConfigMap', ns, 'added'), undefined, 'not created');
    assert.equal(await dp.get('v1', 'Namespace', undefined, missing), undefined, 'no namespace created');

    // Without the annotation (and the bad object), it applies for real.
    const applied = await cp.patch<Release>(API_VERSION, 'Release', org.namespace, name, {
      metadata: { annotations: { [Annotations.applyMode]: null } },
      spec: {
        resources: [
          configMap('same', ns, 'same'),
          configMap('changed', ns, 'changed', { a: '9', c: '3' }),
          configMap('added', ns, 'added'),
          configMap('elsewhere', missing, 'elsewhere'),
        ],
      },
    });
    const done = await waitReady(cp, org, name);
    assert.equal(
      done.status?.observedGeneration,
      applied.metadata.generation,
      'the real apply is of the new generation',
    );
    assert.deepEqual((await dp.get<ConfigMap>('v1', 'ConfigMap', ns, 'changed'))?.data, { a: '9', c: '3' });
    assert.ok(await dp.get('v1', 'ConfigMap', ns, 'added'), 'created');
    assert.ok(await dp.get('v1', 'ConfigMap', missing, 'elsewhere'), 'created with its namespace');
    await eventually(async () => {
      const dropped = await dp.get('v1', 'ConfigMap', ns, 'dropped');
      assert.ok(!dropped || dropped.metadata.deletionTimestamp, 'pruned');
    });
    const after = await getRelease(cp, org.namespace, name);
    assert.equal(after?.status?.plannedDeletions, undefined, 'the planned deletions go with the preview');
    assert.ok(
      after?.status?.resources?.every((r) => r.plan === undefined),
      'no plan left',
    );
    await deleteRelease(cp, org.namespace, name);
  });
});
