/**
 * Steady state: how many API requests the controller sends to each cluster, and how much CPU it
 * uses, while nothing changes. The API servers' own `apiserver_request_total` is read before and
 * after a window in which the controller is the only client (the bench sends nothing but /metrics
 * scrapes, which that counter does not count), and again over a window of the same length with the
 * controller stopped; the second is the API servers' own background traffic (Lease renewals of
 * their identity, OpenAPI aggregation, their informers' watches) and is subtracted per verb and
 * resource, and only resources the controller requests at all are attributed to it. The controller's own request counter
 * (`release_controller_api_requests_total`) is reported beside it as a cross-check.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { BenchEnv } from './env.ts';
import { CpuMeter, processCpuSeconds, type CpuWindow } from './machine.ts';
import { metricSum, parseMetrics, round } from './util.ts';
import { DATA_PLANE_RESOURCES } from './workload.ts';

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

/** subtract returns after - before per key, without the keys that did not change. */
export function subtract(after: RequestCounts, before: RequestCounts): RequestCounts {
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
  /** controller is measured minus background (at least 0), summed over the resources the controller requests. */
  controller: number;
  /** perReleasePerMinute is controller / Releases / minutes. */
  perReleasePerMinute: number;
}

/** ClusterSteady is the steady-state traffic to one cluster. */
export interface ClusterSteady {
  verbs: VerbRow[];
  readsPerReleasePerMinute: number;
  writesPerReleasePerMinute: number;
  /**
   * byResource lists every `VERB resource` counted in either window (raw, not scaled), and whether
   * the controller requests that resource at all (only those count towards `controller`).
   */
  byResource: Record<string, { measured: number; background: number; attributable: boolean }>;
  /** countedByController is the controller's own count by HTTP verb (WATCH: streams that ended). */
  countedByController: Record<string, number>;
  /** countedReadsPerReleasePerMinute is the controller's own count of GETs and WATCHes, per Release per minute. */
  countedReadsPerReleasePerMinute: number;
  /** countedWritesPerReleasePerMinute is the controller's own count of other requests, per Release per minute. */
  countedWritesPerReleasePerMinute: number;
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

/**
 * CONTROLLER_RESOURCES are the resources (`plural.group`, as apiServerRequests names them) the
 * controller requests on each cluster in the bench's configuration: the Release kinds, the
 * DataPlane's kubeconfig Secret and Events on the control plane (no Leases: the bench runs it
 * without --leader-elect), and namespaces plus the applied kinds on the data plane. Requests for
 * any other resource are the API servers' own (their identity Leases, OpenAPI aggregation, the
 * watches of their internal informers), whatever the background window says. Discovery requests
 * are not in apiserver_request_total at all; the controller's own counter shows them.
 */
export const CONTROLLER_RESOURCES: Readonly<Record<'cp' | 'dp', ReadonlySet<string>>> = {
  cp: new Set([
    'releases.openchoreo.dev',
    'environments.openchoreo.dev',
    'dataplanes.openchoreo.dev',
    'secrets',
    'events.events.k8s.io',
    'events',
  ]),
  dp: new Set(['namespaces', ...DATA_PLANE_RESOURCES]),
};

/** attributable tells whether a `VERB resource[/subresource]` key names a resource the controller requests. */
export function attributable(key: string, resources: ReadonlySet<string>): boolean {
  const what = key.slice(key.indexOf(' ') + 1);
  return resources.has(what.split('/')[0] ?? '');
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
  // Subtract the background per verb and resource, and only where the controller could be the client.
  const rows = new Map<string, { measured: number; background: number; controller: number }>();
  for (const key of new Set([...measured.keys(), ...bg.keys()])) {
    const verb = key.slice(0, key.indexOf(' '));
    const m = measured.get(key) ?? 0;
    const b = (bg.get(key) ?? 0) * scale;
    const row = rows.get(verb) ?? { measured: 0, background: 0, controller: 0 };
    row.measured += m;
    row.background += b;
    if (attributable(key, CONTROLLER_RESOURCES[side])) row.controller += Math.max(0, m - b);
    rows.set(verb, row);
  }
  const verbs = [...rows.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([verb, r]): VerbRow => ({
      verb,
      measured: r.measured,
      background: round(r.background, 1),
      controller: round(r.controller, 1),
      perReleasePerMinute: round(r.controller / n / minutes, 4),
    }));
  const sum = (read: boolean) =>
    round(
      verbs.filter((v) => READ_VERBS.has(v.verb) === read).reduce((s, v) => s + v.controller, 0) /
        n /
        minutes,
      4,
    );
  const byResource: Record<string, { measured: number; background: number; attributable: boolean }> = {};
  for (const k of [...new Set([...measured.keys(), ...bg.keys()])].sort()) {
    byResource[k] = {
      measured: measured.get(k) ?? 0,
      background: bg.get(k) ?? 0,
      attributable: attributable(k, CONTROLLER_RESOURCES[side]),
    };
  }
  const prefix = side === 'cp' ? 'control-plane ' : 'data-plane ';
  const countedByController: Record<string, number> = {};
  for (const [k, v] of counted) if (k.startsWith(prefix)) countedByController[k.slice(prefix.length)] = v;
  const countedSum = (read: boolean) =>
    round(
      Object.entries(countedByController)
        .filter(([verb]) => READ_VERBS.has(verb) === read)
        .reduce((s, [, v]) => s + v, 0) /
        n /
        minutes,
      4,
    );
  return {
    verbs,
    readsPerReleasePerMinute: sum(true),
    writesPerReleasePerMinute: sum(false),
    byResource,
    countedByController,
    countedReadsPerReleasePerMinute: countedSum(true),
    countedWritesPerReleasePerMinute: countedSum(false),
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
