/**
 * Cost curves: what grows with the number of Releases and the number of DataPlanes, as Markdown
 * tables and as charts (bench/svg.ts) written to `bench/results/<start time>-curves.svg` and
 * `bench/results/curves-latest.svg`.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DataPlaneRunResult } from './dataplanes.ts';
import type { RunResult } from './report.ts';
import type { ShardRunResult } from './shards.ts';
import { chartsSvg, type ChartSpec } from './svg.ts';
import { fmt, round, table } from './util.ts';

/** ReleaseCost is the cost of one Release count. */
export interface ReleaseCost {
  releases: number;
  peakRssMiB: number;
  rssAfterSteadyMiB: number;
  /** heapPerReleaseKiB is (V8 heap used after the steady window - baseline) / Releases. */
  heapPerReleaseKiB: number;
  /** cpuMsPerReconcile and cpuMsPerObject are the controller's CPU while converging, per reconcile and per object. */
  cpuMsPerReconcile: number;
  cpuMsPerObject: number;
  /** controllerCoreShare and controllerShareOfWatched are from the convergence phase. */
  controllerCoreShare: number;
  controllerShareOfWatched: number;
}

/** releaseCosts derives the cost rows of the Release-count runs, smallest first. */
export function releaseCosts(runs: RunResult[]): ReleaseCost[] {
  return [...runs]
    .sort((a, b) => a.releases - b.releases)
    .map((r) => ({
      releases: r.releases,
      peakRssMiB: r.memory.peakRssMiB,
      rssAfterSteadyMiB: r.memory.rssAfterSteadyMiB,
      heapPerReleaseKiB: r.memory.heapGrowthPerReleaseKiB,
      cpuMsPerReconcile: round(
        (r.convergence.controllerCpuSeconds * 1000) / Math.max(1, r.convergence.reconciles),
        2,
      ),
      cpuMsPerObject: round(
        (r.convergence.controllerCpuSeconds * 1000) / Math.max(1, r.convergence.objects),
        2,
      ),
      controllerCoreShare: r.convergence.controllerCoreShare,
      controllerShareOfWatched: r.convergence.controllerShareOfWatched,
    }));
}

/** costTables renders the cost curves as Markdown (empty when there is nothing to show). */
export function costTables(runs: RunResult[], dataPlaneRuns: DataPlaneRunResult[]): string {
  const lines: string[] = [];
  const costs = releaseCosts(runs);
  if (costs.length > 0) {
    lines.push(
      'Cost per Release count (CPU figures while converging)',
      '',
      table(
        [
          'Releases',
          'peak RSS MiB',
          'RSS after steady MiB',
          'heap KiB/Release',
          'ctrl CPU ms/reconcile',
          'ctrl CPU ms/object',
          'ctrl share of a core',
          'ctrl share of ctrl+API+etcd CPU',
        ],
        costs.map((c) => [
          String(c.releases),
          fmt(c.peakRssMiB),
          fmt(c.rssAfterSteadyMiB),
          fmt(c.heapPerReleaseKiB),
          fmt(c.cpuMsPerReconcile, 2),
          fmt(c.cpuMsPerObject, 2),
          `${fmt(c.controllerCoreShare * 100, 0)}%`,
          `${fmt(c.controllerShareOfWatched * 100, 0)}%`,
        ]),
      ),
      '',
    );
  }
  if (dataPlaneRuns.length > 0) {
    lines.push(
      'Cost per DataPlane (KiB: RSS / V8 heap used; per DataPlane = growth over the baseline with all its Releases; per connection = growth of the connect phase per DataPlane minus one Release)',
      '',
      table(
        [
          'DataPlanes',
          'Releases',
          'RSS after settle MiB',
          'per DataPlane KiB',
          'per connection KiB',
          'per Release KiB',
          'sockets',
          'watches',
        ],
        [...dataPlaneRuns]
          .sort((a, b) => a.dataPlanes - b.dataPlanes)
          .map((d) => [
            String(d.dataPlanes),
            String(d.releases),
            fmt(d.memory.afterSettle.rssMiB),
            `${fmt(d.perDataPlane.rssKiB, 0)} / ${fmt(d.perDataPlane.heapKiB, 0)}`,
            `${fmt(d.perConnection.rssKiB, 0)} / ${fmt(d.perConnection.heapKiB, 0)}`,
            d.perRelease ? `${fmt(d.perRelease.rssKiB, 0)} / ${fmt(d.perRelease.heapKiB, 0)}` : 'n/a',
            String(d.afterFill.sockets),
            String(d.afterFill.watches),
          ]),
      ),
      '',
    );
  }
  return lines.join('\n');
}

/** curveCharts returns the charts of a run: memory against Releases, and against DataPlanes. */
export function curveCharts(
  runs: RunResult[],
  dataPlaneRuns: DataPlaneRunResult[],
  shardRuns: ShardRunResult[],
): ChartSpec[] {
  const charts: ChartSpec[] = [];
  const costs = releaseCosts(runs);
  if (costs.length > 0) {
    charts.push(
      {
        title: 'Controller RSS against Releases',
        xLabel: 'Releases (4 objects each)',
        yLabel: 'MiB',
        series: [
          { name: 'peak RSS', points: costs.map((c) => [c.releases, c.peakRssMiB]) },
          { name: 'RSS after steady window', points: costs.map((c) => [c.releases, c.rssAfterSteadyMiB]) },
        ],
      },
      {
        title: 'Per Release',
        xLabel: 'Releases',
        yLabel: 'KiB (heap) / ms (CPU)',
        series: [
          { name: 'V8 heap KiB per Release', points: costs.map((c) => [c.releases, c.heapPerReleaseKiB]) },
          {
            name: 'CPU ms per reconcile (converging)',
            points: costs.map((c) => [c.releases, c.cpuMsPerReconcile]),
          },
        ],
      },
    );
  }
  if (shardRuns.length > 0) {
    const sizes = [...new Set(shardRuns.map((s) => s.releases))].sort((a, b) => a - b);
    charts.push({
      title: 'Shards: largest shard peak RSS',
      xLabel: 'shards',
      yLabel: 'MiB',
      series: sizes.map((n) => ({
        name: `${n} Releases`,
        points: shardRuns
          .filter((s) => s.releases === n)
          .map((s): [number, number] => [s.shards, Math.max(...s.perShard.map((p) => p.peakRssMiB))]),
      })),
    });
  }
  if (dataPlaneRuns.length > 0) {
    const d = [...dataPlaneRuns].sort((a, b) => a.dataPlanes - b.dataPlanes);
    charts.push(
      {
        title: 'Controller memory against DataPlanes',
        xLabel: 'DataPlanes',
        yLabel: 'MiB',
        series: [
          { name: 'peak RSS', points: d.map((r) => [r.dataPlanes, r.memory.peakRssMiB]) },
          { name: 'RSS after settle', points: d.map((r) => [r.dataPlanes, r.memory.afterSettle.rssMiB]) },
          {
            name: 'V8 heap used after settle',
            points: d.map((r) => [r.dataPlanes, r.memory.afterSettle.heapUsedMiB]),
          },
        ],
      },
      {
        title: 'Connections against DataPlanes',
        xLabel: 'DataPlanes',
        yLabel: 'count',
        series: [
          { name: 'sockets (fds)', points: d.map((r) => [r.dataPlanes, r.afterFill.sockets]) },
          { name: 'TCP to the data plane', points: d.map((r) => [r.dataPlanes, r.afterFill.tcpToDataPlane]) },
          { name: 'watches', points: d.map((r) => [r.dataPlanes, r.afterFill.watches]) },
        ],
      },
    );
  }
  return charts;
}

/** writeCurves writes the charts as `<stamp>-curves.svg` and `curves-latest.svg` in `dir`; undefined when there are none. */
export async function writeCurves(
  dir: string,
  stamp: string,
  charts: ChartSpec[],
  caption: string,
): Promise<string | undefined> {
  if (charts.length === 0) return undefined;
  const svg = chartsSvg(charts, caption);
  const path = join(dir, `${stamp}-curves.svg`);
  await writeFile(path, svg);
  await writeFile(join(dir, 'curves-latest.svg'), svg);
  return path;
}
