/**
 * KeyedLimiter caps how many holders one key may have at once (for the Release controller: how
 * many workers one DataPlane may occupy), so that one slow or silent peer cannot take every
 * worker. A caller that finds its key at the cap gets no slot and should give its worker back
 * (the controller's `deferred` result) rather than wait inside it; it is registered as a waiter
 * and handed to `onAvailable` when a slot of that key frees, so it is retried at once instead of
 * polling. Everything is synchronous: acquiring and registering cannot race in one process.
 */

/**
 * defaultLimitPerKey is half the workers, rounded up (at least 1): one key that answers slowly or
 * not at all can hold at most that many, and the other half keeps serving everyone else.
 */
export function defaultLimitPerKey(workers: number): number {
  return Math.max(1, Math.ceil(workers / 2));
}

/** KeyedLimiterOptions configures a KeyedLimiter. */
export interface KeyedLimiterOptions {
  /** limit is the most holders one key may have at once (an integer >= 1). */
  limit: number;
  /** onAvailable receives a waiter when a slot of the key it waited for frees (e.g. to requeue it). */
  onAvailable?: (waiter: string) => void;
}

/** Slot is a held place under a key; `release` gives it back (a second call does nothing). */
export interface Slot {
  release(): void;
}

interface KeyState {
  holders: number;
  /** waiters in arrival order; a Set keeps each once and iterates in insertion order. */
  waiters: Set<string>;
}

/** KeyedLimiter hands out at most `limit` slots per key. */
export class KeyedLimiter {
  /** limit is the most holders one key may have at once. */
  readonly limit: number;
  private readonly onAvailable: (waiter: string) => void;
  /** keys holds only keys with holders or waiters, so memory follows what is in use. */
  private readonly keys = new Map<string, KeyState>();

  constructor(options: KeyedLimiterOptions) {
    if (!Number.isInteger(options.limit) || options.limit < 1) {
      throw new RangeError(`KeyedLimiter: limit must be a positive integer, got ${options.limit}`);
    }
    this.limit = options.limit;
    this.onAvailable = options.onAvailable ?? (() => undefined);
  }

  /**
   * tryAcquire takes a slot of key for waiter, or returns undefined when key is at its limit; the
   * waiter is then remembered and handed to `onAvailable` once a slot frees.
   */
  tryAcquire(key: string, waiter: string): Slot | undefined {
    let state = this.keys.get(key);
    if (!state) this.keys.set(key, (state = { holders: 0, waiters: new Set() }));
    if (state.holders >= this.limit) {
      state.waiters.add(waiter);
      return undefined;
    }
    state.waiters.delete(waiter);
    state.holders++;
    let held = true;
    return {
      release: () => {
        if (!held) return;
        held = false;
        this.release(key);
      },
    };
  }

  /** inUse returns the number of holders of every key that has any. */
  inUse(): Map<string, number> {
    const out = new Map<string, number>();
    for (const [key, state] of this.keys) if (state.holders > 0) out.set(key, state.holders);
    return out;
  }

  /** waiting returns the number of waiters of a key. */
  waiting(key: string): number {
    return this.keys.get(key)?.waiters.size ?? 0;
  }

  private release(key: string): void {
    const state = this.keys.get(key);
    if (!state) return;
    state.holders--;
    // One freed slot wakes one waiter, first come first served. A woken waiter that no longer
    // needs the key simply does not come back; the caller's own requeue is the safety net.
    const next = state.waiters.values().next();
    if (!next.done) {
      state.waiters.delete(next.value);
      this.onAvailable(next.value);
    }
    if (state.holders === 0 && state.waiters.size === 0) this.keys.delete(key);
  }
}
