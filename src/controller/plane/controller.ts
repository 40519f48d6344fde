/**
 * The plane status controller: the status of every DataPlane, ClusterDataPlane and Environment
 * (status.ts), from the Release controller's control-plane caches and its connection pool
 * (check.ts), written only when it changes. It runs beside the Release controller on the same
 * caches, with one worker: a key is `DataPlane/NAMESPACE/NAME`, `ClusterDataPlane/NAME` or
 * `Environment/NAMESPACE/NAME`. With shards, shard 0 writes (each shard sees every plane).
 */
import type { Logger } from 'pino';
import {
  API_VERSION,
  PlaneConditionTypes,
  PlaneEventReasons,
  PlaneReasons,
  STATUS_FIELD_MANAGER,
} from '../../api/v1alpha1/constants.ts';
import type { Condition, DataPlane, Environment, Release } from '../../api/v1alpha1/schema.ts';
import { isKubeApiError, type KubeClient } from '../../kube/client.ts';
import type { Informer } from '../../kube/informer.ts';
import { Controller, type ReconcileResult } from '../../runtime/controller.ts';
import type { EventRecorder } from '../../runtime/events.ts';
import type { RuntimeMetrics } from '../../runtime/metrics.ts';
import { placementsOf } from '../release/placement.ts';
import { dependenciesOf, type ProtectionLookup } from '../release/protection.ts';
import {
  CLUSTER_REF_PREFIX,
  currentRef,
  declaredRef,
  DEFAULT_PLANE,
  planeOfKey,
  PlaneKinds,
  refString,
  type DataPlaneResolver,
} from '../release/resolve.ts';
import { PlaneChecker, type Checked } from './check.ts';
import {
  environmentStatus,
  environmentUsers,
  needsWrite,
  planeStatus,
  planeUsers,
  type PlaneId,
} from './status.ts';

/** PLANE_STATUS_CONTROLLER names the controller in metrics and logs. */
export const PLANE_STATUS_CONTROLLER = 'plane-status';
/** ENVIRONMENT_KIND is the kind part of an Environment's key. */
const ENVIRONMENT_KIND = 'Environment';
/** REQUEUE_JITTER spreads the periodic checks of many planes, as the Release controller's requeues. */
const REQUEUE_JITTER = 0.2;
/** CONFLICT_RETRY_MS is the wait before a status that lost a race to another write is computed again. */
const CONFLICT_RETRY_MS = 500;
/** WRITE_TIMEOUT_MS bounds one status write on the control plane. */
const WRITE_TIMEOUT_MS = 30_000;
/**
 * USAGE_SETTLE_MS is how long a change of which Releases use a plane or an Environment waits
 * before they are counted again: every change within it is counted by the same reconcile.
 */
export const USAGE_SETTLE_MS = 1_000;

/**
 * Indexes of the shared caches (Informer.addIndex) that let a plane or an Environment find the
 * Releases that may use it without scanning every Release: a scan per status reconcile made the
 * first apply of 3,000 Releases spend a third of the controller's CPU here (each new Release
 * reconciles its plane and its Environment). Each index gives candidates; the pure rules of
 * status.ts still decide who counts.
 */
const IndexNames = {
  /** releaseEnvironment: a Release by `NAMESPACE/ENVIRONMENT`. */
  releaseEnvironment: 'plane-status/environment',
  /** releasePlacement: a Release by each plane it may have objects on (planeIndexValue). */
  releasePlacement: 'plane-status/placement',
  /** environmentPlane: an Environment by each plane it may resolve to (planeIndexValue). */
  environmentPlane: 'plane-status/plane',
} as const;

/**
 * planeIndexValue names a plane in the indexes: `NAMESPACE/NAME` for a DataPlane, the reference
 * (`ClusterDataPlane/NAME`) for a cluster-scoped plane, shared by every namespace.
 */
function planeIndexValue(namespace: string, ref: string): string {
  return ref.startsWith(CLUSTER_REF_PREFIX) ? ref : `${namespace}/${ref}`;
}

/** planesOfEnvironment are the planes an Environment may resolve to: what it names, else either default. */
function planesOfEnvironment(env: Environment): string[] {
  const ns = env.metadata.namespace ?? '';
  const declared = declaredRef(env);
  if (declared === undefined)
    return [
      planeIndexValue(ns, DEFAULT_PLANE),
      planeIndexValue(ns, refString({ kind: PlaneKinds.clusterDataPlane, name: DEFAULT_PLANE })),
    ];
  return 'invalid' in declared ? [] : [planeIndexValue(ns, refString(declared))];
}

/** PlaneStatusControllerOptions configures a PlaneStatusController. */
export interface PlaneStatusControllerOptions {
  client: KubeClient;
  logger: Logger;
  events: EventRecorder;
  metrics: RuntimeMetrics;
  /**
   * The Release controller's caches (setup.ts); this controller adds handlers, never starts them.
   * releases holds one cache per served kind (Release, RenderedRelease): both count as users.
   */
  releases: Informer<Release>[];
  environments: Informer<Environment>;
  dataPlanes: Informer<DataPlane>;
  clusterDataPlanes: Informer<DataPlane>;
  /** resolver connects to a plane as a Release of its namespace would (same grant, same pool). */
  resolver: DataPlaneResolver;
  /**
   * singleTenant: a ClusterDataPlane may be checked without a Release. Otherwise it is reported
   * only from a connection a Release made, never connected to on an organization's behalf.
   */
  singleTenant: boolean;
  /** timeoutMs bounds one check of a cluster (--dataplane-timeout). */
  timeoutMs: number;
  random?: () => number;
}

/** PlaneStatusController writes the status of planes and Environments. */
export class PlaneStatusController {
  readonly controller: Controller<string>;
  private readonly checker: PlaneChecker;
  /**
   * written is our last write per key, with the resourceVersion it replaced: until the cache moves
   * past that version, the written status is the one to compare with (no second write).
   */
  private readonly written = new Map<string, { replaced: string; status: Record<string, unknown> }>();

  constructor(private readonly options: PlaneStatusControllerOptions) {
    this.checker = new PlaneChecker({ timeoutMs: options.timeoutMs });
    this.controller = new Controller<string>({
      name: PLANE_STATUS_CONTROLLER,
      reconcile: (key, signal) => this.reconcile(key, signal),
      logger: options.logger,
      concurrency: 1,
      metrics: options.metrics.controller(PLANE_STATUS_CONTROLLER),
      queueMetrics: options.metrics.workQueue(PLANE_STATUS_CONTROLLER),
    });
    this.index();
    this.wire();
  }

  /** index adds the caches' indexes this controller reads by (IndexNames). */
  private index(): void {
    for (const cache of this.options.releases) {
      cache.addIndex(IndexNames.releaseEnvironment, (r) => [
        `${r.metadata.namespace ?? ''}/${r.spec.environmentName}`,
      ]);
      cache.addIndex(IndexNames.releasePlacement, (r) =>
        placementsOf(r).map((p) => planeIndexValue(r.metadata.namespace ?? '', p.dataPlane)),
      );
    }
    this.options.environments.addIndex(IndexNames.environmentPlane, planesOfEnvironment);
  }

  /** releasesOf are the Releases of every served kind that name an Environment. */
  private releasesOf(namespace: string, environment: string): Release[] {
    return this.options.releases.flatMap((cache) =>
      cache.byIndex(IndexNames.releaseEnvironment, `${namespace}/${environment}`),
    );
  }

  /**
   * mayUse are the Releases that may use a plane (`planeIndexValue`): those with objects on it, and
   * those of every Environment that may resolve to it. planeUsers decides which do.
   */
  private mayUse(plane: string): Release[] {
    const found = new Set<Release>();
    for (const cache of this.options.releases)
      for (const r of cache.byIndex(IndexNames.releasePlacement, plane)) found.add(r);
    for (const env of this.options.environments.byIndex(IndexNames.environmentPlane, plane))
      for (const r of this.releasesOf(env.metadata.namespace ?? '', env.metadata.name ?? '')) found.add(r);
    return [...found];
  }

  /**
   * watchesChanged enqueues the plane of a pool key (dataplane/transport.ts planeKey) whose watches
   * broke or recovered: its Ready condition says WatchBroken while one is broken.
   */
  watchesChanged(planeKey: string): void {
    const { ref, namespace } = planeOfKey(planeKey);
    if (ref.kind === PlaneKinds.dataPlane)
      this.controller.queue.add(`${PlaneKinds.dataPlane}/${namespace ?? ''}/${ref.name}`);
    else if (ref.kind === PlaneKinds.clusterDataPlane) this.controller.queue.add(refString(ref));
  }

  /** start waits for the caches (the Release controller starts them), then starts the worker. */
  async start(signal: AbortSignal): Promise<void> {
    const { releases, environments, dataPlanes, clusterDataPlanes } = this.options;
    await Promise.all(
      [...releases, environments, dataPlanes, clusterDataPlanes].map((i) => i.waitForSync(signal)),
    );
    this.controller.start();
  }

  /** stop lets a running reconcile finish within graceMs. */
  stop(graceMs: number): Promise<void> {
    return this.controller.stop(graceMs);
  }

  private get lookup(): ProtectionLookup & { clusterDataPlane(name: string): DataPlane | undefined } {
    const { environments, dataPlanes, clusterDataPlanes } = this.options;
    return {
      environment: (ns, name) => environments.get(ns, name),
      dataPlane: (ns, name) => dataPlanes.get(ns, name),
      clusterDataPlane: (name) => clusterDataPlanes.get(undefined, name),
    };
  }

  private wire(): void {
    const { releases, environments, dataPlanes, clusterDataPlanes } = this.options;
    dataPlanes.addHandler((type, dp, old) => {
      const ns = dp.metadata.namespace ?? '';
      this.onObject(type, dp, old, `${PlaneKinds.dataPlane}/${ns}/${dp.metadata.name}`);
      // Its Environments read its Ready condition, and whether it exists (the default fallback).
      this.enqueueEnvironments(ns);
    });
    clusterDataPlanes.addHandler((type, dp, old) => {
      this.onObject(type, dp, old, `${PlaneKinds.clusterDataPlane}/${dp.metadata.name}`);
      this.enqueueEnvironments(undefined);
    });
    environments.addHandler((type, env, old) => {
      const ns = env.metadata.namespace ?? '';
      this.onObject(type, env, old, `${ENVIRONMENT_KIND}/${ns}/${env.metadata.name}`);
      // Which plane its Releases use may have changed: both planes count again.
      if (type === 'updated' && old && JSON.stringify(old.spec) === JSON.stringify(env.spec)) return;
      for (const e of old && type === 'updated' ? [old, env] : [env]) {
        const ref = currentRef(e, this.lookup);
        if (ref) this.enqueuePlane(ns, refString(ref));
      }
    });
    for (const cache of releases) {
      cache.addHandler((type, release, old) => {
        if (type === 'updated' && old && !usageChanged(old, release)) return;
        for (const r of old && type === 'updated' ? [old, release] : [release]) this.enqueueUsed(r);
      });
    }
  }

  /** onObject enqueues a plane or Environment, unless only its status changed (our own write). */
  private onObject(
    type: string,
    obj: DataPlane | Environment,
    old: DataPlane | Environment | undefined,
    key: string,
  ): void {
    if (type === 'deleted') {
      this.checker.forget(key);
      this.written.delete(key);
      return;
    }
    if (type === 'updated' && old && !specOrMetaChanged(old, obj)) return;
    this.controller.queue.add(key);
  }

  private enqueueEnvironments(namespace: string | undefined): void {
    for (const env of this.options.environments.list())
      if (namespace === undefined || env.metadata.namespace === namespace)
        this.controller.queue.add(`${ENVIRONMENT_KIND}/${env.metadata.namespace}/${env.metadata.name}`);
  }

  /** enqueuePlane enqueues a plane by its reference as status.appliedTo writes it. */
  private enqueuePlane(namespace: string, ref: string): void {
    this.controller.queue.add(
      ref.startsWith(CLUSTER_REF_PREFIX) ? ref : `${PlaneKinds.dataPlane}/${namespace}/${ref}`,
    );
  }

  /**
   * enqueueUsed enqueues the Environment and every plane a Release uses, to count it again, after
   * USAGE_SETTLE_MS: a count is a walk over the plane's Releases, and one per Release created
   * while thousands arrive at once made the first apply quadratic.
   */
  private enqueueUsed(release: Release): void {
    const ns = release.metadata.namespace ?? '';
    const count = (key: string) => this.controller.queue.addAfter(key, USAGE_SETTLE_MS);
    count(`${ENVIRONMENT_KIND}/${ns}/${release.spec.environmentName}`);
    for (const key of dependenciesOf(release, this.lookup))
      if (key.startsWith(`${PlaneKinds.dataPlane}/`))
        count(`${PlaneKinds.dataPlane}/${ns}/${key.slice(PlaneKinds.dataPlane.length + 1)}`);
    const env = this.lookup.environment(ns, release.spec.environmentName);
    const ref = env && currentRef(env, this.lookup);
    if (ref?.kind === PlaneKinds.clusterDataPlane) count(refString(ref));
    for (const p of placementsOf(release)) if (p.dataPlane.startsWith(CLUSTER_REF_PREFIX)) count(p.dataPlane);
  }

  /** reconcile brings one key's status up to date. */
  async reconcile(key: string, signal: AbortSignal): Promise<ReconcileResult | undefined> {
    const parts = key.split('/');
    if (parts[0] === ENVIRONMENT_KIND)
      return this.reconcileEnvironment(parts[1] ?? '', parts.slice(2).join('/'), signal);
    const id: PlaneId =
      parts[0] === PlaneKinds.clusterDataPlane
        ? { kind: PlaneKinds.clusterDataPlane, name: parts.slice(1).join('/') }
        : { kind: PlaneKinds.dataPlane, namespace: parts[1] ?? '', name: parts.slice(2).join('/') };
    return this.reconcilePlane(key, id, signal);
  }

  private async reconcilePlane(key: string, id: PlaneId, signal: AbortSignal): Promise<ReconcileResult> {
    const cluster = id.kind === PlaneKinds.clusterDataPlane;
    const cached = cluster
      ? this.options.clusterDataPlanes.get(undefined, id.name)
      : this.options.dataPlanes.get(id.namespace, id.name);
    if (!cached) {
      this.checker.forget(key);
      return {};
    }
    const plane = this.current(key, cached);
    const checked = await this.checkPlane(key, id, plane, signal);
    const ref = cluster ? `${CLUSTER_REF_PREFIX}${id.name}` : id.name;
    const users = planeUsers(id, this.mayUse(planeIndexValue(id.namespace ?? '', ref)), this.lookup);
    const now = new Date();
    const status = planeStatus({
      id,
      plane,
      check: checked?.check,
      checkedAt: checked?.at,
      users,
      now,
    });
    if (await this.write(key, plane, status, cluster ? 'clusterdataplanes' : 'dataplanes', now, signal))
      return { requeueAfterMs: CONFLICT_RETRY_MS };
    const jitter = 1 + REQUEUE_JITTER * (this.options.random ?? Math.random)();
    return { requeueAfterMs: Math.round(this.checker.nextCheckInMs(key) * jitter) };
  }

  /**
   * checkPlane checks a plane through the connection its Releases use. A ClusterDataPlane outside
   * single-tenant mode is checked only through a connection a Release already made: the controller
   * would otherwise connect to it with no organization's grant.
   */
  private async checkPlane(
    key: string,
    id: PlaneId,
    plane: DataPlane,
    signal: AbortSignal,
  ): Promise<Checked | undefined> {
    const tunnelled = !!plane.spec.kubernetesCluster?.tunnel;
    const { resolver } = this.options;
    if (id.kind === PlaneKinds.clusterDataPlane) {
      const ref = `${CLUSTER_REF_PREFIX}${id.name}`;
      if (!this.options.singleTenant) {
        const port = resolver.get(ref);
        if (!port) {
          this.checker.forget(key);
          return undefined;
        }
        return this.checker.check(key, () => Promise.resolve({ dataPlane: port }), tunnelled, signal);
      }
      return this.checker.check(key, () => resolver.dataPlane('', ref), tunnelled, signal);
    }
    return this.checker.check(key, () => resolver.dataPlane(id.namespace ?? '', id.name), tunnelled, signal);
  }

  private async reconcileEnvironment(
    namespace: string,
    name: string,
    signal: AbortSignal,
  ): Promise<ReconcileResult> {
    const key = `${ENVIRONMENT_KIND}/${namespace}/${name}`;
    const cached = this.options.environments.get(namespace, name);
    if (!cached) return {};
    const environment = this.current(key, cached);
    const now = new Date();
    const status = environmentStatus({
      environment,
      planes: this.lookup,
      users: environmentUsers(environment, this.releasesOf(namespace, name)),
      now,
    });
    return (await this.write(key, environment, status, 'environments', now, signal))
      ? { requeueAfterMs: CONFLICT_RETRY_MS }
      : {};
  }

  /** current is the cached object, with our last write's status when the cache has not caught up. */
  private current<T extends DataPlane | Environment>(key: string, cached: T): T {
    const written = this.written.get(key);
    if (!written) return cached;
    if (written.replaced !== cached.metadata.resourceVersion) {
      this.written.delete(key);
      return cached;
    }
    return { ...cached, status: written.status };
  }

  /**
   * write sends the status when it changed (a merge patch of /status, fenced by the
   * resourceVersion it was computed from), and tells by Events what changed for people. True
   * when the object changed meanwhile and the status must be computed again.
   */
  private async write(
    key: string,
    obj: DataPlane | Environment,
    status: Record<string, unknown> & { conditions?: Condition[]; lastCheckedTime?: string },
    plural: string,
    now: Date,
    signal: AbortSignal,
  ): Promise<boolean> {
    const previous = (obj.status ?? {}) as Record<string, unknown> & {
      conditions?: Condition[];
      lastCheckedTime?: string;
    };
    if (!needsWrite(previous, status, now)) return false;
    const { namespace, name, resourceVersion } = obj.metadata;
    const patch: Record<string, unknown> = { ...status };
    for (const field of Object.keys(previous)) if (!(field in status)) patch[field] = null;
    const path = `/apis/${API_VERSION}/${namespace ? `namespaces/${encodeURIComponent(namespace)}/` : ''}${plural}/${encodeURIComponent(name)}/status`;
    const what = `${obj.kind}/${namespace ? `${namespace}/` : ''}${name}`;
    try {
      await this.options.client.request({
        method: 'PATCH',
        path,
        query: { fieldManager: STATUS_FIELD_MANAGER },
        body: { metadata: { resourceVersion }, status: patch },
        contentType: 'application/merge-patch+json',
        signal: AbortSignal.any([signal, AbortSignal.timeout(WRITE_TIMEOUT_MS)]),
      });
    } catch (cause) {
      // Deleted meanwhile: nothing to say any more.
      if (isKubeApiError(cause) && cause.isNotFound) return false;
      // Changed meanwhile (the in-use finalizer, a spec edit): computed again from the cache.
      if (isKubeApiError(cause) && cause.isConflict) {
        this.options.logger.debug({ object: what }, 'status write lost a race; trying again');
        return true;
      }
      throw new Error(`writing the status of ${what} failed`, { cause });
    }
    if (resourceVersion) this.written.set(key, { replaced: resourceVersion, status });
    this.tell(obj, previous.conditions, status.conditions ?? []);
    return false;
  }

  /** tell emits an Event for each change of Ready, and while being deleted, for each change of what it waits for. */
  private tell(obj: DataPlane | Environment, before: Condition[] | undefined, after: Condition[]): void {
    const find = (list: Condition[] | undefined, type: string) => list?.find((c) => c.type === type);
    const regarding = {
      apiVersion: API_VERSION,
      kind: obj.kind,
      name: obj.metadata.name,
      ...(obj.metadata.namespace && { namespace: obj.metadata.namespace }),
      ...(obj.metadata.uid && { uid: obj.metadata.uid }),
    };
    const ready = find(after, PlaneConditionTypes.ready);
    const wasReady = find(before, PlaneConditionTypes.ready);
    if (
      ready &&
      ready.status !== 'Unknown' &&
      (ready.status !== wasReady?.status || ready.reason !== wasReady.reason)
    )
      this.options.events.event(
        regarding,
        ready.status === 'True' ? 'Normal' : 'Warning',
        ready.reason,
        ready.message,
      );
    const terminating = find(after, PlaneConditionTypes.terminating);
    const wasTerminating = find(before, PlaneConditionTypes.terminating);
    if (
      terminating?.reason === PlaneReasons.inUseByReleases &&
      terminating.message !== wasTerminating?.message
    ) {
      this.options.events.event(regarding, 'Warning', PlaneEventReasons.deletionWaiting, terminating.message);
      this.options.logger.info(
        { object: `${obj.kind}/${obj.metadata.namespace ?? ''}/${obj.metadata.name}` },
        terminating.message,
      );
    }
  }
}

/** usageChanged tells whether a Release's change may change which planes and Environment it uses. */
function usageChanged(old: Release, now: Release): boolean {
  return (
    old.spec.environmentName !== now.spec.environmentName ||
    old.metadata.deletionTimestamp !== now.metadata.deletionTimestamp ||
    JSON.stringify(placementsOf(old).map((p) => p.dataPlane)) !==
      JSON.stringify(placementsOf(now).map((p) => p.dataPlane))
  );
}

function specOrMetaChanged(old: DataPlane | Environment, now: DataPlane | Environment): boolean {
  return (
    old.metadata.generation !== now.metadata.generation ||
    old.metadata.deletionTimestamp !== now.metadata.deletionTimestamp ||
    old.metadata.uid !== now.metadata.uid ||
    JSON.stringify(old.spec) !== JSON.stringify(now.spec)
  );
}
