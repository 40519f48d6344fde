import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import { codeLabel, kindLabel, ReleaseMetrics } from './metrics.ts';

void test('codeLabel keeps known status codes and buckets every other answer of a data plane', () => {
  assert.deepEqual(
    ['0', '200', '404', '429', '503', '299', '418', '599', '999', '-1', 'abc', ''].map(codeLabel),
    ['0', '200', '404', '429', '503', '2xx', '4xx', '5xx', 'other', 'other', 'other', 'other'],
  );
});

void test('forgetDataPlane removes every series naming the DataPlane and leaves the others', async () => {
  const registry = new Registry();
  const metrics = new ReleaseMetrics(registry);
  for (const dp of ['acme/dp', 'other/dp']) {
    metrics.applied(dp, 'ConfigMap', 'applied');
    metrics.pruned(dp, 'ConfigMap');
    metrics.deferred(dp);
    metrics.requestObserver(dp)('PATCH', '200', 0.01);
    metrics.requestObserver(dp)('WATCH', '200', 30);
  }
  metrics.requestObserver('control-plane')('PATCH', '200', 0.01);
  const before = await registry.metrics();
  assert.match(before, /data_plane="acme\/dp"/);
  assert.match(before, /cluster="acme\/dp"/);

  metrics.forgetDataPlane('acme/dp');
  const text = await registry.metrics();
  assert.doesNotMatch(text, /acme\/dp/, 'no series names the deleted DataPlane');
  for (const name of [
    'release_controller_applies_total',
    'release_controller_prunes_total',
    'release_controller_dataplane_deferred_total',
    'release_controller_api_requests_total',
    'release_controller_api_request_duration_seconds_count',
  ]) {
    assert.match(text, new RegExp(`^${name}\\{[^}]*other/dp`, 'm'), `${name} of another DataPlane stays`);
  }
  assert.match(text, /cluster="control-plane"/);
});

void test('the connection, watch and reconcile gauges read the pool and the slots at scrape time', async () => {
  const registry = new Registry();
  const metrics = new ReleaseMetrics(registry);
  let watches = new Map([
    ['acme/dp', 3],
    ['other/dp', 0],
  ]);
  let reconciles = new Map([['acme/dp', 2]]);
  let cached = new Map([['acme/dp', 40]]);
  metrics.usedBy({ watches: () => watches, reconciles: () => reconciles, cachedObjects: () => cached });
  let text = await registry.metrics();
  assert.match(text, /^release_controller_dataplane_connections 2$/m);
  assert.match(text, /^release_controller_dataplane_watches\{data_plane="acme\/dp"\} 3$/m);
  assert.match(text, /^release_controller_dataplane_watches\{data_plane="other\/dp"\} 0$/m);
  assert.match(text, /^release_controller_dataplane_reconciles\{data_plane="acme\/dp"\} 2$/m);
  assert.match(text, /^release_controller_dataplane_cached_objects\{data_plane="acme\/dp"\} 40$/m);
  watches = new Map();
  reconciles = new Map();
  cached = new Map();
  text = await registry.metrics();
  assert.match(text, /^release_controller_dataplane_connections 0$/m);
  assert.doesNotMatch(text, /data_plane=/, 'gone DataPlanes leave no gauge series');
});

void test('the kind label names built-in kinds and buckets every other kind a tenant or data plane chooses', async () => {
  assert.deepEqual(
    ['Deployment', 'ConfigMap', 'HTTPRoute', 'Widget', 'deployment', '', 'Kind-4711'].map(kindLabel),
    ['Deployment', 'ConfigMap', 'HTTPRoute', 'other', 'other', 'other', 'other'],
  );
  const registry = new Registry();
  const metrics = new ReleaseMetrics(registry);
  for (let i = 0; i < 5000; i++) {
    metrics.applied('acme/dp', `Kind${i}`, 'applied');
    metrics.pruned('acme/dp', `Kind${i}`);
    metrics.driftCorrected('acme/dp', `Kind${i}`);
  }
  metrics.applied('acme/dp', 'Deployment', 'applied');
  const text = await registry.metrics();
  const series = (name: string) => text.split('\n').filter((l) => l.startsWith(`${name}{`));
  assert.deepEqual(series('release_controller_applies_total'), [
    'release_controller_applies_total{data_plane="acme/dp",kind="other",result="applied"} 5000',
    'release_controller_applies_total{data_plane="acme/dp",kind="Deployment",result="applied"} 1',
  ]);
  assert.equal(series('release_controller_prunes_total').length, 1);
  assert.equal(series('release_controller_drift_corrections_total').length, 1);
  metrics.forgetDataPlane('acme/dp');
  assert.doesNotMatch(await registry.metrics(), /acme\/dp/, 'drift corrections are forgotten too');
});
