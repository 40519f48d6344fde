/**
 * ReleaseTracker follows one Release through a WATCH (list, then watch from the list's
 * resourceVersion, resuming after the server closes the stream and relisting after 410 Gone), and
 * lets the demo wait for conditions that are re-checked on every change instead of by polling.
 */
import { collectionPath } from '../src/kube/discovery.ts';
import { GROUP, VERSION } from '../src/api/v1alpha1/constants.ts';
import type { Release } from '../src/api/v1alpha1/schema.ts';
import type { TestKube } from '../test/support/kube.ts';

const RETRY_MS = 1_000;
const WATCH_TIMEOUT_SECONDS = 300;

/** WaitOptions bound one `until`. */
export interface WaitOptions {
  timeoutMs: number;
  /** pollMs re-checks on a timer too, for conditions on other clusters; by default only on changes. */
  pollMs?: number;
}

/** TimeoutError is a wait that did not come true in time; its message says what was awaited. */
export class TimeoutError extends Error {
  override readonly name = 'TimeoutError';
}

/** ReleaseTracker keeps the latest state of one Release and wakes waiters on every change. */
export class ReleaseTracker {
  /** latest is the Release as last seen; undefined while it does not exist. */
  latest: Release | undefined;
  /** lastError is the last failure of the watch, for timeout messages. */
  lastError: string | undefined;
  private readonly listeners = new Set<() => void>();
  private readonly abort = new AbortController();
  private running: Promise<void> | undefined;

  constructor(
    private readonly kube: TestKube,
    readonly namespace: string,
    readonly name: string,
    private readonly onChange: (release: Release | undefined) => void,
  ) {}

  /** start begins watching; it resolves once the first list has been seen. */
  async start(): Promise<void> {
    const info = await this.kube.discovery.resolve({ group: GROUP, version: VERSION, kind: 'Release' });
    const path = collectionPath(info, this.namespace);
    let first: () => void = () => {};
    const listed = new Promise<void>((resolve) => (first = resolve));
    this.running = this.loop(path, first);
    await listed;
  }

  /** stop ends the watch. */
  async stop(): Promise<void> {
    this.abort.abort();
    await this.running;
  }

  /**
   * until resolves once `check` returns true; it runs now, after every change of the Release, and
   * every `pollMs` if given. A check that throws counts as not yet. On timeout it throws a
   * TimeoutError naming `description`.
   */
  async until(
    description: string,
    check: () => boolean | Promise<boolean>,
    options: WaitOptions,
  ): Promise<void> {
    let done = false;
    let busy = false;
    let again = false;
    let lastFailure: string | undefined;
    let resolveWait: () => void = () => {};
    const finished = new Promise<void>((resolve) => (resolveWait = resolve));
    const evaluate = async (): Promise<void> => {
      if (done) return;
      if (busy) {
        again = true;
        return;
      }
      busy = true;
      try {
        do {
          again = false;
          try {
            if (await check()) {
              done = true;
              resolveWait();
            }
          } catch (err) {
            lastFailure = err instanceof Error ? err.message : String(err);
          }
        } while (again && !done);
      } finally {
        busy = false;
      }
    };
    const listener = (): void => void evaluate();
    this.listeners.add(listener);
    const poll = options.pollMs ? setInterval(listener, options.pollMs) : undefined;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>(
      (resolve) => (timer = setTimeout(() => resolve('timeout'), options.timeoutMs)),
    );
    try {
      void evaluate();
      if ((await Promise.race([finished, timeout])) === 'timeout') {
        const why = [lastFailure, this.lastError && `watch: ${this.lastError}`].filter(Boolean).join('; ');
        throw new TimeoutError(
          `timed out after ${Math.round(options.timeoutMs / 1000)} s waiting for ${description}${why ? ` (${why})` : ''}`,
        );
      }
    } finally {
      done = true;
      this.listeners.delete(listener);
      clearInterval(poll);
      clearTimeout(timer);
    }
  }

  private emit(release: Release | undefined): void {
    this.latest = release;
    this.onChange(release);
    for (const l of [...this.listeners]) l();
  }

  private async loop(path: string, listed: () => void): Promise<void> {
    const signal = this.abort.signal;
    const query = { fieldSelector: `metadata.name=${this.name}` };
    while (!signal.aborted) {
      try {
        const list = await this.kube.client.request<ReleaseList>({ method: 'GET', path, query, signal });
        this.emit(list.items[0]);
        listed();
        let resourceVersion = list.metadata.resourceVersion;
        let expired = false;
        // Resume from the last version after the server ends a stream; an ERROR event (410 Gone)
        // ends this stream and falls out to relist.
        while (!signal.aborted && !expired) {
          const stream = new AbortController();
          await this.kube.client.watch<Release>(
            path,
            { ...query, resourceVersion, allowWatchBookmarks: true, timeoutSeconds: WATCH_TIMEOUT_SECONDS },
            (event) => {
              if (expired) return;
              if (event.type === 'ERROR') {
                expired = true;
                stream.abort();
                return;
              }
              resourceVersion = event.object.metadata.resourceVersion ?? resourceVersion;
              if (event.type === 'ADDED' || event.type === 'MODIFIED') this.emit(event.object);
              if (event.type === 'DELETED') this.emit(undefined);
            },
            AbortSignal.any([signal, stream.signal]),
          );
        }
      } catch (err) {
        if (signal.aborted) return;
        this.lastError = err instanceof Error ? err.message : String(err);
        await delay(RETRY_MS);
      }
    }
  }
}

interface ReleaseList {
  metadata: { resourceVersion: string };
  items: Release[];
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
