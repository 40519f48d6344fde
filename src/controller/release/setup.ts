/**
 * Setup wires the Release controller: control-plane informers (Release, Environment, DataPlane and
 * the kubeconfig Secrets DataPlanes name), the data-plane watches, and which event enqueues which
 * Release. Only Releases of this controller's shard are enqueued, and a data-plane event only wakes
 * a Release bound to that data plane (placement.ts isBoundTo).
 */
import type { Logger } from 'pino';
import { withoutManagedFields, type KubeObject } from '../../api/object.ts';
import { Annotations, API_VERSION, Reasons, TenancyKeys } from '../../api/v1alpha1/constants.ts';
import type {
  DataPlane,
  Environment,
  HealthRule,
  ObservabilityPlane,
  Release,
} from '../../api/v1alpha1/schema.ts';
import { planeKey } from '../../dataplane/transport.ts';
import type { TenantPolicy } from '../../api/v1alpha1/tenancy.ts';
import {
  FINALIZERS,
  parseReleaseKey,
  profileOf,
  RELEASE_PROFILE,
  releaseKey,
  RENDERED_RELEASE_PROFILE,
  trackingOf,
  type KindProfile,
} from '../../api/v1alpha1/profile.ts';
import { isKubeApiError, type ClientLimits, type KubeClient } from '../../kube/client.ts';
import type { SecretLike } from '../../dataplane/credentials.ts';
import { DataPlanePool, type DataPlaneCacheLimits } from '../../dataplane/pool.ts';
import type { ObserveLimits } from './policy.ts';
import { kindKey } from '../../dataplane/port.ts';
import type { EndpointPolicy } from '../../dataplane/endpoint.ts';
import type { TunnelProxySettings } from '../../dataplane/tunnel.ts';
import type { GatewaySettings } from '../../dataplane/gateway/transport.ts';
import { Controller } from '../../runtime/controller.ts';
import { defaultLimitPerKey, KeyedLimiter } from '../../runtime/limiter.ts';
import type { EventRecorder } from '../../runtime/events.ts';
import { KeyedThrottle } from '../../runtime/throttle.ts';
import { Informer, type ListBudget } from '../../kube/informer.ts';
import type { RuntimeMetrics } from '../../runtime/metrics.ts';
import { HealthRuleRegistry, parseTarget } from '../../health/rules/registry.ts';
import { RuleSandbox } from '../../health/rules/sandbox.ts';
import { slimRelease } from './budget.ts';
import { HealthRuleStatusWriter, releasesUsingKind } from './healthrules.ts';
import { ProtectionWriter, ReleaseReader, ReleaseWriter } from './controlplane.ts';
import { ReleaseDirectory } from './directory.ts';
import { ReleaseMetrics } from './metrics.ts';
import { isBoundTo } from './placement.ts';
import {
  coveredByOthers,
  dependenciesOf,
  protectionInputsChanged,
  reconcileProtection,
  type ProtectionLookup,
} from './protection.ts';
import { ReleaseReconciler } from './reconciler.ts';
import {
  CLUSTER_REF_PREFIX,
  currentRef,
  dataPlaneResolver,
  declaredRef,
  DEFAULT_PLANE,
  planeOfKey,
  PlaneKinds,
  refString,
  type ControlPlaneReader,
  type DataPlaneResolver,
  type PlaneRef,
} from './resolve.ts';
import { inShard, shardLabelKeys, shardOf, type Shard } from './shard.ts';
import { tenancyOf, type OwnershipSeal } from './tenancy.ts';

/** RELEASE_CONTROLLER names the controller in metrics and logs. */
export const RELEASE_CONTROLLER = 'release';
/** PROTECTION_CONTROLLER keeps the in-use finalizers of a namespace (protection.ts). */
export const PROTECTION_CONTROLLER = 'in-use-protection';
/**
 * HEALTH_WAKE_INTERVAL_MS is the least time between two waves of reconciles a data plane's watch
 * health causes (a watch that breaks and reconnects in a loop drove 479 reconciles/s).
 */
export const HEALTH_WAKE_INTERVAL_MS = 5_000;

/** CONFLICT_RETRY_MS is the wait before a write that lost a race to another writer is done again from the cache. */
const CONFLICT_RETRY_MS = 500;

/** RULE_RETRY_MS is the wait before a failed HealthRule status write is tried again. */
const RULE_RETRY_MS = 10_000;

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
  /**
   * releaseSelector is the label selector of the Release watch (--release-selector); with one, the
   * cache holds only this shard's Releases and the others are read where they must be seen.
   */
  releaseSelector?: string;
  dataPlaneTimeoutMs: number;
  /** endpoints is the operator's policy of where DataPlane servers may point (flags). */
  endpoints?: EndpointPolicy;
  /** tunnelProxy is the apiserver-network-proxy server for tunnelled DataPlanes (flags). */
  tunnelProxy?: TunnelProxySettings;
  /** gateway is OpenChoreo's cluster gateway, for planes with spec.clusterAgent (flags). */
  gateway?: GatewaySettings;
  /** dataPlaneLimits bound what each data plane may send (bodies, watch lines, silent watches). */
  dataPlaneLimits?: Partial<ClientLimits>;
  /** dataPlaneListBudget bounds each list of a data plane (pages, bytes, time). */
  dataPlaneListBudget?: ListBudget;
  /** watchHttp2 carries each data plane's watches over one HTTP/2 connection (default true). */
  watchHttp2?: boolean;
  /** cacheLimits bound the watch caches of each data plane and of each organization (flags). */
  cacheLimits?: DataPlaneCacheLimits;
  /** observeLimits cap the objects one Release and one organization observe (flags). */
  observeLimits?: Pick<ObserveLimits, 'perRelease' | 'perOrganization'>;
  /**
   * tenancy confines each organization by the operator's TenantPolicies (docs/tenancy.md): the
   * reserved data-plane namespaces and the seal of namespace ownership. Absent: single-tenant
   * (--single-tenant), no TenantPolicy is read.
   */
  tenancy?: { reserved: readonly string[]; sealer: OwnershipSeal };
  /** healthRuleSandbox runs the operator's HealthRules; one with the default limits when absent. */
  healthRuleSandbox?: RuleSandbox;
  /**
   * servesRenderedReleases serves OpenChoreo's RenderedRelease beside Release, through the same
   * engine (profile.ts); default true. Needs the renderedreleases CRD.
   */
  servesRenderedReleases?: boolean;
}

/** ReleaseController is the running Release controller. */
export class ReleaseController {
  /** releases caches the Releases; renderedReleases the RenderedReleases (absent when that kind is not served). */
  readonly releases: Informer<Release>;
  readonly renderedReleases: Informer<Release> | undefined;
  /**
   * others read Releases of each served kind outside a partial cache (--release-selector); empty
   * when the caches hold every Release. directories answer whether an object's owner lives.
   */
  private readonly others: ReleaseReader[];
  private readonly directories: ReleaseDirectory[];
  /** writer writes Release status and finalizers, and remembers its writes until the cache has them. */
  private readonly writer: ReleaseWriter;
  readonly environments: Informer<Environment>;
  readonly dataPlanes: Informer<DataPlane>;
  /** tenantPolicies and namespaces (of the control plane) say how each organization is governed; absent single-tenant. */
  readonly tenantPolicies: Informer<TenantPolicy> | undefined;
  readonly namespaces: Informer<KubeObject> | undefined;
  /** healthRules watches the operator's HealthRules (cluster-scoped); `rules` holds them compiled. */
  readonly healthRules: Informer<HealthRule>;
  readonly rules: HealthRuleRegistry;
  private readonly sandbox: RuleSandbox;
  // HealthRule events are handled one after another: each compiles in the worker.
  private ruleChain: Promise<void> = Promise.resolve();
  private readonly ruleStatus: HealthRuleStatusWriter;
  private stopping = false;
  /** clusterDataPlanes are the operator's cluster-scoped data planes, shared by organizations. */
  readonly clusterDataPlanes: Informer<DataPlane>;
  /**
   * observabilityPlanes and clusterObservabilityPlanes are where RenderedReleases with targetPlane
   * observabilityplane go (absent when RenderedRelease is not served).
   */
  readonly observabilityPlanes: Informer<ObservabilityPlane> | undefined;
  readonly clusterObservabilityPlanes: Informer<ObservabilityPlane> | undefined;
  readonly pool: DataPlanePool;
  readonly reconciler: ReleaseReconciler;
  /** resolver connects to a plane as a Release of a namespace would (the plane status controller uses it too). */
  readonly resolver: DataPlaneResolver;
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
    this.enqueueForPlaneKey(dp);
    for (const listener of this.healthListeners) listener(dp);
  });
  /** healthListeners are told the pool key of a data plane whose watches broke or recovered (throttled). */
  private readonly healthListeners: Array<(planeKey: string) => void> = [];

  constructor(private readonly options: ReleaseControllerOptions) {
    const { client, logger } = options;
    this.logger = logger;
    this.releaseMetrics = new ReleaseMetrics(options.metrics.registry);
    client.setObserver(this.releaseMetrics.requestObserver('control-plane'));
    // managedFields are about 40% of a Release and nothing here reads them (a Release's are
    // measured first: they count against its size limit, budget.ts).
    const informer = <T extends KubeObject>(
      plural: string,
      transform: (obj: KubeObject) => T,
      labelSelector?: string,
    ) =>
      new Informer<T>({
        client,
        path: `/apis/${API_VERSION}/${plural}`,
        name: `control-plane/${plural}`,
        logger,
        transform,
        ...(labelSelector && { labelSelector }),
      });
    // The kind is set on each cached copy: it chooses the profile (labels, field managers, path).
    const releaseInformer = (profile: KindProfile) =>
      informer<Release>(
        profile.plural,
        (obj) => slimRelease(obj.kind ? obj : { ...obj, kind: profile.kind }),
        options.releaseSelector,
      );
    this.releases = releaseInformer(RELEASE_PROFILE);
    this.renderedReleases =
      options.servesRenderedReleases === false ? undefined : releaseInformer(RENDERED_RELEASE_PROFILE);
    const served = this.releaseInformers();
    this.others = options.releaseSelector
      ? served.map(([profile]) => new ReleaseReader(client, profile))
      : [];
    this.directories = served.map(
      ([profile, cache], i) =>
        new ReleaseDirectory(cache, this.others[i] && ((ns, name) => this.others[i]!.uid(ns, name)), (err) =>
          logger.warn(
            { err, kind: profile.kind },
            'reading a Release outside this shard failed; its objects stay protected as if it lived, and the read is tried again on the next reconcile',
          ),
        ),
    );
    this.writer = new ReleaseWriter(client, (release) =>
      this.releaseInformers()
        .find(([profile]) => profile === profileOf(release))?.[1]
        .get(release.metadata.namespace ?? '', release.metadata.name),
    );
    this.environments = informer<Environment>('environments', withoutManagedFields<Environment>);
    this.dataPlanes = informer<DataPlane>('dataplanes', withoutManagedFields<DataPlane>);
    if (options.tenancy) {
      this.tenantPolicies = informer<TenantPolicy>('tenantpolicies', withoutManagedFields<TenantPolicy>);
      // Only names and labels: a policy selects organizations by their namespace's labels.
      this.namespaces = new Informer<KubeObject>({
        client,
        path: '/api/v1/namespaces',
        name: 'control-plane/namespaces',
        logger,
        transform: (ns) => ({
          apiVersion: 'v1',
          kind: 'Namespace',
          metadata: {
            name: ns.metadata.name,
            ...(ns.metadata.uid && { uid: ns.metadata.uid }),
            ...(ns.metadata.resourceVersion && { resourceVersion: ns.metadata.resourceVersion }),
            ...(ns.metadata.labels && { labels: ns.metadata.labels }),
          },
        }),
      });
    }
    this.healthRules = informer<HealthRule>('healthrules', withoutManagedFields<HealthRule>);
    this.sandbox = options.healthRuleSandbox ?? new RuleSandbox();
    this.rules = new HealthRuleRegistry(this.sandbox);
    this.ruleStatus = new HealthRuleStatusWriter(client);
    this.clusterDataPlanes = informer<DataPlane>('clusterdataplanes', withoutManagedFields<DataPlane>);
    if (this.renderedReleases) {
      this.observabilityPlanes = informer<ObservabilityPlane>(
        'observabilityplanes',
        withoutManagedFields<ObservabilityPlane>,
      );
      this.clusterObservabilityPlanes = informer<ObservabilityPlane>(
        'clusterobservabilityplanes',
        withoutManagedFields<ObservabilityPlane>,
      );
    }

    // A shard's data-plane watches select its own Releases' objects: each carries its Release's
    // values of the selector's keys (desired.ts), so the same selector divides those caches too.
    const shardKeys = shardLabelKeys(options.releaseSelector);
    if (typeof shardKeys === 'string') throw new Error(`--release-selector ${shardKeys}`);
    this.pool = new DataPlanePool({
      logger,
      ...(options.releaseSelector && { shardSelector: options.releaseSelector }),
      requestTimeoutMs: options.dataPlaneTimeoutMs,
      ...(options.endpoints ? { endpoints: options.endpoints } : {}),
      ...(options.tunnelProxy ? { tunnel: options.tunnelProxy } : {}),
      ...(options.gateway ? { gateway: options.gateway } : {}),
      limits: options.dataPlaneLimits,
      listBudget: options.dataPlaneListBudget,
      ...(options.cacheLimits && { cacheLimits: options.cacheLimits }),
      ...(options.watchHttp2 === false ? { http2: false } : {}),
      observer: (dp) => this.releaseMetrics.requestObserver(dp),
      // Only a Release bound to the data plane the event came from: its labels can be forged.
      onEvent: (dp, type, obj) => {
        // The echo of our own apply: the Release that applied it already knows.
        if (this.reconciler.seen(dp, type, obj)) return;
        const owner = trackingOf(obj);
        const release = owner && this.releaseOf(owner.profile, owner.namespace, owner.name);
        if (!owner || !release) return;
        const env = this.environments.get(owner.namespace, release.spec.environmentName);
        const current = env && currentRef(env, this.planes);
        if (isBoundTo(release, owner.uid, dp, current && refString(current)))
          this.enqueue(owner.namespace, owner.name, owner.profile);
      },
      // Users are the keys of the Releases that asked to observe the object, not read from it.
      onObserved: (_dp, users) => {
        for (const user of users) {
          const { namespace, name, profile } = parseReleaseKey(user);
          this.enqueue(namespace, name, profile);
        }
      },
      // A broken or recovered watch changes what every Release on that data plane can report.
      // A watch that connects and breaks at once (a data plane answering lists, not watches) would
      // wake every Release of the data plane at that rate: at most one wave per interval.
      onHealthChange: (dp, healthy) => this.healthChanges.call(dp, healthy),
      // A DataPlane deleted while a reconcile connected to it gets no connection nobody would close.
      isCurrent: (dp) =>
        this.planeOfKind(dp.kind, dp.metadata.namespace, dp.metadata.name)?.metadata.uid === dp.metadata.uid,
    });
    // A Release over its data plane's share waits outside the workers and is woken when a slot frees.
    this.slots = new KeyedLimiter({
      limit: options.maxConcurrentPerDataPlane ?? defaultLimitPerKey(options.concurrency),
      onAvailable: (key) => this.controller.queue.add(key),
    });
    this.releaseMetrics.usedBy({
      watches: () => this.pool.watches(),
      cachedObjects: () => this.pool.cachedObjects(),
      // Organizations' shares (reconciler.ts organizationSlotKey) are not data planes.
      reconciles: () => new Map([...this.slots.inUse()].filter(([key]) => key.includes('/'))),
    });
    const reader: ControlPlaneReader = {
      environment: (ns, name) => this.environments.get(ns, name),
      ...this.planes,
      secret: (ns, name) => this.secret(ns, name),
      dataPlanes: (ns) => this.dataPlanes.list().filter((dp) => dp.metadata.namespace === ns),
      ...(this.tenantPolicies && {
        tenancy: (ns: string) =>
          tenancyOf(
            ns,
            this.namespaces?.get(undefined, ns)?.metadata.labels,
            this.tenantPolicies?.list() ?? [],
          ),
      }),
    };
    this.resolver = dataPlaneResolver(
      reader,
      (dp, secret, grant) => this.pool.connect(dp, secret, grant),
      (key) => this.pool.get(key),
    );
    this.reconciler = new ReleaseReconciler({
      releases: { get: (ns, name, profile = RELEASE_PROFILE) => this.releaseOf(profile, ns ?? '', name) },
      resolver: this.resolver,
      directories: this.directories,
      writer: this.writer,
      events: {
        emit: (release, type, reason, message) =>
          options.events.event(
            {
              apiVersion: API_VERSION,
              kind: profileOf(release).kind,
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
      healthRules: this.rules,
      logger,
      ...(options.tenancy && { tenancy: options.tenancy }),
      ...(options.observeLimits && { observeLimits: options.observeLimits }),
      ...(shardKeys.length > 0 && { shardKeys }),
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
        let changes;
        try {
          changes = await reconcileProtection({
            namespace,
            // A partial cache (--release-selector) lacks other shards' Releases, which protect too.
            releases:
              this.others.length > 0
                ? (await Promise.all(this.others.map((r) => r.inNamespace(namespace, signal)))).flat()
                : this.allReleases(),
            environments: this.environments.list(),
            dataPlanes: this.dataPlanes.list(),
            lookup,
            store: protectionStore,
            signal,
            ...(reader.tenancy ? { tenancy: reader.tenancy(namespace) } : {}),
          });
        } catch (err) {
          // Our cached copy is older than a write (a status write of the plane controller, say):
          // expected, and done again from the cache once it has the new version.
          if (!(isKubeApiError(err) && err.isConflict)) throw err;
          logger.debug({ namespace, err }, 'in-use finalizer: the object changed meanwhile; trying again');
          return { requeueAfterMs: CONFLICT_RETRY_MS };
        }
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
    const informers = this.controlPlaneInformers();
    for (const i of informers) i.start();
    await Promise.all(informers.map((i) => i.waitForSync(signal)));
    // The first reconciles use the operator's rules, not the built-in ones for a moment.
    await this.ruleChain;
    this.logger.info(
      {
        releases: this.releases.size,
        renderedReleases: this.renderedReleases?.size ?? 0,
        environments: this.environments.size,
        dataPlanes: this.dataPlanes.size,
        healthRules: this.healthRules.size,
        clusterDataPlanes: this.clusterDataPlanes.size,
      },
      'control-plane caches synced; starting workers',
    );
    this.controller.start();
    this.protection.start();
  }

  /** synced tells whether the control-plane caches have their first list (readiness). */
  synced(): boolean {
    return this.controlPlaneInformers().every((i) => i.hasSynced());
  }

  /** controlPlaneInformers are the caches of the control plane a reconcile reads. */
  private controlPlaneInformers(): Array<Informer<KubeObject>> {
    return [
      this.releases,
      ...(this.renderedReleases ? [this.renderedReleases] : []),
      this.environments,
      this.dataPlanes,
      this.healthRules,
      this.clusterDataPlanes,
      ...(this.observabilityPlanes ? [this.observabilityPlanes] : []),
      ...(this.clusterObservabilityPlanes ? [this.clusterObservabilityPlanes] : []),
      ...(this.tenantPolicies ? [this.tenantPolicies] : []),
      ...(this.namespaces ? [this.namespaces] : []),
    ] as Array<Informer<KubeObject>>;
  }

  /** stop stops the workers (letting running reconciles finish within graceMs), then every watch. */
  async stop(graceMs: number): Promise<void> {
    this.stopping = true;
    await Promise.all([this.controller.stop(graceMs), this.protection.stop(graceMs)]);
    this.healthChanges.stop();
    await Promise.all([
      ...this.controlPlaneInformers().map((i) => i.stop()),
      this.ruleChain.then(() => this.sandbox.close()),
      ...[...this.secrets.values()].map((s) => s.stop()),
      this.pool.close(),
    ]);
  }

  private wire(): void {
    const lookup = {
      environment: this.environments.get.bind(this.environments),
      dataPlane: this.dataPlanes.get.bind(this.dataPlanes),
    };
    for (const [profile, releases] of this.releaseInformers()) {
      releases.addHandler((type, release, old) => {
        const echo = this.writer.seen(release);
        const ns = release.metadata.namespace ?? '';
        // A Release added or gone whose dependencies other Releases of its namespace share changes
        // nothing the namespace's protection keeps.
        const protectionMayChange =
          type === 'updated' && old
            ? depsChanged(old, release, lookup)
            : !coveredByOthers(release, this.eachRelease(), lookup);
        if (protectionMayChange) this.protect(ns);
        // Our own status writes change only status, and the echo of our own finalizer and placement
        // write is what the reconcile that wrote it went on with: neither needs a reconcile.
        if (type === 'updated' && old && (echo || !specOrMetaChanged(old, release))) return;
        this.enqueue(ns, release.metadata.name, profile);
      });
    }
    // Our own in-use finalizer on an Environment or DataPlane changes nothing a Release reads.
    this.environments.addHandler((type, env, old) => {
      const ns = env.metadata.namespace ?? '';
      if (type !== 'updated' || !old || protectionInputsChanged(old, env)) this.protect(ns);
      if (type === 'updated' && old && !specOrDeletionChanged(old, env)) return;
      this.enqueueForEnvironment(ns, env.metadata.name);
    });
    // A policy change may change what any organization may do; a namespace's labels, which policies select it.
    this.tenantPolicies?.addHandler((type, policy, old) => {
      if (type === 'updated' && old && JSON.stringify(old.spec) === JSON.stringify(policy.spec)) return;
      for (const r of this.allReleases()) this.enqueueRelease(r);
    });
    this.namespaces?.addHandler((type, ns, old) => {
      const name = ns.metadata.name ?? '';
      if (type !== 'updated' || JSON.stringify(old?.metadata.labels) === JSON.stringify(ns.metadata.labels))
        return;
      for (const r of this.allReleases()) if (r.metadata.namespace === name) this.enqueueRelease(r);
    });
    this.dataPlanes.addHandler((type, dp, old) => {
      const ns = dp.metadata.namespace ?? '';
      if (type !== 'updated' || !old || protectionInputsChanged(old, dp)) this.protect(ns);
      if (type === 'deleted') this.forgetDataPlane(`${ns}/${dp.metadata.name}`);
      this.retainSecrets();
      if (type === 'updated' && old && !specOrDeletionChanged(old, dp)) return;
      this.enqueueForPlane(ns, { kind: PlaneKinds.dataPlane, name: dp.metadata.name });
    });
    // A ClusterDataPlane is shared: its change may concern every organization's Environments.
    this.clusterDataPlanes.addHandler((type, dp, old) => {
      if (type === 'deleted') this.forgetDataPlane(`${CLUSTER_REF_PREFIX}${dp.metadata.name}`);
      if (type === 'updated' && old && !specOrDeletionChanged(old, dp)) return;
      this.enqueueForPlane(undefined, { kind: PlaneKinds.clusterDataPlane, name: dp.metadata.name });
    });
    // An observability plane's change concerns the observability-plane RenderedReleases of its
    // namespace (of every namespace, for a cluster-scoped one).
    for (const [kind, planes] of [
      [PlaneKinds.observabilityPlane, this.observabilityPlanes],
      [PlaneKinds.clusterObservabilityPlane, this.clusterObservabilityPlanes],
    ] as const) {
      planes?.addHandler((type, plane, old) => {
        const ns = plane.metadata.namespace;
        if (type === 'deleted') this.forgetDataPlane(planeKey({ kind, metadata: plane.metadata }));
        if (type === 'updated' && old && !specOrDeletionChanged(old, plane)) return;
        this.enqueueObservability(ns);
      });
    }
    // Our own status writes change no generation: they need no compile.
    this.healthRules.addHandler((type, rule, old) => {
      if (type === 'updated' && old && old.metadata.generation === rule.metadata.generation) return;
      this.handleHealthRule(type, rule, old);
    });
  }

  /**
   * handleHealthRule queues one HealthRule event; a failure (its status write, most likely) is
   * tried again after RULE_RETRY_MS with the cached copy: compiling it again is a no-op.
   */
  private handleHealthRule(type: string, rule: HealthRule, old: HealthRule | undefined): void {
    this.ruleChain = this.ruleChain.then(() =>
      this.onHealthRule(type, rule, old).catch((err: unknown) => {
        this.logger.warn(
          { healthRule: rule.metadata.name, err },
          `handling a change of HealthRule ${rule.metadata.name} failed; trying again in ${RULE_RETRY_MS / 1000}s`,
        );
        setTimeout(() => {
          const current = this.healthRules.get(undefined, rule.metadata.name);
          if (current && !this.stopping) this.handleHealthRule('updated', current, undefined);
        }, RULE_RETRY_MS).unref();
      }),
    );
  }

  /**
   * onHealthRule compiles a created or changed HealthRule (or forgets a deleted one), reports
   * every rule of the same target on its status, and re-assesses the Releases whose status lists
   * that kind (hot reload).
   */
  private async onHealthRule(type: string, rule: HealthRule, old: HealthRule | undefined): Promise<void> {
    const name = rule.metadata.name;
    const targets = [];
    if (type === 'deleted') {
      const target = await this.rules.remove(name);
      if (target) targets.push(target);
      this.logger.info({ healthRule: name }, 'HealthRule deleted; its kind goes back to the built-in rule');
    } else {
      const state = await this.rules.upsert(rule);
      targets.push(parseTarget(rule.spec.apiVersion, rule.spec.kind));
      // A rule moved to another kind gives the old one back to the built-in rule.
      if (old && (old.spec.apiVersion !== rule.spec.apiVersion || old.spec.kind !== rule.spec.kind))
        targets.push(parseTarget(old.spec.apiVersion, old.spec.kind));
      if (state.ready) this.logger.info({ healthRule: name }, `HealthRule ${name}: ${state.message}`);
      else
        this.logger.warn(
          { healthRule: name, reason: state.reason },
          `HealthRule ${name} is not used: ${state.message}`,
        );
    }
    // One writer of HealthRule status among the shards: every shard compiles the same rules.
    if (this.options.shard.index === 0) {
      for (const t of targets)
        for (const other of this.rules.sameTarget(t)) {
          const current = this.healthRules.get(undefined, other);
          const state = this.rules.stateOf(other);
          if (current && state) await this.ruleStatus.write(current, state);
        }
    }
    for (const t of targets)
      for (const r of releasesUsingKind(this.allReleases(), t.group, t.kind)) this.enqueueRelease(r);
  }

  /** planes reads DataPlanes, ClusterDataPlanes and the observability planes from the caches. */
  private get planes(): Pick<
    ControlPlaneReader,
    'dataPlane' | 'clusterDataPlane' | 'observabilityPlane' | 'clusterObservabilityPlane'
  > {
    return {
      dataPlane: (ns, name) => this.dataPlanes.get(ns, name),
      clusterDataPlane: (name) => this.clusterDataPlanes.get(undefined, name),
      observabilityPlane: (ns, name) => this.observabilityPlanes?.get(ns, name),
      clusterObservabilityPlane: (name) => this.clusterObservabilityPlanes?.get(undefined, name),
    };
  }

  /** planeOfKind reads a plane object of any kind from its cache (isCurrent of the pool). */
  private planeOfKind(kind: string, namespace: string | undefined, name: string): KubeObject | undefined {
    switch (kind) {
      case PlaneKinds.clusterDataPlane:
        return this.clusterDataPlanes.get(undefined, name);
      case PlaneKinds.observabilityPlane:
        return this.observabilityPlanes?.get(namespace, name);
      case PlaneKinds.clusterObservabilityPlane:
        return this.clusterObservabilityPlanes?.get(undefined, name);
      default:
        return namespace ? this.dataPlanes.get(namespace, name) : this.clusterDataPlanes.get(undefined, name);
    }
  }

  /**
   * enqueueObservability enqueues the RenderedReleases bound for the observability plane, of one
   * namespace or (a cluster-scoped plane changed) of all: which observability plane each resolves
   * to depends on its data plane's observabilityPlaneRef and on which `default` planes exist.
   */
  private enqueueObservability(namespace: string | undefined): void {
    for (const r of this.allReleases()) {
      if (namespace !== undefined && r.metadata.namespace !== namespace) continue;
      if (profileOf(r).targetsObservabilityPlane(r)) this.enqueueRelease(r);
    }
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

  /** protect reconciles the in-use finalizers of a namespace, in the one shard that owns it (or, with a partial cache, in each that sees a change). */
  private protect(namespace: string): void {
    // With a partial cache every shard that sees a change reconciles the namespace: each reads
    // all its Releases from the API server, so they agree (a stale write fails and is retried).
    if (this.others || shardOf(namespace, '', this.options.shard.count) === this.options.shard.index)
      this.protection.queue.add(namespace);
  }

  private enqueue(namespace: string, name: string, profile: KindProfile = RELEASE_PROFILE): void {
    if (inShard(this.options.shard, namespace, name))
      this.controller.queue.add(releaseKey(profile, namespace, name));
  }

  private enqueueRelease(release: Release): void {
    this.enqueue(release.metadata.namespace ?? '', release.metadata.name, profileOf(release));
  }

  /** releaseCaches are the caches of every served kind (Release, RenderedRelease), for other controllers to read. */
  releaseCaches(): Informer<Release>[] {
    return this.releaseInformers().map(([, informer]) => informer);
  }

  /** releaseInformers are the caches of every served kind, with its profile. */
  private releaseInformers(): Array<[KindProfile, Informer<Release>]> {
    return [
      [RELEASE_PROFILE, this.releases],
      ...(this.renderedReleases
        ? [[RENDERED_RELEASE_PROFILE, this.renderedReleases] as [KindProfile, Informer<Release>]]
        : []),
    ];
  }

  /** releaseOf reads one Release of a kind from its cache. */
  private releaseOf(profile: KindProfile, namespace: string, name: string): Release | undefined {
    return this.releaseInformers()
      .find(([p]) => p === profile)?.[1]
      .get(namespace, name);
  }

  /** allReleases lists the Releases of every served kind. */
  private allReleases(): Release[] {
    return this.releaseInformers().flatMap(([, informer]) => informer.list());
  }

  /** eachRelease iterates over the cached Releases of every served kind, copying nothing. */
  private *eachRelease(): Generator<Release> {
    for (const [, informer] of this.releaseInformers()) yield* informer.values();
  }

  private enqueueForEnvironment(namespace: string, environment: string): void {
    for (const r of this.allReleases()) {
      if (r.metadata.namespace === namespace && r.spec.environmentName === environment)
        this.enqueueRelease(r);
    }
  }

  /**
   * enqueueForPlane enqueues the Releases of every Environment that resolves to a plane or falls
   * back to it (a `default` plane that appears or goes changes where those resolve), in one
   * namespace or, for a cluster-scoped plane, in all.
   */
  private enqueueForPlane(namespace: string | undefined, plane: PlaneRef): void {
    for (const env of this.environments.list()) {
      const ns = env.metadata.namespace ?? '';
      if (namespace !== undefined && ns !== namespace) continue;
      const declared = declaredRef(env);
      const concerned =
        declared && !('invalid' in declared)
          ? declared.kind === plane.kind && declared.name === plane.name
          : plane.name === DEFAULT_PLANE;
      if (concerned) this.enqueueForEnvironment(ns, env.metadata.name);
    }
  }

  /**
   * onDataPlaneHealthChange subscribes to the breaks and recoveries of data-plane watches, as they
   * wake the plane's Releases (at most once per HEALTH_WAKE_INTERVAL_MS per plane): the plane
   * status controller reports them.
   */
  onDataPlaneHealthChange(listener: (planeKey: string) => void): void {
    this.healthListeners.push(listener);
  }

  /** enqueueForPlaneKey enqueues the Releases of the plane of a pool key (planeKey). */
  private enqueueForPlaneKey(key: string): void {
    const { ref, namespace } = planeOfKey(key);
    if (ref.kind === PlaneKinds.observabilityPlane || ref.kind === PlaneKinds.clusterObservabilityPlane) {
      this.enqueueObservability(namespace);
      return;
    }
    this.enqueueForPlane(namespace, ref);
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
      // Only what a connection is built from (its data, and the operator's credentials mark): our
      // in-use finalizer and label are not.
      informer.addHandler((type, secret, old) => {
        if (type === 'updated' && old && !credentialsChanged(old, secret)) return;
        // The mark decides whether the Secret may carry the in-use finalizer (protection.ts).
        if (type === 'updated' && old && markOf(old) !== markOf(secret)) this.protect(namespace);
        for (const dp of this.dataPlanes.list()) {
          if (dp.metadata.namespace === namespace && dp.spec.kubernetesCluster?.secretRef?.name === name) {
            this.enqueueForPlane(namespace, { kind: PlaneKinds.dataPlane, name: dp.metadata.name });
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
        .filter((dp) => dp.spec.kubernetesCluster?.secretRef)
        .map((dp) => `${dp.metadata.namespace}/${dp.spec.kubernetesCluster?.secretRef?.name}`),
    );
    for (const [key, informer] of this.secrets) {
      if (!named.has(key)) {
        this.secrets.delete(key);
        void informer.stop();
      }
    }
  }
}

/** markOf is the operator's data-plane credentials label of a Secret (the cluster it names). */
function markOf(secret: SecretLike): string | undefined {
  return secret.metadata.labels?.[TenancyKeys.dataPlaneCredentials];
}

function credentialsChanged(old: SecretLike, now: SecretLike): boolean {
  return JSON.stringify(old.data) !== JSON.stringify(now.data) || markOf(old) !== markOf(now);
}

/**
 * specOrMetaChanged tells whether an update of a Release may need a reconcile: its spec, deletion
 * or uid, or metadata other than what our own first write adds (our finalizer and the placement
 * annotation). The echo of that write can arrive before its answer, while the reconcile that sent
 * it still runs, and tells it nothing; our finalizer taken off (by anyone) does need a reconcile.
 */
function specOrMetaChanged(old: Release, now: Release): boolean {
  const ours = (r: Release) => r.metadata.finalizers?.some((f) => FINALIZERS.includes(f)) ?? false;
  const othersFinalizers = (r: Release) =>
    JSON.stringify((r.metadata.finalizers ?? []).filter((f) => !FINALIZERS.includes(f)));
  const othersAnnotations = (r: Release) => {
    const { [Annotations.placement]: _placement, ...rest } = r.metadata.annotations ?? {};
    return JSON.stringify(rest);
  };
  return (
    old.metadata.generation !== now.metadata.generation ||
    old.metadata.deletionTimestamp !== now.metadata.deletionTimestamp ||
    (ours(old) && !ours(now)) ||
    othersFinalizers(old) !== othersFinalizers(now) ||
    othersAnnotations(old) !== othersAnnotations(now) ||
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
