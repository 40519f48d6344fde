/**
 * Latency: how long a change on the data plane takes to be seen or undone by the controller,
 * timed with watches (not polling) so that each sample is as precise as the event stream.
 *
 * - status: a new condition written to a Deployment's status subresource on the data plane,
 *   until the Release on the control plane shows it in status.resources[].status;
 * - recreate: a ConfigMap the controller applied is deleted, until it exists again;
 * - revert: the controller-owned ConfigMap key is changed by another field manager, until the
 *   controller has set it back.
 *
 * Each trial opens a watch on the one object (field selector on the name) and waits for the
 * synthetic ADDED event, so the watch is known to be established before the change is made; the
 * clock starts just before the change request is sent and stops when the matching event arrives.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { KubeObject } from '../src/api/object.ts';
import { API_VERSION } from '../src/api/v1alpha1/constants.ts';
import type { Release } from '../src/api/v1alpha1/schema.ts';
import type { KubeClient, WatchEvent } from '../src/kube/client.ts';
import type { BenchEnv } from './env.ts';
import { round } from './util.ts';
import { benchTarget, CONFIG_KEY, ResourceIds } from './workload.ts';

/** TRIAL_TIMEOUT_MS bounds one trial; a trial that takes longer counts as a timeout. */
export const TRIAL_TIMEOUT_MS = 30_000;
/** TRIAL_PAUSE_MS separates trials, so that one trial's reconcile does not overlap the next. */
export const TRIAL_PAUSE_MS = 250;
/** BENCH_FIELD_MANAGER is the field manager of the bench's own edits on the data plane. */
export const BENCH_FIELD_MANAGER = 'release-controller-bench';

/** LatencyStats summarises the samples of one kind of trial, in milliseconds. */
export interface LatencyStats {
  trials: number;
  completed: number;
  timeouts: number;
  medianMs: number;
  p95Ms: number;
  minMs: number;
  maxMs: number;
  samplesMs: number[];
}

/** LatencyResult holds the three kinds of latency of one Release count. */
export interface LatencyResult {
  status: LatencyStats;
  recreate: LatencyStats;
  revert: LatencyStats;
}

/** percentile returns the nearest-rank percentile `p` (0-1) of sorted samples. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] ?? NaN;
}

/** summarize computes the statistics of trial samples (undefined: the trial timed out). */
export function summarize(samples: Array<number | undefined>): LatencyStats {
  const done = samples.filter((s): s is number => s !== undefined).sort((a, b) => a - b);
  return {
    trials: samples.length,
    completed: done.length,
    timeouts: samples.length - done.length,
    medianMs: round(percentile(done, 0.5), 1),
    p95Ms: round(percentile(done, 0.95), 1),
    minMs: round(done[0] ?? NaN, 1),
    maxMs: round(done[done.length - 1] ?? NaN, 1),
    samplesMs: samples.map((s) => (s === undefined ? -1 : round(s, 1))),
  };
}

interface Waiter<T> {
  match: (event: WatchEvent<T>) => boolean;
  resolve: (at: number) => void;
}

/** ObjectWatch watches one named object and tells when an event matching a predicate arrives. */
export class ObjectWatch<T extends KubeObject> {
  private readonly abort = new AbortController();
  private readonly waiters = new Set<Waiter<T>>();
  private failure: Error | undefined;
  private initial: T | undefined;
  private onInitial: (() => void) | undefined;

  private constructor(client: KubeClient, collection: string, name: string) {
    client
      .watch<T>(
        collection,
        { fieldSelector: `metadata.name=${name}`, timeoutSeconds: 600 },
        (event) => this.onEvent(event),
        this.abort.signal,
      )
      .catch((err: unknown) => {
        this.failure = err instanceof Error ? err : new Error(String(err));
        this.onInitial?.();
      });
  }

  /** open starts watching and resolves with the object once the watch delivered it. */
  static async open<T extends KubeObject>(
    client: KubeClient,
    collection: string,
    name: string,
  ): Promise<{ watch: ObjectWatch<T>; object: T }> {
    const watch = new ObjectWatch<T>(client, collection, name);
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no initial event watching ${collection}/${name}`)),
          10_000,
        );
        watch.onInitial = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      if (watch.failure !== undefined) throw watch.failure;
      if (!watch.initial) throw new Error(`${collection}/${name} does not exist`);
      return { watch, object: watch.initial };
    } catch (err) {
      watch.close();
      throw err;
    }
  }

  /** waitFor resolves with performance.now() at the first later event that matches, or undefined on timeout. */
  waitFor(match: (event: WatchEvent<T>) => boolean, timeoutMs: number): Promise<number | undefined> {
    return new Promise((resolve) => {
      const waiter: Waiter<T> = {
        match,
        resolve: (at) => {
          clearTimeout(timer);
          this.waiters.delete(waiter);
          resolve(at);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        resolve(undefined);
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }

  /** close ends the watch. */
  close(): void {
    this.abort.abort();
  }

  private onEvent(event: WatchEvent<T>): void {
    const at = performance.now();
    if (!this.initial && event.type === 'ADDED') {
      this.initial = event.object;
      this.onInitial?.();
      return;
    }
    for (const w of [...this.waiters]) if (w.match(event)) w.resolve(at);
  }
}

type TrialKind = keyof LatencyResult;

/** measureLatency runs `trials` trials of each kind, on different Releases, one at a time. */
export async function measureLatency(
  env: BenchEnv,
  n: number,
  trials: number,
  log: (line: string) => void,
): Promise<LatencyResult> {
  const kinds: Array<
    [TrialKind, (env: BenchEnv, index: number, trial: number) => Promise<number | undefined>]
  > = [
    ['status', statusTrial],
    ['recreate', recreateTrial],
    ['revert', revertTrial],
  ];
  const result: Partial<LatencyResult> = {};
  for (const [k, [kind, trial]] of kinds.entries()) {
    const samples: Array<number | undefined> = [];
    for (let t = 0; t < trials; t++) {
      samples.push(await trial(env, (t + k * trials) % n, t));
      await sleep(TRIAL_PAUSE_MS);
    }
    result[kind] = summarize(samples);
    log(
      `  ${kind}: median ${result[kind].medianMs} ms, p95 ${result[kind].p95Ms} ms, ${result[kind].timeouts} timeouts`,
    );
  }
  return result as LatencyResult;
}

const releasesPath = (namespace: string) => `/apis/${API_VERSION}/namespaces/${namespace}/releases`;
const deploymentsPath = (namespace: string) => `/apis/apps/v1/namespaces/${namespace}/deployments`;
const configMapsPath = (namespace: string) => `/api/v1/namespaces/${namespace}/configmaps`;

async function statusTrial(env: BenchEnv, index: number, trial: number): Promise<number | undefined> {
  const t = benchTarget(index);
  const marker = `trial-${trial}-${randomBytes(4).toString('hex')}`;
  const { watch } = await ObjectWatch.open<Release>(
    env.cpKube.client,
    releasesPath(env.org.namespace),
    t.release,
  );
  try {
    const seen = watch.waitFor((e) => {
      const entry = e.object.status?.resources?.find((r) => r.id === ResourceIds.deployment);
      const status = entry?.status as { conditions?: Array<{ message?: string }> } | undefined;
      return status?.conditions?.some((c) => c.message === marker) ?? false;
    }, TRIAL_TIMEOUT_MS);
    const now = new Date().toISOString();
    const started = performance.now();
    await env.dpKube.client.request({
      method: 'PATCH',
      path: `${deploymentsPath(t.namespace)}/${t.name}/status`,
      query: { fieldManager: BENCH_FIELD_MANAGER },
      body: {
        status: {
          conditions: [
            {
              type: 'BenchProbe',
              status: 'True',
              reason: 'Benchmark',
              message: marker,
              lastUpdateTime: now,
              lastTransitionTime: now,
            },
          ],
        },
      },
      contentType: 'application/merge-patch+json',
    });
    const at = await seen;
    return at === undefined ? undefined : at - started;
  } finally {
    watch.close();
  }
}

async function recreateTrial(env: BenchEnv, index: number): Promise<number | undefined> {
  const t = benchTarget(index);
  const { watch, object } = await ObjectWatch.open<KubeObject>(
    env.dpKube.client,
    configMapsPath(t.namespace),
    t.name,
  );
  try {
    const seen = watch.waitFor(
      (e) => e.type === 'ADDED' && e.object.metadata.uid !== object.metadata.uid,
      TRIAL_TIMEOUT_MS,
    );
    const started = performance.now();
    await env.dpKube.client.request({ method: 'DELETE', path: `${configMapsPath(t.namespace)}/${t.name}` });
    const at = await seen;
    return at === undefined ? undefined : at - started;
  } finally {
    watch.close();
  }
}

async function revertTrial(env: BenchEnv, index: number, trial: number): Promise<number | undefined> {
  const t = benchTarget(index);
  const { watch } = await ObjectWatch.open<KubeObject>(
    env.dpKube.client,
    configMapsPath(t.namespace),
    t.name,
  );
  try {
    const edit = `edited-${trial}`;
    // Events arrive in resourceVersion order: the correction is the first desired value after the edit.
    let edited = false;
    const seen = watch.waitFor((e) => {
      const value = (e.object['data'] as Record<string, string> | undefined)?.[CONFIG_KEY];
      if (value === edit) edited = true;
      return edited && value === t.configValue;
    }, TRIAL_TIMEOUT_MS);
    const started = performance.now();
    await env.dpKube.client.request<KubeObject>({
      method: 'PATCH',
      path: `${configMapsPath(t.namespace)}/${t.name}`,
      query: { fieldManager: BENCH_FIELD_MANAGER },
      body: { data: { [CONFIG_KEY]: edit } },
      contentType: 'application/merge-patch+json',
    });
    const at = await seen;
    return at === undefined ? undefined : at - started;
  } finally {
    watch.close();
  }
}
