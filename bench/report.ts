/**
 * The benchmark's results: their JSON shape, the targets they are judged against, the table
 * printed at the end, and the files written under bench/results/.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { ConvergenceResult } from './convergence.ts';
import { costTables } from './curves.ts';
import type { DataPlaneRunResult } from './dataplanes.ts';
import type { LatencyResult } from './latency.ts';
import type { Machine } from './machine.ts';
import { MIB, type MemoryBreakdown } from './memory.ts';
import { restartLine, type RestartResult } from './restart.ts';
import { cpuTable, dataPlaneTable, restartTable, shardTable } from './scale-report.ts';
import type { ShardRunResult } from './shards.ts';
import type { SteadyResult } from './steady.ts';
import { fmt, round, table } from './util.ts';

/** RESULTS_DIR is where result files go. */
export const RESULTS_DIR = resolve(import.meta.dirname, 'results');

/** MemoryResult is the controller's memory at one Release count, in MiB (growth in KiB per Release). */
export interface MemoryResult {
  /** baselineRssMiB is the RSS of the ready controller before any Release exists. */
  baselineRssMiB: number;
  /** peakRssMiB is the kernel's high-water mark (VmHWM) at the end of the run, before shutdown. */
  peakRssMiB: number;
  rssAfterConvergenceMiB: number;
  rssAfterSteadyMiB: number;
  baselineHeapUsedMiB: number;
  heapUsedAfterSteadyMiB: number;
  /** heapGrowthPerReleaseKiB is (V8 heap used after the steady window - baseline) / Releases. */
  heapGrowthPerReleaseKiB: number;
  /** growthPerReleaseKiB is (RSS after the steady window - baseline) / Releases. */
  growthPerReleaseKiB: number;
  /** peakGrowthPerReleaseKiB is (peak - baseline) / Releases. */
  peakGrowthPerReleaseKiB: number;
  /** afterConvergence splits the RSS right after convergence (close to the peak) the same way. */
  afterConvergence: MemoryBreakdown;
  /** afterSteady splits the RSS after the steady window into V8 heap spaces and the rest. */
  afterSteady: MemoryBreakdown;
}

/** RunResult is everything measured at one Release count. */
export interface RunResult {
  releases: number;
  convergence: ConvergenceResult;
  steady: SteadyResult;
  latency: LatencyResult;
  memory: MemoryResult;
  /** restart is the restart phase after the latency trials (absent with --no-restart). */
  restart?: RestartResult;
  /** controllerLog is the path of the controller's log (kept until the temp folder is cleaned). */
  controllerLog: string;
}

/** BenchOptions are the options of one benchmark run. */
export interface BenchOptions {
  sizes: number[];
  steadySeconds: number;
  backgroundSeconds: number;
  trials: number;
  concurrency: number;
  profile: boolean;
  /** runtime is how the controller ran: `node` on the production build, or `tsx` on the sources. */
  runtime: 'node' | 'tsx';
  /** nodeArgs are extra node flags given to the controller. */
  nodeArgs: string[];
  /** tunnel: the data plane was isolated and reached through apiserver-network-proxy. */
  tunnel?: boolean;
  /** gateway: the data plane was reached only through a local cluster gateway, its caches polling. */
  gateway?: boolean;
  /** restart measures a controller restart after the latency trials of each Release count. */
  restart?: boolean;
  /** dataPlanes are the DataPlane counts of the many-DataPlanes runs; empty for none. */
  dataPlanes?: number[];
  /** releasesPerDataPlane is how many Releases each DataPlane gets in those runs. */
  releasesPerDataPlane?: number;
  /** organizations puts each DataPlane of those runs in an organization namespace of its own. */
  organizations?: boolean;
  /** economyTrials is how many times --economy runs at each size (default 1). */
  economyTrials?: number;
  /** floorInFlight is how many Releases the --economy floor runs at once (default half of concurrency). */
  floorInFlight?: number;
  /** shards are the shard counts of the sharded runs (each at every size); empty for none. */
  shards?: number[];
  /** shardSelector gives each shard a --release-selector on a shard label the bench puts on Releases. */
  shardSelector?: boolean;
  /** releaseRuns tells whether the Release-count runs (convergence, steady, latency, restart) ran. */
  releaseRuns?: boolean;
  /** variants are the --idle run's variants (`--variant`), node flags and NAME=VALUE environment. */
  variants?: string[];
}

/** TargetResult is one target with the measured figure and how far it is. */
export interface TargetResult {
  name: string;
  target: string;
  measured: string;
  met: boolean;
  /** margin says how far the figure is from the target (a factor or a difference). */
  margin: string;
}

/** BenchResult is the content of a results file. */
export interface BenchResult {
  version: 1;
  startedAt: string;
  finishedAt: string;
  durationSeconds: number;
  command: string;
  argv: string[];
  /** source is the commit the controller was built from (absent in older files); srcChanged: src/ had local changes. */
  source?: { commit: string; srcChanged: boolean };
  options: BenchOptions;
  /** imageNodeFlags are the node flags of the Dockerfile's ENTRYPOINT, given to the production build first. */
  imageNodeFlags?: string[];
  machine: Machine;
  load: { start: number[]; end: number[] };
  runs: RunResult[];
  /** dataPlaneRuns are the many-DataPlanes runs (--dataplanes). */
  dataPlaneRuns?: DataPlaneRunResult[];
  /** shardRuns are the sharded runs (--shards). */
  shardRuns?: ShardRunResult[];
  /** curvesSvg is the path of the cost-curve charts written for this run. */
  curvesSvg?: string;
  targets: TargetResult[];
}

/** Targets are the figures the project aims for (issue 7). */
export const Targets = {
  objectsPerSecond: 50,
  steadyWritesPerReleasePerMinute: 0,
  /**
   * steadyReadsPerReleasePerMinute is our reading of "close to none": at most one read per Release
   * every 20 minutes, a quarter of what even one read per Release per resync (5-6 min) would cost.
   */
  steadyReadsPerReleasePerMinute: 0.05,
  statusP95Ms: 1000,
  peakRssMiB: 150,
  peakRssAtReleases: 1000,
} as const;

/** evaluateTargets judges the runs against Targets. */
export function evaluateTargets(runs: RunResult[]): TargetResult[] {
  if (runs.length === 0) return [];
  const out: TargetResult[] = [];
  const worst = (pick: (r: RunResult) => number, cmp: (a: number, b: number) => boolean) =>
    runs.reduce((w, r) => (cmp(pick(r), pick(w)) ? r : w));

  const slow = worst(
    (r) => r.convergence.objectsPerSecond,
    (a, b) => a < b,
  );
  const ops = slow.convergence.objectsPerSecond;
  out.push({
    name: 'apply throughput',
    target: `>= ${Targets.objectsPerSecond} objects/s on 2 cores`,
    measured: `${fmt(ops)} objects/s (lowest, at ${slow.releases} Releases)`,
    met: ops >= Targets.objectsPerSecond,
    margin: `${fmt(ops / Targets.objectsPerSecond, 2)}x the target`,
  });

  // Each figure is the larger of the API servers' attributed count and the controller's own count.
  const side = (c: RunResult['steady']['controlPlane'], read: boolean) =>
    read
      ? Math.max(c.readsPerReleasePerMinute, c.countedReadsPerReleasePerMinute)
      : Math.max(c.writesPerReleasePerMinute, c.countedWritesPerReleasePerMinute);
  const writes = (r: RunResult) => side(r.steady.controlPlane, false) + side(r.steady.dataPlane, false);
  const w = worst(writes, (a, b) => a > b);
  out.push({
    name: 'steady-state writes',
    target: 'no write request per Release per minute',
    measured: `${fmt(writes(w), 4)} writes/Release/min (both clusters, highest at ${w.releases} Releases)`,
    met: writes(w) <= Targets.steadyWritesPerReleasePerMinute,
    margin:
      writes(w) === 0
        ? 'none sent'
        : `${fmt(writes(w) * w.releases * (w.steady.windowSeconds / 60), 0)} writes in the window`,
  });

  const reads = (r: RunResult) => side(r.steady.controlPlane, true) + side(r.steady.dataPlane, true);
  const rd = worst(reads, (a, b) => a > b);
  out.push({
    name: 'steady-state reads',
    target: `close to none (<= ${Targets.steadyReadsPerReleasePerMinute} reads/Release/min, both clusters)`,
    measured: `${fmt(reads(rd), 4)} reads/Release/min (at ${rd.releases} Releases)`,
    met: reads(rd) <= Targets.steadyReadsPerReleasePerMinute,
    margin:
      reads(rd) === 0
        ? 'none sent'
        : reads(rd) <= Targets.steadyReadsPerReleasePerMinute
          ? `${fmt(Targets.steadyReadsPerReleasePerMinute / reads(rd), 0)}x below the bound`
          : `${fmt(reads(rd) / Targets.steadyReadsPerReleasePerMinute, 1)}x the bound`,
  });

  const p95 = (r: RunResult) => (r.latency.status.timeouts > 0 ? Infinity : r.latency.status.p95Ms);
  const lat = worst(p95, (a, b) => a > b);
  out.push({
    name: 'status latency p95',
    target: `< ${Targets.statusP95Ms} ms`,
    measured:
      lat.latency.status.timeouts > 0
        ? `${lat.latency.status.timeouts} of ${lat.latency.status.trials} trials timed out (at ${lat.releases} Releases)`
        : `${fmt(lat.latency.status.p95Ms)} ms (highest, at ${lat.releases} Releases)`,
    met: p95(lat) < Targets.statusP95Ms,
    margin: `${fmt(Targets.statusP95Ms / p95(lat), 1)}x below the bound`,
  });

  const at = runs.find((r) => r.releases === Targets.peakRssAtReleases);
  const largest = runs.reduce((a, b) => (b.releases > a.releases ? b : a));
  // Without a run at the target count, extrapolate from the largest run by the growth per Release.
  const perRelease = Math.max(0, peakSlopeKiB(runs) ?? largest.memory.heapGrowthPerReleaseKiB);
  const peak =
    at?.memory.peakRssMiB ??
    largest.memory.peakRssMiB + ((Targets.peakRssAtReleases - largest.releases) * perRelease) / 1024;
  out.push({
    name: 'peak RSS',
    target: `< ${Targets.peakRssMiB} MiB at ${Targets.peakRssAtReleases} Releases`,
    measured: at
      ? `${fmt(peak)} MiB`
      : `${fmt(peak)} MiB extrapolated from ${largest.releases} Releases (${fmt(largest.memory.peakRssMiB)} MiB there, ${fmt(perRelease)} KiB/Release)`,
    met: peak < Targets.peakRssMiB,
    margin: `${fmt(Math.abs(Targets.peakRssMiB - peak))} MiB ${peak < Targets.peakRssMiB ? 'to spare' : 'over'}`,
  });
  return out;
}

/**
 * peakSlopeKiB is the growth of peak RSS per Release between the smallest and the largest run, in
 * KiB: unlike (peak - baseline) / N it does not charge start-up memory to the Releases.
 */
export function peakSlopeKiB(runs: RunResult[]): number | undefined {
  if (runs.length < 2) return undefined;
  const sorted = [...runs].sort((a, b) => a.releases - b.releases);
  const lo = sorted[0];
  const hi = sorted[sorted.length - 1];
  if (!lo || !hi || hi.releases === lo.releases) return undefined;
  return round(((hi.memory.peakRssMiB - lo.memory.peakRssMiB) * 1024) / (hi.releases - lo.releases), 1);
}

/** controllerCommand says how the controller ran: the production build with its node flags, or tsx. */
function controllerCommand(result: BenchResult): string {
  if (result.options.runtime === 'tsx') return 'sources through tsx';
  const flags = [...(result.imageNodeFlags ?? []), ...result.options.nodeArgs];
  return `production build (node ${flags.length ? `${flags.join(' ')} ` : ''}on tsc output; image flags: ${
    result.imageNodeFlags?.length ? result.imageNodeFlags.join(' ') : 'none'
  })`;
}

/** formatReport renders the results as Markdown tables. */
export function formatReport(result: BenchResult): string {
  const m = result.machine;
  const runs = result.runs;
  const lines: string[] = [
    `Machine: ${m.cpuModel}, ${m.cores} cores, ${fmt(m.memoryBytes / 1024 / MIB)} GiB, Node ${m.node}`,
    `Command: ${result.command}`,
    `Source: ${result.source ? `${result.source.commit.slice(0, 12)}${result.source.srcChanged ? ' with local changes in src/' : ''}` : 'not recorded'}`,
    `Controller: ${controllerCommand(result)}, --concurrency ${result.options.concurrency}`,
    ...(result.options.tunnel
      ? [
          'Data plane: isolated, reached through apiserver-network-proxy (proxy server and agent CPU counted with the clusters; the requests and watches of the bench itself on the data plane use the tunnel too)',
        ]
      : []),
    ...(result.options.gateway
      ? [
          'Data plane: reached only through a local cluster gateway (test/support/gateway.ts; mutual TLS, 501 to watches), the caches polling at the default --cluster-gateway-poll-interval; status latency is poll-bound',
        ]
      : []),
    `Load average at start ${result.load.start.join(' ')}, at end ${result.load.end.join(' ')}`,
  ];
  if (runs.length > 0) lines.push(...runSections(result));
  lines.push(...scaleSections(result));
  if (result.curvesSvg) lines.push('', `Cost curves: ${result.curvesSvg}`);
  return lines.join('\n');
}

/** runSections renders the tables of the Release-count runs. */
function runSections(result: BenchResult): string[] {
  const runs = result.runs;
  return [
    '',
    'Convergence and memory',
    '',
    table(
      [
        'Releases',
        'objects',
        'converged s',
        'objects/s',
        'reconciles',
        'mean reconcile ms',
        'ctrl CPU s',
        'other CPU cores',
        'baseline RSS MiB',
        'peak RSS MiB',
        'RSS after steady MiB',
        'heap used after steady MiB',
      ],
      runs.map((r) => [
        String(r.releases),
        String(r.convergence.objects),
        fmt(r.convergence.seconds),
        fmt(r.convergence.objectsPerSecond),
        String(r.convergence.reconciles),
        fmt(r.convergence.meanReconcileMs),
        fmt(r.convergence.controllerCpuSeconds),
        fmt(r.convergence.cpu.otherCores, 2),
        fmt(r.memory.baselineRssMiB),
        fmt(r.memory.peakRssMiB),
        fmt(r.memory.rssAfterSteadyMiB),
        fmt(r.memory.heapUsedAfterSteadyMiB),
      ]),
    ),
    ...(peakSlopeKiB(runs) === undefined
      ? []
      : [
          '',
          `Peak RSS grows by ${fmt(peakSlopeKiB(runs) ?? NaN)} KiB per Release between the smallest and largest run.`,
        ]),
    '',
    `Steady state (requests per Release per minute: API servers' counts for the resources the controller uses, minus background)`,
    '',
    table(
      [
        'Releases',
        'window s',
        'CP reads',
        'CP writes',
        'DP reads',
        'DP writes',
        'counted by controller (CP / DP)',
        'reconciles',
        'mean reconcile ms',
        'ctrl CPU s',
        'ctrl CPU %',
      ],
      runs.map((r) => {
        const s = r.steady;
        const counted = (c: Record<string, number>) =>
          Object.entries(c)
            .map(([v, n]) => `${v} ${n}`)
            .join(', ') || 'none';
        return [
          String(r.releases),
          fmt(s.windowSeconds, 0),
          fmt(s.controlPlane.readsPerReleasePerMinute, 4),
          fmt(s.controlPlane.writesPerReleasePerMinute, 4),
          fmt(s.dataPlane.readsPerReleasePerMinute, 4),
          fmt(s.dataPlane.writesPerReleasePerMinute, 4),
          `${counted(s.controlPlane.countedByController)} / ${counted(s.dataPlane.countedByController)}`,
          String(s.reconciles),
          fmt(s.meanReconcileMs, 2),
          fmt(s.controllerCpuSeconds, 2),
          fmt(s.controllerCpuPercent, 2),
        ];
      }),
    ),
    '',
    'Latency (ms, median / p95; timeouts)',
    '',
    table(
      ['Releases', 'trials', 'DP status -> Release status', 'DP delete -> recreated', 'DP edit -> reverted'],
      runs.map((r) => {
        const l = r.latency;
        const cell = (s: LatencyResult['status']) =>
          `${fmt(s.medianMs)} / ${fmt(s.p95Ms)}${s.timeouts ? ` (${s.timeouts} timeouts)` : ''}`;
        return [
          String(r.releases),
          String(l.status.trials),
          cell(l.status),
          cell(l.recreate),
          cell(l.revert),
        ];
      }),
    ),
    '',
    'Targets',
    '',
    table(
      ['target', 'goal', 'measured', 'met', 'margin'],
      result.targets.map((t) => [t.name, t.target, t.measured, t.met ? 'yes' : 'NO', t.margin]),
    ),
  ];
}

/** scaleSections renders the convergence CPU split, restarts, cost curves, DataPlanes and shards. */
function scaleSections(result: BenchResult): string[] {
  const out: string[] = [];
  const section = (title: string, body: string) => out.push('', title, '', body);
  const cpuRows: Array<[string, ConvergenceResult]> = [
    ...result.runs.map((r): [string, ConvergenceResult] => [`${r.releases} Releases`, r.convergence]),
    ...(result.dataPlaneRuns ?? []).flatMap((d): Array<[string, ConvergenceResult]> => [
      [`${d.dataPlanes} DataPlanes, connect`, d.connect],
      ...(d.fill ? [[`${d.dataPlanes} DataPlanes, fill`, d.fill] as [string, ConvergenceResult]] : []),
    ]),
    ...(result.shardRuns ?? []).map((s): [string, ConvergenceResult] => [
      `${s.shards} shard${s.shards === 1 ? '' : 's'}, ${s.releases} Releases`,
      s.convergence,
    ]),
  ].filter(([, c]) => c.cpuByRole !== undefined);
  if (cpuRows.length > 0) {
    section(
      'CPU while converging (seconds of each process group over the phase, from /proc)',
      cpuTable(cpuRows),
    );
  }
  const restarts = result.runs.flatMap((r) => (r.restart ? [r.restart] : []));
  if (restarts.length > 0) {
    section(
      'Restart (a new controller after convergence: until every Release was reconciled once and the queue was empty)',
      [restartTable(restarts), '', ...restarts.map(restartLine)].join('\n'),
    );
  }
  if (result.dataPlaneRuns?.length) {
    section(
      `DataPlanes (each with its own client certificate, Secret and Environment, ${result.dataPlaneRuns[0]?.organizations ? 'each in an organization of its own, ' : ''}${result.dataPlaneRuns[0]?.releasesPerDataPlane ?? 0} Releases each; connect: one Release per DataPlane, fill: the rest)`,
      dataPlaneTable(result.dataPlaneRuns),
    );
  }
  if (result.shardRuns?.length) {
    section(
      'Shards (one process per shard, --shard-count/--shard-index, on the same kind of fresh clusters)',
      shardTable(result.shardRuns),
    );
  }
  const costs = costTables(result.runs, result.dataPlaneRuns ?? []);
  if (costs) out.push('', costs.trimEnd());
  return out;
}

/** stamp renders a start time as a file name part (`2026-12-04T04-13-08-335Z`). */
export function stamp(at: Date | string): string {
  return (typeof at === 'string' ? at : at.toISOString()).replace(/[:.]/g, '-');
}

/** writeResults writes `<timestamp>.json` and `latest.json` under bench/results/ and returns the first path. */
export async function writeResults(result: BenchResult): Promise<string> {
  await mkdir(RESULTS_DIR, { recursive: true });
  const text = JSON.stringify(result, null, 2) + '\n';
  const path = join(RESULTS_DIR, `${stamp(result.startedAt)}.json`);
  await writeFile(path, text);
  await writeFile(join(RESULTS_DIR, 'latest.json'), text);
  return path;
}
