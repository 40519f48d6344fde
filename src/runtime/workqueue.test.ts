import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import { ExponentialRateLimiter } from './ratelimiter.ts';
import type { InFlightWork, WorkQueueMetrics } from './workqueue.ts';
import { WorkQueue } from './workqueue.ts';

/** recorder is a WorkQueueMetrics that keeps every measurement. */
function recorder() {
  const m = {
    depths: [] as number[],
    adds: 0,
    retries: 0,
    queueDurations: [] as number[],
    workDurations: [] as number[],
    inFlight: undefined as (() => InFlightWork) | undefined,
  };
  const metrics: WorkQueueMetrics = {
    depth: (n) => m.depths.push(n),
    added: () => m.adds++,
    queueDuration: (s) => m.queueDurations.push(s),
    workDuration: (s) => m.workDurations.push(s),
    retried: () => m.retries++,
    inFlightSource: (read) => (m.inFlight = read),
  };
  return { m, metrics };
}

/** settled tells whether a promise has settled, after letting pending callbacks run. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  promise.then(
    () => (done = true),
    () => (done = true),
  );
  await new Promise((resolve) => setImmediate(resolve));
  return done;
}

function newQueue(options: { baseDelayMs?: number; maxDelayMs?: number; metrics?: WorkQueueMetrics } = {}) {
  return new WorkQueue<string>({
    now: () => Date.now(),
    metrics: options.metrics,
    rateLimiter: new ExponentialRateLimiter({
      baseDelayMs: options.baseDelayMs ?? 10,
      maxDelayMs: options.maxDelayMs ?? 1_000,
      jitter: 0,
    }),
  });
}

void describe('WorkQueue', () => {
  beforeEach(() => mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 }));
  afterEach(() => mock.timers.reset());

  void it('queues a key once however often it is added, in FIFO order', async () => {
    const q = newQueue();
    q.add('a');
    q.add('b');
    q.add('a');
    assert.equal(q.len(), 2);
    assert.equal(await q.get(), 'a');
    assert.equal(await q.get(), 'b');
    assert.equal(q.len(), 0);
  });

  void it('never hands out a key that is being processed; a re-add is handed out after done', async () => {
    const q = newQueue();
    q.add('a');
    assert.equal(await q.get(), 'a');
    q.add('a');
    q.add('a');
    assert.equal(q.len(), 0, 'a key being processed is not queued');
    const next = q.get();
    assert.equal(await settled(next), false);
    q.done('a');
    assert.equal(await next, 'a');
    q.done('a');
    assert.equal(q.len(), 0, 'handed out once, not twice');
  });

  void it('a waiting get receives the next added key', async () => {
    const q = newQueue();
    const first = q.get();
    const second = q.get();
    q.add('x');
    q.add('y');
    assert.deepEqual(await Promise.all([first, second]), ['x', 'y']);
  });

  void it('addAfter hands keys out in deadline order', async () => {
    const q = newQueue();
    q.addAfter('a', 300);
    q.addAfter('b', 100);
    q.addAfter('c', 200);
    mock.timers.tick(99);
    assert.equal(q.len(), 0);
    mock.timers.tick(1);
    assert.equal(await q.get(), 'b');
    mock.timers.tick(100);
    assert.equal(await q.get(), 'c');
    mock.timers.tick(100);
    assert.equal(await q.get(), 'a');
  });

  void it('of several delays for one key the earliest deadline wins, and the key comes once', async () => {
    const q = newQueue();
    q.addAfter('a', 1_000);
    q.addAfter('a', 100);
    q.addAfter('a', 500);
    mock.timers.tick(100);
    assert.equal(q.len(), 1);
    assert.equal(await q.get(), 'a');
    q.done('a');
    mock.timers.tick(2_000);
    assert.equal(q.len(), 0);
  });

  void it('an immediate add supersedes a pending delayed add', async () => {
    const q = newQueue();
    q.addAfter('a', 100);
    q.add('a');
    assert.equal(await q.get(), 'a');
    q.done('a');
    mock.timers.tick(500);
    assert.equal(q.len(), 0);
  });

  void it('addAfter of a queued key does nothing; of a key being processed it waits', async () => {
    const q = newQueue();
    q.add('a');
    q.addAfter('a', 100);
    assert.equal(await q.get(), 'a');
    q.done('a');
    mock.timers.tick(200);
    assert.equal(q.len(), 0);

    q.add('b');
    assert.equal(await q.get(), 'b');
    q.addAfter('b', 100);
    q.done('b');
    mock.timers.tick(100);
    assert.equal(q.len(), 1);
  });

  void it('addAfter with no delay adds at once', () => {
    const q = newQueue();
    q.addAfter('a', 0);
    q.addAfter('b', -5);
    assert.equal(q.len(), 2);
  });

  void it('rate-limited adds back off exponentially up to the cap, and forget resets', async () => {
    const { m, metrics } = recorder();
    const q = newQueue({ baseDelayMs: 10, maxDelayMs: 40, metrics });
    const observed: number[] = [];
    for (let i = 0; i < 5; i++) {
      const before = Date.now();
      q.addRateLimited('a');
      while (q.len() === 0) mock.timers.tick(1);
      observed.push(Date.now() - before);
      assert.equal(await q.get(), 'a');
      q.done('a');
    }
    assert.deepEqual(observed, [10, 20, 40, 40, 40]);
    assert.equal(q.numRequeues('a'), 5);
    assert.equal(m.retries, 5);
    q.forget('a');
    assert.equal(q.numRequeues('a'), 0);
    q.addRateLimited('a');
    mock.timers.tick(9);
    assert.equal(q.len(), 0);
    mock.timers.tick(1);
    assert.equal(q.len(), 1);
  });

  void it('shutDown resolves waiting gets with undefined, ignores adds and drops queued and delayed keys', async () => {
    const q = newQueue();
    const waiting = q.get();
    q.shutDown();
    assert.equal(await waiting, undefined);

    const q2 = newQueue();
    q2.add('a');
    q2.add('b');
    q2.addAfter('c', 100);
    assert.equal(await q2.get(), 'a');
    q2.shutDown();
    assert.equal(q2.isShuttingDown(), true);
    assert.equal(q2.len(), 0);
    assert.equal(await q2.get(), undefined);
    q2.add('d');
    q2.addRateLimited('e');
    mock.timers.tick(1_000);
    assert.equal(q2.len(), 0);
    q2.add('a');
    q2.done('a');
    assert.equal(await q2.get(), undefined);
  });

  void it('shutDownWithDrain resolves once every handed-out key is done', async () => {
    const q = newQueue();
    q.add('a');
    q.add('b');
    await q.get();
    await q.get();
    const drained = q.shutDownWithDrain();
    q.done('a');
    assert.equal(await settled(drained), false);
    q.done('b');
    assert.equal(await settled(drained), true);
    await newQueue().shutDownWithDrain();
  });

  void it('reports depth, adds, queue and work durations and in-flight work', async () => {
    const { m, metrics } = recorder();
    const q = newQueue({ metrics });
    q.add('a');
    q.add('a');
    q.add('b');
    assert.equal(m.adds, 2);
    assert.equal(m.depths.at(-1), 2);
    mock.timers.tick(250);
    assert.equal(await q.get(), 'a');
    assert.equal(m.depths.at(-1), 1);
    assert.deepEqual(m.queueDurations, [0.25]);
    mock.timers.tick(1_000);
    assert.equal(await q.get(), 'b');
    mock.timers.tick(500);
    assert.deepEqual(m.inFlight?.(), { unfinishedWorkSeconds: 2, longestRunningProcessorSeconds: 1.5 });
    q.done('a');
    q.done('b');
    assert.deepEqual(m.workDurations, [1.5, 0.5]);
    assert.deepEqual(m.inFlight?.(), { unfinishedWorkSeconds: 0, longestRunningProcessorSeconds: 0 });
  });

  void it('keeps many delayed keys in order when deadlines change', async () => {
    const q = newQueue();
    for (let i = 0; i < 500; i++) q.addAfter(`k${i}`, 10_000 - i);
    for (let i = 0; i < 500; i++) q.addAfter(`k${i}`, 1 + i);
    const order: string[] = [];
    for (let t = 0; t < 600; t++) {
      mock.timers.tick(1);
      while (q.len() > 0) {
        const key = (await q.get()) as string;
        order.push(key);
        q.done(key);
      }
    }
    assert.deepEqual(
      order,
      Array.from({ length: 500 }, (_, i) => `k${i}`),
    );
    mock.timers.tick(20_000);
    assert.equal(q.len(), 0);
  });
});
