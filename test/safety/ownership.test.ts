/**
 * Ownership: an object of another live Release is never taken over (Conflict), prune deletes only
 * objects that still carry this Release's uid, and a namespace that existed before a Release is
 * never deleted by it.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { API_VERSION, Labels } from '../../src/api/v1alpha1/constants.ts';
import type { KubeObject } from '../../src/api/object.ts';
import { eventually } from '../support/eventually.ts';
import {
  condition,
  configMap,
  getRelease,
  releaseObject,
  uniqueName,
  waitReady,
} from '../support/fixtures.ts';
import { integrationSuite } from '../support/suite.ts';

const FAST = { interval: '1s', progressingInterval: '1s' };
type ConfigMap = KubeObject & { data?: Record<string, string> };

describe('ownership', () => {
  const suite = integrationSuite();

  test('an object owned by another live Release is reported as a Conflict and not taken over', async () => {
    const { cp, dp, org } = suite;
    const ns = uniqueName('own');
    const first = uniqueName('first');
    const second = uniqueName('second');
    await cp.create(releaseObject(org, first, [configMap('cm', ns, 'shared', { owner: 'first' })], FAST));
    await waitReady(cp, org, first);
    await cp.create(releaseObject(org, second, [configMap('cm', ns, 'shared', { owner: 'second' })], FAST));

    const r = await eventually(async () => {
      const rel = await getRelease(cp, org.namespace, second);
      assert.equal(condition(rel, 'ResourcesApplied')?.reason, 'Conflict');
      return rel!;
    });
    assert.match(
      r.status?.resources?.[0]?.message ?? '',
      new RegExp(`belongs to Release ${org.namespace}/${first}; not taken over`),
    );
    const live = await dp.get<ConfigMap>('v1', 'ConfigMap', ns, 'shared');
    assert.equal(live?.data?.['owner'], 'first');
    assert.equal(live?.metadata.labels?.[Labels.releaseName], first);

    // Once the first Release is gone (and with it its object), the second one applies its own.
    await cp.delete(API_VERSION, 'Release', org.namespace, first);
    await eventually(
      async () => {
        const cm = await dp.get<ConfigMap>('v1', 'ConfigMap', ns, 'shared');
        assert.equal(cm?.data?.['owner'], 'second');
        assert.equal(condition(await getRelease(cp, org.namespace, second), 'Ready')?.status, 'True');
      },
      { timeoutMs: 30_000, description: 'the second Release to take the object once the first is gone' },
    );
  });

  test('prune leaves an object that no longer carries this Release uid', async () => {
    const { cp, dp, org } = suite;
    const ns = uniqueName('fence');
    const name = uniqueName('rel');
    await cp.create(releaseObject(org, name, [configMap('a', ns, 'a'), configMap('b', ns, 'b')], FAST));
    await waitReady(cp, org, name);
    // Someone hands object b over to another owner, behind the controller's back.
    await dp.patch('v1', 'ConfigMap', ns, 'b', {
      metadata: {
        labels: {
          [Labels.releaseUid]: '00000000-0000-0000-0000-000000000000',
          [Labels.releaseName]: 'someone-else',
        },
      },
    });
    await cp.patch(API_VERSION, 'Release', org.namespace, name, {
      spec: { resources: [configMap('a', ns, 'a')] },
    });
    await eventually(async () => {
      const rel = await getRelease(cp, org.namespace, name);
      assert.deepEqual(
        rel?.status?.resources?.map((e) => e.id),
        ['a'],
      );
    });
    // Deleting the Release cleans up only what is still its own.
    await cp.delete(API_VERSION, 'Release', org.namespace, name);
    await eventually(async () =>
      assert.equal(await getRelease(cp, org.namespace, name), undefined, 'the Release is gone'),
    );
    assert.equal(await dp.get('v1', 'ConfigMap', ns, 'a'), undefined, 'its own object is deleted');
    assert.ok(await dp.get('v1', 'ConfigMap', ns, 'b'), 'the object carrying another uid is left alone');
  });

  test('a namespace that existed before the Release is never deleted; one it created is pruned', async () => {
    const { cp, dp, org } = suite;
    const existing = uniqueName('pre');
    const created = uniqueName('new');
    await dp.ensureNamespace(existing);
    await dp.create({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'team-data', namespace: existing },
      data: { k: 'v' },
    });
    const ns = (n: string) => ({
      id: n,
      object: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: n, labels: { team: 'a' } } },
    });
    const name = uniqueName('rel');
    await cp.create(releaseObject(org, name, [ns(existing), ns(created)], FAST));
    await eventually(async () => {
      assert.equal((await dp.get('v1', 'Namespace', undefined, existing))?.metadata.labels?.['team'], 'a');
      assert.equal((await dp.get('v1', 'Namespace', undefined, created))?.metadata.labels?.['team'], 'a');
    });
    await cp.patch(API_VERSION, 'Release', org.namespace, name, { spec: { resources: [] } });
    await eventually(async () => {
      const gone = await dp.get('v1', 'Namespace', undefined, created);
      assert.ok(!gone || gone.metadata.deletionTimestamp, 'the namespace the Release created is pruned');
    });
    const kept = await dp.get('v1', 'Namespace', undefined, existing);
    assert.ok(kept && !kept.metadata.deletionTimestamp, 'the pre-existing namespace stays');
    assert.ok(await dp.get('v1', 'ConfigMap', existing, 'team-data'), 'and so does what lives in it');
  });
});
