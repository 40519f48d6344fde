/**
 * Restart: the controller is stopped (SIGTERM) after the Releases have converged, and a new one is
 * started on the same clusters. It has nothing cached, so it lists everything and reconciles every
 * Release once; the phase measures how long until every Release was reconciled by the new process
 * and its work queue is empty, and what that cost: applies by result (an unchanged object needs no
 * apply request), requests by cluster and verb, status writes counted by the control plane's API
 * server, CPU seconds and peak RSS of the new process.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { RELEASE_CONTROLLER } from '../src/controller/release/setup.ts';
import type { BenchEnv } from './env.ts';
import { MIB, processMemory } from './memory.ts';
import {
  apiServerRequests,
  attributable,
  CONTROLLER_RESOURCES,
  controllerRequests,
  READ_VERBS,
  subtract,
  type RequestCounts,
} from './steady.ts';
import { metricSum, parseMetrics, round } from './util.ts';

/** RESTART_POLL_MS is the pause between two scrapes of the new controller's /metrics. */
export const RESTART_POLL_MS = 250;

/** RestartResult is what a controller restart with N converged Releases cost. */
export interface RestartResult {
  releases: number;
  /** readySeconds is from the start of the new process until it answered /readyz. */
  readySeconds: number;
  /**
   * seconds is from the start of the new process until it had reconciled every Release
   * (release_controller_releases sums to N) and its work queue was empty with no worker busy.
   */
  seconds: number;
  /** reconciles is how many reconciles of Releases the new process ran by then. */
  reconciles: number;
  /** applies counts release_controller_applies_total by result (applied, unchanged, error). */
  applies: Record<string, number>;
  /** requests is what the new process counted sending, by `cluster-side VERB`. */
  requests: Record<string, number>;
  /** reads and writes sum `requests` by kind of verb (GET, LIST, WATCH against the rest). */
  reads: number;
  writes: number;
  /** statusWrites is PATCH and PUT of releases/status counted by the control plane's API server. */
  statusWrites: number;
  /** dataPlaneWrites is what the data plane's API server counted as writes to the applied kinds and namespaces. */
  dataPlaneWrites: number;
  /** cpuSeconds is the new process's CPU time from its start (process_cpu_seconds_total). */
  cpuSeconds: number;
  /** peakRssMiB is the new process's high-water mark (VmHWM) at the end of the phase. */
  peakRssMiB: number;
}

function sumWhere(counts: RequestCounts, pick: (verb: string, what: string) => boolean): number {
  let n = 0;
  for (const [k, v] of counts) {
    const space = k.indexOf(' ');
    if (pick(k.slice(0, space), k.slice(space + 1))) n += v;
  }
  return n;
}

/** measureRestart stops the running controller, starts a new one and waits until it re-verified all `n` Releases. */
export async function measureRestart(
  env: BenchEnv,
  n: number,
  log: (line: string) => void,
): Promise<RestartResult> {
  await env.stopController();
  const cpBefore = apiServerRequests(await env.cpKube.metrics());
  const dpBefore = apiServerRequests(await env.dpKube.metrics());
  const started = performance.now();
  const controller = await env.startController();
  const readySeconds = (performance.now() - started) / 1000;
  const deadline = started + 120_000 + n * 600;
  let text: string;
  let lastLog = started;
  for (;;) {
    text = await controller.metrics();
    const seen = metricSum(text, 'release_controller_releases');
    const depth = metricSum(text, 'workqueue_depth', { name: RELEASE_CONTROLLER });
    const busy = metricSum(text, 'controller_runtime_active_workers', { controller: RELEASE_CONTROLLER });
    if (seen >= n && depth === 0 && busy === 0) break;
    const now = performance.now();
    if (now > deadline)
      throw new Error(`the restarted controller reconciled only ${seen} of ${n} Releases in time`);
    if (now - lastLog > 10_000) {
      log(`  ${seen}/${n} re-verified after ${((now - started) / 1000).toFixed(0)} s, queue depth ${depth}`);
      lastLog = now;
    }
    await sleep(RESTART_POLL_MS);
  }
  const seconds = (performance.now() - started) / 1000;
  const cp = subtract(apiServerRequests(await env.cpKube.metrics()), cpBefore);
  const dp = subtract(apiServerRequests(await env.dpKube.metrics()), dpBefore);
  const applies: Record<string, number> = {};
  for (const s of parseMetrics(text)) {
    if (s.name !== 'release_controller_applies_total') continue;
    const result = s.labels['result'] ?? '';
    applies[result] = (applies[result] ?? 0) + s.value;
  }
  const requests: Record<string, number> = Object.fromEntries(controllerRequests(text));
  const verbSum = (read: boolean) =>
    Object.entries(requests)
      .filter(([k]) => READ_VERBS.has(k.slice(k.indexOf(' ') + 1)) === read)
      .reduce((s, [, v]) => s + v, 0);
  return {
    releases: n,
    readySeconds: round(readySeconds, 2),
    seconds: round(seconds, 2),
    reconciles: metricSum(text, 'controller_runtime_reconcile_total', { controller: RELEASE_CONTROLLER }),
    applies,
    requests,
    reads: verbSum(true),
    writes: verbSum(false),
    statusWrites: sumWhere(
      cp,
      (verb, what) => (verb === 'PATCH' || verb === 'PUT') && what === 'releases.openchoreo.dev/status',
    ),
    dataPlaneWrites: sumWhere(
      dp,
      (verb, what) => !READ_VERBS.has(verb) && attributable(`${verb} ${what}`, CONTROLLER_RESOURCES.dp),
    ),
    cpuSeconds: round(metricSum(text, 'process_cpu_seconds_total'), 2),
    peakRssMiB: round(processMemory(controller.pid).peak / MIB, 1),
  };
}

/** restartLine is the one-line summary of a restart. */
export function restartLine(r: RestartResult): string {
  const considered = Object.values(r.applies).reduce((s, v) => s + v, 0);
  const split =
    Object.entries(r.applies)
      .map(([k, v]) => `${v} ${k}`)
      .join(', ') || 'none';
  return (
    `restart: re-verified ${r.releases} Releases in ${r.seconds} s (ready after ${r.readySeconds} s, ${r.reconciles} reconciles), ` +
    `${r.applies['applied'] ?? 0} applies (${considered} objects considered: ${split}), ` +
    `${r.writes} writes (${r.statusWrites} status writes, ${r.dataPlaneWrites} on the data plane), ${r.reads} reads, ` +
    `${r.cpuSeconds} CPU s, peak RSS ${r.peakRssMiB} MiB`
  );
}
