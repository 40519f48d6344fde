/**
 * KeyedThrottle runs a callback at most once per interval per key. The first call of a quiet key
 * runs at once; calls within the interval after it are coalesced into one run at the interval's
 * end, with the arguments of the last call. It bounds work that an outside peer can trigger at
 * any rate, such as the enqueues a flapping data-plane watch causes, without losing the last news.
 */

interface KeyState<A> {
  /** at is when the key last ran. */
  at: number;
  /** pending is the coalesced run at the end of the interval, with the last arguments. */
  pending?: { timer: NodeJS.Timeout; args: A };
}

/** KeyedThrottle runs at most one callback per key and interval. */
export class KeyedThrottle<A> {
  private readonly keys = new Map<string, KeyState<A>>();

  constructor(
    private readonly intervalMs: number,
    private readonly run: (key: string, args: A) => void,
  ) {}

  /** call runs `run(key, args)` now, or once at the end of the key's current interval. */
  call(key: string, args: A): void {
    const now = performance.now();
    const state = this.keys.get(key);
    if (!state || now - state.at >= this.intervalMs) {
      this.fire(key, args, now);
      return;
    }
    if (state.pending) {
      state.pending.args = args;
      return;
    }
    const timer = setTimeout(
      () => {
        const p = this.keys.get(key)?.pending;
        if (p) this.fire(key, p.args, performance.now());
      },
      this.intervalMs - (now - state.at),
    );
    timer.unref();
    state.pending = { timer, args };
  }

  /** forget drops a key and its pending run (its peer is gone). */
  forget(key: string): void {
    const p = this.keys.get(key)?.pending;
    if (p) clearTimeout(p.timer);
    this.keys.delete(key);
  }

  /** stop cancels every pending run. */
  stop(): void {
    for (const key of [...this.keys.keys()]) this.forget(key);
  }

  private fire(key: string, args: A, now: number): void {
    this.keys.set(key, { at: now });
    this.run(key, args);
  }
}
