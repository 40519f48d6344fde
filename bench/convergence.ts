/**
 * Convergence: N Releases created at once (bounded client concurrency) against the running
 * controller (or shards), timed until every one of them has Ready=True. Progress comes from one
 * WATCH of Releases (bench/readiness.ts), never from LISTs or per-object reads. The CPU seconds of
 * the controller, each API server and each etcd over the phase tell which of them bound it.
 */
import { API_VERSION } from '../src/api/v1alpha1/constants.ts';
import type { Release } from '../src/api/v1alpha1/schema.ts';
import type { BenchEnv } from './env.ts';
import { CpuMeter, RoleCpuMeter, type CpuWindow } from './machine.ts';
import { ReadyTracker } from './readiness.ts';
import { controllerRequests, type RequestCounts } from './steady.ts';
import { metricSum, parseMetrics, round } from './util.ts';
import { benchRelease, OBJECTS_PER_RELEASE } from './workload.ts';

/** CREATE_CONCURRENCY bounds the bench's parallel Release creations. */
export const CREATE_CONCURRENCY = 16;
/** PROGRESS_MS is the interval of the progress log lines. */
export const PROGRESS_MS = 10_000;

/** ConvergenceResult is the outcome of one convergence run. */
export interface ConvergenceResult {
  releases: number;
  objects: number;
  /** createSeconds is how long the bench took to create every Release. */
  createSeconds: number;
  /** seconds is from the first create until the watch showed every Release Ready. */
  seconds: number;
  /** objectsPerSecond is objects / seconds. */
  objectsPerSecond: number;
  /** applies is the controller's count of apply requests sent (release_controller_applies_total). */
  applies: number;
  /** reconciles is how many reconciles the controller ran (controller_runtime_reconcile_total). */
  reconciles: number;
  /**
   * reconcilesBy splits them by `controller/result` (`release/success`, `release/requeue`,
   * `plane-status/success`, ...): the Release controller's are what a Release costs, deferrals
   * (`requeue`) ran nothing.
   */
  reconcilesBy: Record<string, number>;
  /** meanReconcileMs is their mean duration. */
  meanReconcileMs: number;
  /** reconcileErrors is how many of them failed. */
  reconcileErrors: number;
  /** requestsPerRelease is what the controller counted sending, per Release, by cluster side and verb. */
  requestsPerRelease: Record<string, number>;
  /** controllerCpuSeconds is the controller's CPU time over the phase (process_cpu_seconds_total, summed over shards). */
  controllerCpuSeconds: number;
  /** controllerCoreShare is controllerCpuSeconds / seconds: the share of one core the controller used. */
  controllerCoreShare: number;
  /**
   * controllerShareOfWatched is the controller's part of the CPU that the controller, the API
   * servers and etcd used together over the phase (the bench itself not counted).
   */
  controllerShareOfWatched: number;
  /** cpuByRole is the CPU seconds of each process group over the phase ("controller", "cp kube-apiserver", "dp etcd", "bench", ...), from /proc. */
  cpuByRole: Record<string, number>;
  /** watchEvents is how many Release watch events the bench received to follow progress. */
  watchEvents: number;
  cpu: CpuWindow;
}

/** ConvergenceSpec says which Releases a convergence phase creates. */
export interface ConvergenceSpec {
  /** count is how many Releases the phase creates. */
  count: number;
  /** release builds the k-th of them (0 <= k < count). */
  release: (k: number) => Release;
  /** readyBefore is how many Releases were Ready before the phase (created by an earlier phase). */
  readyBefore?: number;
}

/** measureConvergence creates `n` benchmark Releases and waits until all are Ready. */
export function measureConvergence(
  env: BenchEnv,
  n: number,
  log: (line: string) => void,
): Promise<ConvergenceResult> {
  return measureCreation(env, { count: n, release: (k) => benchRelease(env.org, k) }, log);
}

/** measureCreation creates the Releases of `spec` and waits until they (and the earlier ones) are Ready. */
export async function measureCreation(
  env: BenchEnv,
  spec: ConvergenceSpec,
  log: (line: string) => void,
): Promise<ConvergenceResult> {
  const n = spec.count;
  const target = n + (spec.readyBefore ?? 0);
  const before = await env.controllersMetrics();
  const tracker = new ReadyTracker(env.cpKube.client);
  const meter = new CpuMeter(() => [...env.watchedPids()]);
  const roles = new RoleCpuMeter(() => env.cpuRoles());
  const started = performance.now();
  let next = 0;
  const creator = async () => {
    while (next < n) {
      const index = next++;
      await env.cpKube.create(spec.release(index));
    }
  };
  const creating = Promise.all(Array.from({ length: Math.min(CREATE_CONCURRENCY, n) }, creator)).then(
    () => (performance.now() - started) / 1000,
  );
  let createSeconds: number | undefined;
  let createError: Error | undefined;
  const stop = new AbortController();
  creating.then(
    (s) => (createSeconds = s),
    (err: unknown) => {
      createError = err instanceof Error ? err : new Error(String(err));
      stop.abort();
    },
  );
  const deadline = setTimeout(() => stop.abort(), 120_000 + n * 600);
  let stalled = { count: -1, ticks: 0 };
  const progress = setInterval(() => {
    log(`  ${tracker.count}/${target} Ready after ${((performance.now() - started) / 1000).toFixed(0)} s`);
    stalled =
      tracker.count === stalled.count
        ? { ...stalled, ticks: stalled.ticks + 1 }
        : { count: tracker.count, ticks: 0 };
    // No progress for 30 s: check the watch against one LIST (it should never differ).
    if (stalled.ticks === 3) {
      void env.cpKube.list<Release>(API_VERSION, 'Release').then((releases) => {
        const wrong = tracker.resync(releases);
        if (wrong.length > 0)
          log(
            `  the Release watch had ${wrong.length} Releases wrong, corrected by a LIST (after ${tracker.failures} failed watches): ${wrong.slice(0, 5).join(', ')}`,
          );
      });
    }
  }, PROGRESS_MS);
  try {
    await tracker.waitFor(target, stop.signal);
  } finally {
    clearTimeout(deadline);
    clearInterval(progress);
  }
  if (createError !== undefined) {
    await tracker.close();
    throw createError;
  }
  if (tracker.count < target) {
    await tracker.close();
    throw new Error(`only ${tracker.count} of ${target} Releases became Ready in time`);
  }
  const seconds = (performance.now() - started) / 1000;
  const cpu = meter.finish();
  const cpuByRole = roles.finish();
  await tracker.close();
  await creating;
  const after = await env.controllersMetrics();
  const diff = (name: string, labels: Record<string, string> = {}) =>
    metricSum(after, name, labels) - metricSum(before, name, labels);
  return {
    releases: n,
    objects: n * OBJECTS_PER_RELEASE,
    createSeconds: round(createSeconds ?? seconds, 2),
    seconds: round(seconds, 2),
    objectsPerSecond: round((n * OBJECTS_PER_RELEASE) / seconds, 1),
    applies: diff('release_controller_applies_total', { result: 'applied' }),
    reconciles: diff('controller_runtime_reconcile_total'),
    reconcilesBy: reconcilesBy(after, before),
    meanReconcileMs: round(
      (diff('controller_runtime_reconcile_time_seconds_sum') /
        Math.max(1, diff('controller_runtime_reconcile_time_seconds_count'))) *
        1000,
      2,
    ),
    reconcileErrors: diff('controller_runtime_reconcile_errors_total'),
    requestsPerRelease: perRelease(controllerRequests(after), controllerRequests(before), n),
    controllerCpuSeconds: round(diff('process_cpu_seconds_total'), 2),
    controllerCoreShare: round(diff('process_cpu_seconds_total') / seconds, 3),
    controllerShareOfWatched: round(
      (cpuByRole['controller'] ?? 0) / Math.max(0.01, watchedCpu(cpuByRole)),
      3,
    ),
    cpuByRole,
    watchEvents: tracker.events,
    cpu,
  };
}

/** reconcilesBy counts the reconciles between two scrapes by `controller/result`. */
function reconcilesBy(after: string, before: string): Record<string, number> {
  const byKey = (text: string) => {
    const out = new Map<string, number>();
    for (const s of parseMetrics(text))
      if (s.name === 'controller_runtime_reconcile_total') {
        const key = `${s.labels['controller'] ?? ''}/${s.labels['result'] ?? ''}`;
        out.set(key, (out.get(key) ?? 0) + s.value);
      }
    return out;
  };
  const was = byKey(before);
  const out: Record<string, number> = {};
  for (const [key, v] of [...byKey(after)].sort(([a], [b]) => a.localeCompare(b)))
    if (v - (was.get(key) ?? 0) !== 0) out[key] = v - (was.get(key) ?? 0);
  return out;
}

/** watchedCpu sums the CPU seconds of the controller, API servers, etcd and tunnel (not the bench). */
export function watchedCpu(byRole: Record<string, number>): number {
  return Object.entries(byRole)
    .filter(([role]) => role !== 'bench')
    .reduce((s, [, v]) => s + v, 0);
}

function perRelease(after: RequestCounts, before: RequestCounts, n: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of after) {
    const d = v - (before.get(k) ?? 0);
    if (d !== 0) out[k] = round(d / n, 3);
  }
  return out;
}
