/** Polling helpers for tests against real clusters, which converge in their own time. */
import { setTimeout as sleep } from 'node:timers/promises';

/** EventuallyOptions bound how long and how often `eventually` tries. */
export interface EventuallyOptions {
  /** timeoutMs is how long to keep trying; default 30 s. */
  timeoutMs?: number;
  /** intervalMs is the pause between attempts; default 200 ms. */
  intervalMs?: number;
  /** description names what is awaited, for the timeout error. */
  description?: string;
}

/**
 * eventually calls `fn` until it resolves without throwing and returns its value. An attempt fails by
 * throwing (an assertion, say) or, when `fn` returns a boolean, by returning false. On timeout it
 * throws an error carrying the last failure, so the test report says what never became true.
 */
export async function eventually<T>(fn: () => T | Promise<T>, options: EventuallyOptions = {}): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const intervalMs = options.intervalMs ?? 200;
  const deadline = Date.now() + timeoutMs;
  let attempts = 0;
  let last: unknown;
  for (;;) {
    attempts++;
    try {
      const value = await fn();
      if (value !== false) return value;
      last = new Error('the condition returned false');
    } catch (err) {
      last = err;
    }
    if (Date.now() >= deadline) {
      const what = options.description ? ` waiting for ${options.description}` : '';
      const reason = last instanceof Error ? last.message : String(last);
      throw new Error(
        `eventually: gave up after ${timeoutMs} ms and ${attempts} attempts${what}: ${reason}`,
        {
          cause: last,
        },
      );
    }
    await sleep(Math.min(intervalMs, Math.max(0, deadline - Date.now())));
  }
}

/** randomName returns `prefix-` plus 6 random lowercase hex digits, for namespaces and cluster names. */
export function randomName(prefix: string): string {
  return `${prefix}-${Math.random().toString(16).slice(2, 8).padEnd(6, '0')}`;
}
