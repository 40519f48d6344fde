/**
 * Setup wires the Release controller: control-plane informers (Release, Environment, DataPlane and
 * the kubeconfig Secrets DataPlanes name), the data-plane watches, and which event enqueues which
 * Release. Only Releases of this controller's shard are enqueued, and a data-plane event only wakes
 * a Release bound to that data plane (placement.ts isBoundTo).
 */
import type { Logger } from 'pino';
import { withoutManagedFields, type KubeObject } from '../../api/object.ts';
import { API_VERSION, Reasons } from '../../api/v1alpha1/constants.ts';
import type { DataPlane, Environment, Release } from '../../api/v1alpha1/schema.ts';
import type { ClientLimits, KubeClient } from '../../kube/client.ts';
import type { SecretLike } from '../../dataplane/credentials.ts';
import { DataPlanePool } from '../../dataplane/pool.ts';
import { kindKey } from '../../dataplane/watches.ts';
import type { EndpointPolicy } from '../../dataplane/endpoint.ts';
import type { TunnelProxySettings } from '../../dataplane/tunnel.ts';
import { Controller } from '../../runtime/controller.ts';
import { defaultLimitPerKey, KeyedLimiter } from '../../runtime/limiter.ts';
import type { EventRecorder } from '../../runtime/events.ts';
import { KeyedThrottle } from '../../runtime/throttle.ts';
import { Informer, type ListBudget } from '../../kube/informer.ts';
import type { RuntimeMetrics } from '../../runtime/metrics.ts';
import { slimRelease } from './budget.ts';
import { ProtectionWriter, ReleaseWriter } from './controlplane.ts';
import { releaseKeyOfObject } from './desired.ts';
import { ReleaseMetrics } from './metrics.ts';
import { isBoundTo } from './placement.ts';
import { dependenciesOf, reconcileProtection, type ProtectionLookup } from './protection.ts';
import { ReleaseReconciler } from './reconciler.ts';
import { dataPlaneResolver, type ControlPlaneReader } from './resolve.ts';
import { inShard, shardOf, type Shard } from './shard.ts';

/** RELEASE_CONTROLLER names the controller in metrics and logs. */
export const RELEASE_CONTROLLER = 'release';
/** PROTECTION_CONTROLLER keeps the in-use finalizers of a namespace (protection.ts). */
export const PROTECTION_CONTROLLER = 'in-use-protection';
/**
 * HEALTH_WAKE_INTERVAL_MS is the least time between two waves of reconciles a data plane's watch
 * health causes (a watch that breaks and reconnects in a loop drove 479 reconciles/s).
 */
export const HEALTH_WAKE_INTERVAL_MS = 5_000;

/** ReleaseControllerOptions configures the Release controller. */
export interface ReleaseControllerOptions {
  client: KubeClient;
  logger: Logger;
  metrics: RuntimeMetrics;
  events: EventRecorder;
  concurrency: number;
  /**
   * maxConcurrentPerDataPlane caps the reconciles running against one DataPlane at once; half the
   * workers, rounded up, when absent.
   */
  maxConcurrentPerDataPlane?: number;
  shard: Shard;
  dataPlaneTimeoutMs: number;
  /** endpoints is the operator's policy of where DataPlane servers may point (flags). */
  endpoints?: EndpointPolicy;
  /** tunnelProxy is the apiserver-network-proxy server for tunnelled DataPlanes (flags). */
  tunnelProxy?: TunnelProxySettings;
  /** dataPlaneLimits bound what each data plane may send (bodies, watch lines, silent watches). */
  dataPlaneLimits?: Partial<ClientLimits>;
  /** dataPlaneListBudget bounds each list of a data plane (pages, bytes, time). */
  dataPlaneListBudget?: ListBudget;
  /** watchHttp2 carries each data plane's watches over one HTTP/2 connection (default true). */
  watchHttp2?: boolean;
}

/** ReleaseController is the running Release controller. */
export class ReleaseController {
  readonly releases: Informer<Release>;
  /** writer writes Release status and finalizers, and remembers its writes until the cache has them. */
  private readonly writer: ReleaseWriter;
  readonly environments: Informer<Environment>;
  readonly dataPlanes: Informer<DataPlane>;
  readonly pool: DataPlanePool;
  readonly reconciler: ReleaseReconciler;
  readonly controller: Controller<string>;
  /** protection reconciles the in-use finalizers of one namespace per key. */
  readonly protection: Controller<string>;
  readonly releaseMetrics: ReleaseMetrics;
  /** slots caps the reconciles per DataPlane; a Release over the cap waits outside the workers. */
  readonly slots: KeyedLimiter;
  private readonly secrets = new Map<string, Informer<KubeObject & SecretLike>>();
  private readonly logger: Logger;
  /** healthChanges wakes a data plane's Releases when one of its watches breaks or recovers, throttled. */
  private readonly healthChanges = new KeyedThrottle<boolean>(HEALTH_WAKE_INTERVAL_MS, (dp, healthy) => {
    const connection = this.pool.get(dp);
    if (healthy || connection?.isComplete()) {
      this.logger.info({ dataPlane: dp }, 'data-plane watches connected');
    } else {
      // What Releases then say: PruneDeferred when everything else answers (nothing is pruned),
      // DataPlaneUnreachable when their own requests get no answer either.
      const broken = connection?.brokenWatches() ?? [];
      this.logger.warn(
        { dataPlane: dp, kinds: broken.map((w) => kindKey(w.info)), errors: broken.map((w) => w.error) },
        `data-plane watch broken: nothing is pruned or cleaned up on the data plane until it recovers; its Releases are not Ready (${Reasons.pruneDeferred}, or ${Reasons.dataPlaneUnreachable} when the data plane does not answer)`,
      );
    }
    const [ns = '', name = ''] = dp.split('/');
    this.enqueueForDataPlane(ns, name);
  });

  constructor(private readonly options: ReleaseControllerOptions) {
    const { client, logger } = options;
    this.logger = logger;
    this.releaseMetrics = new ReleaseMetrics(options.metrics.registry);
    client.setObserver(this.releaseMetrics.requestObserver('control-plane'));
    // managedFields are about 40% of a Release and nothing here reads them (a Release's are
    // measured first: they count against its size limit, budget.ts).
    const informer = <T extends KubeObject>(plural: string, transform: (obj: KubeObject) => T) =>
      new Informer<T>({
        client,
        path: `/apis/${API_VERSION}/${plural}`,
        name: `control-plane/${plural}`,
        logger,
        transform,
      });
    this.releases = informer<Release>('releases', slimRelease);
    this.writer = new ReleaseWriter(client);
    this.environments = informer<Environment>('environments', withoutManagedFields<Environment>);
    this.dataPlanes = informer<DataPlane>('dataplanes', withoutManagedFields<DataPlane>);

    this.pool = new DataPlanePool({
      logger,
      requestTimeoutMs: options.dataPlaneTimeoutMs,
      ...(options.endpoints ? { endpoints: options.endpoints } : {}),
      ...(options.tunnelProxy ? { tunnel: options.tunnelProxy } : {}),
      limits: options.dataPlaneLimits,
      listBudget: options.dataPlaneListBudget,
      ...(options.watchHttp2 === false ? { http2: false } : {}),
      observer: (dp) => this.releaseMetrics.requestObserver(dp),
      // Only a Release bound to the data plane the event came from: its labels can be forged.
      onEvent: (dp, type, obj) => {
        // The echo of our own apply: the Release that applied it already knows.
        if (this.reconciler.seen(dp, type, obj)) return;
        const owner = releaseKeyOfObject(obj);
        const release = owner && this.releases.get(owner.namespace, owner.name);
        if (!owner || !release) return;
        const current = this.environments.get(owner.namespace, release.spec.environmentName)?.spec
          .dataPlaneRef;
        if (isBoundTo(release, owner.uid, dp, current)) this.enqueue(owner.namespace, owner.name);
      },
      // Users are the keys of the Releases that asked to observe the object, not read from it.
      onObserved: (_dp, users) => {
        for (const user of users) {
          const [ns = '', name = ''] = user.split('/');
          this.enqueue(ns, name);
        }
      },
      // A broken or recovered watch changes what every Release on that data plane can report.
      // A watch that connects and breaks at once (a data plane answering lists, not watches) would
      // wake every Release of the data plane at that rate: at most one wave per interval.
      onHealthChange: (dp, healthy) => this.healthChanges.call(dp, healthy),
      // A DataPlane deleted while a reconcile connected to it gets no connection nobody would close.
      isCurrent: (dp) =>
        this.dataPlanes.get(dp.metadata.namespace, dp.metadata.name)?.metadata.uid === dp.metadata.uid,
    });
    // A Release over its data plane's share waits outside the workers and is woken when a slot frees.
    this.slots = new KeyedLimiter({
      limit: options.maxConcurrentPerDataPlane ?? defaultLimitPerKey(options.concurrency),
      onAvailable: (key) => this.controller.queue.add(key),
    });
    this.releaseMetrics.usedBy({ watches: () => this.pool.watches(), reconciles: () => this.slots.inUse() });
    const reader: ControlPlaneReader = {
      environment: (ns, name) => this.environments.get(ns, name),
      dataPlane: (ns, name) => this.dataPlanes.get(ns, name),
      secret: (ns, name) => this.secret(ns, name),
    };
    this.reconciler = new ReleaseReconciler({
      releases: this.releases,
      resolver: dataPlaneResolver(
        reader,
        (dp, secret) => this.pool.connect(dp, secret),
        (key) => this.pool.get(key),
      ),
      writer: this.writer,
      events: {
        emit: (release, type, reason, message) =>
          options.events.event(
            {
              apiVersion: API_VERSION,
              kind: 'Release',
              name: release.metadata.name,
              namespace: release.metadata.namespace,
              uid: release.metadata.uid,
            },
            type,
            reason,
            message,
          ),
      },
      observer: this.releaseMetrics,
      slots: this.slots,
      logger,
    });
    this.controller = new Controller<string>({
      name: RELEASE_CONTROLLER,
      reconcile: (key, signal) => this.reconciler.reconcile(key, signal),
      logger,
      concurrency: options.concurrency,
      metrics: options.metrics.controller(RELEASE_CONTROLLER),
      queueMetrics: options.metrics.workQueue(RELEASE_CONTROLLER),
    });
    const lookup: ProtectionLookup = {
      environment: (ns, name) => this.environments.get(ns, name),
      dataPlane: (ns, name) => this.dataPlanes.get(ns, name),
    };
    const protectionStore = new ProtectionWriter(client);
    this.protection = new Controller<string>({
      name: PROTECTION_CONTROLLER,
      reconcile: async (namespace, signal) => {
        const changes = await reconcileProtection({
          namespace,
          releases: this.releases.list(),
          environments: this.environments.list(),
          dataPlanes: this.dataPlanes.list(),
          lookup,
          store: protectionStore,
          signal,
        });
        for (const c of changes) {
          logger.info(
            { namespace, kind: c.kind, name: c.object.metadata.name },
            c.protect
              ? 'in use by Releases: added the in-use finalizer'
              : 'no Release uses it any more: removed the in-use finalizer',
          );
        }
      },
      logger,
      concurrency: 1,
      metrics: options.metrics.controller(PROTECTION_CONTROLLER),
      queueMetrics: options.metrics.workQueue(PROTECTION_CONTROLLER),
    });
    this.wire();
  }

  /** start lists and watches the control plane, then starts the workers. */
  async start(signal: AbortSignal): Promise<void> {
    for (const i of [this.releases, this.environments, this.dataPlanes]) i.start();
    await Promise.all([this.releases, this.environments, this.dataPlanes].map((i) => i.waitForSync(signal)));
    this.logger.info(
      {
        releases: this.releases.size,
        environments: this.environments.size,
        dataPlanes: this.dataPlanes.size,
      },
      'control-plane caches synced; starting workers',
    );
    this.controller.start();
    this.protection.start();
  }

  /** synced tells whether the control-plane caches have their first list (readiness). */
  synced(): boolean {
    return this.releases.hasSynced() && this.environments.hasSynced() && this.dataPlanes.hasSynced();
  }

  /** stop stops the workers (letting running reconciles finish within graceMs), then every watch. */
  async stop(graceMs: number): Promise<void> {
    await Promise.all([this.controller.stop(graceMs), this.protection.stop(graceMs)]);
    this.healthChanges.stop();
    await Promise.all([
      this.releases.stop(),
      this.environments.stop(),
      this.dataPlanes.stop(),
      ...[...this.secrets.values()].map((s) => s.stop()),
      this.pool.close(),
    ]);
  }

  private wire(): void {
    const lookup = {
      environment: this.environments.get.bind(this.environments),
      dataPlane: this.dataPlanes.get.bind(this.dataPlanes),
    };
    this.releases.addHandler((type, release, old) => {
      this.writer.seen(release);
      const ns = release.metadata.namespace ?? '';
      if (type !== 'updated' || !old || depsChanged(old, release, lookup)) this.protect(ns);
      // Our own status writes change only status: they need no reconcile.
      if (type === 'updated' && old && !specOrMetaChanged(old, release)) return;
      this.enqueue(ns, release.metadata.name);
    });
    // Our own in-use finalizer on an Environment or DataPlane changes nothing a Release reads.
    this.environments.addHandler((type, env, old) => {
      const ns = env.metadata.namespace ?? '';
      this.protect(ns);
      if (type === 'updated' && old && !specOrDeletionChanged(old, env)) return;
      this.enqueueForEnvironment(ns, env.metadata.name);
    });
    this.dataPlanes.addHandler((type, dp, old) => {
      const ns = dp.metadata.namespace ?? '';
      this.protect(ns);
      if (type === 'deleted') this.forgetDataPlane(`${ns}/${dp.metadata.name}`);
      this.retainSecrets();
      if (type === 'updated' && old && !specOrDeletionChanged(old, dp)) return;
      this.enqueueForDataPlane(ns, dp.metadata.name);
    });
  }

  /** forgetDataPlane closes a deleted DataPlane's connection and watches, then removes its metric series. */
  private forgetDataPlane(key: string): void {
    void this.pool
      .forget(key)
      .catch((err: unknown) =>
        this.logger.warn({ dataPlane: key, err }, 'closing the data-plane connection failed'),
      )
      .finally(() => this.releaseMetrics.forgetDataPlane(key));
    this.healthChanges.forget(key);
  }

  /** protect reconciles the in-use finalizers of a namespace, in the one shard that owns it. */
  private protect(namespace: string): void {
    if (shardOf(namespace, '', this.options.shard.count) === this.options.shard.index)
      this.protection.queue.add(namespace);
  }

  private enqueue(namespace: string, name: string): void {
    if (inShard(this.options.shard, namespace, name)) this.controller.queue.add(`${namespace}/${name}`);
  }

  private enqueueForEnvironment(namespace: string, environment: string): void {
    for (const r of this.releases.list()) {
      if (r.metadata.namespace === namespace && r.spec.environmentName === environment)
        this.enqueue(namespace, r.metadata.name);
    }
  }

  private enqueueForDataPlane(namespace: string, dataPlane: string): void {
    for (const env of this.environments.list()) {
      if (env.metadata.namespace === namespace && env.spec.dataPlaneRef === dataPlane) {
        this.enqueueForEnvironment(namespace, env.metadata.name);
      }
    }
  }

  /**
   * secret returns a kubeconfig Secret from a watch on that one Secret (field-selected), so the
   * controller neither caches every Secret of the cluster nor reads one on every reconcile.
   */
  private async secret(namespace: string, name: string): Promise<SecretLike | undefined> {
    const key = `${namespace}/${name}`;
    let informer = this.secrets.get(key);
    if (!informer) {
      informer = new Informer<KubeObject & SecretLike>({
        client: this.options.client,
        path: `/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets`,
        fieldSelector: `metadata.name=${name}`,
        name: `control-plane/secret ${key}`,
        logger: this.logger,
      });
      // Only what a connection is built from: our in-use finalizer and label are not.
      informer.addHandler((type, secret, old) => {
        if (type === 'updated' && old && JSON.stringify(old.data) === JSON.stringify(secret.data)) return;
        for (const dp of this.dataPlanes.list()) {
          if (dp.metadata.namespace === namespace && dp.spec.kubernetesCluster.secretRef?.name === name) {
            this.enqueueForDataPlane(namespace, dp.metadata.name);
          }
        }
      });
      informer.start();
      this.secrets.set(key, informer);
    }
    try {
      if (!informer.hasSynced())
        await informer.waitForSync(AbortSignal.timeout(this.options.dataPlaneTimeoutMs));
    } catch (cause) {
      throw new Error(`reading kubeconfig Secret ${key} on the control plane did not finish in time`, {
        cause,
      });
    }
    return informer.get(namespace, name);
  }

  /** retainSecrets stops the watches of Secrets no DataPlane names any more. */
  private retainSecrets(): void {
    const named = new Set(
      this.dataPlanes
        .list()
        .filter((dp) => dp.spec.kubernetesCluster.secretRef)
        .map((dp) => `${dp.metadata.namespace}/${dp.spec.kubernetesCluster.secretRef?.name}`),
    );
    for (const [key, informer] of this.secrets) {
      if (!named.has(key)) {
        this.secrets.delete(key);
        void informer.stop();
      }
    }
  }
}

function specOrMetaChanged(old: Release, now: Release): boolean {
  return (
    old.metadata.generation !== now.metadata.generation ||
    old.metadata.deletionTimestamp !== now.metadata.deletionTimestamp ||
    JSON.stringify(old.metadata.finalizers) !== JSON.stringify(now.metadata.finalizers) ||
    JSON.stringify(old.metadata.annotations) !== JSON.stringify(now.metadata.annotations) ||
    old.metadata.uid !== now.metadata.uid
  );
}

function specOrDeletionChanged(
  old: KubeObject & { spec: unknown },
  now: KubeObject & { spec: unknown },
): boolean {
  return (
    old.metadata.deletionTimestamp !== now.metadata.deletionTimestamp ||
    JSON.stringify(old.spec) !== JSON.stringify(now.spec)
  );
}

function depsChanged(old: Release, now: Release, lookup: ProtectionLookup): boolean {
  return dependenciesOf(old, lookup).join() !== dependenciesOf(now, lookup).join();
}
