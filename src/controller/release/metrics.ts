/**
 * Release-specific metrics: Releases by Ready, resources by health, applies and prunes, every
 * request to each data plane with its latency, and the data-plane connections, watches and
 * reconciles in use. Generic controller metrics live in runtime/metrics.ts. Every series that names
 * a data plane is removed when its DataPlane is deleted (`forgetDataPlane`), so tenants that come
 * and go do not grow /metrics without bound.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { HEALTH_STATUSES, type HealthStatus } from '../../api/v1alpha1/constants.ts';
import type { RequestObserver } from '../../kube/client.ts';
import type { ReleaseObserver } from './reconciler.ts';

/** REQUEST_BUCKETS are the latency buckets of API requests, in seconds. */
export const REQUEST_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/**
 * BUILT_IN_KINDS are the kinds a `kind` label may name: those Kubernetes serves itself, plus the
 * Gateway API's. A tenant chooses the kinds of its objects (a CRD can be called anything), so every
 * other kind is `other`: the series per data plane stay a fixed number however many kinds it has.
 */
export const BUILT_IN_KINDS: ReadonlySet<string> = new Set([
  'APIService',
  'CSIDriver',
  'ClusterRole',
  'ClusterRoleBinding',
  'ConfigMap',
  'CronJob',
  'CustomResourceDefinition',
  'DaemonSet',
  'Deployment',
  'EndpointSlice',
  'Endpoints',
  'GRPCRoute',
  'Gateway',
  'GatewayClass',
  'HTTPRoute',
  'HorizontalPodAutoscaler',
  'Ingress',
  'IngressClass',
  'Job',
  'Lease',
  'LimitRange',
  'MutatingWebhookConfiguration',
  'Namespace',
  'NetworkPolicy',
  'PersistentVolume',
  'PersistentVolumeClaim',
  'Pod',
  'PodDisruptionBudget',
  'PodTemplate',
  'PriorityClass',
  'ReferenceGrant',
  'ReplicaSet',
  'ReplicationController',
  'ResourceQuota',
  'Role',
  'RoleBinding',
  'RuntimeClass',
  'Secret',
  'Service',
  'ServiceAccount',
  'StatefulSet',
  'StorageClass',
  'ValidatingAdmissionPolicy',
  'ValidatingAdmissionPolicyBinding',
  'ValidatingWebhookConfiguration',
  'VolumeAttachment',
]);

/** OTHER_KIND is the `kind` label of every kind not in BUILT_IN_KINDS. */
export const OTHER_KIND = 'other';

/** kindLabel is the `kind` label of a kind: itself when built in, `other` otherwise. */
export function kindLabel(kind: string): string {
  return BUILT_IN_KINDS.has(kind) ? kind : OTHER_KIND;
}

/** DataPlaneUsage reports, at scrape time, what each data plane holds (keyed by DataPlane `namespace/name`). */
export interface DataPlaneUsage {
  /** watches returns the open watches of every open connection (a connection without watches counts 0). */
  watches?: () => Map<string, number>;
  /** cachedObjects returns the objects each data plane's watches hold. */
  cachedObjects?: () => Map<string, number>;
  /** reconciles returns the reconciles running against each data plane. */
  reconciles?: () => Map<string, number>;
}

/** ReleaseMetrics implements ReleaseObserver and the request observers on one registry. */
export class ReleaseMetrics implements ReleaseObserver {
  private readonly snapshot = new Map<string, { ready: string; health: HealthStatus[]; drifted: number }>();
  private readonly driftCorrections: Counter<'data_plane' | 'kind'>;
  private readonly applies: Counter<'data_plane' | 'kind' | 'result'>;
  private readonly prunes: Counter<'data_plane' | 'kind'>;
  private readonly deferrals: Counter<'data_plane'>;
  private readonly requests: Counter<'cluster' | 'verb' | 'code'>;
  private readonly latency: Histogram<'cluster' | 'verb'>;
  /** series maps a data plane to the removal of each series naming it, by a key of its labels. */
  private readonly series = new Map<string, Map<string, () => void>>();
  private readonly usage: DataPlaneUsage = {};

  constructor(registry: Registry) {
    const registers = [registry];
    const snapshot = this.snapshot;
    const usage = this.usage;
    new Gauge({
      name: 'release_controller_releases',
      help: 'Releases handled by this controller, by the status of their Ready condition',
      labelNames: ['ready'],
      registers,
      collect() {
        this.reset();
        for (const s of ['True', 'False', 'Unknown']) this.set({ ready: s }, 0);
        for (const { ready } of snapshot.values()) this.inc({ ready });
      },
    });
    new Gauge({
      name: 'release_controller_resources',
      help: 'Data-plane objects of the handled Releases, by health',
      labelNames: ['health'],
      registers,
      collect() {
        this.reset();
        for (const h of HEALTH_STATUSES) this.set({ health: h }, 0);
        for (const { health } of snapshot.values()) for (const h of health) this.inc({ health: h });
      },
    });
    new Gauge({
      name: 'release_controller_drifted_resources',
      help: 'Data-plane objects that drifted from what their Release applied and were not corrected (drift mode Report)',
      registers,
      collect() {
        let n = 0;
        for (const { drifted } of snapshot.values()) n += drifted;
        this.set(n);
      },
    });
    this.driftCorrections = new Counter({
      name: 'release_controller_drift_corrections_total',
      help: 'Objects applied again because someone else changed or removed fields we own, or deleted them (drift mode Correct)',
      labelNames: ['data_plane', 'kind'],
      registers,
    });
    this.applies = new Counter({
      name: 'release_controller_applies_total',
      help: 'Objects considered for server-side apply, by result (applied, unchanged: no request sent, error)',
      labelNames: ['data_plane', 'kind', 'result'],
      registers,
    });
    this.prunes = new Counter({
      name: 'release_controller_prunes_total',
      help: 'Objects deleted because their Release no longer wants them',
      labelNames: ['data_plane', 'kind'],
      registers,
    });
    this.deferrals = new Counter({
      name: 'release_controller_dataplane_deferred_total',
      help: 'Reconciles put back without running because their data plane already used its share of the workers',
      labelNames: ['data_plane'],
      registers,
    });
    new Gauge({
      name: 'release_controller_dataplane_connections',
      help: 'Open data-plane connections (one per DataPlane in use)',
      registers,
      collect() {
        this.set(usage.watches?.().size ?? 0);
      },
    });
    new Gauge({
      name: 'release_controller_dataplane_watches',
      help: 'Open watches on each data plane (one per kind its Releases use)',
      labelNames: ['data_plane'],
      registers,
      collect() {
        this.reset();
        for (const [dataPlane, n] of usage.watches?.() ?? []) this.set({ data_plane: dataPlane }, n);
      },
    });
    new Gauge({
      name: 'release_controller_dataplane_cached_objects',
      help: "Objects held in the watch caches of each data plane (a DataPlane holds only its organization's)",
      labelNames: ['data_plane'],
      registers,
      collect() {
        this.reset();
        for (const [dataPlane, n] of usage.cachedObjects?.() ?? []) this.set({ data_plane: dataPlane }, n);
      },
    });
    new Gauge({
      name: 'release_controller_dataplane_reconciles',
      help: 'Reconciles running against each data plane (at most --max-concurrent-reconciles-per-dataplane)',
      labelNames: ['data_plane'],
      registers,
      collect() {
        this.reset();
        for (const [dataPlane, n] of usage.reconciles?.() ?? []) this.set({ data_plane: dataPlane }, n);
      },
    });
    this.requests = new Counter({
      name: 'release_controller_api_requests_total',
      help: 'API requests sent, by cluster (control-plane or data plane namespace/name), verb and HTTP code (0: no answer)',
      labelNames: ['cluster', 'verb', 'code'],
      registers,
    });
    this.latency = new Histogram({
      name: 'release_controller_api_request_duration_seconds',
      help: 'Latency of API requests (watches: how long the stream stayed open)',
      labelNames: ['cluster', 'verb'],
      buckets: REQUEST_BUCKETS,
      registers,
    });
  }

  /** usedBy sets where the data-plane gauges read from (the pool's watches, the slots' reconciles). */
  usedBy(usage: DataPlaneUsage): void {
    Object.assign(this.usage, usage);
  }

  /** requestObserver returns the observer of one cluster's requests. */
  requestObserver(cluster: string): RequestObserver {
    return (verb, code, seconds) => {
      const labels = { cluster, verb, code: codeLabel(code) };
      this.requests.inc(labels);
      this.track(cluster, `requests/${verb}/${labels.code}`, () => this.requests.remove(labels));
      if (verb !== 'WATCH') {
        this.latency.observe({ cluster, verb }, seconds);
        this.track(cluster, `latency/${verb}`, () => this.latency.remove({ cluster, verb }));
      }
    };
  }

  applied(dataPlane: string, kind: string, result: 'applied' | 'unchanged' | 'error'): void {
    const labels = { data_plane: dataPlane, kind: kindLabel(kind), result };
    this.applies.inc(labels);
    this.track(dataPlane, `applies/${labels.kind}/${result}`, () => this.applies.remove(labels));
  }

  pruned(dataPlane: string, kind: string): void {
    const labels = { data_plane: dataPlane, kind: kindLabel(kind) };
    this.prunes.inc(labels);
    this.track(dataPlane, `prunes/${labels.kind}`, () => this.prunes.remove(labels));
  }

  deferred(dataPlane: string): void {
    this.deferrals.inc({ data_plane: dataPlane });
    this.track(dataPlane, 'deferred', () => this.deferrals.remove({ data_plane: dataPlane }));
  }

  /** forgetDataPlane removes every series that names a deleted DataPlane (`namespace/name`). */
  forgetDataPlane(dataPlane: string): void {
    const removals = this.series.get(dataPlane);
    this.series.delete(dataPlane);
    for (const remove of removals?.values() ?? []) remove();
  }

  /** track remembers how to remove one series of a data plane, once per label set. */
  private track(dataPlane: string, id: string, remove: () => void): void {
    let removals = this.series.get(dataPlane);
    if (!removals) this.series.set(dataPlane, (removals = new Map<string, () => void>()));
    if (!removals.has(id)) removals.set(id, remove);
  }

  driftCorrected(dataPlane: string, kind: string): void {
    const labels = { data_plane: dataPlane, kind: kindLabel(kind) };
    this.driftCorrections.inc(labels);
    this.track(dataPlane, `drift/${labels.kind}`, () => this.driftCorrections.remove(labels));
  }

  observed(key: string, ready: string, health: HealthStatus[], drifted: number): void {
    this.snapshot.set(key, { ready, health, drifted });
  }

  forgotten(key: string): void {
    this.snapshot.delete(key);
  }
}

/** KNOWN_CODES are the status codes kept as they are in the `code` label; 0 means no answer. */
const KNOWN_CODES = new Set([
  '0',
  '200',
  '201',
  '204',
  '400',
  '401',
  '403',
  '404',
  '409',
  '410',
  '422',
  '429',
  '500',
  '502',
  '503',
  '504',
]);

/**
 * codeLabel bounds the `code` label of request metrics: a data plane may answer any number, and
 * each distinct one would be a new series. Known codes stay; the rest become their class
 * (`2xx` ... `5xx`) or `other`.
 */
export function codeLabel(code: string): string {
  if (KNOWN_CODES.has(code)) return code;
  return /^[1-5][0-9][0-9]$/.test(code) ? `${code[0]}xx` : 'other';
}
