/**
 * A work queue with client-go's guarantees (`util/workqueue`): a key is queued at most once however
 * often it is added (dirty set), a key is never handed to two workers at once (processing set), and
 * a key added while it is being processed is handed out again after `done`. Delayed and
 * rate-limited adds sit in a timer heap until due.
 *
 * Two deliberate differences from client-go, both because keys are level-triggered reconcile
 * requests where any one run subsumes a later one: an immediate `add` cancels a pending delayed
 * add of the same key, and `addAfter` of a key that is already queued does nothing. And after
 * shutdown `get` hands out nothing more, rather than draining the backlog, so a stopping
 * controller stops taking work at once.
 */
import type { RateLimiter } from './ratelimiter.ts';
import { ExponentialRateLimiter } from './ratelimiter.ts';

/** InFlightWork summarises the keys being processed, for the unfinished-work gauges. */
export interface InFlightWork {
  /** unfinishedWorkSeconds is the summed age of every key being processed. */
  unfinishedWorkSeconds: number;
  /** longestRunningProcessorSeconds is the age of the oldest key being processed. */
  longestRunningProcessorSeconds: number;
}

/**
 * WorkQueueMetrics receives a queue's measurements (durations in seconds); `metrics.ts` binds it to
 * the `workqueue_*` Prometheus metrics, tests record it.
 */
export interface WorkQueueMetrics {
  /** depth reports the number of queued keys (`workqueue_depth`). */
  depth(n: number): void;
  /** added counts a key newly queued (`workqueue_adds_total`). */
  added(): void;
  /** queueDuration observes how long a key waited before being handed out. */
  queueDuration(seconds: number): void;
  /** workDuration observes how long a key was processed. */
  workDuration(seconds: number): void;
  /** retried counts a rate-limited add (`workqueue_retries_total`). */
  retried(): void;
  /** inFlightSource gives the function that reports in-flight work, read at scrape time. */
  inFlightSource(read: () => InFlightWork): void;
}

/** noopWorkQueueMetrics discards every measurement. */
export const noopWorkQueueMetrics: WorkQueueMetrics = {
  depth: () => undefined,
  added: () => undefined,
  queueDuration: () => undefined,
  workDuration: () => undefined,
  retried: () => undefined,
  inFlightSource: () => undefined,
};

/** WorkQueueOptions configures a WorkQueue. */
export interface WorkQueueOptions<K> {
  /** rateLimiter decides the delay of `addRateLimited`; an ExponentialRateLimiter by default. */
  rateLimiter?: RateLimiter<K>;
  metrics?: WorkQueueMetrics;
  /** now is a monotonic clock in milliseconds; `performance.now` by default (tests pass `Date.now` under fake timers). */
  now?: () => number;
}

// Rebuild the timer heap once stale entries outnumber live ones by this much.
const HEAP_SLACK = 64;

/**
 * WorkQueue hands keys to workers: `get` a key, process it, then `done` it. Keys compare with
 * SameValueZero, so use strings or numbers.
 */
export class WorkQueue<K = string> {
  private readonly rateLimiter: RateLimiter<K>;
  private readonly metrics: WorkQueueMetrics;
  private readonly now: () => number;

  private items: K[] = [];
  private head = 0;
  /** dirty holds every key that needs processing: queued, or re-added while processing. */
  private readonly dirty = new Set<K>();
  /** addedAt holds when each dirty key was added, for queue_duration. */
  private readonly addedAt = new Map<K, number>();
  /** processing holds each handed-out key with the time it was handed out. */
  private readonly processing = new Map<K, number>();
  /** waiting holds the deadline of each delayed key; heap orders them, with stale entries skipped. */
  private readonly waiting = new Map<K, number>();
  private heap: Array<{ key: K; at: number }> = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  private timerAt = Infinity;
  private getters: Array<(key: K | undefined) => void> = [];
  private drainers: Array<() => void> = [];
  private shuttingDown = false;

  constructor(options: WorkQueueOptions<K> = {}) {
    this.rateLimiter = options.rateLimiter ?? new ExponentialRateLimiter<K>();
    this.metrics = options.metrics ?? noopWorkQueueMetrics;
    this.now = options.now ?? (() => performance.now());
    this.metrics.inFlightSource(() => this.inFlight());
  }

  /** add queues key unless it is already queued; a key being processed is queued again after `done`. */
  add(key: K): void {
    if (this.shuttingDown) return;
    this.waiting.delete(key);
    if (this.dirty.has(key)) return;
    this.metrics.added();
    this.dirty.add(key);
    this.addedAt.set(key, this.now());
    if (this.processing.has(key)) return;
    this.enqueue(key);
  }

  /**
   * addAfter adds key once delayMs has passed. Of several pending delays the earliest deadline
   * wins; a key that is already queued needs no timer, as it will be handed out sooner anyway.
   */
  addAfter(key: K, delayMs: number): void {
    if (this.shuttingDown) return;
    if (!(delayMs > 0)) {
      this.add(key);
      return;
    }
    if (this.dirty.has(key)) return;
    const at = this.now() + delayMs;
    const pending = this.waiting.get(key);
    if (pending !== undefined && pending <= at) return;
    this.waiting.set(key, at);
    this.heapPush({ key, at });
    if (this.heap.length > 2 * this.waiting.size + HEAP_SLACK) this.rebuildHeap();
    this.schedule();
  }

  /** addRateLimited adds key after the delay its rate limiter gives for one more failure. */
  addRateLimited(key: K): void {
    if (this.shuttingDown) return;
    this.metrics.retried();
    this.addAfter(key, this.rateLimiter.when(key));
  }

  /** forget clears key's failure history, so its next failure backs off from the base delay. */
  forget(key: K): void {
    this.rateLimiter.forget(key);
  }

  /** numRequeues returns how many rate-limited adds of key are on record since it was last forgotten. */
  numRequeues(key: K): number {
    return this.rateLimiter.retries(key);
  }

  /**
   * get resolves with the next key to process, waiting until one is queued, or with undefined once
   * the queue is shut down. Every key received must be given back with `done`.
   */
  get(): Promise<K | undefined> {
    if (this.shuttingDown) return Promise.resolve(undefined);
    if (this.head < this.items.length) return Promise.resolve(this.handOut(this.dequeue()));
    return new Promise((resolve) => this.getters.push(resolve));
  }

  /** done marks key processed; if it was added meanwhile it is queued again. */
  done(key: K): void {
    const started = this.processing.get(key);
    if (started === undefined) return;
    this.processing.delete(key);
    this.metrics.workDuration((this.now() - started) / 1000);
    if (this.dirty.has(key) && !this.shuttingDown) this.enqueue(key);
    if (this.processing.size === 0 && this.drainers.length > 0) {
      const drainers = this.drainers;
      this.drainers = [];
      for (const drained of drainers) drained();
    }
  }

  /** len returns the number of queued keys (neither delayed nor being processed). */
  len(): number {
    return this.items.length - this.head;
  }

  /** isShuttingDown tells whether shutDown was called. */
  isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  /**
   * shutDown stops the queue: adds are ignored, queued and delayed keys are dropped, and every
   * pending and later `get` resolves with undefined. Keys being processed may still be `done`.
   */
  shutDown(): void {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Infinity;
    this.waiting.clear();
    this.heap = [];
    this.items = [];
    this.head = 0;
    this.dirty.clear();
    this.addedAt.clear();
    this.metrics.depth(0);
    const getters = this.getters;
    this.getters = [];
    for (const resolve of getters) resolve(undefined);
  }

  /** shutDownWithDrain shuts the queue down and resolves once every handed-out key is `done`. */
  shutDownWithDrain(): Promise<void> {
    this.shutDown();
    if (this.processing.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainers.push(resolve));
  }

  /** inFlight measures the keys being processed now. */
  inFlight(): InFlightWork {
    const now = this.now();
    let total = 0;
    let longest = 0;
    for (const started of this.processing.values()) {
      const age = (now - started) / 1000;
      total += age;
      if (age > longest) longest = age;
    }
    return { unfinishedWorkSeconds: total, longestRunningProcessorSeconds: longest };
  }

  private enqueue(key: K): void {
    const getter = this.getters.shift();
    if (getter) {
      getter(this.handOut(key));
      return;
    }
    this.items.push(key);
    this.metrics.depth(this.len());
  }

  private dequeue(): K {
    const key = this.items[this.head] as K;
    this.head++;
    // Compact now and then instead of shifting the array on every get.
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    this.metrics.depth(this.len());
    return key;
  }

  private handOut(key: K): K {
    const now = this.now();
    this.dirty.delete(key);
    this.processing.set(key, now);
    const added = this.addedAt.get(key);
    this.addedAt.delete(key);
    if (added !== undefined) this.metrics.queueDuration((now - added) / 1000);
    return key;
  }

  /** schedule arms the one timer for the earliest live deadline. */
  private schedule(): void {
    while (this.heap.length > 0) {
      const top = this.heap[0] as { key: K; at: number };
      if (this.waiting.get(top.key) === top.at) break;
      this.heapPop();
    }
    const next = this.heap[0];
    if (next === undefined) {
      if (this.timer !== undefined) clearTimeout(this.timer);
      this.timer = undefined;
      this.timerAt = Infinity;
      return;
    }
    if (this.timer !== undefined && this.timerAt <= next.at) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timerAt = next.at;
    // Timers may fire a fraction of a millisecond early against this clock; fire() re-arms then.
    this.timer = setTimeout(() => this.fire(), Math.max(0, Math.ceil(next.at - this.now())));
  }

  private fire(): void {
    this.timer = undefined;
    this.timerAt = Infinity;
    const now = this.now();
    while (this.heap.length > 0) {
      const top = this.heap[0] as { key: K; at: number };
      if (top.at > now) break;
      this.heapPop();
      if (this.waiting.get(top.key) === top.at) {
        this.waiting.delete(top.key);
        this.add(top.key);
      }
    }
    this.schedule();
  }

  private rebuildHeap(): void {
    this.heap = [];
    for (const [key, at] of this.waiting) this.heapPush({ key, at });
  }

  private heapPush(entry: { key: K; at: number }): void {
    const heap = this.heap;
    heap.push(entry);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = heap[parent] as { key: K; at: number };
      if (p.at <= entry.at) break;
      heap[i] = p;
      i = parent;
    }
    heap[i] = entry;
  }

  private heapPop(): void {
    const heap = this.heap;
    const last = heap.pop();
    if (last === undefined || heap.length === 0) return;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= heap.length) break;
      const right = left + 1;
      const l = heap[left] as { key: K; at: number };
      const r = heap[right];
      const child = r !== undefined && r.at < l.at ? right : left;
      const c = heap[child] as { key: K; at: number };
      if (c.at >= last.at) break;
      heap[i] = c;
      i = child;
    }
    heap[i] = last;
  }
}
