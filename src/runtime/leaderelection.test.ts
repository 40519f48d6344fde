import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import { pino } from 'pino';
import type { KubeClient, KubeRequest } from '../kube/client.ts';
import { KubeApiError } from '../kube/client.ts';
import type { Lease, LeaseSpec } from './leaderelection.ts';
import {
  LeaderElector,
  decideLeaseAction,
  defaultIdentity,
  formatMicroTime,
  leaseExpiresAtMs,
  nextLeaseSpec,
  observeLease,
  releasedLeaseSpec,
} from './leaderelection.ts';

const held: LeaseSpec = {
  holderIdentity: 'other',
  leaseDurationSeconds: 15,
  acquireTime: '2024-01-01T00:00:00.000000Z',
  renewTime: '2024-01-01T00:00:10.000000Z',
  leaseTransitions: 3,
};

void describe('formatMicroTime', () => {
  void it('renders microsecond precision in UTC', () => {
    assert.equal(formatMicroTime(new Date(Date.UTC(2006, 0, 2, 15, 4, 5, 7))), '2006-01-02T15:04:05.007000Z');
  });
});

void describe('observeLease', () => {
  void it('moves the observation time only when the record changes', () => {
    const first = observeLease(undefined, held, 1_000);
    assert.equal(first.observedAtMs, 1_000);
    const same = observeLease(first, { ...held }, 9_000);
    assert.equal(same.observedAtMs, 1_000, 'an unchanged record keeps ageing');
    const renewed = observeLease(same, { ...held, renewTime: '2024-01-01T00:00:12.000000Z' }, 9_000);
    assert.equal(renewed.observedAtMs, 9_000);
  });

  void it('ignores the remote renewTime: a leader whose clock runs ahead still expires by our clock', () => {
    const future = { ...held, renewTime: '2099-01-01T00:00:00.000000Z' };
    const obs = observeLease(undefined, future, 0);
    assert.equal(decideLeaseAction(observeLease(obs, future, 14_999), 'me', 14_999), 'wait');
    assert.equal(decideLeaseAction(observeLease(obs, future, 15_000), 'me', 15_000), 'acquire');
  });
});

void describe('decideLeaseAction', () => {
  const table: Array<{ name: string; spec: LeaseSpec; observedAtMs: number; nowMs: number; want: string }> = [
    {
      name: 'we hold it',
      spec: { ...held, holderIdentity: 'me' },
      observedAtMs: 0,
      nowMs: 1_000,
      want: 'renew',
    },
    {
      name: 'we hold it even past expiry (renew, not take over)',
      spec: { ...held, holderIdentity: 'me' },
      observedAtMs: 0,
      nowMs: 60_000,
      want: 'renew',
    },
    { name: 'another holds a fresh lease', spec: held, observedAtMs: 0, nowMs: 14_999, want: 'wait' },
    { name: 'another holds an expired lease', spec: held, observedAtMs: 0, nowMs: 15_000, want: 'acquire' },
    {
      name: 'released (empty holder)',
      spec: { ...held, holderIdentity: '' },
      observedAtMs: 0,
      nowMs: 0,
      want: 'acquire',
    },
    { name: 'never held', spec: {}, observedAtMs: 0, nowMs: 0, want: 'acquire' },
    {
      name: 'held without a duration counts as expired',
      spec: { holderIdentity: 'other' },
      observedAtMs: 0,
      nowMs: 0,
      want: 'acquire',
    },
    {
      name: 'released with 1 s duration and empty holder is free at once',
      spec: releasedLeaseSpec(held, new Date(0)),
      observedAtMs: 5_000,
      nowMs: 5_000,
      want: 'acquire',
    },
  ];
  for (const t of table) {
    void it(t.name, () => {
      assert.equal(decideLeaseAction({ spec: t.spec, observedAtMs: t.observedAtMs }, 'me', t.nowMs), t.want);
    });
  }

  void it('expires at observation time plus the lease duration', () => {
    assert.equal(leaseExpiresAtMs({ spec: held, observedAtMs: 2_000 }), 17_000);
  });
});

void describe('nextLeaseSpec', () => {
  const now = new Date(Date.UTC(2024, 0, 1, 0, 1, 0));
  const nowText = '2024-01-01T00:01:00.000000Z';

  void it('creates a first record with no transitions', () => {
    assert.deepEqual(nextLeaseSpec(undefined, 'me', 15, now), {
      holderIdentity: 'me',
      leaseDurationSeconds: 15,
      acquireTime: nowText,
      renewTime: nowText,
      leaseTransitions: 0,
    });
  });

  void it('a renewal keeps acquireTime and transitions', () => {
    const spec = nextLeaseSpec({ ...held, holderIdentity: 'me' }, 'me', 15, now);
    assert.equal(spec.acquireTime, held.acquireTime);
    assert.equal(spec.renewTime, nowText);
    assert.equal(spec.leaseTransitions, 3);
  });

  void it('a takeover starts a new term and counts a transition, keeping unknown fields', () => {
    const spec = nextLeaseSpec({ ...held, strategy: 'OldestEmulationVersion' }, 'me', 20, now);
    assert.equal(spec.holderIdentity, 'me');
    assert.equal(spec.leaseDurationSeconds, 20);
    assert.equal(spec.acquireTime, nowText);
    assert.equal(spec.leaseTransitions, 4);
    assert.equal(spec['strategy'], 'OldestEmulationVersion');
  });

  void it('release empties the holder with a one-second lease and keeps the transition count', () => {
    const spec = releasedLeaseSpec({ ...held, holderIdentity: 'me' }, now);
    assert.equal(spec.holderIdentity, '');
    assert.equal(spec.leaseDurationSeconds, 1);
    assert.equal(spec.leaseTransitions, 3);
    assert.equal(spec.renewTime, nowText);
  });
});

void describe('defaultIdentity', () => {
  void it('is unique per process start', () => {
    assert.notEqual(defaultIdentity(), defaultIdentity());
    assert.match(defaultIdentity(), /^.+_[0-9a-f-]{36}$/);
  });
});

/** FakeLeaseApi serves one Lease with the API server's optimistic concurrency. */
class FakeLeaseApi {
  lease: Lease | undefined;
  failing = false;
  /** slowOnceMs delays the answer to the next request; every request after it fails. */
  slowOnceMs = 0;
  writes: LeaseSpec[] = [];
  private version = 0;

  client(): Pick<KubeClient, 'request'> {
    return { request: <T>(req: KubeRequest) => this.handle(req) as Promise<T> };
  }

  private async handle(req: KubeRequest): Promise<unknown> {
    await Promise.resolve();
    if (this.slowOnceMs > 0) {
      const ms = this.slowOnceMs;
      this.slowOnceMs = 0;
      this.failing = true;
      await new Promise((resolve) => setTimeout(resolve, ms));
      return this.answer(req);
    }
    if (this.failing) throw new KubeApiError('unreachable', { statusCode: 0, reason: 'Unreachable' });
    return this.answer(req);
  }

  private answer(req: KubeRequest): unknown {
    const body = req.body as Lease | undefined;
    switch (req.method) {
      case 'GET':
        if (!this.lease) throw new KubeApiError('not found', { statusCode: 404, reason: 'NotFound' });
        return structuredClone(this.lease);
      case 'POST':
        if (this.lease) throw new KubeApiError('exists', { statusCode: 409, reason: 'AlreadyExists' });
        return this.store(body as Lease);
      case 'PUT':
        if (!this.lease) throw new KubeApiError('not found', { statusCode: 404, reason: 'NotFound' });
        if (body?.metadata.resourceVersion !== this.lease.metadata.resourceVersion) {
          throw new KubeApiError('conflict', { statusCode: 409, reason: 'Conflict' });
        }
        return this.store(body as Lease);
      default:
        throw new Error(`unexpected ${req.method}`);
    }
  }

  private store(lease: Lease): Lease {
    this.lease = structuredClone({
      ...lease,
      metadata: { ...lease.metadata, resourceVersion: String(++this.version) },
    });
    this.writes.push(structuredClone(this.lease.spec ?? {}));
    return structuredClone(this.lease);
  }
}

void describe('LeaderElector', () => {
  beforeEach(() => mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_700_000_000_000 }));
  afterEach(() => mock.timers.reset());

  const logger = pino({ level: 'silent' });

  function elector(api: FakeLeaseApi, identity: string, events: string[]) {
    return new LeaderElector({
      client: api.client(),
      namespace: 'system',
      name: 'release-controller',
      identity,
      logger,
      now: () => Date.now(),
      metrics: { leading: (yes) => events.push(`${identity}:${yes ? 1 : 0}`) },
      onStartedLeading: () => events.push(`${identity}:started`),
      onStoppedLeading: () => events.push(`${identity}:stopped`),
    });
  }

  async function advance(ms: number): Promise<void> {
    for (let t = 0; t < ms; t += 100) {
      mock.timers.tick(100);
      for (let i = 0; i < 10; i++) await new Promise((resolve) => setImmediate(resolve));
    }
  }

  void it('creates the lease, renews it, and hands over at once on release', async () => {
    const api = new FakeLeaseApi();
    const events: string[] = [];
    const a = elector(api, 'a', events);
    const b = elector(api, 'b', events);
    const stopA = new AbortController();
    const stopB = new AbortController();
    const runA = a.run(stopA.signal);
    await advance(100);
    const runB = b.run(stopB.signal);
    await advance(10_000);
    assert.equal(a.isLeader(), true);
    assert.equal(b.isLeader(), false);
    assert.equal(api.lease?.spec?.holderIdentity, 'a');
    assert.ok(api.writes.length >= 5, 'a renews every retry period');
    assert.equal(api.lease?.spec?.acquireTime, api.writes[0]?.acquireTime, 'renewals keep acquireTime');

    stopA.abort();
    await runA;
    assert.equal(a.isLeader(), false);
    assert.equal(api.writes.at(-1)?.holderIdentity, '');
    assert.equal(api.writes.at(-1)?.leaseDurationSeconds, 1);
    await advance(4_500);
    assert.equal(b.isLeader(), true, 'b takes over within one jittered retry period, not a lease duration');
    assert.equal(api.lease?.spec?.leaseTransitions, 1);
    assert.deepEqual(events, ['a:0', 'a:1', 'a:started', 'b:0', 'a:0', 'b:1', 'b:started']);
    stopB.abort();
    await runB;
  });

  void it('takes over a lease its holder stopped renewing only after the lease duration by its own clock', async () => {
    const api = new FakeLeaseApi();
    api.lease = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: 'release-controller', namespace: 'system', resourceVersion: '7' },
      // A renewTime far in the future must not keep the lease alive: only local observation counts.
      spec: { ...held, holderIdentity: 'ghost', renewTime: '2099-01-01T00:00:00.000000Z' },
    };
    const events: string[] = [];
    const b = elector(api, 'b', events);
    const stop = new AbortController();
    const run = b.run(stop.signal);
    await advance(14_000);
    assert.equal(b.isLeader(), false);
    await advance(5_000);
    assert.equal(b.isLeader(), true);
    assert.equal(api.lease.spec?.leaseTransitions, 4);
    stop.abort();
    await run;
  });

  void it('gives up leadership and calls onStoppedLeading when renewals fail for the renew deadline', async () => {
    const api = new FakeLeaseApi();
    const events: string[] = [];
    const a = elector(api, 'a', events);
    const run = a.run(new AbortController().signal);
    await advance(1_000);
    assert.equal(a.isLeader(), true);
    api.failing = true;
    await advance(8_000);
    assert.equal(a.isLeader(), true, 'still within the renew deadline');
    await advance(4_000);
    await run;
    assert.equal(a.isLeader(), false);
    assert.deepEqual(events, ['a:0', 'a:1', 'a:started', 'a:0', 'a:stopped']);
  });

  void it('counts a renewal from when it was sent, so a slow answer does not extend leadership', async () => {
    const api = new FakeLeaseApi();
    const events: string[] = [];
    const a = elector(api, 'a', events);
    const run = a.run(new AbortController().signal);
    await advance(1_000);
    assert.equal(a.isLeader(), true);
    // The next renewal is answered (successfully) 9 s after it was sent; every later one fails.
    api.slowOnceMs = 9_000;
    await advance(2_000 + 9_000);
    assert.equal(a.isLeader(), true, 'within the renew deadline of the slow renewal, counted from its send');
    // Counted from the answer, a would lead until ~21 s; a standby may take over 15 s after the
    // last renewal it saw, so a must have stopped before that.
    await advance(3_000);
    assert.equal(a.isLeader(), false, 'gave up 10 s after the slow renewal was sent');
    await run;
    assert.deepEqual(events, ['a:0', 'a:1', 'a:started', 'a:0', 'a:stopped']);
  });

  void it('rejects timings that would let two leaders overlap', () => {
    const api = new FakeLeaseApi();
    const base = {
      client: api.client(),
      namespace: 'n',
      name: 'l',
      logger,
      onStartedLeading() {},
      onStoppedLeading() {},
    };
    assert.throws(
      () => new LeaderElector({ ...base, leaseDurationMs: 10_000, renewDeadlineMs: 10_000 }),
      RangeError,
    );
    assert.throws(
      () => new LeaderElector({ ...base, renewDeadlineMs: 2_000, retryPeriodMs: 2_000 }),
      RangeError,
    );
  });
});
