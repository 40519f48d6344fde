/**
 * ReleaseReconciler brings one Release's data plane to its spec and reports what it sees. One
 * reconcile reads as its steps: finalizer, resolve (resolve.ts), desired (desired.ts), watch the
 * kinds (kinds.ts), apply (apply.ts), prune (prune.ts), status and conditions (status.ts), Events
 * (events.ts), requeue. Deletion is the finalize step (finalize.ts). The reconciler reads the
 * control plane and the data plane from caches; it sends a request to a data plane only to write
 * something that changed, or to learn what a cache cannot tell (a Namespace someone else created).
 */
import type { Logger } from 'pino';
import {
  ConditionTypes,
  Defaults,
  Reasons,
  FINALIZER,
  type HealthStatus,
} from '../../api/v1alpha1/constants.ts';
import { parseDuration } from '../../api/v1alpha1/duration.ts';
import { plural } from '../../api/text.ts';
import type { Release, ReleaseStatus } from '../../api/v1alpha1/schema.ts';
import type { Informer } from '../../kube/informer.ts';
import type { ReconcileResult } from '../../runtime/controller.ts';
import type { EventType } from '../../runtime/events.ts';
import type { DataPlanePort } from '../../dataplane/port.ts';
import type { ApplyResult } from '../../ssa/apply.ts';
import { ApplyMemory } from '../../ssa/memory.ts';
import { applyRelease } from './apply.ts';
import type { ReleaseStore } from './controlplane.ts';
import { desiredItems } from './desired.ts';
import { ReconcileError } from './errors.ts';
import { reconcileEvents } from './events.ts';
import { finalizeRelease } from './finalize.ts';
import { kindsInUse, kindsToWatch } from './kinds.ts';
import { pruneRelease } from './prune.ts';
import { isResolveFailure, type DataPlaneResolver } from './resolve.ts';
import {
  appliedCondition,
  isTransitioning,
  readyCondition,
  removeCondition,
  resolveConditions,
  resourceStatuses,
  statusEquals,
  withConditions,
} from './status.ts';

/** REQUEUE_JITTER is the largest fraction added to a timed requeue, so Releases do not move in lockstep. */
export const REQUEUE_JITTER = 0.2;

/** ReleaseEvents records Kubernetes Events on Releases (aggregated by the implementation). */
export interface ReleaseEvents {
  emit(release: Release, type: EventType, reason: string, message: string): void;
}

/** ReleaseObserver receives what metrics need from each reconcile. */
export interface ReleaseObserver {
  applied(dataPlane: string, kind: string, result: ApplyResult): void;
  pruned(dataPlane: string, kind: string): void;
  observed(key: string, ready: string, health: HealthStatus[]): void;
  forgotten(key: string): void;
}

/** ReleaseReconcilerDeps are the reconciler's collaborators. */
export interface ReleaseReconcilerDeps {
  /** releases reads Releases from the control-plane cache. */
  releases: Pick<Informer<Release>, 'get'>;
  resolver: DataPlaneResolver;
  writer: ReleaseStore;
  events: ReleaseEvents;
  observer?: ReleaseObserver;
  logger: Logger;
  now?: () => Date;
  random?: () => number;
}

/** ReleaseReconciler reconciles Releases by `namespace/name` key. */
export class ReleaseReconciler {
  /** memory remembers our applies, so unchanged objects are not applied again. */
  readonly memory = new ApplyMemory();
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
        release,
        key,
        resolver: this.deps.resolver,
        writer: this.deps.writer,
        events: this.deps.events,
        memory: this.memory,
        logger,
        signal,
        at: this.now(),
        forget: () => this.forget(key),
      });
    }
    if (!release.metadata.finalizers?.includes(FINALIZER)) {
      release = await this.deps.writer.addFinalizer(release, signal);
    }

    const now = this.now();
    const previous: ReleaseStatus = release.status ?? {};
    const target = await this.deps.resolver.resolve(release);
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
    const { dataPlane } = target;
    await this.bindTo(key, dataPlane, logger);

    const items = desiredItems(release);
    dataPlane.addKinds(key, await kindsToWatch(dataPlane, release, items));
    const outcomes = await applyRelease(
      {
        release,
        dataPlane,
        memory: this.memory,
        releaseExists: (ns, n, uid) => this.deps.releases.get(ns, n)?.metadata.uid === uid,
        logger,
        signal,
        onResult: (kind, result) => this.deps.observer?.applied(dataPlane.key, kind, result),
      },
      items,
    );
    const uid = release.metadata.uid ?? '';
    const {
      pruned,
      givenBack,
      failure: pruneFailure,
    } = await pruneRelease({ releaseUid: uid, dataPlane, memory: this.memory, logger, signal }, outcomes);
    for (const m of pruned) this.deps.observer?.pruned(dataPlane.key, m.info.kind);

    const unreachable = outcomes.some((o) => o.unreachable) || pruneFailure?.unreachable === true;
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
    for (const e of reconcileEvents(previous, status, pruned, givenBack))
      this.deps.events.emit(release, e.type, e.reason, e.message);
    this.observe(key, status);
    await dataPlane.useKinds(key, kindsInUse(dataPlane, outcomes, uid));

    const failed = outcomes.filter((o) => o.state === 'failed' || o.state === 'recreating');
    if (failed.length > 0) {
      throw new ReconcileError(
        `${plural(failed.length, 'resource')} not applied: ${failed.map((o) => o.message).join('; ')}`,
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
    this.memory.forgetOwner(key);
    this.deps.observer?.forgotten(key);
    const dp = this.dataPlaneOf.get(key);
    this.dataPlaneOf.delete(key);
    if (dp) await this.deps.resolver.get(dp)?.releaseKinds(key);
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

  /** bindTo records the data plane a Release is applied to, releasing the watches of a previous one. */
  private async bindTo(key: string, dataPlane: DataPlanePort, logger: Logger): Promise<void> {
    const previous = this.dataPlaneOf.get(key);
    if (previous && previous !== dataPlane.key) {
      logger.warn(
        { from: previous, to: dataPlane.key },
        'Release moved to another data plane; objects on the old one are left in place',
      );
      await this.deps.resolver.get(previous)?.releaseKinds(key);
    }
    this.dataPlaneOf.set(key, dataPlane.key);
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
