/**
 * The reconcile loop, after controller-runtime's controller: a fixed number of workers take keys
 * from a WorkQueue and call `reconcile(key, signal)`. A thrown error retries the key with backoff,
 * a result may ask for a timed requeue, and success forgets the key's failure history. The work queue guarantees one key is never reconciled twice at once.
 */
import type { Logger } from 'pino';
import type { RateLimiter } from './ratelimiter.ts';
import type { WorkQueueMetrics } from './workqueue.ts';
import { WorkQueue } from './workqueue.ts';

/**
 * DEFAULT_CONCURRENCY is the number of workers. controller-runtime defaults to 1; reconciles here
 * mostly wait on remote data planes, so a few overlap cheaply, and one slow data plane does not
 * hold up every other Release (Flux's controllers default to 4 for the same reason).
 */
export const DEFAULT_CONCURRENCY = 4;
/**
 * DEFAULT_STOP_GRACE_MS bounds how long stop() lets running reconciles finish. Kubernetes kills
 * a pod 30 s after SIGTERM by default; 20 s leaves time to release the lease and flush afterwards.
 */
export const DEFAULT_STOP_GRACE_MS = 20_000;
/**
 * STOP_ABANDON_MS is how long stop() still waits after aborting the reconciles' signal; one that
 * ignores its signal is abandoned then, so shutdown stays bounded.
 */
export const STOP_ABANDON_MS = 1_000;

/** ReconcileResult tells the controller what to do with a key after a successful reconcile. */
export interface ReconcileResult {
  /** requeueAfterMs, when > 0, reconciles the key again after this delay (a safety-net resync). */
  requeueAfterMs?: number;
  /**
   * deferred says the reconcile did not run: something it needs (a data plane's share of the
   * workers) is taken. The key is requeued after requeueAfterMs (at once when 0) and keeps its
   * failure history, since nothing succeeded; it is counted as `requeue`, not as an error.
   */
  deferred?: boolean;
}

/**
 * ExpectedFailure is an error whose cause is expected and already told to the user (a condition
 * says it: a data plane down, a webhook starting): the key is retried with backoff as for any
 * error, but the line is logged at `logLevel` with the message only, without a stack trace.
 */
export interface ExpectedFailure extends Error {
  readonly logLevel: 'info' | 'warn';
}

/** isExpectedFailure tells whether an error is an ExpectedFailure. */
export function isExpectedFailure(err: unknown): err is ExpectedFailure {
  if (!(err instanceof Error) || !('logLevel' in err)) return false;
  return err.logLevel === 'info' || err.logLevel === 'warn';
}

/** Reconcile makes the world match the desired state of one key; it should stop early when signal aborts. */
export type Reconcile<K> = (key: K, signal: AbortSignal) => Promise<ReconcileResult | void>;

/**
 * ReconcileOutcome is the `result` label of controller_runtime_reconcile_total. `requeue` counts
 * deferred reconciles (put back without running, see ReconcileResult.deferred).
 */
export type ReconcileOutcome = 'success' | 'error' | 'requeue' | 'requeue_after';

/** ControllerMetrics receives a controller's measurements; `metrics.ts` binds it to Prometheus. */
export interface ControllerMetrics {
  /** reconciled counts one finished reconcile and observes its duration. */
  reconciled(outcome: ReconcileOutcome, seconds: number): void;
  /** errored counts a failed reconcile. */
  errored(): void;
  /** maxConcurrentReconciles reports the number of workers. */
  maxConcurrentReconciles(n: number): void;
  /** activeWorkers changes the number of workers busy reconciling by delta. */
  activeWorkers(delta: number): void;
}

/** noopControllerMetrics discards every measurement. */
export const noopControllerMetrics: ControllerMetrics = {
  reconciled: () => undefined,
  errored: () => undefined,
  maxConcurrentReconciles: () => undefined,
  activeWorkers: () => undefined,
};

/** ControllerOptions configures a Controller. */
export interface ControllerOptions<K> {
  /** name labels metrics and logs, like a controller-runtime controller name. */
  name: string;
  reconcile: Reconcile<K>;
  logger: Logger;
  /** concurrency is the number of workers; DEFAULT_CONCURRENCY by default. */
  concurrency?: number;
  /** queue replaces the controller's own WorkQueue (then rateLimiter and queueMetrics are unused). */
  queue?: WorkQueue<K>;
  rateLimiter?: RateLimiter<K>;
  metrics?: ControllerMetrics;
  queueMetrics?: WorkQueueMetrics;
  /** formatKey renders a key for logs; String by default. */
  formatKey?: (key: K) => string;
  /** now is a monotonic clock in milliseconds; `performance.now` by default. */
  now?: () => number;
}

/** Controller runs `concurrency` workers that reconcile keys from its queue. */
export class Controller<K = string> {
  /** name identifies the controller in metrics and logs. */
  readonly name: string;
  /** queue is where event handlers add the keys to reconcile. */
  readonly queue: WorkQueue<K>;
  private readonly reconcile: Reconcile<K>;
  private readonly logger: Logger;
  private readonly concurrency: number;
  private readonly metrics: ControllerMetrics;
  private readonly formatKey: (key: K) => string;
  private readonly now: () => number;
  private readonly abort = new AbortController();
  private readonly running = new Set<K>();
  private workers: Array<Promise<void>> | undefined;
  private stopping: Promise<void> | undefined;

  constructor(options: ControllerOptions<K>) {
    this.name = options.name;
    this.reconcile = options.reconcile;
    this.logger = options.logger.child({ controller: options.name });
    this.concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
    if (!Number.isInteger(this.concurrency) || this.concurrency < 1) {
      throw new RangeError(
        `controller ${options.name}: concurrency must be a positive integer, got ${this.concurrency}`,
      );
    }
    this.metrics = options.metrics ?? noopControllerMetrics;
    this.formatKey = options.formatKey ?? String;
    this.now = options.now ?? (() => performance.now());
    this.queue =
      options.queue ??
      new WorkQueue<K>({ rateLimiter: options.rateLimiter, metrics: options.queueMetrics, now: options.now });
  }

  /** start launches the workers; keys added before start are processed now. */
  start(): void {
    if (this.workers) throw new Error(`controller ${this.name} was already started`);
    this.metrics.maxConcurrentReconciles(this.concurrency);
    this.workers = Array.from({ length: this.concurrency }, () =>
      this.worker().catch((err: unknown) => this.logger.error({ err }, 'worker failed')),
    );
    this.logger.info({ workers: this.concurrency }, 'starting workers');
  }

  /**
   * stop stops taking work, lets running reconciles finish for up to graceMs, then aborts their
   * signal and resolves once they end (or after STOP_ABANDON_MS more if they ignore the signal).
   */
  stop(graceMs: number = DEFAULT_STOP_GRACE_MS): Promise<void> {
    this.stopping ??= this.shutdown(graceMs);
    return this.stopping;
  }

  private async shutdown(graceMs: number): Promise<void> {
    this.queue.shutDown();
    if (!this.workers) return;
    const finished = Promise.all(this.workers).then(() => true);
    if (this.running.size > 0) {
      this.logger.info({ inFlight: this.keysInFlight() }, 'waiting for running reconciles to finish');
    }
    if (await within(finished, graceMs)) {
      this.logger.info('all workers finished');
      return;
    }
    this.logger.warn(
      { inFlight: this.keysInFlight(), graceMs },
      'grace period over; aborting running reconciles',
    );
    this.abort.abort(new Error(`controller ${this.name} is stopping`));
    if (!(await within(finished, STOP_ABANDON_MS))) {
      this.logger.warn(
        { inFlight: this.keysInFlight() },
        'abandoning reconciles that ignore their abort signal',
      );
    }
  }

  private keysInFlight(): string[] {
    return [...this.running].map(this.formatKey);
  }

  private async worker(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      await this.process(key);
    }
  }

  private async process(key: K): Promise<void> {
    const signal = this.abort.signal;
    const started = this.now();
    this.running.add(key);
    this.metrics.activeWorkers(1);
    try {
      let result: ReconcileResult | void;
      try {
        result = await this.reconcile(key, signal);
      } catch (err) {
        this.failed(key, err, (this.now() - started) / 1000, signal);
        return;
      }
      const seconds = (this.now() - started) / 1000;
      const requeueAfterMs = result?.requeueAfterMs ?? 0;
      if (result?.deferred) {
        // Not forgotten: a deferred reconcile says nothing about whether the key is failing.
        this.queue.addAfter(key, requeueAfterMs);
        this.metrics.reconciled('requeue', seconds);
      } else if (requeueAfterMs > 0) {
        this.queue.forget(key);
        this.queue.addAfter(key, requeueAfterMs);
        this.metrics.reconciled('requeue_after', seconds);
      } else {
        this.queue.forget(key);
        this.metrics.reconciled('success', seconds);
      }
    } finally {
      this.metrics.activeWorkers(-1);
      this.running.delete(key);
      this.queue.done(key);
    }
  }

  private failed(key: K, err: unknown, seconds: number, signal: AbortSignal): void {
    const fields = { key: this.formatKey(key), err };
    if (signal.aborted) {
      // Aborted by stop(): expected during a rollout, so neither an error metric nor a retry.
      this.logger.info(fields, 'reconcile aborted by shutdown');
      return;
    }
    this.metrics.errored();
    this.metrics.reconciled('error', seconds);
    this.queue.addRateLimited(key);
    const retries = this.queue.numRequeues(key);
    if (isExpectedFailure(err))
      this.logger[err.logLevel]({ key: fields.key, error: err.message, retries }, 'Reconcile retried');
    else this.logger.error({ ...fields, retries }, 'Reconciler error');
  }
}

/** within resolves true when promise settles within ms, false otherwise; it leaves no timer behind. */
async function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
