/**
 * The Markdown sections of the scale phases: where the CPU went while converging, the restart,
 * many DataPlanes and shards. bench/report.ts puts them after its own tables.
 */
import { watchedCpu, type ConvergenceResult } from './convergence.ts';
import type { DataPlaneRunResult } from './dataplanes.ts';
import type { RestartResult } from './restart.ts';
import type { ShardRunResult } from './shards.ts';
import { fmt, table } from './util.ts';

/** CPU_ROLES are the process groups shown, in this order; others (tunnel) are summed into "other". */
const CPU_ROLES = ['controller', 'cp kube-apiserver', 'cp etcd', 'dp kube-apiserver', 'dp etcd'] as const;

/** cpuTable renders the CPU seconds by process group of labelled convergence phases. */
export function cpuTable(rows: Array<[string, ConvergenceResult]>): string {
  return table(
    [
      'run',
      'converged s',
      ...CPU_ROLES.map((r) => `${r} CPU s`),
      'other CPU s',
      'bench CPU s',
      'ctrl share of a core',
      'ctrl share of ctrl+API+etcd',
    ],
    rows.map(([label, c]) => {
      const known = CPU_ROLES.reduce((s, r) => s + (c.cpuByRole[r] ?? 0), 0);
      return [
        label,
        fmt(c.seconds),
        ...CPU_ROLES.map((r) => fmt(c.cpuByRole[r] ?? 0, 2)),
        fmt(watchedCpu(c.cpuByRole) - known, 2),
        fmt(c.cpuByRole['bench'] ?? 0, 2),
        `${fmt(c.controllerCoreShare * 100, 0)}%`,
        `${fmt(c.controllerShareOfWatched * 100, 0)}%`,
      ];
    }),
  );
}

/** restartTable renders the restart phases. */
export function restartTable(rows: RestartResult[]): string {
  return table(
    [
      'Releases',
      're-verified s',
      'ready s',
      'reconciles',
      'applied',
      'unchanged',
      'apply errors',
      'writes (status)',
      'DP writes',
      'reads',
      'CPU s',
      'peak RSS MiB',
    ],
    rows.map((r) => [
      String(r.releases),
      fmt(r.seconds),
      fmt(r.readySeconds),
      String(r.reconciles),
      String(r.applies['applied'] ?? 0),
      String(r.applies['unchanged'] ?? 0),
      String(r.applies['error'] ?? 0),
      `${r.writes} (${r.statusWrites})`,
      String(r.dataPlaneWrites),
      String(r.reads),
      fmt(r.cpuSeconds, 2),
      fmt(r.peakRssMiB),
    ]),
  );
}

/** dataPlaneTable renders the many-DataPlanes runs. */
export function dataPlaneTable(rows: DataPlaneRunResult[]): string {
  return table(
    [
      'DataPlanes',
      'Releases',
      'connect s',
      'fill s',
      'connections',
      'watches',
      'sockets',
      'TCP to DP',
      'baseline RSS / heap MiB',
      'after settle RSS / heap MiB',
      'peak RSS MiB',
      'per DataPlane object KiB',
    ],
    rows.map((d) => [
      String(d.dataPlanes),
      String(d.releases),
      fmt(d.connect.seconds),
      d.fill ? fmt(d.fill.seconds) : 'n/a',
      String(d.afterFill.connections),
      String(d.afterFill.watches),
      String(d.afterFill.sockets),
      String(d.afterFill.tcpToDataPlane),
      `${fmt(d.memory.baseline.rssMiB)} / ${fmt(d.memory.baseline.heapUsedMiB)}`,
      `${fmt(d.memory.afterSettle.rssMiB)} / ${fmt(d.memory.afterSettle.heapUsedMiB)}`,
      fmt(d.memory.peakRssMiB),
      `${fmt(d.perDataPlaneObject.rssKiB, 0)} / ${fmt(d.perDataPlaneObject.heapKiB, 0)}`,
    ]),
  );
}

/** peakShare is a shard's peak RSS as a share of the one-process run of the same size, when there is one. */
function peakShare(rows: ShardRunResult[], run: ShardRunResult, peakMiB: number): string {
  const one = rows.find((r) => r.shards === 1 && r.releases === run.releases)?.perShard[0];
  return one && one.peakRssMiB > 0 ? `${Math.round((100 * peakMiB) / one.peakRssMiB)}%` : '';
}

/** shardTable renders the shard runs, one row per shard. */
export function shardTable(rows: ShardRunResult[]): string {
  return table(
    [
      'shards',
      'Releases',
      'converged s',
      'objects/s',
      'shard',
      'handles',
      'reconciles',
      'CPU s',
      'baseline RSS MiB',
      'peak RSS MiB',
      'RSS after settle MiB',
      'heap used MiB',
      'cached DP objects',
      'peak % of 1',
    ],
    rows.flatMap((s) =>
      s.perShard.map((p) => [
        String(s.shards),
        String(s.releases),
        fmt(s.convergence.seconds),
        fmt(s.convergence.objectsPerSecond),
        String(p.index),
        String(p.releases),
        String(p.reconciles),
        fmt(p.cpuSeconds, 2),
        fmt(p.baselineRssMiB),
        fmt(p.peakRssMiB),
        fmt(p.rssAfterSettleMiB),
        fmt(p.heapUsedAfterSettleMiB),
        p.cachedObjects === undefined ? '' : String(p.cachedObjects),
        peakShare(rows, s, p.peakRssMiB),
      ]),
    ),
  );
}
