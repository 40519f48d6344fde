import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { dataPlaneView, environmentView, eventTimeline, releaseDetail, releaseRow } from './model.ts';

const release = (status: Record<string, unknown>, annotations: Record<string, string> = {}) => ({
  metadata: { namespace: 'acme', name: 'shop', annotations, creationTimestamp: '2026-01-01T00:00:00Z' },
  spec: { environmentName: 'dev' },
  status,
});
const resource = (id: string, health: string, extra: Record<string, unknown> = {}) => ({
  id,
  group: 'apps',
  version: 'v1',
  kind: 'Deployment',
  namespace: 'web',
  name: id,
  healthStatus: health,
  ...extra,
});

describe('the web view model', () => {
  test('a row counts resources by health (zeros too), drift and the worst health', () => {
    const row = releaseRow(
      release(
        {
          conditions: [
            { type: 'Ready', status: 'False', reason: 'Progressing', message: 'web is rolling out' },
          ],
          resources: [
            resource('a', 'Healthy'),
            resource('b', 'Progressing', { drift: { fields: [{ path: '/spec/replicas', manager: 'hpa' }] } }),
            resource('c', 'Suspended'),
          ],
        },
        { 'openchoreo.dev/apply-mode': 'DryRun' },
      ),
    );
    assert.deepEqual(row.counts, { Unknown: 0, Progressing: 1, Healthy: 1, Suspended: 1, Degraded: 0 });
    assert.equal(row.key, 'acme/shop');
    assert.equal(row.health, 'Progressing');
    assert.equal(row.ready, 'False');
    assert.equal(row.reason, 'Progressing');
    assert.equal(row.drifted, 1);
    assert.equal(row.preview, true);
  });

  test('a Release that failed to apply is Degraded; one without status is Unknown', () => {
    const failed = releaseRow(
      release({
        conditions: [{ type: 'ResourcesApplied', status: 'False', reason: 'InvalidResource' }],
        resources: [resource('a', 'Healthy')],
      }),
    );
    assert.equal(failed.health, 'Degraded');
    const fresh = releaseRow({ metadata: { namespace: 'acme', name: 'new' } });
    assert.equal(fresh.health, 'Unknown');
    assert.equal(fresh.ready, 'Unknown');
    assert.equal(releaseRow('not an object').key, '/');
  });

  test('the detail keeps each resource with its live status, and the Release policy annotations', () => {
    const detail = releaseDetail(
      release(
        {
          conditions: [
            { type: 'Ready', status: 'True', reason: 'Ready', lastTransitionTime: '2026-01-01T00:00:01Z' },
          ],
          resources: [
            resource('a', 'Healthy', { status: { replicas: 2 }, lastObservedTime: '2026-01-01T00:00:02Z' }),
          ],
          retained: [
            { group: '', version: 'v1', kind: 'ConfigMap', name: 'kept', reason: 'prune: Disabled' },
          ],
        },
        { 'openchoreo.dev/drift': 'Report' },
      ),
    );
    assert.deepEqual(detail.resources[0]?.status, { replicas: 2 });
    assert.equal(detail.resources[0]?.lastObservedTime, '2026-01-01T00:00:02Z');
    assert.equal(detail.driftMode, 'Report');
    assert.equal(detail.environment, 'dev');
    assert.deepEqual(detail.conditions, [
      {
        type: 'Ready',
        status: 'True',
        reason: 'Ready',
        message: '',
        lastTransitionTime: '2026-01-01T00:00:01Z',
      },
    ]);
    assert.equal(detail.retained[0]?.reason, 'prune: Disabled');
  });

  test('the timeline folds runs of the same Event, oldest first', () => {
    const event = (reason: string, at: string, note = 'n') => ({
      type: 'Normal',
      reason,
      note,
      eventTime: at,
      metadata: { creationTimestamp: at },
    });
    const timeline = eventTimeline([
      event('Applied', '2026-01-01T00:00:03Z'),
      event('Applied', '2026-01-01T00:00:01Z'),
      event('Ready', '2026-01-01T00:00:02Z'),
      event('Applied', '2026-01-01T00:00:04Z'),
    ]);
    assert.deepEqual(
      timeline.map((e) => [e.reason, e.count, e.first, e.last]),
      [
        ['Applied', 1, '2026-01-01T00:00:01Z', '2026-01-01T00:00:01Z'],
        ['Ready', 1, '2026-01-01T00:00:02Z', '2026-01-01T00:00:02Z'],
        ['Applied', 2, '2026-01-01T00:00:03Z', '2026-01-01T00:00:04Z'],
      ],
    );
  });

  test('a DataPlane shows how it is reached, never its credentials', () => {
    const dp = dataPlaneView('dp', {
      spec: {
        kubernetesCluster: {
          name: 'east',
          credentials: { apiServerURL: 'https://10.0.0.1', clientKey: 'c2VjcmV0' },
        },
      },
      status: { conditions: [{ type: 'Ready', status: 'True' }] },
    });
    assert.deepEqual(dp.facts, [
      ['Cluster', 'east'],
      ['Credentials', 'inline'],
    ]);
    assert.ok(!JSON.stringify(dp).includes('c2VjcmV0'), 'no key');
    assert.equal(dp.conditions[0]?.status, 'True');
    assert.deepEqual(dataPlaneView('gone', undefined, 'forbidden'), {
      kind: 'DataPlane',
      name: 'gone',
      found: false,
      facts: [],
      conditions: [],
      error: 'forbidden',
    });
    assert.deepEqual(environmentView('dev', { spec: { dataPlaneRef: 'dp', isProduction: false } }).facts, [
      ['DataPlane', 'dp'],
      ['Production', 'no'],
    ]);
  });
});
