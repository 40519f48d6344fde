/**
 * Hostile data planes: a DataPlane pointing at a local server that answers with a huge body (with
 * and without content-length) or with a list that never ends gets `DataPlaneUnreachable` on its
 * Releases, with a message naming the limit and the flag that raises it, while a Release on the
 * healthy shared data plane still becomes Ready. The controller stops reading at the cap.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Release } from '../../src/api/v1alpha1/schema.ts';
import { eventually } from '../support/eventually.ts';
import {
  condition,
  configMap,
  getRelease,
  releaseObject,
  uniqueName,
  waitReady,
} from '../support/fixtures.ts';
import { HostileDataPlane, type HostileMode } from '../support/hostile.ts';
import { integrationSuite } from '../support/suite.ts';

const MIB = 1024 * 1024;
const FAST = { interval: '1s', progressingInterval: '1s' };

describe('hostile data planes', () => {
  // Small bounds keep the machine's work small; the defaults are the same code with larger numbers.
  const suite = integrationSuite({
    controllerArgs: ['--dataplane-max-response-size=8Mi', '--dataplane-max-list-pages=40'],
  });
  const servers: HostileDataPlane[] = [];
  after(() => Promise.all(servers.map((s) => s.close())));

  /**
   * hostileRelease starts a misbehaving server, an organization whose DataPlane points at it and a
   * Release there, and one Release on the healthy shared data plane; it waits until the hostile one
   * reports ResourcesApplied=False and the healthy one Ready, and returns the hostile Release.
   */
  const hostileRelease = async (
    mode: HostileMode,
  ): Promise<{ release: Release; server: HostileDataPlane }> => {
    const { cp, org } = suite;
    const server = await HostileDataPlane.start(mode);
    servers.push(server);
    const hostileOrg = await server.createOrg(cp);
    const name = uniqueName('victim');
    await cp.create(releaseObject(hostileOrg, name, [configMap('cm', 'default', 'settings')], FAST));
    const healthy = uniqueName('neighbour');
    await cp.create(releaseObject(org, healthy, [configMap('cm', uniqueName('ok'), 'settings')], FAST));
    const release = await eventually(
      async () => {
        const r = await getRelease(cp, hostileOrg.namespace, name);
        assert.equal(condition(r, 'ResourcesApplied')?.status, 'False', 'ResourcesApplied=False');
        return r!;
      },
      { timeoutMs: 60_000, description: `Release ${name} on the hostile data plane to report` },
    );
    await waitReady(cp, org, healthy);
    return { release, server };
  };

  test('a huge body without content-length is cut at the cap and named in the Release', async () => {
    const { release, server } = await hostileRelease({
      kind: 'huge-body',
      bodyBytes: 300 * MIB,
      contentLength: false,
    });
    const applied = condition(release, 'ResourcesApplied');
    assert.equal(applied?.reason, 'DataPlaneUnreachable');
    assert.match(
      applied?.message ?? '',
      /the response body is larger than the limit of 8 MiB \(--dataplane-max-response-size raises it\)/,
    );
    assert.equal(condition(release, 'Ready')?.reason, 'DataPlaneUnreachable');
    assert.ok(
      server.stats.largestResponse < 64 * MIB,
      `the controller stopped reading: at most ${server.stats.largestResponse} bytes of 300 MiB went out`,
    );
  });

  test('a huge body with content-length is refused before it is read', async () => {
    const { release, server } = await hostileRelease({
      kind: 'huge-body',
      bodyBytes: 600 * MIB,
      contentLength: true,
    });
    const applied = condition(release, 'ResourcesApplied');
    assert.equal(applied?.reason, 'DataPlaneUnreachable');
    assert.match(
      applied?.message ?? '',
      /the response body declares 600 MiB, larger than the limit of 8 MiB \(--dataplane-max-response-size raises it\)/,
    );
    assert.ok(
      server.stats.largestResponse < 64 * MIB,
      `the controller stopped reading: at most ${server.stats.largestResponse} bytes of 600 MiB went out`,
    );
  });

  test('a list that answers continue forever ends at its page budget and is named in the Release', async () => {
    const { release } = await hostileRelease({ kind: 'endless-list', itemBytes: 1_000 });
    const applied = condition(release, 'ResourcesApplied');
    assert.equal(applied?.reason, 'DataPlaneUnreachable');
    assert.match(
      applied?.message ?? '',
      /the list did not end within 40 pages \(--dataplane-max-list-pages raises it\)/,
    );
  });
});
