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
  createOrg,
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

  test("a preview-of Release plans the live Release's changes without a Conflict, and deleting it leaves the live Release whole", async () => {
    const { cp, dp, org } = suite;
    const ns = uniqueName('preview-of');
    const live = uniqueName('live');
    const draft = uniqueName('draft');
    await cp.create(
      releaseObject(
        org,
        live,
        [
          configMap('same', ns, 'same'),
          configMap('changed', ns, 'changed', { a: '1' }),
          configMap('dropped', ns, 'dropped'),
        ],
        FAST,
      ),
    );
    const before = await waitReady(cp, org, live);
    const objects = async () =>
      Promise.all(
        ['same', 'changed', 'dropped'].map(async (n) => {
          const o = await dp.get('v1', 'ConfigMap', ns, n);
          return {
            name: n,
            resourceVersion: o?.metadata.resourceVersion,
            deleting: o?.metadata.deletionTimestamp,
          };
        }),
      );
    const objectsBefore = await objects();

    await cp.create(
      releaseObject(
        org,
        draft,
        [
          configMap('same', ns, 'same'),
          configMap('changed', ns, 'changed', { a: '9' }),
          configMap('added', ns, 'added'),
        ],
        { ...FAST, annotations: { [Annotations.applyMode]: 'DryRun', [Annotations.previewOf]: live } },
      ),
    );
    const preview = await eventually(async () => {
      const r = await getRelease(cp, org.namespace, draft);
      assert.equal(condition(r, 'Ready')?.reason, 'Previewed', JSON.stringify(r?.status?.conditions));
      return r!;
    });
    const plans = Object.fromEntries((preview.status?.resources ?? []).map((r) => [r.id, r.plan]));
    assert.deepEqual(plans, {
      same: { action: 'Unchanged' },
      changed: { action: 'Update', fields: ['/data/a'] },
      added: { action: 'Create' },
    });
    assert.ok(
      preview.status?.resources?.every((r) => r.healthReason !== 'Conflict' && r.uid === undefined),
      `no Conflict and no uid recorded: ${JSON.stringify(preview.status?.resources)}`,
    );
    assert.deepEqual(preview.status?.plannedDeletions, [
      { id: 'dropped', group: '', version: 'v1', kind: 'ConfigMap', namespace: ns, name: 'dropped' },
    ]);
    assert.equal(preview.status?.pendingRemovals, undefined, 'nothing of the live Release pending removal');
    assert.match(
      condition(preview, 'Ready')?.message ?? '',
      /1 to create, 1 to update, 1 unchanged, 1 to delete, 0 would fail/,
    );

    await deleteRelease(cp, org.namespace, draft);
    assert.deepEqual(
      await objects(),
      objectsBefore,
      'every object of the live Release is still there, untouched',
    );
    assert.equal(await dp.get('v1', 'ConfigMap', ns, 'added'), undefined, 'the preview created nothing');
    const after = await waitReady(cp, org, live);
    assert.equal(after.metadata.generation, before.metadata.generation);
    assert.deepEqual(
      after.status?.resources?.map((r) => [r.id, r.uid, r.origin, r.removal]),
      before.status?.resources?.map((r) => [r.id, r.uid, r.origin, r.removal]),
      "the live Release's inventory is unchanged",
    );
    await deleteRelease(cp, org.namespace, live);
  });

  test('preview-of is refused on a Release that applies, and when it names no Release of its namespace (another organization)', async () => {
    const { cp, dp, org } = suite;
    const ns = uniqueName('preview-of');
    const live = uniqueName('live');
    await cp.create(releaseObject(org, live, [configMap('mine', ns, 'mine')], FAST));
    await waitReady(cp, org, live);
    const mineBefore = (await dp.get('v1', 'ConfigMap', ns, 'mine'))?.metadata.resourceVersion;

    const applying = uniqueName('applying');
    await cp.create(
      releaseObject(
        org,
        applying,
        [configMap('mine', ns, 'mine', { taken: 'over' }), configMap('extra', ns, 'extra')],
        {
          ...FAST,
          annotations: { [Annotations.previewOf]: live },
        },
      ),
    );
    const refused = await eventually(async () => {
      const r = await getRelease(cp, org.namespace, applying);
      assert.equal(condition(r, 'Ready')?.reason, 'PreviewOfInvalid');
      return r!;
    });
    assert.equal(
      condition(refused, 'Ready')?.message,
      `Release ${org.namespace}/${applying}: annotation ${Annotations.previewOf} ("${live}") is honoured only on a preview; ` +
        `set annotation ${Annotations.applyMode}: DryRun or remove ${Annotations.previewOf}; nothing was sent to the data plane`,
    );
    assert.equal(await dp.get('v1', 'ConfigMap', ns, 'extra'), undefined, 'nothing applied');
    assert.equal(
      (await dp.get('v1', 'ConfigMap', ns, 'mine'))?.metadata.resourceVersion,
      mineBefore,
      'the live object untouched',
    );

    // Another organization names the Release: preview-of only looks in its own namespace.
    const other = await createOrg(cp, suite.dataPlane);
    const foreign = uniqueName('foreign');
    await cp.create(
      releaseObject(other, foreign, [configMap('mine', ns, 'mine', { seen: 'yes' })], {
        ...FAST,
        annotations: { [Annotations.applyMode]: 'DryRun', [Annotations.previewOf]: live },
      }),
    );
    const missing = await eventually(async () => {
      const r = await getRelease(cp, other.namespace, foreign);
      assert.equal(condition(r, 'Ready')?.reason, 'PreviewOfInvalid');
      return r!;
    });
    assert.match(
      condition(missing, 'Ready')?.message ?? '',
      new RegExp(`names Release "${live}", which does not exist in namespace ${other.namespace}`),
    );
    assert.equal(missing.status?.resources, undefined, 'nothing planned, nothing read');
    await deleteRelease(cp, org.namespace, applying);
    await deleteRelease(cp, other.namespace, foreign);
    await deleteRelease(cp, org.namespace, live);
    assert.equal(await dp.get('v1', 'ConfigMap', ns, 'mine'), undefined);
  });
});
