/**
 * ReleaseReconciler brings one Release's data plane to its spec and reports what it sees:
 * finalizer, resolve, desired, namespaces + staged apply, prune, status and conditions, Events,
 * requeue. Deletion is handled by finalize.ts. The reconciler reads only caches; it writes only
 * when something changed.
 */
import type { Logger } from 'pino';
import { describeRef } from '../../api/object.ts';
import {
  ConditionTypes,
  Defaults,
  Reasons,
  FINALIZER,
  Labels,
  type HealthStatus,
} from '../../api/v1alpha1/constants.ts';
import { parseDuration } from '../../api/v1alpha1/duration.ts';
import type { Release, ReleaseStatus, ResourceStatus } from '../../api/v1alpha1/schema.ts';
import type { DataPlaneConnection, DataPlanePool } from '../../dataplane/pool.ts';
import type { ResourceInfo } from '../../kube/discovery.ts';
import type { Informer } from '../../kube/informer.ts';
import { applyItems, forgetRecords, recordKey, type AppliedRecords } from './apply.ts';
import type { ReleaseWriter } from './controlplane.ts';
import { desiredItems, type DesiredItem } from './desired.ts';
import { finalizeRelease } from './finalize.ts';
import { deleteObjects, describeManaged, staleObjects } from './prune.ts';
import { isKubeApiError } from '../../kube/client.ts';
import { classifyFailure } from '../../ssa/apply.ts';
import { isResolveFailure, resolveTarget, type ControlPlaneReader } from './resolve.ts';
import {
  appliedCondition,
  isTransitioning,
  readyCondition,
  removeCondition,
  resolveConditions,
  resourceStatuses,
  statusEquals,
  withConditions,
  type ItemOutcome,
} from './status.ts';

/** REQUEUE_JITTER is the largest fraction added to a timed requeue, so Releases do not move in lockstep. */
export const REQUEUE_JITTER = 0.2;

/** EventType is the type of a Kubernetes Event. */
export type EventType = 'Normal' | 'Warning';

/** ReleaseEvents records Kubernetes Events on Releases (aggregated by the implementation). */
export interface ReleaseEvents {
  emit(release: Release, type: EventType, reason: string, message: string): void;
}

/** ReleaseObserver receives what metrics need from each reconcile. */
export interface ReleaseObserver {
  applied(dataPlane: string, kind: string, result: 'applied' | 'unchanged' | 'error'): void;
  pruned(dataPlane: string, kind: string): void;
  observed(key: string, ready: string, health: HealthStatus[]): void;
  forgotten(key: string): void;
}

/** PruneFailure says why stale objects could not be deleted. */
interface PruneFailure {
  message: string;
  unreachable: boolean;
}

/** ReconcileResult tells the controller loop when to come back. */
export interface ReconcileResult {
  requeueAfterMs?: number;
}

/** ReconcileError fails a reconcile after its status was written, so the queue backs off. */
export class ReconcileError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ReconcileError';
  }
}

/** ReleaseReconcilerDeps are the reconciler's collaborators. */
export interface ReleaseReconcilerDeps {
  releases: Informer<Release>;
  reader: ControlPlaneReader;
  writer: ReleaseWriter;
  pool: DataPlanePool;
  events: ReleaseEvents;
  observer?: ReleaseObserver;
  logger: Logger;
  now?: () => Date;
  random?: () => number;
}

/** ReleaseReconciler reconciles Releases by `namespace/name` key. */
export class ReleaseReconciler {
  readonly records: AppliedRecords = new Map();
  /** dataPlaneOf remembers where each Release was last applied, so its watches can be released. */
  private readonly dataPlaneOf = new Map<string, string>();

  constructor(private readonly deps: ReleaseReconcilerDeps) {}

  /** reconcile runs one reconcile of the Release with the given key. */
  async reconcile(key: string, signal: AbortSignal): Promise<ReconcileResult> {
    const [namespace = '', name = ''] = key.split('/');
    const cached = this.deps.releases.get(namespace, name);
    if (!cached) {
      await this.forget(key);
      return {};
    }
    let release = this.deps.writer.freshest(cached);
    const logger = this.deps.logger.child({ release: key });
    if (release.metadata.deletionTimestamp) {
      return finalizeRelease({
        ...this.deps,
        logger,
        release,
        key,
        signal,
        at: this.now(),
        records: this.records,
        forget: () => this.forget(key),
      });
    }
    if (!release.metadata.finalizers?.includes(FINALIZER)) {
      release = await this.deps.writer.addFinalizer(release, signal);
    }

    const now = this.now();
    const previous: ReleaseStatus = release.status ?? {};
    const target = await resolveTarget(release, this.deps.reader, this.deps.pool);
    if (isResolveFailure(target)) {
      const status = withConditions(
        release,
        { ...previous, observedGeneration: release.metadata.generation },
        resolveConditions(target),
        now,
      );
      await this.writeStatus(release, status, logger, signal);
      this.deps.events.emit(release, 'Warning', target.reason, target.message);
      this.observe(key, status);
      return { requeueAfterMs: this.requeueAfter(release, true) };
    }
    const { conn } = target;
    const previousDataPlane = this.dataPlaneOf.get(key);
    if (previousDataPlane && previousDataPlane !== conn.key) {
      logger.warn(
        { from: previousDataPlane, to: conn.key },
        'Release moved to another data plane; objects on the old one are left in place',
      );
      await this.deps.pool.get(previousDataPlane)?.watches.release(key);
    }
    this.dataPlaneOf.set(key, conn.key);

    const items = desiredItems(release);
    conn.watches.add(key, await this.kindsToWatch(conn, items, previous.resources));
    const outcomes = await applyItems(
      {
        release,
        conn,
        records: this.records,
        releaseExists: (ns, n, uid) => this.deps.releases.get(ns, n)?.metadata.uid === uid,
        logger,
        signal,
        onApplied: (kind, result) => this.deps.observer?.applied(conn.key, kind, result),
      },
      items,
    );

    let unreachable = outcomes.some((o) => o.unreachable);
    const pruneFailure = unreachable ? undefined : await this.prune(release, conn, outcomes, signal, logger);
    unreachable ||= pruneFailure?.unreachable === true;
    // Keep the last known inventory: an unreachable data plane tells us nothing new about it.
    const resources = unreachable
      ? (previous.resources ?? [])
      : resourceStatuses(outcomes, previous.resources, now);
    let applied = appliedCondition(outcomes);
    if (pruneFailure && applied.status === 'True') {
      applied = {
        ...applied,
        status: 'False',
        reason: pruneFailure.unreachable ? Reasons.dataPlaneUnreachable : Reasons.pruneFailed,
        message: pruneFailure.message,
      };
    }
    const ready = readyCondition(applied, resources);
    const status = withConditions(
      release,
      {
        ...previous,
        observedGeneration: release.metadata.generation,
        resources,
        conditions: removeCondition(previous.conditions, ConditionTypes.finalizing),
      },
      [applied, ready],
      now,
    );
    await this.writeStatus(release, status, logger, signal);
    this.emitEvents(release, previous, status);
    this.observe(key, status);
    await conn.watches.use(key, this.kindsInUse(conn, outcomes, release.metadata.uid ?? ''));

    const failed = outcomes.filter((o) => o.state === 'failed' || o.state === 'recreating');
    if (failed.length > 0) {
      throw new ReconcileError(
        `${failed.length} resource(s) not applied: ${failed.map((o) => o.message).join('; ')}`,
      );
    }
    const waiting = outcomes.some((o) => o.state === 'waiting');
    const requeueAfterMs = this.requeueAfter(release, waiting || isTransitioning(resources));
    logger.debug({ resources: outcomes.length, requeueAfterMs: requeueAfterMs ?? null }, 'reconciled');
    return { requeueAfterMs };
  }

  /** forget drops everything remembered about a Release that no longer exists. */
  async forget(key: string): Promise<void> {
    this.deps.writer.forget(key);
    forgetRecords(this.records, key);
    this.deps.observer?.forgotten(key);
    const dp = this.dataPlaneOf.get(key);
    this.dataPlaneOf.delete(key);
    if (dp) await this.deps.pool.get(dp)?.watches.release(key);
  }

  /** requeueAfter is progressingInterval while anything transitions, else interval, plus jitter; 0s disables. */
  requeueAfter(release: Release, transitioning: boolean): number | undefined {
    const text = transitioning
      ? (release.spec.progressingInterval ?? Defaults.progressingInterval)
      : (release.spec.interval ?? Defaults.interval);
    const ms = parseDuration(text);
    if (!ms) return undefined;
    return Math.round(ms * (1 + REQUEUE_JITTER * (this.deps.random ?? Math.random)()));
  }

  /**
   * prune deletes the objects no spec item wants any more, only on a complete picture: every
   * apply answered and every watch connected. It returns why pruning failed, if it did.
   */
  private async prune(
    release: Release,
    conn: DataPlaneConnection,
    outcomes: ItemOutcome[],
    signal: AbortSignal,
    logger: Logger,
  ): Promise<PruneFailure | undefined> {
    if (
      outcomes.some((o) => o.state === 'failed' || o.state === 'recreating') ||
      !conn.watches.allHealthy()
    ) {
      return undefined;
    }
    const stale = staleObjects(conn.watches.objectsOf(release.metadata.uid ?? ''), outcomes);
    if (stale.length === 0) return undefined;
    const { deleted, failed } = await deleteObjects(conn, stale, signal);
    for (const m of deleted) {
      const ref = describeManaged(m);
      const id = m.object.metadata.labels?.[Labels.resourceId] ?? '';
      this.records.delete(
        recordKey(conn.key, m.info, m.object.metadata.namespace, m.object.metadata.name ?? ''),
      );
      logger.info({ object: ref, id }, 'pruned');
      this.deps.observer?.pruned(conn.key, m.info.kind);
      this.deps.events.emit(
        release,
        'Normal',
        'Pruned',
        `deleted ${ref} (resource "${id}" no longer in spec as this object)`,
      );
    }
    if (failed.length === 0) return undefined;
    const unreachable = failed.some((f) => isKubeApiError(f.error) && f.error.isUnreachable);
    const listed = failed
      .slice(0, 3)
      .map((f) => `${describeManaged(f.object)}: ${classifyFailure(f.error).message}`);
    return {
      unreachable,
      message: `could not delete ${failed.length} object${failed.length === 1 ? '' : 's'} no longer in spec: ${listed.join('; ')}`,
    };
  }

  private async kindsToWatch(
    conn: DataPlaneConnection,
    items: DesiredItem[],
    inventory: ResourceStatus[] | undefined,
  ): Promise<ResourceInfo[]> {
    const gvks = [
      ...items.filter((i) => i.ok).map((i) => ({ group: i.group, version: i.version, kind: i.kind })),
      ...(inventory ?? []).map((r) => ({ group: r.group, version: r.version, kind: r.kind })),
    ];
    // A kind that is not served (yet) cannot be watched; the apply step reports it per item.
    const infos = await Promise.all(gvks.map((g) => conn.discovery.resolve(g).catch(() => undefined)));
    return infos.filter((i): i is ResourceInfo => i !== undefined);
  }

  /** kindsInUse are the watched kinds this Release wants, or still has objects of. */
  private kindsInUse(conn: DataPlaneConnection, outcomes: ItemOutcome[], uid: string): ResourceInfo[] {
    const wanted = new Set(outcomes.filter((o) => o.item.ok).map((o) => `${o.item.group}/${o.item.kind}`));
    for (const m of conn.watches.objectsOf(uid)) wanted.add(`${m.info.group}/${m.info.kind}`);
    return conn.watches
      .watched()
      .filter((w) => wanted.has(`${w.info.group}/${w.info.kind}`))
      .map((w) => w.info);
  }

  private async writeStatus(
    release: Release,
    status: ReleaseStatus,
    logger: Logger,
    signal: AbortSignal,
  ): Promise<void> {
    if (statusEquals(release.status, status)) return;
    await this.deps.writer.writeStatus(release, status, signal);
    logger.debug('status written');
  }

  private emitEvents(release: Release, previous: ReleaseStatus, status: ReleaseStatus): void {
    const applied = status.conditions?.find((c) => c.type === ConditionTypes.resourcesApplied);
    if (applied?.status === 'False')
      this.deps.events.emit(release, 'Warning', applied.reason, applied.message);
    const before = new Map((previous.resources ?? []).map((r) => [r.id, r.healthStatus]));
    for (const r of status.resources ?? []) {
      const was = before.get(r.id);
      if (was === undefined || was === r.healthStatus) continue;
      const ref = describeRef({ kind: r.kind, name: r.name, namespace: r.namespace });
      this.deps.events.emit(
        release,
        r.healthStatus === 'Degraded' ? 'Warning' : 'Normal',
        'HealthChanged',
        `${ref}: ${was} -> ${r.healthStatus}${r.message ? ` (${r.message})` : ''}`,
      );
    }
    const readyBefore = previous.conditions?.find((c) => c.type === ConditionTypes.ready);
    const readyNow = status.conditions?.find((c) => c.type === ConditionTypes.ready);
    if (readyNow && (readyBefore?.status !== readyNow.status || readyBefore.reason !== readyNow.reason)) {
      const type: EventType =
        readyNow.status === 'True' || readyNow.reason === 'Progressing' ? 'Normal' : 'Warning';
      this.deps.events.emit(release, type, readyNow.reason, readyNow.message);
    }
  }

  private observe(key: string, status: ReleaseStatus): void {
    const ready = status.conditions?.find((c) => c.type === ConditionTypes.ready)?.status ?? 'Unknown';
    this.deps.observer?.observed(
      key,
      ready,
      (status.resources ?? []).map((r) => r.healthStatus),
    );
  }

  private now(): Date {
    return this.deps.now?.() ?? new Date();
  }
}
