/**
 * Per-key retry backoff for the work queue, after client-go's `ItemExponentialFailureRateLimiter`:
 * every failure of a key doubles its delay from a base up to a cap, and a success forgets it.
 */

/**
 * DEFAULT_BASE_DELAY_MS is the first retry delay. client-go starts at 5 ms, which retries an
 * unreachable data plane eight times within a second; 100 ms still absorbs a lost update race
 * (409) at once but lets a failing remote call back off from the start.
 */
export const DEFAULT_BASE_DELAY_MS = 100;
/**
 * DEFAULT_MAX_DELAY_MS caps the delay. client-go's 1000 s leaves a Release stale for a quarter of
 * an hour after its data plane recovers; 5 min equals the default `interval`, so a failing Release
 * is retried at least as often as a healthy one is re-checked (reached after 12 failures).
 */
export const DEFAULT_MAX_DELAY_MS = 5 * 60_000;
/**
 * DEFAULT_JITTER is the fraction by which a delay may be shortened at random, so the many keys
 * that fail together when one data plane goes away do not all retry in the same instant.
 */
export const DEFAULT_JITTER = 0.1;

/** RateLimiter decides how long a key waits before its next retry. */
export interface RateLimiter<K> {
  /** when records one more failure of key and returns the delay in milliseconds before its retry. */
  when(key: K): number;
  /** forget clears the failures of key (after a success, or when it will not be retried). */
  forget(key: K): void;
  /** retries returns how many failures of key are on record. */
  retries(key: K): number;
}

/** ExponentialRateLimiterOptions configures an ExponentialRateLimiter. */
export interface ExponentialRateLimiterOptions {
  /** baseDelayMs is the delay after the first failure; DEFAULT_BASE_DELAY_MS by default. */
  baseDelayMs?: number;
  /** maxDelayMs caps the delay; DEFAULT_MAX_DELAY_MS by default. */
  maxDelayMs?: number;
  /**
   * jitter in [0, 1) shortens each delay by up to this fraction; DEFAULT_JITTER by default. The
   * delay only ever shrinks, so maxDelayMs stays a true upper bound.
   */
  jitter?: number;
  /** random returns a number in [0, 1); Math.random by default (tests make it deterministic). */
  random?: () => number;
}

/**
 * ExponentialRateLimiter delays the n-th consecutive failure of a key by
 * `min(maxDelayMs, baseDelayMs * 2^(n-1))`, less up to `jitter` of it. Keys compare with
 * SameValueZero, so use strings or numbers.
 */
export class ExponentialRateLimiter<K = string> implements RateLimiter<K> {
  private readonly failures = new Map<K, number>();
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly jitter: number;
  private readonly random: () => number;

  constructor(options: ExponentialRateLimiterOptions = {}) {
    this.baseDelayMs = options.baseDelayMs ?? DEFAULT_BASE_DELAY_MS;
    this.maxDelayMs = options.maxDelayMs ?? DEFAULT_MAX_DELAY_MS;
    this.jitter = options.jitter ?? DEFAULT_JITTER;
    this.random = options.random ?? Math.random;
    if (!(this.baseDelayMs >= 0) || !(this.maxDelayMs >= this.baseDelayMs)) {
      throw new RangeError(
        `rate limiter needs 0 <= baseDelayMs <= maxDelayMs, got ${this.baseDelayMs} and ${this.maxDelayMs}`,
      );
    }
    if (!(this.jitter >= 0 && this.jitter < 1)) {
      throw new RangeError(`rate limiter jitter must be in [0, 1), got ${this.jitter}`);
    }
  }

  when(key: K): number {
    const exponent = this.failures.get(key) ?? 0;
    this.failures.set(key, exponent + 1);
    // Past 2^64 the product is Infinity or imprecise; the cap has long been reached by then.
    const delay =
      exponent >= 64 ? this.maxDelayMs : Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** exponent);
    return this.jitter === 0 ? delay : delay * (1 - this.jitter * this.random());
  }

  forget(key: K): void {
    this.failures.delete(key);
  }

  retries(key: K): number {
    return this.failures.get(key) ?? 0;
  }
}
