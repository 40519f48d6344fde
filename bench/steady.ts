/**
 * Steady state: how many API requests the controller sends to each cluster, and how much CPU it
 * uses, while nothing changes. The API servers' own `apiserver_request_total` is read before and
 * after a window in which the controller is the only client (the bench sends nothing but /metrics
 * scrapes, which that counter does not count), and again over a window of the same length with the
 * controller stopped; the second is the API servers' own background traffic (Lease renewals of
 * their identity, OpenAPI aggregation) and is subtracted. The controller's own request counter
 * (`release_controller_api_requests_total`) is reported beside it as a cross-check.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { BenchEnv } from './env.ts';
import { CpuMeter, processCpuSeconds, type CpuWindow } from './machine.ts';
import { metricSum, parseMetrics, round } from './util.ts';

/** READ_VERBS are the apiserver_request_total verbs that only read. */
export const READ_VERBS: ReadonlySet<string> = new Set(['GET', 'LIST', 'WATCH', 'WATCHLIST']);

/** RequestCounts maps `VERB resource[/subresource]` to a request count. */
export type RequestCounts = Map<string, number>;

/** apiServerRequests sums apiserver_request_total by verb and resource (over codes and scopes). */
export function apiServerRequests(text: string): RequestCounts {
  const counts: RequestCounts = new Map();
  for (const s of parseMetrics(text)) {
    if (s.name !== 'apiserver_request_total') continue;
    const { verb = '', resource = '', subresource = '', group = '' } = s.labels;
    const what = resource
      ? `${group ? `${resource}.${group}` : resource}${subresource ? `/${subresource}` : ''}`
      : subresource || '(non-resource)';
    const key = `${verb} ${what}`;
    counts.set(key, (counts.get(key) ?? 0) + s.value);
  }
  return counts;
}

/** controllerRequests sums the controller's release_controller_api_requests_total by cluster side and verb. */
export function controllerRequests(text: string): RequestCounts {
  const counts: RequestCounts = new Map();
  for (const s of parseMetrics(text)) {
    if (s.name !== 'release_controller_api_requests_total') continue;
    const side = s.labels['cluster'] === 'control-plane' ? 'control-plane' : 'data-plane';
    const key = `${side} ${s.labels['verb'] ?? ''}`;
    counts.set(key, (counts.get(key) ?? 0) + s.value);
  }
  return counts;
}

function subtract(after: RequestCounts, before: RequestCounts): RequestCounts {
  const out: RequestCounts = new Map();
  for (const [k, v] of after) {
    const d = v - (before.get(k) ?? 0);
    if (d !== 0) out.set(k, d);
  }
  return out;
}

/** Window is what happened on both clusters during one measured window. */
export interface Window {
  seconds: number;
  cp: RequestCounts;
  dp: RequestCounts;
  /** controller is present when the controller ran during the window. */
  controller?: {
    requests: RequestCounts;
    cpuSeconds: number;
    reconciles: number;
    /** reconcileSeconds is the total time reconciles took (controller_runtime_reconcile_time_seconds). */
    reconcileSeconds: number;
    applies: number;
  };
  apiServerCpuSeconds: { cp: number; dp: number };
  cpu: CpuWindow;
}

/**
 * measureWindow lets `seconds` pass without sending any API request, and returns what the API
 * servers counted meanwhile (and what the controller counted, when it runs).
 */
export async function measureWindow(env: BenchEnv, seconds: number): Promise<Window> {
  const pids = env.apiServerPids();
  const controllerPid = env.controllerRunning ? env.controllerPid : undefined;
  const read = async () => ({
    cp: apiServerRequests(await env.cpKube.metrics()),
    dp: apiServerRequests(await env.dpKube.metrics()),
    controller: controllerPid === undefined ? undefined : await env.controller.metrics(),
    controllerCpu: controllerPid === undefined ? 0 : processCpuSeconds(controllerPid),
    apiCpu: { cp: processCpuSeconds(pids.cp), dp: processCpuSeconds(pids.dp) },
    at: performance.now(),
  });
  const meter = new CpuMeter(() => env.watchedPids());
  const before = await read();
  await sleep(seconds * 1000);
  const after = await read();
  const cpu = meter.finish();
  const window: Window = {
    seconds: (after.at - before.at) / 1000,
    cp: subtract(after.cp, before.cp),
    dp: subtract(after.dp, before.dp),
    apiServerCpuSeconds: {
      cp: round(after.apiCpu.cp - before.apiCpu.cp, 2),
      dp: round(after.apiCpu.dp - before.apiCpu.dp, 2),
    },
    cpu,
  };
  if (before.controller !== undefined && after.controller !== undefined) {
    const a = after.controller;
    const b = before.controller;
    window.controller = {
      requests: subtract(controllerRequests(a), controllerRequests(b)),
      cpuSeconds: round(after.controllerCpu - before.controllerCpu, 2),
      reconciles:
        metricSum(a, 'controller_runtime_reconcile_total') -
        metricSum(b, 'controller_runtime_reconcile_total'),
      reconcileSeconds:
        metricSum(a, 'controller_runtime_reconcile_time_seconds_sum') -
        metricSum(b, 'controller_runtime_reconcile_time_seconds_sum'),
      applies:
        metricSum(a, 'release_controller_applies_total', { result: 'applied' }) -
        metricSum(b, 'release_controller_applies_total', { result: 'applied' }),
    };
  }
  return window;
}

/** VerbRow is one verb's requests to one cluster over the steady window. */
export interface VerbRow {
  verb: string;
  /** measured is what the API server counted with the controller running. */
  measured: number;
  /** background is what it counted with the controller stopped, scaled to the same length. */
  background: number;
  /** controller is measured minus background (at least 0). */
  controller: number;
  /** perReleasePerMinute is controller / Releases / minutes. */
  perReleasePerMinute: number;
}

/** ClusterSteady is the steady-state traffic to one cluster. */
export interface ClusterSteady {
  verbs: VerbRow[];
  readsPerReleasePerMinute: number;
  writesPerReleasePerMinute: number;
  /** byResource lists every `VERB resource` counted in either window (raw, not scaled). */
  byResource: Record<string, { measured: number; background: number }>;
  /** countedByController is the controller's own count by HTTP verb (WATCH: streams that ended). */
  countedByController: Record<string, number>;
}

/** SteadyResult is the steady-state figure of one Release count. */
export interface SteadyResult {
  releases: number;
  windowSeconds: number;
  backgroundSeconds: number;
  controlPlane: ClusterSteady;
  dataPlane: ClusterSteady;
  controllerCpuSeconds: number;
  /** controllerCpuPercent is the controller's CPU over the window, in percent of one core. */
  controllerCpuPercent: number;
  /** reconciles ran in the window (timed resyncs at `interval` plus jitter). */
  reconciles: number;
  /** meanReconcileMs is the mean duration of those reconciles. */
  meanReconcileMs: number;
  /** applies is how many apply requests the controller sent in the window. */
  applies: number;
  apiServerCpuSeconds: { cp: number; dp: number };
  cpu: CpuWindow;
  backgroundCpu: CpuWindow;
}

function clusterSteady(
  n: number,
  window: Window,
  background: Window,
  side: 'cp' | 'dp',
  counted: RequestCounts,
): ClusterSteady {
  const measured = window[side];
  const bg = background[side];
  const scale = window.seconds / background.seconds;
  const minutes = window.seconds / 60;
  const byVerb = (counts: RequestCounts) => {
    const out = new Map<string, number>();
    for (const [k, v] of counts) {
      const verb = k.slice(0, k.indexOf(' '));
      out.set(verb, (out.get(verb) ?? 0) + v);
    }
    return out;
  };
  const m = byVerb(measured);
  const b = byVerb(bg);
  const verbs = [...new Set([...m.keys(), ...b.keys()])].sort().map((verb): VerbRow => {
    const background = round((b.get(verb) ?? 0) * scale, 1);
    const controller = Math.max(0, round((m.get(verb) ?? 0) - background, 1));
    return {
      verb,
      measured: m.get(verb) ?? 0,
      background,
      controller,
      perReleasePerMinute: round(controller / n / minutes, 4),
    };
  });
  const sum = (read: boolean) =>
    round(
      verbs.filter((v) => READ_VERBS.has(v.verb) === read).reduce((s, v) => s + v.controller, 0) /
        n /
        minutes,
      4,
    );
  const byResource: Record<string, { measured: number; background: number }> = {};
  for (const k of [...new Set([...measured.keys(), ...bg.keys()])].sort()) {
    byResource[k] = { measured: measured.get(k) ?? 0, background: bg.get(k) ?? 0 };
  }
  const prefix = side === 'cp' ? 'control-plane ' : 'data-plane ';
  const countedByController: Record<string, number> = {};
  for (const [k, v] of counted) if (k.startsWith(prefix)) countedByController[k.slice(prefix.length)] = v;
  return {
    verbs,
    readsPerReleasePerMinute: sum(true),
    writesPerReleasePerMinute: sum(false),
    byResource,
    countedByController,
  };
}

/** steadyResult turns a window with the controller and a background window into the steady-state figure. */
export function steadyResult(n: number, window: Window, background: Window): SteadyResult {
  const c = window.controller;
  if (!c) throw new Error('the steady window must be measured with the controller running');
  return {
    releases: n,
    windowSeconds: round(window.seconds, 1),
    backgroundSeconds: round(background.seconds, 1),
    controlPlane: clusterSteady(n, window, background, 'cp', c.requests),
    dataPlane: clusterSteady(n, window, background, 'dp', c.requests),
    controllerCpuSeconds: c.cpuSeconds,
    controllerCpuPercent: round((c.cpuSeconds / window.seconds) * 100, 2),
    reconciles: c.reconciles,
    meanReconcileMs: c.reconciles ? round((c.reconcileSeconds / c.reconciles) * 1000, 2) : 0,
    applies: c.applies,
    apiServerCpuSeconds: window.apiServerCpuSeconds,
    cpu: window.cpu,
    backgroundCpu: background.cpu,
  };
}
