/**
 * Hostile data planes, round 2 (issue 28, items 1 and 2): a watch that floods the cache, a server
 * that ignores the watch's selector, Releases that observe many objects, and a server that allows
 * one HTTP/2 stream per connection. Each is a small local server (test/support/hostile.ts) that a
 * tenant's DataPlane points at, beside a healthy Release of another organization on the shared
 * data plane.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ReleaseResource } from '../../src/api/v1alpha1/schema.ts';
import { metricValue } from '../support/controller.ts';
import { eventually } from '../support/eventually.ts';
import {
  condition,
  configMap,
  getRelease,
  releaseObject,
  uniqueName,
  waitReady,
} from '../support/fixtures.ts';
import { HostileDataPlane, type HostileMode, type HostileOptions } from '../support/hostile.ts';
import { integrationSuite } from '../support/suite.ts';

const MIB = 1024 * 1024;
const FAST = { interval: '1s', progressingInterval: '1s' };

/** observe is a resource that observes ConfigMap default/<name> (openchoreo.dev/apply: Observe). */
function observe(id: string, name: string): ReleaseResource {
  return {
    id,
    object: {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name, namespace: 'default', annotations: { 'openchoreo.dev/apply': 'Observe' } },
    },
  };
}

describe('hostile data planes: watches', () => {
  // A small cache budget keeps the machine's work small; the default is the same code, larger.
  const suite = integrationSuite({
    controllerArgs: ['--dataplane-max-cache-size=16Mi', '--max-observed-per-release=50'],
  });
  const servers: HostileDataPlane[] = [];
  after(() => Promise.all(servers.map((s) => s.close())));

  /** rss is the controller's resident memory, from its metrics endpoint. */
  const rss = async (): Promise<number> =>
    metricValue(await suite.controller.metrics(), 'process_resident_memory_bytes');

  /** start starts a misbehaving server and an organization whose DataPlane points at it. */
  const start = async (mode: HostileMode, options: HostileOptions = {}) => {
    const server = await HostileDataPlane.start(mode, options);
    servers.push(server);
    const org = await server.createOrg(suite.cp);
    return { server, org };
  };

  /** neighbourReady creates a Release of the suite's organization on the healthy data plane and waits until it is Ready. */
  const neighbourReady = async (): Promise<void> => {
    const name = uniqueName('neighbour');
    await suite.cp.create(
      releaseObject(suite.org, name, [configMap('cm', uniqueName('ok'), 'settings')], FAST),
    );
    await waitReady(suite.cp, suite.org, name);
  };

  test('a watch flooding distinct objects is closed at the cache budget: memory bounded, the Release says why, others unaffected', async () => {
    const baseline = await rss();
    const { server, org } = await start({ kind: 'flood-watch', objectBytes: 200 * 1024, matching: true });
    const name = uniqueName('victim');
    await suite.cp.create(releaseObject(org, name, [configMap('cm', 'default', 'settings')], FAST));
    let peak = baseline;
    const release = await eventually(
      async () => {
        peak = Math.max(peak, await rss());
        const r = await getRelease(suite.cp, org.namespace, name);
        assert.equal(condition(r, 'ResourcesApplied')?.status, 'False', 'ResourcesApplied=False');
        return r!;
      },
      { timeoutMs: 90_000, description: `Release ${name} to report its data plane's cache over budget` },
    );
    const applied = condition(release, 'ResourcesApplied');
    assert.equal(applied?.reason, 'DataPlaneUnreachable');
    assert.match(
      applied?.message ?? '',
      /the watch caches of data plane [^ ]+ hold more than 16 MiB \(--dataplane-max-cache-size raises it\)/,
    );
    assert.equal(condition(release, 'Ready')?.status, 'False');
    await neighbourReady();
    // The flooding watch was closed: the server has nobody left to send to.
    await eventually(
      () =>
        assert.equal(
          server.stats.openWatches.get('/api/v1/configmaps') ?? 0,
          0,
          'the flooding watch is closed',
        ),
      { timeoutMs: 30_000, description: 'the flooding watch to be closed' },
    );
    peak = Math.max(peak, await rss());
    const sent = (server.stats.watchEvents * 200 * 1024) / MIB;
    assert.ok(sent > 16, `the server sent ${sent.toFixed(0)} MiB of events`);
    assert.ok(
      peak - baseline < 256 * MIB,
      `RSS grew by ${((peak - baseline) / MIB).toFixed(0)} MiB (from ${(baseline / MIB).toFixed(0)} MiB) while ${sent.toFixed(0)} MiB were sent`,
    );
  });

  test('watch events that do not match the selector are dropped: nothing cached, the Release Ready', async () => {
    const baseline = await rss();
    const { server, org } = await start({ kind: 'flood-watch', objectBytes: 200 * 1024, matching: false });
    const name = uniqueName('ignored');
    await suite.cp.create(releaseObject(org, name, [configMap('cm', 'default', 'settings')], FAST));
    await waitReady(suite.cp, org, name);
    let peak = baseline;
    // 320 MiB of events the selector does not match, twenty times the cache budget: none is kept
    // (kept, they alone would be more than the growth allowed below).
    await eventually(
      async () => {
        peak = Math.max(peak, await rss());
        assert.ok(
          server.stats.watchEvents * 200 * 1024 > 320 * MIB,
          `${server.stats.watchEvents} events sent`,
        );
      },
      { timeoutMs: 120_000, description: 'the server to send 320 MiB of non-matching events' },
    );
    const release = await getRelease(suite.cp, org.namespace, name);
    assert.equal(condition(release, 'Ready')?.status, 'True', 'the cache never went over budget');
    assert.ok(
      (server.stats.openWatches.get('/api/v1/configmaps') ?? 0) > 0,
      'the watch is still open: nothing counted against the budget',
    );
    assert.ok(peak - baseline < 192 * MIB, `RSS grew by ${((peak - baseline) / MIB).toFixed(0)} MiB`);
  });

  test('observed objects share one watch per namespace and kind, and are capped per Release', async () => {
    const { server, org } = await start({ kind: 'observed', objects: 60 });
    const name = uniqueName('observer');
    const resources = [
      configMap('own', 'default', 'own-settings'),
      ...Array.from({ length: 50 }, (_, i) => observe(`o${i}`, `observed-${i}`)),
    ];
    await suite.cp.create(releaseObject(org, name, resources, FAST));
    await waitReady(suite.cp, org, name);
    const path = '/api/v1/namespaces/default/configmaps';
    assert.equal(server.maxOpenWatchesOf(path), 1, 'one watch of the namespace served all 50');
    assert.deepEqual(
      [...server.stats.watches.keys()].filter((p) => p.startsWith('/api/v1/namespaces/default/configmaps/')),
      [],
      'no watch of a single object',
    );

    const over = uniqueName('overobserver');
    await suite.cp.create(
      releaseObject(
        org,
        over,
        Array.from({ length: 52 }, (_, i) => observe(`o${i}`, `observed-${i}`)),
        FAST,
      ),
    );
    const refused = await eventually(
      async () => {
        const r = await getRelease(suite.cp, org.namespace, over);
        const text = JSON.stringify(r?.status ?? {});
        assert.match(
          text,
          /resource \\"o50\\": the Release observes 52 objects, more than --max-observed-per-release allows \(50\)/,
        );
        return r!;
      },
      { timeoutMs: 60_000, description: `Release ${over} to report the observe cap` },
    );
    assert.notEqual(condition(refused, 'Ready')?.status, 'True');
    assert.equal(server.maxOpenWatchesOf(path), 1, 'still one watch for both Releases');
  });

  test('a server that allows one HTTP/2 stream is refused, not given a TLS connection per watch', async () => {
    const { server, org } = await start({ kind: 'observed', objects: 0 }, { http2Streams: 1 });
    const name = uniqueName('onestream');
    await suite.cp.create(releaseObject(org, name, [configMap('cm', 'default', 'settings')], FAST));
    const release = await eventually(
      async () => {
        const r = await getRelease(suite.cp, org.namespace, name);
        assert.equal(condition(r, 'ResourcesApplied')?.reason, 'DataPlaneUnreachable');
        return r!;
      },
      { timeoutMs: 90_000, description: `Release ${name} to report the HTTP/2 stream floor` },
    );
    assert.match(
      condition(release, 'ResourcesApplied')?.message ?? '',
      /allows 1 concurrent HTTP\/2 stream per connection, fewer than 10: its watches would each cost a TLS connection \(--dataplane-min-http2-streams raises it\)/,
    );
    assert.equal(condition(release, 'Ready')?.status, 'False');
    // Refused once its first connection showed its settings: no watch is ever sent to it, and its
    // watches, retried with backoff meanwhile, open no more connections.
    const learned = server.stats.h2Connections;
    await neighbourReady();
    assert.equal(
      [...server.stats.watches.values()].reduce((a, b) => a + b, 0),
      0,
      'no watch was sent',
    );
    assert.equal(server.stats.h2Connections, learned, 'retried watches opened no HTTP/2 connection');
  });
});
