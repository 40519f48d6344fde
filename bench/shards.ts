/**
 * Sharding (`--shards 2,4` with `--sizes N`): S controller processes on the same fresh clusters,
 * started with `--shard-count=S --shard-index=i` (no leader election, as the single controller
 * runs), each owning the Releases whose namespace/name hashes to its index. Measured: convergence
 * of N Releases (every shard's Releases Ready) and, per shard, baseline RSS, peak RSS, RSS and V8
 * heap used after a settle, CPU seconds and reconciles while converging, and how many Releases it
 * handles (release_controller_releases). With `--shard-selector` each shard also watches only its
 * Releases (`--release-selector` on a label the bench puts on each Release by the same hash).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { RELEASE_CONTROLLER } from '../src/controller/release/setup.ts';
import { shardOf } from '../src/controller/release/shard.ts';
import type { Release } from '../src/api/v1alpha1/schema.ts';
import { measureCreation, type ConvergenceResult } from './convergence.ts';
import { SHARD_LABEL, type BenchEnv } from './env.ts';
import { benchRelease } from './workload.ts';
import { MIB, processMemory } from './memory.ts';
import { BASELINE_SETTLE_MS, metricSum, round, SETTLE_MS } from './util.ts';

/** ShardFigures are one shard's figures. */
export interface ShardFigures {
  index: number;
  baselineRssMiB: number;
  peakRssMiB: number;
  rssAfterSettleMiB: number;
  heapUsedAfterSettleMiB: number;
  /** cpuSeconds is its CPU time while converging. */
  cpuSeconds: number;
  /** reconciles is its Release reconciles while converging. */
  reconciles: number;
  /** releases is how many Releases it handles after convergence. */
  releases: number;
  /**
   * cachedObjects is what its data-plane watches hold after the settle
   * (release_controller_dataplane_cached_objects): with --shard-selector, only its own Releases' objects.
   */
  cachedObjects?: number;
}

/** ShardRunResult is a convergence of N Releases with S shards. */
export interface ShardRunResult {
  shards: number;
  releases: number;
  convergence: ConvergenceResult;
  perShard: ShardFigures[];
  /** sumPeakRssMiB adds the shards' peaks: what S pods would need together. */
  sumPeakRssMiB: number;
  controllerLogs: string[];
}

/** runShards starts `shards` controllers on a fresh environment and measures the convergence of `n` Releases. */
export async function runShards(
  env: BenchEnv,
  shards: number,
  n: number,
  log: (line: string) => void,
  selector = false,
): Promise<ShardRunResult> {
  const procs = await env.startShards(shards, selector);
  await sleep(BASELINE_SETTLE_MS);
  const baselines = procs.map((p) => processMemory(p.pid).rss);
  const before = await Promise.all(procs.map((p) => p.metrics()));

  log(`${shards} shard${shards === 1 ? '' : 's'}, ${n} Releases: convergence`);
  const release = (k: number) => {
    const r = benchRelease(env.org, k);
    return selector ? shardLabelled(r, shards) : r;
  };
  const convergence = await measureCreation(env, { count: n, release }, log);
  log(`  converged in ${convergence.seconds} s: ${convergence.objectsPerSecond} objects/s`);
  const after = await Promise.all(procs.map((p) => p.metrics()));
  await sleep(SETTLE_MS);
  const settled = await Promise.all(procs.map((p) => p.metrics()));
  const mib = (b: number) => round(b / MIB, 1);
  const perShard = procs.map((p, i): ShardFigures => {
    const diff = (name: string, labels: Record<string, string> = {}) =>
      metricSum(after[i] ?? '', name, labels) - metricSum(before[i] ?? '', name, labels);
    const mem = processMemory(p.pid);
    return {
      index: i,
      baselineRssMiB: mib(baselines[i] ?? 0),
      peakRssMiB: mib(mem.peak),
      rssAfterSettleMiB: mib(mem.rss),
      heapUsedAfterSettleMiB: mib(metricSum(settled[i] ?? '', 'nodejs_heap_size_used_bytes')),
      cpuSeconds: round(diff('process_cpu_seconds_total'), 2),
      reconciles: diff('controller_runtime_reconcile_total', { controller: RELEASE_CONTROLLER }),
      releases: metricSum(settled[i] ?? '', 'release_controller_releases'),
      cachedObjects: metricSum(settled[i] ?? '', 'release_controller_dataplane_cached_objects'),
    };
  });
  await env.stopController();
  return {
    shards,
    releases: n,
    convergence,
    perShard,
    sumPeakRssMiB: round(
      perShard.reduce((s, x) => s + x.peakRssMiB, 0),
      1,
    ),
    controllerLogs: procs.map((p) => p.logPath),
  };
}

/** shardLabelled puts SHARD_LABEL on a Release: the index of the shard its namespace/name hashes to. */
export function shardLabelled(release: Release, shards: number): Release {
  const { namespace = '', name = '' } = release.metadata;
  const labels = { ...release.metadata.labels, [SHARD_LABEL]: String(shardOf(namespace, name, shards)) };
  return { ...release, metadata: { ...release.metadata, labels } };
}
