/**
 * Request economy (`npm run bench -- --economy`): on the same fresh clusters, first the floor, then
 * the controller. The floor performs, directly and with no controller, the minimal request sequence
 * a first apply needs (create the Release, one write adding the finalizer and the placement, one
 * server-side apply per object, one status write) for N Releases, as many at once as the controller
 * may reconcile on one data plane (or `--floor-in-flight`), up to 8 applies of one at once;
 * then the watched floor: the same again with one watch per kind open on the data plane, as every
 * controller keeps (what it costs the API server to deliver each write to a watcher); then the
 * controller converges N other Releases of the same workload, and its convergence is reported as a
 * ratio to both. For the controller's phases (first apply, a steady window, an
 * update of one object per Release, deletion) the API servers' own `apiserver_request_total` is
 * read before and after, and reported per Release by plane, verb and resource. Progress is followed
 * by one Release watch (bench/readiness.ts) and the controller's metrics, never by LISTs; the same
 * watch runs beside the floor, so its cost to the API server is on both sides of the ratio.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { API_VERSION, FINALIZER, Annotations, STATUS_FIELD_MANAGER } from '../src/api/v1alpha1/constants.ts';
import { parseApiVersion, type KubeObject } from '../src/api/object.ts';
import type { KubeClient } from '../src/kube/client.ts';
import type { Release } from '../src/api/v1alpha1/schema.ts';
import { RELEASE_CONTROLLER } from '../src/controller/release/setup.ts';
import type { BenchEnv } from './env.ts';
import { measureConvergence, CREATE_CONCURRENCY } from './convergence.ts';
import { RoleCpuMeter } from './machine.ts';
import { percentile } from './latency.ts';
import { ReadyTracker } from './readiness.ts';
import { apiServerRequests, subtract, type RequestCounts } from './steady.ts';
import { metricSum, round, table } from './util.ts';
import { benchRelease, benchTarget, OBJECTS_PER_RELEASE, ResourceIds } from './workload.ts';

/** FLOOR_PREFIX names the floor's namespaces on both clusters (the controller's are `bench-NNN`). */
const FLOOR_PREFIX = 'floor';
/** WATCHED_FLOOR_PREFIX names the watched floor's namespaces. */
const WATCHED_FLOOR_PREFIX = 'wfloor';
/** APPLY_PARALLELISM is how many objects of one Release the floor applies at once (the controller's APPLY_CONCURRENCY). */
const APPLY_PARALLELISM = 8;

/** PHASES are the phases of the request table, in order. */
const PHASES = ['floor', 'watchedFloor', 'firstApply', 'steady', 'update', 'deletion'] as const;

/** PhaseRequests is what both API servers counted during one phase, per Release: `plane VERB resource` -> count. */
export type PhaseRequests = Record<string, number>;

/** EconomyResult is one size's floor, convergence, ratio and request table. */
export interface EconomyResult {
  releases: number;
  /** trial counts the runs at this size on the same clusters (--economy-trials), from 0. */
  trial: number;
  objects: number;
  floorSeconds: number;
  /** floorInFlight is how many Releases the floor ran at once. */
  floorInFlight: number;
  controllerSeconds: number;
  /** ratio is controllerSeconds / floorSeconds. */
  ratio: number;
  /**
   * watchedFloorSeconds is the floor again, in namespaces of its own, with one watch per kind open
   * on the data plane (ObjectWatches): the floor plus the cost of the watches any controller keeps.
   */
  watchedFloorSeconds: number;
  /** watchedRatio is controllerSeconds / watchedFloorSeconds. */
  watchedRatio: number;
  reconcilesPerRelease: number;
  /**
   * reconcileOutcomes splits them by controller_runtime_reconcile_total's result, per Release:
   * `requeue` counts reconciles deferred without running (the data plane's share of the workers
   * was in use), the others ran.
   */
  reconcileOutcomes: Record<string, number>;
  /**
   * cpuByRole is the CPU seconds of each process group ("controller", "cp kube-apiserver", "dp
   * etcd", "bench", ...) while the floor ran and while the controller converged: where the
   * controller's extra time goes.
   */
  cpuByRole: {
    floor: Record<string, number>;
    watchedFloor: Record<string, number>;
    controller: Record<string, number>;
  };
  /** requests per Release by phase, from apiserver_request_total (the bench's own requests included, see docs). */
  phases: Record<(typeof PHASES)[number], PhaseRequests>;
  steadySeconds: number;
}

async function scrape(env: BenchEnv): Promise<{ cp: RequestCounts; dp: RequestCounts }> {
  const [cp, dp] = await Promise.all([env.cpKube.metrics(), env.dpKube.metrics()]);
  return { cp: apiServerRequests(cp), dp: apiServerRequests(dp) };
}

function perRelease(
  before: { cp: RequestCounts; dp: RequestCounts },
  after: { cp: RequestCounts; dp: RequestCounts },
  n: number,
): PhaseRequests {
  const out: PhaseRequests = {};
  for (const [plane, b, a] of [
    ['control', before.cp, after.cp],
    ['data', before.dp, after.dp],
  ] as const) {
    for (const [k, v] of subtract(a, b)) {
      // The scrapes themselves (GET /metrics) are not the workload's.
      if (k.endsWith('(non-resource)')) continue;
      out[`${plane} ${k}`] = round(v / n, 3);
    }
  }
  return out;
}

/** floorRelease is the k-th floor Release: the bench workload, in the floor's namespaces. */
function floorRelease(env: BenchEnv, k: number, namespace: string, label: string): Release {
  const r = benchRelease(env.org, k);
  const dpNamespace = `${label}-${benchTarget(k).namespace}`;
  return {
    ...r,
    metadata: { ...r.metadata, namespace },
    spec: {
      ...r.spec,
      resources: (r.spec.resources ?? []).map((res) => {
        const o = res.object as unknown as KubeObject;
        return { ...res, object: { ...o, metadata: { ...o.metadata, namespace: dpNamespace } } };
      }),
    },
  };
}

function objectsOf(release: Release): KubeObject[] {
  return (release.spec.resources ?? []).map((r) => r.object as unknown as KubeObject);
}

/** kindPath is the path of an object's kind (the workload's plurals are the kind plus `s`), without a namespace. */
function kindPath(o: KubeObject): { base: string; plural: string } {
  const { group, version } = parseApiVersion(o.apiVersion);
  return {
    base: group ? `/apis/${group}/${version}` : `/api/${version}`,
    plural: `${o.kind.toLowerCase()}s`,
  };
}

function objectPath(o: KubeObject): string {
  const { base, plural } = kindPath(o);
  return `${base}/namespaces/${o.metadata.namespace ?? ''}/${plural}/${o.metadata.name ?? ''}`;
}

/**
 * runFloor performs the minimal first-apply sequence for `n` Releases, CREATE_CONCURRENCY at a time,
 * and returns its seconds. The data-plane namespaces are created by one POST each, before the clock
 * starts for nothing: their POST is part of the sequence of the first Release of each.
 */
export async function runFloor(
  env: BenchEnv,
  n: number,
  inFlight: number,
  label: string,
): Promise<{ seconds: number; namespace: string }> {
  const namespace = `${label}-${process.pid}`;
  await env.cpKube.ensureNamespace(namespace);
  const cp = env.cpKube.client;
  const dp = env.dpKube.client;
  const namespaces = new Map<string, Promise<unknown>>();
  const ensure = (name: string) => {
    let p = namespaces.get(name);
    if (!p) {
      p = dp.attempt(
        {
          method: 'POST',
          path: '/api/v1/namespaces',
          body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name } },
        },
        [409],
      );
      namespaces.set(name, p);
    }
    return p;
  };
  const releasePath = (name: string) => `/apis/${API_VERSION}/namespaces/${namespace}/releases/${name}`;
  const started = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const k = next++;
      const release = floorRelease(env, k, namespace, label);
      const created = await cp.request<Release>({
        method: 'POST',
        path: `/apis/${API_VERSION}/namespaces/${namespace}/releases`,
        body: release,
      });
      const objects = objectsOf(release);
      await ensure(objects[0]?.metadata.namespace ?? '');
      await cp.request({
        method: 'PATCH',
        path: releasePath(release.metadata.name),
        query: { fieldManager: STATUS_FIELD_MANAGER },
        contentType: 'application/json-patch+json',
        body: [
          { op: 'test', path: '/metadata/uid', value: created.metadata.uid },
          { op: 'add', path: '/metadata/finalizers', value: [FINALIZER] },
          { op: 'test', path: '/metadata/annotations', value: null },
          {
            op: 'add',
            path: '/metadata/annotations',
            value: { [Annotations.placement]: JSON.stringify([{ dataPlane: 'dp', cluster: 'floor' }]) },
          },
        ],
      });
      const applied: KubeObject[] = [];
      for (let i = 0; i < objects.length; i += APPLY_PARALLELISM) {
        applied.push(
          ...(await Promise.all(
            objects.slice(i, i + APPLY_PARALLELISM).map((o) =>
              dp.request<KubeObject>({
                method: 'PATCH',
                path: objectPath(o),
                query: { fieldManager: 'release-controller', force: true },
                contentType: 'application/apply-patch+yaml',
                body: o,
              }),
            ),
          )),
        );
      }
      const now = new Date().toISOString();
      await cp.request({
        method: 'PATCH',
        path: `${releasePath(release.metadata.name)}/status`,
        query: { fieldManager: STATUS_FIELD_MANAGER },
        contentType: 'application/merge-patch+json',
        body: {
          status: {
            observedGeneration: created.metadata.generation,
            appliedTo: [{ dataPlane: 'dp', cluster: 'floor' }],
            resources: objects.map((o, i) => {
              const [group, version] = o.apiVersion.includes('/')
                ? o.apiVersion.split('/')
                : ['', o.apiVersion];
              return {
                id: release.spec.resources?.[i]?.id,
                group,
                version,
                kind: o.kind,
                name: o.metadata.name,
                namespace: o.metadata.namespace,
                healthStatus: 'Healthy',
                uid: applied[i]?.metadata.uid,
                lastObservedTime: now,
              };
            }),
            conditions: ['ResourcesApplied', 'Ready'].map((type) => ({
              type,
              status: 'True',
              reason: type === 'Ready' ? 'Healthy' : 'Applied',
              message: `${OBJECTS_PER_RELEASE} resources`,
              lastTransitionTime: now,
              observedGeneration: created.metadata.generation,
            })),
          },
        },
      });
    }
  };
  await Promise.all(Array.from({ length: Math.min(inFlight, n) }, worker));
  return { seconds: (performance.now() - started) / 1000, namespace };
}

/**
 * removeFloor deletes the floor's Releases (their finalizer first) before the controller starts,
 * so the controller never sees them; not measured. Their data-plane objects stay, in namespaces of
 * their own and without our labels, outside every watch of the controller.
 */
async function removeFloor(env: BenchEnv, n: number, namespace: string): Promise<void> {
  const cp = env.cpKube.client;
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const name = benchTarget(next++).release;
      const path = `/apis/${API_VERSION}/namespaces/${namespace}/releases/${name}`;
      await cp.request({
        method: 'PATCH',
        path,
        contentType: 'application/merge-patch+json',
        body: { metadata: { finalizers: null } },
      });
      await cp.request({ method: 'DELETE', path, discardBody: true });
    }
  };
  await Promise.all(Array.from({ length: Math.min(CREATE_CONCURRENCY, n) }, worker));
}

/**
 * ObjectWatches keeps one watch per kind of the workload open on the data plane, in every
 * namespace, and parses every event, as a controller's watches do: run beside the floor, they put
 * the cost of delivering each write to a watcher (and of reading it) on the floor's side too.
 */
class ObjectWatches {
  private readonly abort = new AbortController();
  private readonly running: Promise<void>[];

  constructor(client: KubeClient, paths: string[]) {
    this.running = paths.map((path) => this.loop(client, path));
  }

  /** close ends the watches. */
  async close(): Promise<void> {
    this.abort.abort();
    await Promise.all(this.running);
  }

  private async loop(client: KubeClient, path: string): Promise<void> {
    while (!this.abort.signal.aborted) {
      try {
        await client.watch(
          path,
          { timeoutSeconds: 300, allowWatchBookmarks: true, resourceVersion: '0' },
          () => undefined,
          this.abort.signal,
        );
      } catch {
        await sleep(500);
      }
    }
  }
}

/** collectionsOf lists the cluster-wide collection path of each kind of the bench workload. */
function collectionsOf(release: Release): string[] {
  return objectsOf(release).map((o) => {
    const { base, plural } = kindPath(o);
    return `${base}/${plural}`;
  });
}

/** waitForMetric polls the controller's metrics until `done` says so (the workload is not listed). */
async function waitForMetric(
  env: BenchEnv,
  done: (metrics: string) => boolean,
  timeoutMs: number,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!done(await env.controllersMetrics())) {
    if (performance.now() > deadline) throw new Error('the controller did not finish the phase in time');
    await sleep(500);
  }
}

/** runEconomy measures the floor and the controller side by side for `n` Releases. */
export async function runEconomy(
  env: BenchEnv,
  n: number,
  steadySeconds: number,
  log: (line: string) => void,
  trial: number,
  floorInFlight?: number,
): Promise<EconomyResult> {
  // As many Releases at once as the controller may reconcile on its one data plane (half of
  // --concurrency, its default --max-concurrent-reconciles-per-dataplane), unless told otherwise.
  const inFlight = floorInFlight ?? Math.ceil(env.options.concurrency / 2);
  const runOneFloor = async (label: string, watched: boolean) => {
    log(
      `${n} Releases: ${watched ? 'watched floor (no controller, a watch per kind on the data plane)' : 'floor (no controller)'}`,
    );
    const before = await scrape(env);
    // The bench's readiness watch runs beside the floor too, as beside the controller: its cost to
    // the API server (every Release write sent to it) is then on both sides of the ratio.
    const floorWatch = new ReadyTracker(env.cpKube.client);
    const objectWatches = watched
      ? new ObjectWatches(env.dpKube.client, collectionsOf(benchRelease(env.org, 0)))
      : undefined;
    if (objectWatches) await sleep(1_000);
    const roles = new RoleCpuMeter(() => env.cpuRoles());
    const { seconds, namespace } = await runFloor(env, n, inFlight, label);
    const cpu = roles.finish();
    await floorWatch.close();
    await objectWatches?.close();
    const requests = perRelease(before, await scrape(env), n);
    await removeFloor(env, n, namespace);
    log(`  ${watched ? 'watched floor' : 'floor'}: ${round(seconds, 2)} s`);
    return { seconds, cpu, requests };
  };
  // Each trial's floors create objects in namespaces of their own (a second trial on the same
  // names would update, not create).
  const suffix = trial === 0 ? '' : String(trial);
  const floorRun = await runOneFloor(`${FLOOR_PREFIX}${suffix}`, false);
  const watchedRun = await runOneFloor(`${WATCHED_FLOOR_PREFIX}${suffix}`, true);
  let before: { cp: RequestCounts; dp: RequestCounts };
  let after: { cp: RequestCounts; dp: RequestCounts };

  const controller = await env.startController();
  log(`  controller log: ${controller.logPath}`);
  await sleep(2_000);
  log(`${n} Releases: controller convergence`);
  before = await scrape(env);
  const metricsBefore = await env.controllersMetrics();
  const convergence = await measureConvergence(env, n, log);
  const metricsAfter = await env.controllersMetrics();
  after = await scrape(env);
  // The Release controller's own reconciles (in-use-protection and plane-status count theirs apart).
  const ofReleases = (result: string) => ({ controller: RELEASE_CONTROLLER, result });
  const reconciled = (result: string) =>
    round(
      (metricSum(metricsAfter, 'controller_runtime_reconcile_total', ofReleases(result)) -
        metricSum(metricsBefore, 'controller_runtime_reconcile_total', ofReleases(result))) /
        n,
      2,
    );
  const firstApply = perRelease(before, after, n);
  log(
    `  controller: ${convergence.seconds} s, ratio ${round(convergence.seconds / floorRun.seconds, 2)}` +
      ` (to the watched floor ${round(convergence.seconds / watchedRun.seconds, 2)})`,
  );

  await sleep(5_000);
  log(`${n} Releases: steady, ${steadySeconds} s`);
  before = await scrape(env);
  await sleep(steadySeconds * 1000);
  after = await scrape(env);
  const steady = perRelease(before, after, n);

  log(`${n} Releases: update of one object per Release`);
  const applied = (m: string) => metricSum(m, 'release_controller_applies_total', { result: 'applied' });
  const appliedBefore = applied(await env.controllersMetrics());
  before = await scrape(env);
  const configIndex = (benchRelease(env.org, 0).spec.resources ?? []).findIndex(
    (r) => r.id === ResourceIds.config,
  );
  let next = 0;
  const updater = async () => {
    while (next < n) {
      const k = next++;
      await env.cpKube.client.request({
        method: 'PATCH',
        path: `/apis/${API_VERSION}/namespaces/${env.org.namespace}/releases/${benchTarget(k).release}`,
        contentType: 'application/json-patch+json',
        body: [{ op: 'add', path: `/spec/resources/${configIndex}/object/data/economy`, value: 'updated' }],
      });
    }
  };
  await Promise.all(Array.from({ length: CREATE_CONCURRENCY }, updater));
  await waitForMetric(env, (m) => applied(m) - appliedBefore >= n, 120_000 + n * 200);
  await sleep(3_000);
  after = await scrape(env);
  const update = perRelease(before, after, n);

  log(`${n} Releases: deletion`);
  const tracker = new ReadyTracker(env.cpKube.client);
  await tracker.waitFor(n, AbortSignal.timeout(60_000));
  before = await scrape(env);
  next = 0;
  const deleter = async () => {
    while (next < n) {
      const k = next++;
      await env.cpKube.delete(API_VERSION, 'Release', env.org.namespace, benchTarget(k).release);
    }
  };
  await Promise.all(Array.from({ length: CREATE_CONCURRENCY }, deleter));
  const deadline = performance.now() + 120_000 + n * 200;
  while (tracker.count > 0 && performance.now() < deadline) await sleep(500);
  await tracker.close();
  await sleep(2_000);
  after = await scrape(env);
  const deletion = perRelease(before, after, n);
  await env.stopController();

  return {
    releases: n,
    trial,
    objects: n * OBJECTS_PER_RELEASE,
    floorSeconds: round(floorRun.seconds, 2),
    floorInFlight: inFlight,
    controllerSeconds: convergence.seconds,
    ratio: round(convergence.seconds / floorRun.seconds, 2),
    watchedFloorSeconds: round(watchedRun.seconds, 2),
    watchedRatio: round(convergence.seconds / watchedRun.seconds, 2),
    reconcilesPerRelease: round(convergence.reconciles / n, 2),
    reconcileOutcomes: Object.fromEntries(
      ['success', 'requeue_after', 'error', 'requeue'].map((r) => [r, reconciled(r)]),
    ),
    cpuByRole: { floor: floorRun.cpu, watchedFloor: watchedRun.cpu, controller: convergence.cpuByRole },
    phases: {
      floor: floorRun.requests,
      watchedFloor: watchedRun.requests,
      firstApply,
      steady,
      update,
      deletion,
    },
    steadySeconds,
  };
}

/** median is the nearest-rank median of some figures. */
function median(xs: number[]): number {
  return percentile(
    [...xs].sort((a, b) => a - b),
    0.5,
  );
}

/** formatEconomy renders the floor, the ratio and the request table of each size as Markdown. */
export function formatEconomy(results: EconomyResult[]): string {
  const out: string[] = [];
  out.push(
    table(
      [
        'Releases',
        'trial',
        'objects',
        'floor in flight',
        'floor s',
        'watched floor s',
        'controller s',
        'ratio',
        'ratio to watched floor',
        'reconciles/Release run',
        'deferred/Release',
        'errors/Release',
      ],
      results.map((r) => [
        String(r.releases),
        String(r.trial + 1),
        String(r.objects),
        String(r.floorInFlight),
        r.floorSeconds.toFixed(2),
        r.watchedFloorSeconds.toFixed(2),
        r.controllerSeconds.toFixed(2),
        r.ratio.toFixed(2),
        r.watchedRatio.toFixed(2),
        (
          (r.reconcileOutcomes['success'] ?? 0) +
          (r.reconcileOutcomes['requeue_after'] ?? 0) +
          (r.reconcileOutcomes['error'] ?? 0)
        ).toFixed(2),
        (r.reconcileOutcomes['requeue'] ?? 0).toFixed(2),
        (r.reconcileOutcomes['error'] ?? 0).toFixed(2),
      ]),
    ),
  );
  for (const n of [...new Set(results.map((r) => r.releases))]) {
    const trials = results.filter((r) => r.releases === n);
    if (trials.length < 2) continue;
    out.push(
      '',
      `Median of ${trials.length} trials at ${n} Releases: floor ${median(trials.map((r) => r.floorSeconds)).toFixed(2)} s, ` +
        `watched floor ${median(trials.map((r) => r.watchedFloorSeconds)).toFixed(2)} s, ` +
        `controller ${median(trials.map((r) => r.controllerSeconds)).toFixed(2)} s; ` +
        `ratio ${median(trials.map((r) => r.ratio)).toFixed(2)}, to the watched floor ${median(trials.map((r) => r.watchedRatio)).toFixed(2)} ` +
        `(medians of each trial's ratios).`,
    );
  }
  for (const r of results) {
    const roles = [...new Set(Object.values(r.cpuByRole).flatMap((cpu) => Object.keys(cpu)))].sort();
    out.push(
      '',
      `CPU seconds by process group at ${r.releases} Releases (trial ${r.trial + 1}), while the floor, the watched floor and the controller ran:`,
      '',
      table(
        ['process group', 'floor', 'watched floor', 'controller'],
        roles.map((role) => [
          role,
          (r.cpuByRole.floor[role] ?? 0).toFixed(1),
          (r.cpuByRole.watchedFloor[role] ?? 0).toFixed(1),
          (r.cpuByRole.controller[role] ?? 0).toFixed(1),
        ]),
      ),
    );
    const keys = [...new Set(Object.values(r.phases).flatMap((p) => Object.keys(p)))].sort();
    out.push(
      '',
      `Requests per Release at ${r.releases} Releases (trial ${r.trial + 1}; apiserver_request_total of both API servers; steady window ${r.steadySeconds} s):`,
      '',
    );
    out.push(
      table(
        ['plane verb resource', ...PHASES],
        keys.map((k) => [k, ...PHASES.map((p) => (r.phases[p][k] ?? 0).toFixed(2))]),
      ),
    );
  }
  return out.join('\n');
}
