/**
 * Leader election and shutdown: with two controllers only the Lease holder reconciles; killing it
 * hands over within the lease duration; SIGTERM releases the Lease so a standby takes over at once,
 * and the process exits 0. Two shards split the Releases between them.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../src/api/object.ts';
import { metricValue, type ControllerProcess } from '../support/controller.ts';
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

type Lease = KubeObject & { spec?: { holderIdentity?: string; leaseTransitions?: number } };

describe('leader election', () => {
  // The tests start their controllers, two at a time; `after` kills them.
  const suite = integrationSuite({ controller: false });

  const start = (leaseId: string) =>
    suite.startController([
      '--leader-elect',
      `--leader-election-id=${leaseId}`,
      '--leader-election-namespace=default',
      '--leader-elect-lease-duration=4s',
      '--leader-elect-renew-deadline=3s',
      '--leader-elect-retry-period=500ms',
    ]);
  const leader = async (leaseId: string, candidates: ControllerProcess[]) => {
    const holder = (await suite.cp.get<Lease>('coordination.k8s.io/v1', 'Lease', 'default', leaseId))?.spec
      ?.holderIdentity;
    for (const c of candidates) {
      if (metricValue(await c.metrics(), 'leader_election_master_status') === 1)
        return { holder, process: c };
    }
    return { holder, process: undefined };
  };
  const reconcilesOf = (c: ControllerProcess, key: string) =>
    c.logLines().filter((l) => l['msg'] === 'reconciled' && l['release'] === key).length;

  test('only the leader reconciles; killing it hands over within the lease duration', async () => {
    const { cp, org } = suite;
    const leaseId = uniqueName('lease');
    const a = await start(leaseId);
    const b = await start(leaseId);
    const first = await eventually(async () => {
      const l = await leader(leaseId, [a, b]);
      assert.ok(l.process && l.holder, 'one process leads and holds the Lease');
      return l.process;
    });
    const standby = first === a ? b : a;
    assert.equal(metricValue(await standby.metrics(), 'leader_election_master_status'), 0);

    const name = uniqueName('rel');
    await cp.create(
      releaseObject(org, name, [configMap('cm', uniqueName('le'), 'c')], {
        interval: '500ms',
        progressingInterval: '500ms',
      }),
    );
    const key = `${org.namespace}/${name}`;
    await eventually(() => reconcilesOf(first, key) >= 3, { description: 'the leader to reconcile' });
    assert.equal(reconcilesOf(standby, key), 0, 'the standby must not reconcile');

    await first.kill();
    const killedAt = Date.now();
    await eventually(() => reconcilesOf(standby, key) >= 1, {
      timeoutMs: 20_000,
      description: 'the standby to take over',
    });
    const tookOver = Date.now() - killedAt;
    assert.ok(tookOver < 15_000, `takeover took ${tookOver} ms`);
    assert.equal(condition(await getRelease(cp, org.namespace, name), 'Ready')?.status, 'True');
    await standby.kill();
  });

  test('SIGTERM releases the Lease so a standby takes over at once, and exits 0', async () => {
    const { cp } = suite;
    const leaseId = uniqueName('lease');
    const a = await start(leaseId);
    const b = await start(leaseId);
    const first = await eventually(async () => {
      const l = await leader(leaseId, [a, b]);
      assert.ok(l.process, 'expected l.process');
      return l.process;
    });
    const standby = first === a ? b : a;
    assert.equal(await first.stop('SIGTERM'), 0, 'graceful shutdown exits 0');
    const lease = await cp.get<Lease>('coordination.k8s.io/v1', 'Lease', 'default', leaseId);
    assert.ok(lease, 'expected lease');
    await eventually(
      async () => assert.equal(metricValue(await standby.metrics(), 'leader_election_master_status'), 1),
      {
        // Released leases last 1 s; the standby retries every 500 ms.
        timeoutMs: 3_000,
        description: 'the standby to lead right after the release',
      },
    );
    const lines = first.logLines().map((l) => l['msg']);
    assert.ok(lines.includes('shutdown complete'), 'the log says the shutdown completed');
    await standby.kill();
  });

  test('two shards split the Releases: each is reconciled by exactly one shard', async () => {
    const { cp, org } = suite;
    const shards = [
      await suite.startController(['--shard-count=2', '--shard-index=0']),
      await suite.startController(['--shard-count=2', '--shard-index=1']),
    ];
    const ns = uniqueName('shard');
    const names = Array.from({ length: 8 }, () => uniqueName('rel'));
    for (const name of names) await cp.create(releaseObject(org, name, [configMap('cm', ns, name)]));
    for (const name of names) await waitReady(cp, org, name);
    const owners = names.map(
      (name) => shards.filter((s) => reconcilesOf(s, `${org.namespace}/${name}`) > 0).length,
    );
    assert.deepEqual(
      owners,
      names.map(() => 1),
      'every Release has exactly one shard reconciling it',
    );
    for (const s of shards) {
      assert.ok(
        names.some((name) => reconcilesOf(s, `${org.namespace}/${name}`) > 0),
        'each shard owns some of the eight Releases',
      );
    }
  });
});
