/**
 * `npm run bench -- --hostile`: memory of the controller while one data plane misbehaves and
 * another keeps working. For each case (a 300 MiB body without content-length, a 600 MiB body
 * with content-length, a list that answers `continue` forever) the bench starts fresh clusters
 * and a fresh controller with its default flags, points one organization's DataPlane at a local
 * misbehaving server (test/support/hostile.ts) with one Release, creates Releases on the healthy
 * data plane, and for a fixed window samples the controller's RSS. It reports the peak (VmHWM),
 * whether the controller survived, how long the healthy Releases took to be Ready, and what the
 * hostile Release shows. Prints a Markdown table and writes bench/results/hostile-<time>.json.
 */
import { writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { API_VERSION, ConditionTypes } from '../src/api/v1alpha1/constants.ts';
import type { Release } from '../src/api/v1alpha1/schema.ts';
import { configMap, releaseObject } from '../test/support/fixtures.ts';
import { HostileDataPlane, type HostileMode, type HostileOptions } from '../test/support/hostile.ts';
import { BenchEnv } from './env.ts';
import { MIB, processMemory } from './memory.ts';
import { RESULTS_DIR } from './report.ts';
import { round } from './util.ts';
import { benchRelease } from './workload.ts';

/** HOSTILE_WINDOW_MS is how long each case is watched: long enough for several retries of the hostile Release. */
export const HOSTILE_WINDOW_MS = 60_000;
/** HEALTHY_RELEASES is the number of Releases on the healthy data plane. */
export const HEALTHY_RELEASES = 20;
const SAMPLE_MS = 250;

/** HOSTILE_CASES are the misbehaviours measured. */
export const HOSTILE_CASES: ReadonlyArray<{ name: string; mode: HostileMode; options?: HostileOptions }> = [
  {
    name: '300 MiB body, no content-length',
    mode: { kind: 'huge-body', bodyBytes: 300 * MIB, contentLength: false },
  },
  {
    name: '600 MiB body, content-length',
    mode: { kind: 'huge-body', bodyBytes: 600 * MIB, contentLength: true },
  },
  { name: 'endless list (10 KB pages)', mode: { kind: 'endless-list', itemBytes: 10_000 } },
  {
    // Bounded at 600 MiB sent, so that the figure "before" does not take the shared machine down.
    name: 'watch flooding 200 KiB objects (600 MiB)',
    mode: { kind: 'flood-watch', objectBytes: 200 * 1024, matching: true, maxEvents: 3072 },
  },
  {
    // 20 observed objects: before, a watch each, so a TLS connection each at one stream.
    name: 'HTTP/2 server allowing 1 stream',
    mode: { kind: 'observed', objects: 20 },
    options: { http2Streams: 1 },
  },
];

/** HostileCaseResult is what one case measured. */
export interface HostileCaseResult {
  name: string;
  baselineRssMiB: number;
  peakRssMiB: number;
  /** controllerExit is the exit code when the controller died during the window, else null. */
  controllerExit: number | null;
  /** healthyReadySeconds is when every healthy Release was Ready, from the start of the window; null if never. */
  healthyReadySeconds: number | null;
  /** hostileReason and hostileMessage are the hostile Release's ResourcesApplied condition at the end. */
  hostileReason: string | null;
  hostileMessage: string | null;
  /** bytesServed is the most bytes the hostile server wrote into one response; listPages the pages it served. */
  largestResponseMiB: number;
  listPages: number;
  /** watchEventsMiB is what the flooding watches sent; connections the TCP/TLS connections the server accepted. */
  watchEventsMiB: number;
  connections: number;
}

/** HostileBenchOptions say how the controller runs. */
export interface HostileBenchOptions {
  runtime: 'node' | 'tsx';
  nodeArgs: string[];
  concurrency: number;
  log: (line: string) => void;
  /** only runs the cases whose name contains one of its comma-separated parts. */
  only?: string;
}

async function runCase(
  index: number,
  c: { name: string; mode: HostileMode; options?: HostileOptions },
  options: HostileBenchOptions,
): Promise<HostileCaseResult> {
  const { log } = options;
  const env = await BenchEnv.create({
    label: `${process.pid}-hostile-${index}`,
    concurrency: options.concurrency,
    runtime: options.runtime,
    nodeArgs: options.nodeArgs,
    tunnel: false,
    log,
  });
  const server = await HostileDataPlane.start(c.mode, c.options);
  try {
    const hostileOrg = await server.createOrg(env.cpKube);
    // The servers that answer the API (flood-watch, observed) create the organization's own
    // namespace, as the default tenancy wants; the others fail before any namespace matters.
    const namespace =
      c.mode.kind === 'flood-watch' || c.mode.kind === 'observed' ? 'hostile-apps' : 'default';
    const observed = Array.from({ length: c.mode.kind === 'observed' ? c.mode.objects : 0 }, (_, i) => ({
      id: `o${i}`,
      object: {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: {
          name: `observed-${i}`,
          namespace: 'default',
          annotations: { 'openchoreo.dev/apply': 'Observe' },
        },
      },
    }));
    await env.cpKube.create(
      releaseObject(hostileOrg, 'victim', [configMap('cm', namespace, 'settings'), ...observed]),
    );
    const controller = await env.startController();
    const pid = env.controllerPid;
    const baseline = processMemory(pid).rss;
    log(
      `${c.name}: controller ready (${round(baseline / MIB, 1)} MiB RSS); creating ${HEALTHY_RELEASES} healthy Releases`,
    );
    const started = performance.now();
    for (let i = 0; i < HEALTHY_RELEASES; i++) await env.cpKube.create(benchRelease(env.org, i));
    let peak = baseline;
    let healthyReadySeconds: number | null = null;
    let exit: number | null = null;
    let lastPoll = 0;
    while (performance.now() - started < HOSTILE_WINDOW_MS) {
      if (!controller.running) {
        exit = await controller.stop('SIGKILL');
        log(`${c.name}: the controller exited with ${exit}`);
        break;
      }
      try {
        peak = Math.max(peak, processMemory(pid).peak);
      } catch {
        // The process is gone between the check above and this read.
        await sleep(SAMPLE_MS);
        continue;
      }
      if (healthyReadySeconds === null && performance.now() - lastPoll > 1_000) {
        lastPoll = performance.now();
        const releases = await env.cpKube.list<Release>(API_VERSION, 'Release', env.org.namespace);
        const ready = releases.filter((r) =>
          r.status?.conditions?.some((x) => x.type === ConditionTypes.ready && x.status === 'True'),
        ).length;
        if (ready === HEALTHY_RELEASES) healthyReadySeconds = round((performance.now() - started) / 1000, 1);
      }
      await sleep(SAMPLE_MS);
    }
    const victim = await env.cpKube.get<Release>(API_VERSION, 'Release', hostileOrg.namespace, 'victim');
    const applied = victim?.status?.conditions?.find((x) => x.type === ConditionTypes.resourcesApplied);
    if (controller.running) await controller.kill();
    return {
      name: c.name,
      baselineRssMiB: round(baseline / MIB, 1),
      peakRssMiB: round(peak / MIB, 1),
      controllerExit: exit,
      healthyReadySeconds,
      hostileReason: applied?.reason ?? null,
      hostileMessage: applied?.message ?? null,
      largestResponseMiB: round(server.stats.largestResponse / MIB, 1),
      listPages: server.stats.listPages,
      watchEventsMiB:
        c.mode.kind === 'flood-watch' ? round((server.stats.watchEvents * c.mode.objectBytes) / MIB, 1) : 0,
      connections: server.stats.connections,
    };
  } finally {
    await server.close();
    await env.close();
  }
}

/** runHostileBench runs every case and writes the results; it returns the Markdown report. */
export async function runHostileBench(options: HostileBenchOptions, command: string): Promise<string> {
  const startedAt = new Date();
  const results: HostileCaseResult[] = [];
  for (const [i, c] of HOSTILE_CASES.entries())
    if (!options.only || options.only.split(',').some((o) => c.name.includes(o)))
      results.push(await runCase(i, c, options));
  await mkdir(RESULTS_DIR, { recursive: true });
  const path = join(RESULTS_DIR, `hostile-${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
  await writeFile(
    path,
    `${JSON.stringify({ command, startedAt: startedAt.toISOString(), windowMs: HOSTILE_WINDOW_MS, options: { ...options, log: undefined }, results }, null, 2)}\n`,
  );
  options.log(`results written to ${path}`);
  const rows = results.map(
    (r) =>
      `| ${r.name} | ${r.baselineRssMiB} MiB | ${r.peakRssMiB} MiB | ${r.controllerExit === null ? 'alive' : `exited ${r.controllerExit}`} | ${r.healthyReadySeconds === null ? 'not Ready' : `${r.healthyReadySeconds} s`} | ${r.hostileReason ?? '(no status)'}: ${(r.hostileMessage ?? '').slice(0, 140)} | ${r.largestResponseMiB} MiB / ${r.listPages} pages / ${r.watchEventsMiB} MiB of events / ${r.connections} connections |`,
  );
  return [
    `Hostile data planes (${HOSTILE_WINDOW_MS / 1000} s window each, ${HEALTHY_RELEASES} healthy Releases):`,
    '',
    '| case | RSS at start | peak RSS | controller | healthy Releases Ready after | hostile Release ResourcesApplied | most sent in one response / list pages served / watch events sent / connections accepted |',
    '|---|---:|---:|---|---:|---|---:|',
    ...rows,
  ].join('\n');
}
