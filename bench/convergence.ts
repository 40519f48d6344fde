/**
 * Convergence: N Releases created at once (bounded client concurrency) against a running
 * controller, timed until every one of them has Ready=True. Progress is read with one LIST of
 * Releases every 500 ms, never with per-object reads.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { API_VERSION, ConditionTypes } from '../src/api/v1alpha1/constants.ts';
import type { Release } from '../src/api/v1alpha1/schema.ts';
import type { BenchEnv } from './env.ts';
import { CpuMeter, type CpuWindow } from './machine.ts';
import { controllerRequests, type RequestCounts } from './steady.ts';
import { metricSum, round } from './util.ts';
import { benchRelease, OBJECTS_PER_RELEASE } from './workload.ts';

/** CREATE_CONCURRENCY bounds the bench's parallel Release creations. */
export const CREATE_CONCURRENCY = 16;
/** POLL_INTERVAL_MS is the pause between two LISTs of Releases. */
export const POLL_INTERVAL_MS = 500;

/** ConvergenceResult is the outcome of one convergence run. */
export interface ConvergenceResult {
  releases: number;
  objects: number;
  /** createSeconds is how long the bench took to create every Release. */
  createSeconds: number;
  /** seconds is from the first create until the LIST that showed every Release Ready. */
  seconds: number;
  /** objectsPerSecond is objects / seconds. */
  objectsPerSecond: number;
  /** applies is the controller's count of apply requests sent (release_controller_applies_total). */
  applies: number;
  /** reconciles is how many reconciles the controller ran (controller_runtime_reconcile_total). */
  reconciles: number;
  /** meanReconcileMs is their mean duration. */
  meanReconcileMs: number;
  /** reconcileErrors is how many of them failed. */
  reconcileErrors: number;
  /** requestsPerRelease is what the controller counted sending, per Release, by cluster side and verb. */
  requestsPerRelease: Record<string, number>;
  /** controllerCpuSeconds is the controller's CPU time over the phase (process_cpu_seconds_total). */
  controllerCpuSeconds: number;
  cpu: CpuWindow;
}

/** measureConvergence creates `n` Releases and waits until all are Ready. */
export async function measureConvergence(
  env: BenchEnv,
  n: number,
  log: (line: string) => void,
): Promise<ConvergenceResult> {
  const before = await env.controller.metrics();
  const meter = new CpuMeter(() => [...env.watchedPids()]);
  const started = performance.now();
  let next = 0;
  const creator = async () => {
    while (next < n) {
      const index = next++;
      await env.cpKube.create(benchRelease(env.org, index));
    }
  };
  const creating = Promise.all(Array.from({ length: Math.min(CREATE_CONCURRENCY, n) }, creator)).then(
    () => (performance.now() - started) / 1000,
  );
  let createSeconds: number | undefined;
  let createError: Error | undefined;
  creating.then(
    (s) => (createSeconds = s),
    (err: unknown) => (createError = err instanceof Error ? err : new Error(String(err))),
  );

  const deadline = started + 120_000 + n * 600;
  let lastReport = 0;
  for (;;) {
    const releases = await env.cpKube.list<Release>(API_VERSION, 'Release', env.org.namespace);
    const now = performance.now();
    const ready = releases.filter(
      (r) => r.status?.conditions?.find((c) => c.type === ConditionTypes.ready)?.status === 'True',
    ).length;
    if (ready === n) break;
    if (createError !== undefined) throw createError;
    if (now > deadline) throw new Error(`only ${ready} of ${n} Releases became Ready in time`);
    if (now - lastReport > 10_000) {
      log(`  ${ready}/${n} Ready after ${((now - started) / 1000).toFixed(0)} s`);
      lastReport = now;
    }
    await sleep(POLL_INTERVAL_MS);
  }
  const seconds = (performance.now() - started) / 1000;
  const cpu = meter.finish();
  await creating;
  const after = await env.controller.metrics();
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
    meanReconcileMs: round(
      (diff('controller_runtime_reconcile_time_seconds_sum') /
        Math.max(1, diff('controller_runtime_reconcile_time_seconds_count'))) *
        1000,
      2,
    ),
    reconcileErrors: diff('controller_runtime_reconcile_errors_total'),
    requestsPerRelease: perRelease(controllerRequests(after), controllerRequests(before), n),
    controllerCpuSeconds: round(diff('process_cpu_seconds_total'), 2),
    cpu,
  };
}

function perRelease(after: RequestCounts, before: RequestCounts, n: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of after) {
    const d = v - (before.get(k) ?? 0);
    if (d !== 0) out[k] = round(d / n, 3);
  }
  return out;
}
