import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import { pino } from 'pino';
import type { ControllerMetrics, Reconcile, ReconcileOutcome } from './controller.ts';
import { Controller } from './controller.ts';
import { ExponentialRateLimiter } from './ratelimiter.ts';

/** tick lets pending promise callbacks run (setImmediate is not faked). */
async function tick(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}

/** advance moves fake time forward by ms, one millisecond at a time, letting workers run in between. */
async function advance(ms: number): Promise<void> {
  for (let i = 0; i < ms; i++) {
    mock.timers.tick(1);
    await tick();
  }
}

/** io stands for the awaited API calls of a real reconcile. */
const io = () => Promise.resolve();

function deferred<T = void>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

function harness<K = string>(reconcile: Reconcile<K>, options: { concurrency?: number } = {}) {
  const logs: Array<Record<string, unknown>> = [];
  const logger = pino(
    { level: 'debug' },
    { write: (line: string) => logs.push(JSON.parse(line) as Record<string, unknown>) },
  );
  const outcomes: ReconcileOutcome[] = [];
  let errors = 0;
  let active = 0;
  let maxActive = 0;
  const metrics: ControllerMetrics = {
    reconciled: (outcome) => outcomes.push(outcome),
    errored: () => errors++,
    maxConcurrentReconciles: () => undefined,
    activeWorkers: (delta) => {
      active += delta;
      maxActive = Math.max(maxActive, active);
    },
  };
  const controller = new Controller<K>({
    name: 'test',
    reconcile,
    logger,
    metrics,
    concurrency: options.concurrency ?? 1,
    now: () => Date.now(),
    rateLimiter: new ExponentialRateLimiter<K>({ baseDelayMs: 10, maxDelayMs: 40, jitter: 0 }),
  });
  return { controller, logs, outcomes, errors: () => errors, maxActive: () => maxActive };
}

void describe('Controller', () => {
  beforeEach(() => mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 }));
  afterEach(() => mock.timers.reset());

  void it('retries a failing key with growing backoff, then forgets it on success', async () => {
    const calls: number[] = [];
    const h = harness(async () => {
      await io();
      calls.push(Date.now());
      if (calls.length <= 4) throw new Error('data plane unreachable');
    });
    h.controller.start();
    h.controller.queue.add('a');
    await tick();
    await advance(200);
    assert.deepEqual(calls, [0, 10, 30, 70, 110]);
    assert.deepEqual(h.outcomes, ['error', 'error', 'error', 'error', 'success']);
    assert.equal(h.errors(), 4);
    assert.equal(h.controller.queue.numRequeues('a'), 0);
    await h.controller.stop(0);
  });

  void it('requeues after requeueAfterMs and counts requeue_after', async () => {
    const calls: number[] = [];
    const h = harness(async () => {
      await io();
      calls.push(Date.now());
      return { requeueAfterMs: 100 };
    });
    h.controller.start();
    h.controller.queue.add('a');
    await tick();
    await advance(250);
    assert.deepEqual(calls, [0, 100, 200]);
    assert.deepEqual(h.outcomes, ['requeue_after', 'requeue_after', 'requeue_after']);
    await h.controller.stop(0);
  });

  void it('a deferred reconcile is requeued as `requeue`, keeps the failure history and is no error', async () => {
    const calls: number[] = [];
    const h = harness(async () => {
      await io();
      calls.push(Date.now());
      if (calls.length === 1) throw new Error('data plane unreachable');
      if (calls.length <= 3) return { deferred: true, requeueAfterMs: 50 };
      throw new Error('still unreachable');
    });
    h.controller.start();
    h.controller.queue.add('a');
    await tick();
    await advance(135);
    // The backoff continues where it was: after the second failure 20 ms (110 -> 130), not the base 10 ms.
    assert.deepEqual(calls, [0, 10, 60, 110, 130]);
    assert.deepEqual(h.outcomes, ['error', 'requeue', 'requeue', 'error', 'error']);
    assert.equal(h.errors(), 3, 'deferrals are not errors');
    await h.controller.stop(0);
  });

  void it('logs the error with its cause chain', async () => {
    const h = harness(async () => {
      await io();
      throw new Error('apply Deployment/ns/web failed', { cause: new Error('connection refused') });
    });
    h.controller.start();
    h.controller.queue.add('ns/web');
    await tick();
    const entry = h.logs.find((l) => l['msg'] === 'Reconciler error');
    assert.ok(entry, 'an error is logged');
    assert.equal(entry['key'], 'ns/web');
    assert.equal(entry['controller'], 'test');
    const err = entry['err'] as { message: string };
    assert.match(err.message, /apply Deployment\/ns\/web failed.*connection refused/);
    await h.controller.stop(0);
  });

  void it('logs an expected failure at its level, without a stack trace, and still retries it', async () => {
    const expected = Object.assign(new Error('2 resources not applied: a webhook did not answer'), {
      logLevel: 'info' as const,
    });
    const h = harness(async () => {
      await io();
      throw expected;
    });
    h.controller.start();
    h.controller.queue.add('ns/web');
    await tick();
    const entry = h.logs.find((l) => l['msg'] === 'Reconcile retried');
    assert.ok(entry, 'the failure is logged');
    assert.equal(entry['level'], 30, 'at info');
    assert.equal(entry['error'], expected.message);
    assert.equal(entry['err'], undefined, 'no error object, so no stack trace');
    assert.ok(!JSON.stringify(h.logs).includes('"stack"'), 'no stack trace anywhere');
    assert.equal(h.logs.filter((l) => l['msg'] === 'Reconciler error').length, 0);
    assert.deepEqual(h.outcomes, ['error'], 'still counted and retried as an error');
    await h.controller.stop(0);
  });

  void it('runs at most concurrency reconciles at once, and never one key twice at once', async () => {
    const running = new Set<string>();
    let peak = 0;
    const gates = new Map<string, ReturnType<typeof deferred<void>>>();
    const h = harness(
      async (key) => {
        assert.ok(!running.has(key), `${key} reconciled twice at once`);
        running.add(key);
        peak = Math.max(peak, running.size);
        const gate = deferred();
        gates.set(key, gate);
        await gate.promise;
        running.delete(key);
      },
      { concurrency: 2 },
    );
    h.controller.start();
    for (const key of ['a', 'b', 'c', 'd', 'a']) h.controller.queue.add(key);
    await tick();
    assert.deepEqual([...running].sort(), ['a', 'b']);
    h.controller.queue.add('a');
    gates.get('a')?.resolve();
    await tick();
    assert.deepEqual([...running].sort(), ['b', 'c']);
    for (let i = 0; i < 5; i++) {
      for (const gate of gates.values()) gate.resolve();
      await tick();
    }
    assert.equal(running.size, 0);
    assert.equal(peak, 2);
    assert.equal(h.maxActive(), 2);
    assert.equal(h.outcomes.length, 5, 'a, b, c, d, and a again after its re-add');
    await h.controller.stop(0);
  });

  void it('stop stops taking work and waits for a running reconcile to finish within the grace period', async () => {
    const gate = deferred();
    const seen: string[] = [];
    let aborted = false;
    const h = harness(async (key, signal) => {
      seen.push(key);
      await gate.promise;
      aborted = signal.aborted;
    });
    h.controller.start();
    h.controller.queue.add('a');
    h.controller.queue.add('b');
    await tick();
    const stopped = h.controller.stop(5_000);
    await advance(1_000);
    let done = false;
    void stopped.then(() => (done = true));
    await tick();
    assert.equal(done, false, 'stop waits for the running reconcile');
    gate.resolve();
    await tick();
    await stopped;
    assert.equal(aborted, false);
    assert.deepEqual(seen, ['a'], 'queued work is not started after stop');
    assert.deepEqual(h.outcomes, ['success']);
  });

  void it('stop aborts a running reconcile after the grace period and does not count it as an error', async () => {
    let abortedAt: number | undefined;
    const h = harness(
      (_key, signal) =>
        new Promise<void>((_, reject) => {
          signal.addEventListener('abort', () => {
            abortedAt = Date.now();
            reject(signal.reason as Error);
          });
        }),
    );
    h.controller.start();
    h.controller.queue.add('a');
    await tick();
    const stopped = h.controller.stop(1_000);
    await advance(999);
    assert.equal(abortedAt, undefined);
    await advance(1);
    await stopped;
    assert.equal(abortedAt, 1_000);
    assert.equal(h.errors(), 0);
    assert.ok(
      h.logs.some((l) => l['msg'] === 'reconcile aborted by shutdown'),
      'expected h.logs.some((l) => l["msg"] === "reconcile aborted by shutdown")',
    );
  });

  void it('stop abandons a reconcile that ignores its signal', async () => {
    const h = harness(() => new Promise<void>(() => undefined));
    h.controller.start();
    h.controller.queue.add('a');
    await tick();
    let done = false;
    const stopped = h.controller.stop(100).then(() => (done = true));
    await advance(1_100);
    await stopped;
    assert.equal(done, true);
    assert.ok(
      h.logs.some((l) => String(l['msg']).startsWith('abandoning')),
      'expected h.logs.some((l) => String(l["msg"]).startsWith("abandoning"))',
    );
  });

  void it('rejects a bad concurrency and a second start', () => {
    assert.throws(() => harness(() => Promise.resolve(), { concurrency: 0 }), RangeError);
    const h = harness(() => Promise.resolve());
    h.controller.start();
    assert.throws(() => h.controller.start());
    void h.controller.stop(0);
  });
});
