/**
 * Readiness tracking without polling: one WATCH of Releases in every namespace of the control plane
 * keeps Ready=True per Release. At 10,000 Releases a LIST of all of them is about 40 MB, so a LIST
 * every 500 ms would make the bench (and the API server serving it) the bottleneck of what it
 * measures; a watch costs one event per status write. The bench's clusters are fresh, so every
 * Release there is the bench's.
 */
import { API_VERSION, ConditionTypes } from '../src/api/v1alpha1/constants.ts';
import type { Release } from '../src/api/v1alpha1/schema.ts';
import type { KubeClient, WatchEvent } from '../src/kube/client.ts';

/** WATCH_TIMEOUT_SECONDS is the server-side length of one watch; the tracker re-watches after it. */
export const WATCH_TIMEOUT_SECONDS = 300;
/** RETRY_MS is the pause before re-watching after an error. */
export const RETRY_MS = 500;

/** isReady tells whether a Release's Ready condition is True. */
export function isReady(release: Release): boolean {
  return release.status?.conditions?.find((c) => c.type === ConditionTypes.ready)?.status === 'True';
}

/** ReadyTracker counts the Releases whose Ready condition is True, from one cluster-wide watch. */
export class ReadyTracker {
  private readonly ready = new Set<string>();
  private readonly abort = new AbortController();
  private resourceVersion: string | undefined;
  private waiter: { n: number; resolve: () => void } | undefined;
  /** events is how many watch events arrived (the bench's own cost of tracking). */
  events = 0;
  /** watches is how many watch requests the tracker sent. */
  watches = 0;
  /** failures is how many of them ended with an error. */
  failures = 0;
  private readonly running: Promise<void>;

  constructor(private readonly client: KubeClient) {
    this.running = this.loop();
  }

  /** count is the number of Releases with Ready=True now. */
  get count(): number {
    return this.ready.size;
  }

  /** waitFor resolves once at least `n` Releases are Ready, or when `signal` aborts. */
  waitFor(n: number, signal: AbortSignal): Promise<void> {
    if (this.ready.size >= n) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        this.waiter = undefined;
        resolve();
      };
      this.waiter = { n, resolve: done };
      signal.addEventListener('abort', done, { once: true });
    });
  }

  /**
   * resync sets the Ready Releases from a LIST, and returns the keys the watch had wrong (a check
   * of the tracker itself: the bench calls it only when progress stalls).
   */
  resync(releases: Release[]): string[] {
    const listed = new Set(
      releases.filter(isReady).map((r) => `${r.metadata.namespace ?? ''}/${r.metadata.name}`),
    );
    const wrong = [...listed].filter((k) => !this.ready.has(k));
    wrong.push(...[...this.ready].filter((k) => !listed.has(k)));
    this.ready.clear();
    for (const k of listed) this.ready.add(k);
    if (this.waiter && this.ready.size >= this.waiter.n) this.waiter.resolve();
    return wrong;
  }

  /** close ends the watch. */
  async close(): Promise<void> {
    this.abort.abort();
    await this.running;
  }

  private async loop(): Promise<void> {
    const path = `/apis/${API_VERSION}/releases`;
    while (!this.abort.signal.aborted) {
      try {
        this.watches++;
        await this.client.watch<Release>(
          path,
          {
            timeoutSeconds: WATCH_TIMEOUT_SECONDS,
            allowWatchBookmarks: true,
            ...(this.resourceVersion ? { resourceVersion: this.resourceVersion } : {}),
          },
          (event) => this.onEvent(event),
          this.abort.signal,
        );
      } catch {
        // Start over from the current state (the initial ADDED events repeat every Release): the
        // resourceVersions of a watch's initial events are not in order, so one taken from them
        // is not a safe point to resume from (410 Gone needs the same).
        this.resourceVersion = undefined;
        this.failures++;
        await new Promise((r) => setTimeout(r, RETRY_MS));
      }
    }
  }

  private onEvent(event: WatchEvent<Release>): void {
    this.events++;
    if (event.type === 'ERROR') {
      // Most likely 410 Gone (the resourceVersion is too old): re-watch from the current state.
      this.resourceVersion = undefined;
      return;
    }
    const rv = event.object.metadata?.resourceVersion;
    if (rv) this.resourceVersion = rv;
    if (event.type === 'BOOKMARK') return;
    const key = `${event.object.metadata.namespace ?? ''}/${event.object.metadata.name}`;
    if (event.type !== 'DELETED' && isReady(event.object)) this.ready.add(key);
    else this.ready.delete(key);
    if (this.waiter && this.ready.size >= this.waiter.n) this.waiter.resolve();
  }
}
