/**
 * `npm run bench -- --idle`: the resident memory of a ready controller with no Release, for the
 * image's node flags and for each `--variant` (more node flags and environment variables), started
 * in turn on the same clusters, trial after trial, so that the machine's load treats every
 * variant alike. RSS is split into file-backed pages (the node binary's code and data, shared
 * libraries: clean pages the kernel can drop) and anonymous memory (V8's heap, malloc), because
 * flags and code changes move only the second.
 */
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BenchEnv } from './env.ts';
import { MIB } from './memory.ts';
import { fmt, metricSum, round, table } from './util.ts';

/** IDLE_SETTLE_MS is how long after /readyz the idle RSS is read (the start-up's garbage collected). */
export const IDLE_SETTLE_MS = 5_000;

/** IdleVariant is one way to run the controller: node flags and environment after the image's. */
export interface IdleVariant {
  /** name is the variant as given (`--variant`), or "image" for the image's flags alone. */
  name: string;
  nodeArgs: string[];
  env: Record<string, string>;
}

/** IdleTrial is the memory of one idle controller, in MiB. */
export interface IdleTrial {
  rssMiB: number;
  /** fileMiB are file-backed resident pages (the node binary, shared libraries). */
  fileMiB: number;
  /** anonMiB is anonymous resident memory (V8's heap, malloc arenas, thread stacks). */
  anonMiB: number;
  heapTotalMiB: number;
  heapUsedMiB: number;
}

/** IdleResult is every trial of one variant and their median RSS. */
export interface IdleResult {
  variant: IdleVariant;
  trials: IdleTrial[];
  medianRssMiB: number;
}

/**
 * parseVariant reads one `--variant` value: space-separated words, those starting with "-" node
 * flags, those of the form NAME=VALUE environment variables (MALLOC_ARENA_MAX=2).
 */
export function parseVariant(text: string): IdleVariant {
  const nodeArgs: string[] = [];
  const env: Record<string, string> = {};
  for (const word of text.split(' ').filter((w) => w !== '')) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(word);
    if (word.startsWith('-')) nodeArgs.push(word);
    else if (m) env[m[1] ?? ''] = m[2] ?? '';
    else throw new Error(`--variant "${text}": "${word}" is neither a node flag (-...) nor NAME=VALUE`);
  }
  return { name: text, nodeArgs, env };
}

/** residentSplit reads a process's resident memory and its anonymous part from /proc/<pid>/smaps_rollup. */
export function residentSplit(pid: number): { rss: number; anon: number } {
  const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const kib = (field: string): number => {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(rollup);
    if (!m) throw new Error(`/proc/${pid}/smaps_rollup has no ${field}`);
    return Number(m[1]) * 1024;
  };
  return { rss: kib('Rss'), anon: kib('Anonymous') };
}

/** runIdle starts and stops the controller `trials` times for each variant, in turn. */
export async function runIdle(
  env: BenchEnv,
  variants: IdleVariant[],
  trials: number,
  log: (line: string) => void,
): Promise<IdleResult[]> {
  const results: IdleResult[] = variants.map((variant) => ({ variant, trials: [], medianRssMiB: 0 }));
  const mib = (b: number) => round(b / MIB, 1);
  for (let t = 0; t < trials; t++) {
    for (const result of results) {
      const controller = await env.startController([], result.variant.nodeArgs, result.variant.env);
      await sleep(IDLE_SETTLE_MS);
      const { rss, anon } = residentSplit(controller.pid);
      const metrics = await controller.metrics();
      const trial: IdleTrial = {
        rssMiB: mib(rss),
        fileMiB: mib(rss - anon),
        anonMiB: mib(anon),
        heapTotalMiB: mib(metricSum(metrics, 'nodejs_heap_size_total_bytes')),
        heapUsedMiB: mib(metricSum(metrics, 'nodejs_heap_size_used_bytes')),
      };
      await env.stopController();
      result.trials.push(trial);
      log(`idle, ${result.variant.name}, trial ${t + 1}: ${trial.rssMiB} MiB RSS`);
    }
  }
  for (const result of results) {
    const sorted = result.trials.map((t) => t.rssMiB).sort((a, b) => a - b);
    result.medianRssMiB = sorted[Math.floor(sorted.length / 2)] ?? 0;
  }
  return results;
}

/** formatIdle renders the idle results as a Markdown table, one row per variant (medians). */
export function formatIdle(results: IdleResult[]): string {
  const median = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;
  return table(
    [
      'variant (after the image flags)',
      'RSS median',
      'RSS range',
      'file-backed',
      'anonymous',
      'V8 heap total / used',
    ],
    results.map((r) => {
      const rss = r.trials.map((t) => t.rssMiB);
      return [
        r.variant.name,
        `${fmt(r.medianRssMiB)} MiB`,
        `${fmt(Math.min(...rss))}-${fmt(Math.max(...rss))}`,
        fmt(median(r.trials.map((t) => t.fileMiB))),
        fmt(median(r.trials.map((t) => t.anonMiB))),
        `${fmt(median(r.trials.map((t) => t.heapTotalMiB)))} / ${fmt(median(r.trials.map((t) => t.heapUsedMiB)))}`,
      ];
    }),
  );
}
