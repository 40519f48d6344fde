import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { DataPlane, Environment, Release } from '../../api/v1alpha1/schema.ts';
import {
  environmentStatus,
  environmentUsers,
  HEARTBEAT_MS,
  needsWrite,
  planeStatus,
  planeUsers,
  readyOfCheck,
  terminatingCondition,
  type Check,
  type PlaneId,
} from './status.ts';

const NOW = new Date('2026-01-01T12:00:00Z');

const plane = (name: string, namespace?: string, extra: Partial<DataPlane['metadata']> = {}): DataPlane => ({
  apiVersion: 'openchoreo.dev/v1alpha1',
  kind: namespace ? 'DataPlane' : 'ClusterDataPlane',
  metadata: { name, ...(namespace && { namespace }), generation: 1, ...extra },
  spec: {
    kubernetesCluster: {
      name,
      credentials: { apiServerURL: 'https://x', caCert: 'a', clientCert: 'b', clientKey: 'c' },
    },
  },
});
const env = (name: string, dataPlaneRef: unknown, namespace = 'acme', extra = {}): Environment => ({
  apiVersion: 'openchoreo.dev/v1alpha1',
  kind: 'Environment',
  metadata: { name, namespace, generation: 1, ...extra },
  spec: { dataPlaneRef: dataPlaneRef as string },
});
const release = (
  name: string,
  environmentName: string,
  namespace = 'acme',
  appliedTo: string[] = [],
): Release => ({
  apiVersion: 'openchoreo.dev/v1alpha1',
  kind: 'Release',
  metadata: { name, namespace },
  spec: { owner: { projectName: 'p', componentName: name }, environmentName },
  status: { appliedTo: appliedTo.map((dataPlane) => ({ dataPlane, cluster: 'c' })) },
});

function lookupOf(envs: Environment[], planes: DataPlane[]) {
  return {
    environment: (ns: string, name: string) =>
      envs.find((e) => e.metadata.namespace === ns && e.metadata.name === name),
    dataPlane: (ns: string, name: string) =>
      planes.find((p) => p.metadata.namespace === ns && p.metadata.name === name),
    clusterDataPlane: (name: string) => planes.find((p) => !p.metadata.namespace && p.metadata.name === name),
  };
}

const DP: PlaneId = { kind: 'DataPlane', namespace: 'acme', name: 'dp' };
const OK: Check = { ok: true, clusterID: 'uid-1', serverVersion: 'v1.33.2' };

describe('plane status', () => {
  test('Ready follows the check: not checked, refused, broken watches, reachable', () => {
    assert.equal(readyOfCheck(DP, undefined).status, 'Unknown');
    assert.equal(readyOfCheck(DP, undefined).reason, 'NotChecked');
    const refused = readyOfCheck(DP, { ok: false, reason: 'CredentialsRefused', message: 'refused' });
    assert.deepEqual(
      [refused.status, refused.reason, refused.message],
      ['False', 'CredentialsRefused', 'refused'],
    );
    const broken = readyOfCheck(DP, { ...OK, brokenWatches: 'ConfigMap (timeout)' });
    assert.equal(broken.reason, 'WatchBroken');
    assert.match(broken.message, /ConfigMap \(timeout\).*nothing is pruned/);
    const ok = readyOfCheck(DP, OK);
    assert.deepEqual([ok.status, ok.reason], ['True', 'Reachable']);
    assert.match(ok.message, /v1\.33\.2.*uid-1/);
  });

  test('a plane that answers reports its identity, version, Releases and check time', () => {
    const status = planeStatus({
      id: DP,
      plane: plane('dp', 'acme'),
      check: OK,
      checkedAt: NOW,
      users: { count: 2, names: ['acme/a', 'acme/b'] },
      now: NOW,
    });
    assert.equal(status.clusterID, 'uid-1');
    assert.equal(status.serverVersion, 'v1.33.2');
    assert.equal(status.releases, 2);
    assert.equal(status.lastCheckedTime, NOW.toISOString());
    assert.equal(status.observedGeneration, 1);
    assert.deepEqual(
      status.conditions?.map((c) => [c.type, c.status, c.reason]),
      [['Ready', 'True', 'Reachable']],
    );
  });

  test("a failed check drops the identity, keeps other writers' fields and conditions, and the transition time while the status holds", () => {
    const before = plane('dp', 'acme');
    before.status = {
      clusterID: 'uid-1',
      serverVersion: 'v1.33.2',
      conditions: [
        {
          type: 'Ready',
          status: 'False',
          reason: 'Unreachable',
          message: 'old',
          lastTransitionTime: '2025-01-01T00:00:00Z',
        },
        {
          type: 'AgentConnected',
          status: 'True',
          reason: 'Up',
          message: '',
          lastTransitionTime: '2025-01-01T00:00:00Z',
        },
      ],
    };
    (before.status as Record<string, unknown>)['agentConnection'] = { connected: true };
    const status = planeStatus({
      id: DP,
      plane: before,
      check: { ok: false, reason: 'CredentialsRefused', message: 'refused' },
      checkedAt: NOW,
      users: { count: 0, names: [] },
      now: NOW,
    });
    assert.equal(status.clusterID, undefined);
    assert.equal(status.serverVersion, undefined);
    assert.deepEqual((status as Record<string, unknown>)['agentConnection'], { connected: true });
    const ready = status.conditions?.find((c) => c.type === 'Ready');
    assert.equal(ready?.reason, 'CredentialsRefused');
    assert.equal(ready?.lastTransitionTime, '2025-01-01T00:00:00Z', 'still False: same transition');
    assert.ok(
      status.conditions?.some((c) => c.type === 'AgentConnected'),
      "another writer's condition stays",
    );
  });

  test('a plane being deleted names the Releases that hold it; a shared one only counts them', () => {
    const t = terminatingCondition('DataPlane acme/dp', true, { count: 2, names: ['acme/a', 'acme/b'] });
    assert.equal(t?.reason, 'InUseByReleases');
    assert.match(t?.message ?? '', /waits for 2 Releases that use it: acme\/a, acme\/b; move them/);
    const shared = terminatingCondition('ClusterDataPlane shared', true, { count: 3, names: [] });
    assert.match(shared?.message ?? '', /waits for 3 Releases;/);
    assert.doesNotMatch(shared?.message ?? '', /\//, 'no names of other organizations');
    assert.equal(
      terminatingCondition('DataPlane acme/dp', true, { count: 0, names: [] })?.reason,
      'Released',
    );
    assert.equal(
      terminatingCondition('DataPlane acme/dp', false, { count: 2, names: ['acme/a'] }),
      undefined,
    );
    const status = planeStatus({
      id: DP,
      plane: plane('dp', 'acme', { deletionTimestamp: NOW.toISOString() }),
      check: OK,
      checkedAt: NOW,
      users: { count: 1, names: ['acme/a'] },
      now: NOW,
    });
    assert.equal(status.conditions?.find((c) => c.type === 'Terminating')?.status, 'True');
  });

  test('planeUsers counts Releases by their Environment and by status.appliedTo, in the namespace only', () => {
    const planes = [plane('dp', 'acme'), plane('other', 'acme'), plane('shared')];
    const envs = [
      env('prod', 'dp'),
      env('stage', 'other'),
      env('ext', { kind: 'ClusterDataPlane', name: 'shared' }, 'beta'),
    ];
    const releases = [
      release('a', 'prod'),
      release('b', 'stage', 'acme', ['dp']), // moved away, objects still there
      release('c', 'stage'),
      release('d', 'prod', 'beta'), // another organization: never a user of acme/dp
      release('e', 'ext', 'beta'),
      release('f', 'stage', 'acme', ['ClusterDataPlane/shared']),
    ];
    const lookup = lookupOf(envs, planes);
    assert.deepEqual(planeUsers(DP, releases, lookup), { count: 2, names: ['acme/a', 'acme/b'] });
    assert.deepEqual(planeUsers({ kind: 'ClusterDataPlane', name: 'shared' }, releases, lookup), {
      count: 2,
      names: [],
    });
    assert.deepEqual(environmentUsers(envs[1]!, releases), {
      count: 3,
      names: ['acme/b', 'acme/c', 'acme/f'],
    });
  });
});

describe('environment status', () => {
  const planes = lookupOf([], [plane('dp', 'acme'), plane('default')]);
  const statusOf = (e: Environment, p = planes) =>
    environmentStatus({ environment: e, planes: p, users: { count: 0, names: [] }, now: NOW });
  const ready = (e: Environment, p = planes) => statusOf(e, p).conditions?.find((c) => c.type === 'Ready');

  test('resolved: names the plane it resolves to', () => {
    const status = statusOf(env('prod', 'dp'));
    assert.equal(status.dataPlane, 'DataPlane/dp');
    assert.deepEqual(
      [ready(env('prod', 'dp'))?.status, ready(env('prod', 'dp'))?.reason],
      ['True', 'DataPlaneResolved'],
    );
    assert.equal(
      statusOf(env('prod', undefined)).dataPlane,
      'ClusterDataPlane/default',
      'the default fallback',
    );
  });

  test('unresolved: a missing plane, a malformed reference', () => {
    const missing = ready(env('prod', 'nope'));
    assert.deepEqual([missing?.status, missing?.reason], ['False', 'DataPlaneNotFound']);
    assert.match(missing?.message ?? '', /DataPlane acme\/nope \(spec.dataPlaneRef\) not found/);
    assert.equal(statusOf(env('prod', 'nope')).dataPlane, undefined);
    const bad = ready(env('prod', { kind: 'Namespace', name: 'x' }));
    assert.equal(bad?.reason, 'InvalidDataPlaneRef');
  });

  test('a plane that is not Ready makes its Environment not Ready', () => {
    const down = plane('dp', 'acme');
    down.status = {
      conditions: [
        {
          type: 'Ready',
          status: 'False',
          reason: 'Unreachable',
          message: 'x',
          lastTransitionTime: NOW.toISOString(),
        },
      ],
    };
    const r = ready(env('prod', 'dp'), lookupOf([], [down]));
    assert.deepEqual([r?.status, r?.reason], ['False', 'DataPlaneNotReady']);
    assert.match(r?.message ?? '', /DataPlane acme\/dp is not Ready \(Unreachable\)/);
  });
});

describe('needsWrite', () => {
  const status: { releases: number; lastCheckedTime?: string } = {
    releases: 1,
    lastCheckedTime: NOW.toISOString(),
  };
  test('writes a change, not the same status again', () => {
    assert.equal(needsWrite(undefined, status, NOW), true);
    assert.equal(needsWrite(status, { ...status }, NOW), false);
    assert.equal(needsWrite(status, { ...status, releases: 2 }, NOW), true);
  });
  test('a newer check time alone is written only once the written one is older than the heartbeat', () => {
    const later = new Date(NOW.getTime() + 60_000);
    assert.equal(needsWrite(status, { ...status, lastCheckedTime: later.toISOString() }, later), false);
    const muchLater = new Date(NOW.getTime() + HEARTBEAT_MS);
    assert.equal(
      needsWrite(status, { ...status, lastCheckedTime: muchLater.toISOString() }, muchLater),
      true,
    );
  });
});
