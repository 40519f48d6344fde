/**
 * Setup wires the Release controller: control-plane informers (Release, Environment, DataPlane and
 * the kubeconfig Secrets DataPlanes name), the data-plane watches, and which event enqueues which
 * Release. Only Releases of this controller's shard are enqueued, and a data-plane event only wakes
 * a Release bound to that data plane (placement.ts isBoundTo).
 */
import type { Logger } from 'pino';
import { withoutManagedFields, type KubeObject } from '../../api/object.ts';
import { API_VERSION } from '../../api/v1alpha1/constants.ts';
import type { DataPlane, Environment, Release } from '../../api/v1alpha1/schema.ts';
import type { KubeClient } from '../../kube/client.ts';
import type { SecretLike } from '../../dataplane/credentials.ts';
import { DataPlanePool } from '../../dataplane/pool.ts';
import { Controller } from '../../runtime/controller.ts';
import type { EventRecorder } from '../../runtime/events.ts';
import { Informer } from '../../kube/informer.ts';
import type { RuntimeMetrics } from '../../runtime/metrics.ts';
import { ReleaseWriter } from './controlplane.ts';
import { releaseKeyOfObject } from './desired.ts';
import { ReleaseMetrics } from './metrics.ts';
import { isBoundTo } from './placement.ts';
import { ReleaseReconciler } from './reconciler.ts';
import { dataPlaneResolver, type ControlPlaneReader } from './resolve.ts';
import { inShard, type Shard } from './shard.ts';

/** RELEASE_CONTROLLER names the controller in metrics and logs. */
export const RELEASE_CONTROLLER = 'release';

/** ReleaseControllerOptions configures the Release controller. */
export interface ReleaseControllerOptions {
  client: KubeClient;
  logger: Logger;
  metrics: RuntimeMetrics;
  events: EventRecorder;
  concurrency: number;
  shard: Shard;
  dataPlaneTimeoutMs: number;
}

/** ReleaseController is the running Release controller. */
export class ReleaseController {
  readonly releases: Informer<Release>;
  readonly environments: Informer<Environment>;
  readonly dataPlanes: Informer<DataPlane>;
  readonly pool: DataPlanePool;
  readonly reconciler: ReleaseReconciler;
  readonly controller: Controller<string>;
  readonly releaseMetrics: ReleaseMetrics;
  private readonly secrets = new Map<string, Informer<KubeObject & SecretLike>>();
  private readonly logger: Logger;

  constructor(private readonly options: ReleaseControllerOptions) {
    const { client, logger } = options;
    this.logger = logger;
    this.releaseMetrics = new ReleaseMetrics(options.metrics.registry);
    client.setObserver(this.releaseMetrics.requestObserver('control-plane'));
    // managedFields are about 40% of a Release and nothing here reads them.
    const informer = <T extends KubeObject>(plural: string) =>
      new Informer<T>({
        client,
        path: `/apis/${API_VERSION}/${plural}`,
        name: `control-plane/${plural}`,
        logger,
        transform: withoutManagedFields<T>,
      });
    this.releases = informer<Release>('releases');
    this.environments = informer<Environment>('environments');
    this.dataPlanes = informer<DataPlane>('dataplanes');

    this.pool = new DataPlanePool({
      logger,
      requestTimeoutMs: options.dataPlaneTimeoutMs,
      observer: (dp) => this.releaseMetrics.requestObserver(dp),
      // Only a Release bound to the data plane the event came from: its labels can be forged.
      onEvent: (dp, _type, obj) => {
        const owner = releaseKeyOfObject(obj);
        const release = owner && this.releases.get(owner.namespace, owner.name);
        if (!owner || !release) return;
        const current = this.environments.get(owner.namespace, release.spec.environmentName)?.spec
          .dataPlaneRef;
        if (isBoundTo(release, owner.uid, dp, current)) this.enqueue(owner.namespace, owner.name);
      },
      // A broken or recovered watch changes what every Release on that data plane can report.
      onHealthChange: (dp, healthy) => {
        if (healthy) logger.info({ dataPlane: dp }, 'data-plane watch connected');
        else
          logger.warn(
            { dataPlane: dp },
            'data-plane watch broken; Releases report DataPlaneUnreachable until it recovers',
          );
        const [ns = '', name = ''] = dp.split('/');
        this.enqueueForDataPlane(ns, name);
      },
    });
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
      writer: new ReleaseWriter(client),
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
  }

  /** synced tells whether the control-plane caches have their first list (readiness). */
  synced(): boolean {
    return this.releases.hasSynced() && this.environments.hasSynced() && this.dataPlanes.hasSynced();
  }

  /** stop stops the workers (letting running reconciles finish within graceMs), then every watch. */
  async stop(graceMs: number): Promise<void> {
    await this.controller.stop(graceMs);
    await Promise.all([
      this.releases.stop(),
      this.environments.stop(),
      this.dataPlanes.stop(),
      ...[...this.secrets.values()].map((s) => s.stop()),
      this.pool.close(),
    ]);
  }

  private wire(): void {
    this.releases.addHandler((type, release, old) => {
      // Our own status writes change only status: they need no reconcile.
      if (type === 'updated' && old && !specOrMetaChanged(old, release)) return;
      this.enqueue(release.metadata.namespace ?? '', release.metadata.name);
    });
    this.environments.addHandler((_type, env) =>
      this.enqueueForEnvironment(env.metadata.namespace ?? '', env.metadata.name),
    );
    this.dataPlanes.addHandler((type, dp) => {
      const ns = dp.metadata.namespace ?? '';
      this.enqueueForDataPlane(ns, dp.metadata.name);
      if (type === 'deleted') void this.pool.forget(`${ns}/${dp.metadata.name}`);
      this.retainSecrets();
    });
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
      informer.addHandler(() => {
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
