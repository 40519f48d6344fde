/**
 * Release-specific metrics: Releases by Ready, resources by health, applies and prunes, and every
 * request to each data plane with its latency. Generic controller metrics live in runtime/metrics.ts.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { HEALTH_STATUSES, type HealthStatus } from '../../api/v1alpha1/constants.ts';
import type { RequestObserver } from '../../kube/client.ts';
import type { ReleaseObserver } from './reconciler.ts';

/** REQUEST_BUCKETS are the latency buckets of API requests, in seconds. */
export const REQUEST_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** ReleaseMetrics implements ReleaseObserver and the request observers on one registry. */
export class ReleaseMetrics implements ReleaseObserver {
  private readonly snapshot = new Map<string, { ready: string; health: HealthStatus[]; drifted: number }>();
  private readonly driftCorrections: Counter<'data_plane' | 'kind'>;
  private readonly applies: Counter<'data_plane' | 'kind' | 'result'>;
  private readonly prunes: Counter<'data_plane' | 'kind'>;
  private readonly requests: Counter<'cluster' | 'verb' | 'code'>;
  private readonly latency: Histogram<'cluster' | 'verb'>;

  constructor(registry: Registry) {
    const registers = [registry];
    const snapshot = this.snapshot;
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

  /** requestObserver returns the observer of one cluster's requests. */
  requestObserver(cluster: string): RequestObserver {
    return (verb, code, seconds) => {
      this.requests.inc({ cluster, verb, code: codeLabel(code) });
      if (verb !== 'WATCH') this.latency.observe({ cluster, verb }, seconds);
    };
  }

  applied(dataPlane: string, kind: string, result: 'applied' | 'unchanged' | 'error'): void {
    this.applies.inc({ data_plane: dataPlane, kind, result });
  }

  pruned(dataPlane: string, kind: string): void {
    this.prunes.inc({ data_plane: dataPlane, kind });
  }

  driftCorrected(dataPlane: string, kind: string): void {
    this.driftCorrections.inc({ data_plane: dataPlane, kind });
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
