/**
 * Many DataPlanes (`--dataplanes 10,30,100`): M DataPlanes on the one data-plane test cluster, under
 * different names, each with its own client certificate in its own kubeconfig Secret and its own
 * Environment, all in the one organization namespace (an organization owns several data planes,
 * and each caches every object of its organization's Releases on the cluster). With
 * `--organizations` each DataPlane is in an organization namespace of its own (the shape of a
 * platform that shares one cluster between many organizations): each then caches only its own
 * organization's objects.
 *
 * Phases, each with settled memory readings (V8 heap used and RSS of the controller):
 * 1. baseline: the ready controller, no Release;
 * 2. DataPlanes: the M DataPlanes, Secrets and Environments exist, still no Release (the cost of
 *    caching them; no connection is opened yet);
 * 3. connect: one Release per DataPlane converges, so M connections with their watches are open;
 * 4. fill: the other Releases (releases-per-dataplane - 1 each) converge over those connections.
 *
 * A connection's own cost is phase 3's growth per DataPlane minus the cost of one Release as phase
 * 4 measures it (phase 4 opens no connection). With the production build the controller is
 * started with `--expose-gc` and GC_ON_SIGNAL, and every settled reading follows a full
 * garbage collection, so heap used is live memory; RSS still moves with what the allocator keeps,
 * so single figures are noisy at small M and the growth over many DataPlanes is what to read.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Release } from '../src/api/v1alpha1/schema.ts';
import { credentialsLabels, dataPlaneObject, environmentObject } from '../test/support/fixtures.ts';
import { measureCreation, type ConvergenceResult } from './convergence.ts';
import { kubeconfigFor, mintClientIdentities } from './credentials.ts';
import type { BenchEnv } from './env.ts';
import { MIB, processMemory } from './memory.ts';
import { processSockets } from './sockets.ts';
import { BASELINE_SETTLE_MS, metricSum, round, SETTLE_MS } from './util.ts';
import { benchRelease } from './workload.ts';

/** ConnectionCounts are the controller's data-plane connections, watches and sockets at one moment. */
export interface ConnectionCounts {
  /** connections is release_controller_dataplane_connections. */
  connections: number;
  /** watches is release_controller_dataplane_watches summed over data planes. */
  watches: number;
  /** cachedObjects is release_controller_dataplane_cached_objects summed over data planes. */
  cachedObjects: number;
  /** sockets is how many of the controller's file descriptors are sockets. */
  sockets: number;
  /** tcpToDataPlane is its established TCP connections to the data plane's API server port. */
  tcpToDataPlane: number;
}

/** MemoryPoint is the controller's RSS and V8 heap used at one moment, in MiB. */
export interface MemoryPoint {
  rssMiB: number;
  heapUsedMiB: number;
}

/** PerUnit is a cost per DataPlane, connection or Release, in KiB of RSS and of V8 heap used. */
export interface PerUnit {
  rssKiB: number;
  heapKiB: number;
}

/** DataPlaneRunResult is everything measured with M DataPlanes. */
export interface DataPlaneRunResult {
  dataPlanes: number;
  releasesPerDataPlane: number;
  releases: number;
  /** organizations is true when each DataPlane is in an organization namespace of its own. */
  organizations: boolean;
  /** credentials says how the DataPlanes authenticate. */
  credentials: string;
  /** connect is phase 3: one Release per DataPlane. */
  connect: ConvergenceResult;
  /** fill is phase 4: the other Releases (absent with one Release per DataPlane). */
  fill?: ConvergenceResult;
  /** convergenceSeconds is connect plus fill: every Release Ready. */
  convergenceSeconds: number;
  afterConnect: ConnectionCounts;
  afterFill: ConnectionCounts;
  memory: {
    baseline: MemoryPoint;
    withDataPlanes: MemoryPoint;
    afterConnect: MemoryPoint;
    /** afterConvergence is read right after convergence without a forced collection. */
    afterConvergence: MemoryPoint;
    afterSettle: MemoryPoint;
    peakRssMiB: number;
  };
  /** perDataPlane is (after settle - baseline) / M: a DataPlane with all its Releases. */
  perDataPlane: PerUnit;
  /** perDataPlaneObject is (with DataPlanes - baseline) / M: the DataPlane, Secret and Environment cached. */
  perDataPlaneObject: PerUnit;
  /** perRelease is the fill phase's growth per Release (absent without a fill phase). */
  perRelease?: PerUnit;
  /** perConnection is the connect phase's growth per DataPlane minus one Release (perRelease, or 0). */
  perConnection: PerUnit;
  controllerLog: string;
}

/** dataPlaneName names DataPlane number `i` (and, with suffixes, its Secret and Environment). */
export function dataPlaneName(i: number): string {
  return `bdp-${String(i).padStart(3, '0')}`;
}

/**
 * organizationOf is the namespace of DataPlane `i`: the bench's organization, or with
 * `organizations` one of its own.
 */
function organizationOf(env: BenchEnv, i: number, organizations: boolean): string {
  return organizations ? `${env.org.namespace}-${String(i).padStart(3, '0')}` : env.org.namespace;
}

/** createDataPlanes creates M DataPlanes with their own credentials and Environments in the org namespace (or each in its own). */
export async function createDataPlanes(env: BenchEnv, m: number, organizations = false): Promise<void> {
  const names = Array.from({ length: m }, (_, i) => dataPlaneName(i));
  const identities = await mintClientIdentities(env.dp, names);
  for (const [i, name] of names.entries()) {
    const identity = identities[i];
    if (!identity) throw new Error(`no client certificate for ${name}`);
    const ns = organizationOf(env, i, organizations);
    if (organizations) await env.cpKube.ensureNamespace(ns);
    await env.cpKube.create({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: `${name}-kubeconfig`, namespace: ns, labels: credentialsLabels(env.dp.name) },
      data: { kubeconfig: Buffer.from(kubeconfigFor(env.dp, name, identity)).toString('base64') },
    });
    await env.cpKube.create(dataPlaneObject(ns, name, env.dp, 'secret'));
    await env.cpKube.create(environmentObject(ns, `${name}-env`, name));
  }
}

/** releaseOf builds Release `j`: DataPlane floor(j / perDataPlane) (its namespace: j / 10). */
function releaseOf(env: BenchEnv, j: number, perDataPlane: number, organizations: boolean): Release {
  const d = Math.floor(j / perDataPlane);
  return benchRelease(
    { ...env.org, namespace: organizationOf(env, d, organizations), environment: `${dataPlaneName(d)}-env` },
    j,
  );
}

/**
 * GC_ON_SIGNAL is a module given to the controller's node as a data: URL (`--import`, with
 * `--expose-gc`): SIGWINCH runs a full garbage collection, so the heap the bench reads next is
 * live memory. SIGWINCH is ignored by default, so the controller has no other use for it. A data:
 * URL of plain JavaScript, because a .ts file would load node's type stripper into the controller
 * (about 18 MiB of RSS).
 */
const GC_ON_SIGNAL = `data:text/javascript,${encodeURIComponent("process.on('SIGWINCH', () => globalThis.gc?.());")}`;
/** GC_WAIT_MS is the pause after asking for a collection before the memory is read. */
const GC_WAIT_MS = 500;

async function memoryPoint(env: BenchEnv, collect = true): Promise<MemoryPoint> {
  if (collect && env.options.runtime === 'node') {
    env.controller.child.kill('SIGWINCH');
    await sleep(GC_WAIT_MS);
  }
  const heap = metricSum(await env.controller.metrics(), 'nodejs_heap_size_used_bytes');
  return {
    // Two decimals: per-DataPlane figures divide small differences of these.
    rssMiB: round(processMemory(env.controllerPid).rss / MIB, 2),
    heapUsedMiB: round(heap / MIB, 2),
  };
}

async function connectionCounts(env: BenchEnv): Promise<ConnectionCounts> {
  const text = await env.controller.metrics();
  const s = processSockets(env.controllerPid, env.dp.ports.apiserver);
  return {
    connections: metricSum(text, 'release_controller_dataplane_connections'),
    watches: metricSum(text, 'release_controller_dataplane_watches'),
    cachedObjects: metricSum(text, 'release_controller_dataplane_cached_objects'),
    sockets: s.sockets,
    tcpToDataPlane: s.tcpToPort,
  };
}

const perUnit = (to: MemoryPoint, from: MemoryPoint, units: number): PerUnit => ({
  rssKiB: round(((to.rssMiB - from.rssMiB) * 1024) / units, 1),
  heapKiB: round(((to.heapUsedMiB - from.heapUsedMiB) * 1024) / units, 1),
});

/** runDataPlanes measures M DataPlanes with `perDataPlane` Releases each on a fresh environment's controller. */
export async function runDataPlanes(
  env: BenchEnv,
  m: number,
  perDataPlane: number,
  log: (line: string) => void,
  organizations = false,
): Promise<DataPlaneRunResult> {
  // With the production build every settled reading follows a full garbage collection.
  const controller = await env.startController(
    [],
    env.options.runtime === 'node' ? ['--expose-gc', `--import=${GC_ON_SIGNAL}`] : [],
  );
  await sleep(BASELINE_SETTLE_MS);
  const baseline = await memoryPoint(env);

  log(`${m} DataPlanes: creating DataPlanes, Secrets (own client certificates) and Environments`);
  await createDataPlanes(env, m, organizations);
  await sleep(BASELINE_SETTLE_MS);
  const withDataPlanes = await memoryPoint(env);

  log(`${m} DataPlanes: connect, one Release each`);
  const connect = await measureCreation(
    env,
    { count: m, release: (k) => releaseOf(env, k * perDataPlane, perDataPlane, organizations) },
    log,
  );
  log(`  ${m} Releases Ready in ${connect.seconds} s`);
  await sleep(SETTLE_MS);
  const afterConnect = await memoryPoint(env);
  const connectCounts = await connectionCounts(env);

  let fill: ConvergenceResult | undefined;
  const rest = m * (perDataPlane - 1);
  if (rest > 0) {
    log(`${m} DataPlanes: fill, ${rest} more Releases`);
    const per = perDataPlane - 1;
    fill = await measureCreation(
      env,
      {
        count: rest,
        release: (k) =>
          releaseOf(env, Math.floor(k / per) * perDataPlane + (k % per) + 1, perDataPlane, organizations),
        readyBefore: m,
      },
      log,
    );
    log(`  ${m + rest} Releases Ready in ${fill.seconds} s more`);
  }
  // Right after convergence, before any settle: no collection forced yet, as a peak-like reading.
  const afterConvergence = await memoryPoint(env, false);
  await sleep(SETTLE_MS);
  const afterSettle = await memoryPoint(env);
  const fillCounts = await connectionCounts(env);
  const peakRssMiB = round(processMemory(env.controllerPid).peak / MIB, 1);
  await env.stopController();

  const perRelease = rest > 0 ? perUnit(afterSettle, afterConnect, rest) : undefined;
  const connectGrowth = perUnit(afterConnect, withDataPlanes, m);
  return {
    dataPlanes: m,
    releasesPerDataPlane: perDataPlane,
    releases: m * perDataPlane,
    organizations,
    credentials:
      'a client certificate of its own per DataPlane (O=system:masters), signed by the test cluster CA',
    connect,
    ...(fill ? { fill } : {}),
    convergenceSeconds: round(connect.seconds + (fill?.seconds ?? 0), 2),
    afterConnect: connectCounts,
    afterFill: fillCounts,
    memory: { baseline, withDataPlanes, afterConnect, afterConvergence, afterSettle, peakRssMiB },
    perDataPlane: perUnit(afterSettle, baseline, m),
    perDataPlaneObject: perUnit(withDataPlanes, baseline, m),
    ...(perRelease ? { perRelease } : {}),
    perConnection: {
      rssKiB: round(connectGrowth.rssKiB - (perRelease?.rssKiB ?? 0), 1),
      heapKiB: round(connectGrowth.heapKiB - (perRelease?.heapKiB ?? 0), 1),
    },
    controllerLog: controller.logPath,
  };
}
