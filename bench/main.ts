/**
 * `npm run bench`: starts fresh control-plane and data-plane clusters for each run, runs the
 * controller as its own process (or one per shard), and measures convergence (followed with one
 * Release watch), steady-state API traffic and CPU, latency of data-plane changes, a restart of the
 * controller, and memory; with --dataplanes, many DataPlanes on one data-plane cluster; with
 * --shards, several shard processes. Prints Markdown tables, writes JSON and an SVG of the cost
 * curves under bench/results/. The method is described in docs/performance.md.
 *
 *   npm run bench -- [--quick] [--sizes 100,300,1000] [--steady-seconds 300]
 *                    [--background-seconds S] [--trials 50] [--concurrency 8] [--no-restart]
 *                    [--tsx] [--node-args "FLAGS"] [--profile]
 *   npm run bench -- --dataplanes 10,30,100 [--releases-per-dataplane 10] [--sizes LIST]
 *   npm run bench -- --shards 1,2,4 --sizes 10000
 *   npm run bench -- --hostile [--tsx] [--concurrency 8] [--node-args "FLAGS"]
 *   npm run bench -- --health-rules
 *   npm run bench -- --idle [--trials 3] [--variant "FLAGS NAME=VALUE"]...
 *   npm run bench -- --ui [--sizes 1000] [--trials 20]
 */
import '../src/node-version.ts'; // first: on a too-old Node.js, one line saying what to do
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { measureConvergence } from './convergence.ts';
import { formatEconomy, runEconomy, type EconomyResult } from './economy.ts';
import { curveCharts, writeCurves } from './curves.ts';
import { runDataPlanes, type DataPlaneRunResult } from './dataplanes.ts';
import { runHealthRulesBench } from './healthrules.ts';
import { runHostileBench } from './hostile.ts';
import { formatIdle, parseVariant, runIdle } from './idle.ts';
import { runUiBench } from './ui.ts';
import { imageNodeFlags } from './controller.ts';
import { ROOT } from '../testbed/controller.ts';
import { BenchEnv } from './env.ts';
import { measureLatency } from './latency.ts';
import { loadAverage, machine } from './machine.ts';
import { memoryBreakdown, MIB, processMemory } from './memory.ts';
import {
  evaluateTargets,
  formatReport,
  RESULTS_DIR,
  stamp,
  writeResults,
  type BenchOptions,
  type BenchResult,
  type RunResult,
} from './report.ts';
import { measureRestart, restartLine, type RestartResult } from './restart.ts';
import { runShards, type ShardRunResult } from './shards.ts';
import { measureWindow, steadyResult } from './steady.ts';
import { BASELINE_SETTLE_MS, metricSum, round, SETTLE_MS } from './util.ts';

const USAGE = `Usage: npm run bench -- [flags]

  --quick                   100 Releases only, 60 s steady and background windows, with the restart
  --sizes LIST              Release counts, comma-separated (default 100,300,1000); with --shards,
                            the Release counts of the sharded runs
  --no-restart              skip the restart phase (after the latency trials, a new controller
                            re-verifies every Release; on by default)
  --dataplanes LIST         DataPlane counts, comma-separated: M DataPlanes on the one data-plane
                            cluster, each with its own client certificate, Secret and Environment;
                            only these runs unless --sizes is given too
  --releases-per-dataplane R  Releases per DataPlane in those runs (default 10)
  --organizations           in those runs, each DataPlane in an organization namespace of its own
                            (many organizations sharing one cluster) instead of all in one
  --shards LIST             shard counts, comma-separated: that many controller processes
                            (--shard-count/--shard-index) converge each --sizes count; only these
                            runs (include 1 for a one-process baseline on the same path)
  --shard-selector          in those runs, each shard also watches only its Releases
                            (--release-selector on a shard label the bench puts on each Release)
  --steady-seconds S        steady-state window with the controller running (default 300; --quick 60)
  --background-seconds S    window with the controller stopped (default: the steady window)
  --trials T                trials of each latency kind (default 50)
  --concurrency C           the controller's --concurrency (default 8)
  --tsx                     run the controller from src/ through tsx (as the tests do) instead of
                            the production build (node on tsc output, as the image does)
  --node-args=FLAGS         node flags for the controller, space-separated, after "=" (experiments),
                            after those of the Dockerfile's ENTRYPOINT, so they win:
                            --node-args="--max-semi-space-size=2 --max-old-space-size=256"
  --tunnel                  isolate the data plane in a network namespace and reach it through an
                            apiserver-network-proxy server and agent (needs root), as a data plane
                            behind a firewall
  --gateway                 reach the data plane only through a local cluster gateway (the DataPlane
                            has spec.clusterAgent, no credentials): the caches poll at the default
                            --cluster-gateway-poll-interval instead of watching; for a short row,
                            --sizes 100 --steady-seconds 60 --trials 2 --no-restart
  --profile                 CPU profile and heap snapshot of the controller, under bench/results/profiles/
  --hostile                 instead of the sizes: peak RSS of the controller while one data plane
                            serves a 300 MiB body, a 600 MiB body, an endless list, a watch
                            flooding 200 KiB objects or allows one HTTP/2 stream, and another
                            keeps working (bench/hostile.ts; about 7 minutes)
  --hostile-case=A,B        with --hostile: only the cases whose name contains A or B
  --economy                 for each --sizes count, on the same fresh clusters: the floor (the minimal
                            first-apply requests sent directly, no controller), the watched floor
                            (the same with a watch per kind open on the data plane), the controller's
                            convergence and its ratio to both, and requests per Release by
                            plane, verb and resource from apiserver_request_total for first apply,
                            a steady window (--steady-seconds), an update and deletion (bench/economy.ts)
  --economy-trials K        with --economy: run it K times on the same clusters (floors, controller,
                            deletion; default 1) and report the median ratio too: one run on a
                            shared machine says little
  --floor-in-flight K       Releases the floor runs at once (default: the controller's Releases at once
                            on one data plane, half of --concurrency)
  --idle                    instead of the sizes: RSS of the ready controller with no Release, five
                            seconds after /readyz, split into file-backed and anonymous memory,
                            --trials times (default 3) for the image's flags and each --variant
                            (bench/idle.ts; about 15 s a trial)
  --variant="WORDS"         with --idle, repeatable: a variant to compare, node flags (-...) and
                            environment variables (NAME=VALUE) after the image's:
                            --variant="--max-semi-space-size=2 MALLOC_ARENA_MAX=2"
  --health-rules            instead of the sizes: the cost per health evaluation of each engine
                            (built-in, CEL, Lua; in process, through the worker, cached); no
                            cluster, about 30 s (bench/healthrules.ts)
  --ui                      instead of the sizes: the web view of \`kubectl release ui\` in headless
                            Chromium: first render and live updates with the largest --sizes
                            count of Releases (default 1000; bench/ui.ts; about 2 minutes)
  --help                    print this help`;

function positive(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const v = Number(text);
  if (!Number.isInteger(v) || v < 1) throw new Error(`--${name} must be a positive integer, got "${text}"`);
  return v;
}

function parseOptions(argv: string[]): BenchOptions | undefined {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      sizes: { type: 'string' },
      'steady-seconds': { type: 'string' },
      'background-seconds': { type: 'string' },
      trials: { type: 'string' },
      concurrency: { type: 'string' },
      profile: { type: 'boolean', default: false },
      tunnel: { type: 'boolean', default: false },
      gateway: { type: 'boolean', default: false },
      hostile: { type: 'boolean', default: false },
      'hostile-case': { type: 'string' },
      economy: { type: 'boolean', default: false },
      'floor-in-flight': { type: 'string' },
      'economy-trials': { type: 'string' },
      ui: { type: 'boolean', default: false },
      idle: { type: 'boolean', default: false },
      variant: { type: 'string', multiple: true },
      restart: { type: 'boolean', default: true },
      dataplanes: { type: 'string' },
      'releases-per-dataplane': { type: 'string' },
      organizations: { type: 'boolean', default: false },
      shards: { type: 'string' },
      'shard-selector': { type: 'boolean', default: false },
      tsx: { type: 'boolean', default: false },
      'node-args': { type: 'string', default: '' },
      help: { type: 'boolean', default: false },
    },
    strict: true,
    allowNegative: true,
  });
  if (values.help) return undefined;
  if ((values.profile || values['node-args']) && values.tsx) {
    throw new Error('--profile and --node-args need the production build; drop --tsx');
  }
  const quick = values.quick;
  const list = (name: string, text: string) => text.split(',').map((s) => positive(name, s.trim(), 0));
  const sizes = list('sizes', values.sizes ?? (quick ? '100' : '100,300,1000'));
  const dataPlanes = values.dataplanes === undefined ? [] : list('dataplanes', values.dataplanes);
  const shards = values.shards === undefined ? [] : list('shards', values.shards);
  if (values.gateway && (values.tunnel || dataPlanes.length > 0 || shards.length > 0)) {
    throw new Error(
      '--gateway measures one organization on one data plane; drop --tunnel, --dataplanes and --shards',
    );
  }
  if (dataPlanes.length > 0 && values.tunnel) {
    throw new Error('--dataplanes counts TCP connections to the data plane port; drop --tunnel');
  }
  // With --shards the sizes are the Release counts of the sharded runs; --dataplanes alone runs
  // only the DataPlane runs, and with --sizes also the Release-count runs.
  const releaseRuns = shards.length === 0 && (dataPlanes.length === 0 || values.sizes !== undefined);
  const steadySeconds = positive('steady-seconds', values['steady-seconds'], quick ? 60 : 300);
  return {
    sizes,
    steadySeconds,
    backgroundSeconds: positive('background-seconds', values['background-seconds'], steadySeconds),
    trials: positive('trials', values.trials, 50),
    concurrency: positive('concurrency', values.concurrency, 8),
    profile: values.profile,
    runtime: values.tsx ? 'tsx' : 'node',
    nodeArgs: values['node-args'].split(' ').filter((a) => a !== ''),
    ...(values.tunnel ? { tunnel: true } : {}),
    ...(values.gateway ? { gateway: true } : {}),
    restart: values.restart,
    dataPlanes,
    releasesPerDataPlane: positive('releases-per-dataplane', values['releases-per-dataplane'], 10),
    organizations: values.organizations,
    economyTrials: positive('economy-trials', values['economy-trials'], 1),
    ...(values['floor-in-flight'] !== undefined && {
      floorInFlight: positive('floor-in-flight', values['floor-in-flight'], 1),
    }),
    shards,
    shardSelector: values['shard-selector'],
    releaseRuns,
    ...(values.variant?.length ? { variants: values.variant } : {}),
  };
}

/** sourceVersion names the commit the controller was built from, and whether src/ had local changes. */
function sourceVersion(): { commit: string; srcChanged: boolean } {
  const git = (...args: string[]) => {
    try {
      return execFileSync('git', args, { cwd: import.meta.dirname, encoding: 'utf8' }).trim();
    } catch {
      return '';
    }
  };
  return {
    commit: git('rev-parse', 'HEAD') || 'unknown',
    srcChanged: git('status', '--porcelain', '--', '../src') !== '',
  };
}

function log(line: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
}

/** current is the environment being measured, so that Ctrl-C can remove its clusters. */
let current: BenchEnv | undefined;

/** controllerNodeArgs are node's flags for the controller: the image's, --node-args, profiling. */
function controllerNodeArgs(
  options: BenchOptions,
  imageFlags: string[],
  profileDir: string | undefined,
): string[] {
  return [
    ...imageFlags,
    ...options.nodeArgs,
    ...(profileDir
      ? [
          '--cpu-prof',
          `--cpu-prof-dir=${profileDir}`,
          '--heapsnapshot-signal=SIGUSR2',
          `--diagnostic-dir=${profileDir}`,
        ]
      : []),
  ];
}

/** withEnv runs `body` on fresh clusters labelled `label` and removes them afterwards. */
async function withEnv<T>(
  label: string,
  options: BenchOptions,
  nodeArgs: string[],
  body: (env: BenchEnv) => Promise<T>,
): Promise<T> {
  const env = await BenchEnv.create({
    label: `${process.pid}-${label}`,
    concurrency: options.concurrency,
    runtime: options.runtime,
    nodeArgs,
    tunnel: options.tunnel ?? false,
    gateway: options.gateway ?? false,
    log,
  });
  current = env;
  try {
    return await body(env);
  } finally {
    await env.close();
    current = undefined;
  }
}

async function runSize(
  n: number,
  options: BenchOptions,
  nodeArgs: string[],
  profile: boolean,
): Promise<RunResult> {
  return withEnv(String(n), options, nodeArgs, async (env) => {
    const controller = await env.startController();
    const pid = env.controllerPid;
    await sleep(BASELINE_SETTLE_MS);
    const baseline = processMemory(pid).rss;
    const baselineHeap = metricSum(await controller.metrics(), 'nodejs_heap_size_used_bytes');

    log(`${n} Releases: convergence`);
    const convergence = await measureConvergence(env, n, log);
    log(
      `  converged in ${convergence.seconds} s: ${convergence.objectsPerSecond} objects/s, ${convergence.reconciles} reconciles (${Object.entries(
        convergence.reconcilesBy,
      )
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')})`,
    );
    const afterConvergence = processMemory(pid).rss;
    const convergenceMetrics = await controller.metrics();
    await sleep(SETTLE_MS);

    log(`${n} Releases: steady state, ${options.steadySeconds} s with the controller as the only client`);
    const window = await measureWindow(env, options.steadySeconds);
    const afterSteady = processMemory(pid).rss;
    const steadyMetrics = await controller.metrics();
    const heapUsed = metricSum(steadyMetrics, 'nodejs_heap_size_used_bytes');

    log(`${n} Releases: latency, ${options.trials} trials of each kind`);
    const latency = await measureLatency(env, n, options.trials, log);
    const peak = processMemory(pid).peak;
    if (profile) {
      controller.child.kill('SIGUSR2');
      await sleep(5_000 + n * 10);
    }
    let restart: RestartResult | undefined;
    if (options.restart) {
      log(`${n} Releases: restart, a new controller re-verifies every Release`);
      restart = await measureRestart(env, n, log);
      log(`  ${restartLine(restart)}`);
    }
    await env.stopController();

    log(`${n} Releases: background, ${options.backgroundSeconds} s with the controller stopped`);
    const background = await measureWindow(env, options.backgroundSeconds);
    const steady = steadyResult(n, window, background);
    const mib = (b: number) => round(b / MIB, 1);
    return {
      releases: n,
      convergence,
      steady,
      latency,
      memory: {
        baselineRssMiB: mib(baseline),
        peakRssMiB: mib(peak),
        rssAfterConvergenceMiB: mib(afterConvergence),
        rssAfterSteadyMiB: mib(afterSteady),
        baselineHeapUsedMiB: mib(baselineHeap),
        heapUsedAfterSteadyMiB: mib(heapUsed),
        heapGrowthPerReleaseKiB: round((heapUsed - baselineHeap) / 1024 / n, 1),
        afterConvergence: memoryBreakdown(convergenceMetrics, afterConvergence),
        afterSteady: memoryBreakdown(steadyMetrics, afterSteady),
        growthPerReleaseKiB: round((afterSteady - baseline) / 1024 / n, 1),
        peakGrowthPerReleaseKiB: round((peak - baseline) / 1024 / n, 1),
      },
      ...(restart ? { restart } : {}),
      controllerLog: controller.logPath,
    };
  });
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  // No cluster needed: the engines alone, in this process and through the worker.
  if (argv.includes('--health-rules')) {
    console.log(await runHealthRulesBench());
    return;
  }
  const options = parseOptions(argv);
  if (!options) {
    console.log(USAGE);
    return;
  }
  const startedAt = new Date();
  const load = { start: loadAverage(), end: [] as number[] };
  const source = sourceVersion();
  const profileDir = options.profile
    ? join(RESULTS_DIR, 'profiles', startedAt.toISOString().replace(/[:.]/g, '-'))
    : undefined;
  if (profileDir) mkdirSync(profileDir, { recursive: true });
  log(`options ${JSON.stringify(options)}; load average ${load.start.join(' ')}`);
  const runs: RunResult[] = [];
  // The production build runs with the image's node flags; flags given with --node-args come
  // later and win. Sources run through tsx take no node flags.
  const imageFlags = options.runtime === 'node' ? imageNodeFlags() : [];
  if (argv.includes('--ui')) {
    const releases =
      argv.includes('--sizes') || argv.some((a) => a.startsWith('--sizes='))
        ? Math.max(...options.sizes)
        : 1000;
    await runUiBench(
      { releases, trials: argv.some((a) => a.startsWith('--trials')) ? options.trials : 20 },
      log,
    );
    return;
  }
  if (argv.includes('--hostile')) {
    const command = `npm run bench -- ${argv.join(' ')}`;
    console.log(
      await runHostileBench(
        {
          runtime: options.runtime,
          nodeArgs: [...imageFlags, ...options.nodeArgs],
          concurrency: options.concurrency,
          log,
          only: argv.find((a) => a.startsWith('--hostile-case='))?.slice('--hostile-case='.length),
        },
        command,
      ),
    );
    return;
  }
  const nodeArgs = controllerNodeArgs(options, imageFlags, profileDir);
  if (argv.includes('--idle')) {
    const variants = [
      { name: 'image flags', nodeArgs: [], env: {} },
      ...(options.variants ?? []).map(parseVariant),
    ];
    const trials = argv.some((a) => a.startsWith('--trials')) ? options.trials : 3;
    const results = await withEnv('idle', options, nodeArgs, (env) => runIdle(env, variants, trials, log));
    const path = join(RESULTS_DIR, `idle-${stamp(startedAt)}.json`);
    const command = `npm run bench -- ${argv.join(' ')}`;
    writeFileSync(
      path,
      `${JSON.stringify({ command, startedAt, source, imageNodeFlags: imageFlags, machine: machine(), load: { ...load, end: loadAverage() }, results }, null, 2)}\n`,
    );
    console.log(`${command}\n\n${formatIdle(results)}`);
    log(`results written to ${relative(ROOT, path)}`);
    return;
  }
  if (argv.includes('--economy')) {
    const results: EconomyResult[] = [];
    for (const n of options.sizes)
      results.push(
        ...(await withEnv(`e${n}`, options, nodeArgs, async (env) => {
          const trials: EconomyResult[] = [];
          for (let t = 0; t < (options.economyTrials ?? 1); t++)
            trials.push(await runEconomy(env, n, options.steadySeconds, log, t, options.floorInFlight));
          return trials;
        })),
      );
    const path = join(RESULTS_DIR, `economy-${stamp(startedAt)}.json`);
    const command = `npm run bench -- ${argv.join(' ')}`;
    writeFileSync(
      path,
      `${JSON.stringify({ command, startedAt, source, machine: machine(), load: { ...load, end: loadAverage() }, results }, null, 2)}\n`,
    );
    console.log(`${command}\n\n${formatEconomy(results)}`);
    log(`results written to ${relative(ROOT, path)}`);
    return;
  }
  if (options.releaseRuns) {
    for (const n of options.sizes) runs.push(await runSize(n, options, nodeArgs, profileDir !== undefined));
  }
  const dataPlaneRuns: DataPlaneRunResult[] = [];
  for (const m of options.dataPlanes ?? []) {
    const perDataPlane = options.releasesPerDataPlane ?? 10;
    dataPlaneRuns.push(
      await withEnv(`dp${m}`, options, nodeArgs, (env) =>
        runDataPlanes(env, m, perDataPlane, log, options.organizations ?? false),
      ),
    );
  }
  const shardRuns: ShardRunResult[] = [];
  for (const n of options.shards?.length ? options.sizes : []) {
    for (const count of options.shards ?? []) {
      shardRuns.push(
        await withEnv(`s${count}-${n}`, options, nodeArgs, (env) =>
          runShards(env, count, n, log, options.shardSelector ?? false),
        ),
      );
    }
  }
  load.end = loadAverage();
  const finishedAt = new Date();
  const result: BenchResult = {
    version: 1,
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    durationSeconds: round((finishedAt.getTime() - startedAt.getTime()) / 1000, 0),
    command: `npm run bench${argv.length ? ` -- ${argv.join(' ')}` : ''}`,
    argv: process.argv,
    source,
    options,
    imageNodeFlags: imageFlags,
    machine: machine(),
    load,
    runs,
    ...(dataPlaneRuns.length ? { dataPlaneRuns } : {}),
    ...(shardRuns.length ? { shardRuns } : {}),
    targets: evaluateTargets(runs),
  };
  const svg = await writeCurves(
    RESULTS_DIR,
    stamp(startedAt),
    curveCharts(runs, dataPlaneRuns, shardRuns),
    `${result.command} — ${startedAt.toISOString()} — ${result.machine.cores} cores, source ${source.commit.slice(0, 12)}`,
  );
  if (svg) result.curvesSvg = relative(ROOT, svg);
  const path = await writeResults(result);
  console.log(formatReport(result));
  log(
    `results written to ${path} and bench/results/latest.json${profileDir ? `; profiles in ${profileDir}` : ''}`,
  );
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    log(`${signal}: removing the clusters of the current run`);
    void (current?.close() ?? Promise.resolve()).finally(() => process.exit(130));
  });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
