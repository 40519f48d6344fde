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
  ApplyModes,
  ConditionTypes,
  Defaults,
  EventReasons,
  Reasons,
  type HealthStatus,
} from '../../api/v1alpha1/constants.ts';
import { parseDuration } from '../../api/v1alpha1/duration.ts';
import { parseReleaseKey, profileOf, PROFILES, type KindProfile } from '../../api/v1alpha1/profile.ts';
import { listWithMore, plural, truncate } from '../../api/text.ts';
import { describeRef, type KubeObject } from '../../api/object.ts';
import type { Placement, Release, ReleaseStatus, ResourceStatus } from '../../api/v1alpha1/schema.ts';
import type { ManagedObject } from '../../dataplane/port.ts';
import { describeError } from '../../kube/errors.ts';
import type { ReconcileResult } from '../../runtime/controller.ts';
import type { EventType } from '../../runtime/events.ts';
import type { Slot } from '../../runtime/limiter.ts';
import type { DataPlanePort } from '../../dataplane/port.ts';
import type { HealthOverride } from '../../health/rules/registry.ts';
import type { ApplyResult } from '../../ssa/apply.ts';
import type { RetainedObject } from '../../ssa/delete.ts';
import { dataPlaneProblem, EXPECTED_FAILURES } from '../../ssa/failure.ts';
import { ApplyMemory } from '../../ssa/memory.ts';
import { applyRelease, type ItemOutcome } from './apply.ts';
import type { ReleaseStore } from './controlplane.ts';
import { OwnerPass, type ReleaseDirectory } from './directory.ts';
import { desiredItems, type DesiredItem } from './desired.ts';
import { ReconcileError } from './errors.ts';
import { reconcileEvents } from './events.ts';
import { finalizeRelease } from './finalize.ts';
import { kindsInUse, kindsToWatch } from './kinds.ts';
import type { ResourceInfo } from '../../kube/discovery.ts';
import {
  dataPlaneName,
  isSamePlacement,
  otherPlacements,
  placementRecord,
  placementsOf,
  sweepPlacement,
} from './placement.ts';
import { Inventory, notProvenMessage, pendingRemovalsOf, settlePending } from './inventory.ts';
import {
  handledRequest,
  isSuspended,
  planningIdentity,
  previewTarget,
  retentionOf,
  writesNothing,
  type ObserveLimits,
} from './policy.ts';
import { plannedDeletions, pruneRelease } from './prune.ts';
import { FirstPassProgress, progressConditions } from './progress.ts';
import { isResolveFailure, type DataPlaneResolver, type Target } from './resolve.ts';
import type { OwnershipSeal } from './tenancy.ts';
import { statusBudget } from './budget.ts';
import {
  appliedCondition,
  awaitsSpecChange,
  boundStatus,
  isTransitioning,
  previewConditions,
  problemMessages,
  readyCondition,
  removeCondition,
  resolveConditions,
  resourceStatuses,
  retainedStatus,
  statusEquals,
  suspendedConditions,
  withConditions,
} from './status.ts';

/** MAX_ERRORS_LISTED is how many failures a reconcile error names. */
const MAX_ERRORS_LISTED = 5;

/** OWNER_RECHECK_MS is how soon a pass runs again when an owner it took for alive was read gone. */
export const OWNER_RECHECK_MS = 100;

/** REQUEUE_JITTER is the largest fraction added to a timed requeue, so Releases do not move in lockstep. */
export const REQUEUE_JITTER = 0.2;
/**
 * DEFER_REQUEUE_MS is when a Release whose data plane already uses its share of the workers is
 * tried again at the latest. It is only a safety net: the Release is woken as soon as a slot of
 * that data plane frees (each freed slot wakes one waiter, in order), and a slot is always given
 * back. A short timer brings every parked Release back to be deferred again and again while a
 * large backlog drains: at 3000 Releases on one data plane 5 s made 14 reconciles per Release, at
 * 10,000 (six minutes to converge) 60 s made 7.
 */
export const DEFER_REQUEUE_MS = 5 * 60_000;

/**
 * DataPlaneSlots caps the reconciles running against one data plane at once, those of one
 * organization and those of one endpoint (a KeyedLimiter keyed by DataPlane `namespace/name`, by
 * organizationSlotKey and by endpointSlotKey, the Release key as waiter), so neither one data plane
 * that answers slowly or not at all, nor one organization with many such data planes, nor many
 * DataPlanes (of any organizations) pointing at one such server, can hold every worker.
 */
export interface DataPlaneSlots {
  tryAcquire(dataPlane: string, release: string): Slot | undefined;
}

/** organizationSlotKey is the worker-share key of the organization (namespace) of a Release key. */
export function organizationSlotKey(releaseKey: string): string {
  return `organization:${releaseKey.slice(0, releaseKey.indexOf('/'))}`;
}

/** endpointSlotKey is the worker-share key of a data-plane endpoint (`host:port`). */
export function endpointSlotKey(endpoint: string): string {
  return `endpoint:${endpoint}`;
}

/**
 * ObservedCounts keeps how many objects each Release observes and the total per organization (the
 * namespace of the Release key), so a Release learns what its organization's other Releases use
 * without a scan of every Release.
 */
export class ObservedCounts {
  private readonly perRelease = new Map<string, number>();
  private readonly perOrganization = new Map<string, number>();

  /** set records what a Release observes now (0 forgets it). */
  set(releaseKey: string, count: number): void {
    const org = releaseKey.slice(0, releaseKey.indexOf('/'));
    const delta = count - (this.perRelease.get(releaseKey) ?? 0);
    if (count === 0) this.perRelease.delete(releaseKey);
    else this.perRelease.set(releaseKey, count);
    const total = (this.perOrganization.get(org) ?? 0) + delta;
    if (total === 0) this.perOrganization.delete(org);
    else this.perOrganization.set(org, total);
  }

  /** byOthers is what the other Releases of a Release's organization observe. */
  byOthers(releaseKey: string): number {
    const org = releaseKey.slice(0, releaseKey.indexOf('/'));
    return (this.perOrganization.get(org) ?? 0) - (this.perRelease.get(releaseKey) ?? 0);
  }
}

/** ReleaseEvents records Kubernetes Events on Releases (aggregated by the implementation). */
export interface ReleaseEvents {
  emit(release: Release, type: EventType, reason: string, message: string): void;
}

/** ReleaseObserver receives what metrics need from each reconcile. */
export interface ReleaseObserver {
  applied(dataPlane: string, kind: string, result: ApplyResult): void;
  pruned(dataPlane: string, kind: string): void;
  /** driftCorrected counts an object applied again because it had drifted (drift mode Correct). */
  driftCorrected(dataPlane: string, kind: string): void;
  /** observed records a Release's readiness, the health of its objects and how many are drifted (Report). */
  observed(key: string, ready: string, health: HealthStatus[], drifted: number): void;
  forgotten(key: string): void;
  /** deferred counts a reconcile put back because its data plane used its share of the workers. */
  deferred(dataPlane: string): void;
}

/** ReleaseLookup reads Releases of every served kind (profile.ts; a Release when no profile is given) from the control-plane caches. */
export interface ReleaseLookup {
  get(namespace: string | undefined, name: string, profile?: KindProfile): Release | undefined;
}

/** ReleaseReconcilerDeps are the reconciler's collaborators. */
export interface ReleaseReconcilerDeps {
  /** releases reads Releases from the control-plane cache. */
  releases: ReleaseLookup;
  /**
   * directories answer whether an object's owning Release lives (one per served kind), reading the
   * API server for one outside a partial cache (--release-selector); without them the cache is the answer.
   */
  directories?: readonly ReleaseDirectory[];
  resolver: DataPlaneResolver;
  writer: ReleaseStore;
  events: ReleaseEvents;
  observer?: ReleaseObserver;
  /** slots caps the reconciles per data plane; unlimited without. */
  slots?: DataPlaneSlots;
  logger: Logger;
  /**
   * healthRules evaluates the operator's HealthRules for the live objects before the status step
   * (asynchronous: they run in a worker); without it, only the built-in and generic rules apply.
   */
  healthRules?: { prepare(objects: Iterable<KubeObject | undefined>): Promise<HealthOverride> };
  now?: () => Date;
  random?: () => number;
  /**
   * tenancy is how organizations are confined beyond their own TenantPolicy: the reserved
   * namespaces and the seal of namespace ownership. Without it every Release is single-tenant.
   */
  tenancy?: { reserved: readonly string[]; sealer: OwnershipSeal };
  /**
   * observeLimits caps the objects one Release and one organization observe (each observed object
   * is kept in a watch cache), in every tenancy mode; unlimited without.
   */
  observeLimits?: Pick<ObserveLimits, 'perRelease' | 'perOrganization'>;
  /**
   * shardKeys are the label keys of --release-selector (shard.ts shardLabelKeys): every object
   * carries its Release's values of them, so it is in the watches of its Release's shard only.
   */
  shardKeys?: readonly string[];
}

/** ReleaseReconciler reconciles Releases by `namespace/name` key. */
export class ReleaseReconciler {
  /** memory remembers our applies, so unchanged objects are not applied again. */
  readonly memory = new ApplyMemory();

  /**
   * seen is told each object a data plane's watch delivers (the apply memory lets go of copies it
   * no longer needs); it returns true for the echo of our own apply, which needs no reconcile: the
   * reconcile that applied it already reported the object as the apply returned it.
   */
  seen(dataPlane: string, type: string, obj: KubeObject): boolean {
    const echo = this.memory.caughtUp(dataPlane, obj, type === 'added');
    return echo && type !== 'deleted';
  }
  /** notProvenReported is the last NotProven message of each Release, so an unchanged one is not repeated. */
  private readonly notProvenReported = new Map<string, string>();
  /** dataPlaneOf remembers where each Release was last applied, so its watches can be released. */
  private readonly dataPlaneOf = new Map<string, string>();
  /** observing counts the objects each Release observes, by organization (TenantPolicy limits). */
  private readonly observing = new ObservedCounts();

  constructor(private readonly deps: ReleaseReconcilerDeps) {}

  /** reconcile runs one reconcile of the Release with the given key. */
  async reconcile(key: string, signal: AbortSignal): Promise<ReconcileResult> {
    const { namespace, name, profile } = parseReleaseKey(key);
    const cached = this.deps.releases.get(namespace, name, profile);
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
        acquire: (dataPlane) => this.acquire(key, dataPlane),
        defer: () => this.defer(),
      });
    }
    const now = this.now();
    // A preview of another Release (annotation preview-of) that cannot be honoured sends nothing.
    const planAs = previewTarget(release, (n) => this.deps.releases.get(namespace, n, profile));
    if (planAs.refusal !== undefined) {
      // Said as a resolve failure is: the Release cannot be applied as written, and nothing was sent.
      const refused = resolveConditions({ reason: Reasons.previewOfInvalid, message: planAs.refusal });
      const status = boundStatus(
        withConditions(
          release,
          { ...release.status, observedGeneration: release.metadata.generation, ...handledRequest(release) },
          refused,
          now,
        ),
        statusBudget(release),
        release.status?.resources,
      );
      await this.writeStatus(release, status, logger, signal);
      this.deps.events.emit(release, 'Warning', Reasons.previewOfInvalid, planAs.refusal);
      return { requeueAfterMs: this.requeueAfter(release, true) };
    }
    const target = await this.deps.resolver.resolve(release);
    if (isResolveFailure(target)) {
      release = await this.ensureFinalizer(release, signal);
      const status = boundStatus(
        withConditions(
          release,
          { ...release.status, observedGeneration: release.metadata.generation, ...handledRequest(release) },
          resolveConditions(target),
          now,
        ),
        statusBudget(release),
        release.status?.resources,
      );
      await this.writeStatus(release, status, logger, signal);
      this.deps.events.emit(release, 'Warning', target.reason, target.message);
      this.observe(key, status, release.status?.resources ?? []);
      return { requeueAfterMs: this.requeueAfter(release, true) };
    }
    const slot = this.acquire(key, target.dataPlane);
    if (!slot) return this.defer();
    try {
      return await this.reconcileOn(key, release, target, logger, signal, planAs.previewed);
    } finally {
      slot.release();
    }
  }

  /**
   * acquire takes one of the data plane's slots for the Release, or counts a deferral. Without
   * slots configured every reconcile runs.
   */
  private acquire(key: string, dataPlane: DataPlanePort): Slot | undefined {
    const slots = this.deps.slots;
    if (!slots) return { release: () => undefined };
    // An organization's share too: many DataPlanes of one organization (all silent, say) must not
    // hold every worker between them; nor may many DataPlanes pointing at one endpoint. Keys of
    // DataPlanes always hold a slash; these never do.
    const keys = [dataPlane.key, organizationSlotKey(key)];
    if (dataPlane.endpoint) keys.push(endpointSlotKey(dataPlane.endpoint));
    const held: Slot[] = [];
    for (const slotKey of keys) {
      const slot = slots.tryAcquire(slotKey, key);
      if (!slot) break;
      held.push(slot);
    }
    if (held.length === keys.length) return { release: () => held.reverse().forEach((s) => s.release()) };
    for (const slot of held) slot.release();
    this.deps.observer?.deferred(dataPlane.key);
    return undefined;
  }

  /** defer gives the worker back: the Release is retried when its data plane has a free slot. */
  private defer(): ReconcileResult {
    const jitter = 1 + REQUEUE_JITTER * (this.deps.random ?? Math.random)();
    return { deferred: true, requeueAfterMs: Math.round(DEFER_REQUEUE_MS * jitter) };
  }

  /** reconcileOn runs the steps after resolve, holding a slot of the Release's data plane. */
  private async reconcileOn(
    key: string,
    resolved: Release,
    target: Target,
    logger: Logger,
    signal: AbortSignal,
    previewed?: Release,
  ): Promise<ReconcileResult> {
    let release = resolved;
    const now = this.now();
    const { dataPlane, resourcePolicy, tenancy } = target;
    await this.bindTo(key, dataPlane, logger);

    // A preview of another Release plans its objects with that Release's labels (never written: a dry run).
    const items = desiredItems(planningIdentity(release, previewed), this.deps.shardKeys);
    // Where the objects go is recorded before they go there, so cleanup knows every cluster to look at.
    const placed = await this.place(release, dataPlane, logger, signal);
    release = placed.release;
    const appliedTo = placementsOf(release);
    const previous: ReleaseStatus = release.status ?? {};
    // A long first pass shows its progress (progress.ts); the last progress write is the base of the final one.
    let progressed: Release | undefined;
    const progress =
      !writesNothing(release) && !previous.resources?.length
        ? new FirstPassProgress(
            items.filter((i) => i.ok).length,
            async (done, total) => {
              const base = progressed ?? release;
              const conditions = progressConditions(done, total);
              progressed = await this.deps.writer.writeStatus(
                base,
                withConditions(release, { ...base.status }, conditions, this.now()),
                signal,
              );
            },
            logger,
          )
        : undefined;
    let outcomes: ItemOutcome[];
    let owners: OwnerPass | undefined;
    // The kinds of the Release's spec and inventory: its picture of the data plane.
    let kinds: ResourceInfo[] = [];
    if (placed.unreachable) {
      outcomes = unreachableOutcomes(items, placed.unreachable);
    } else {
      kinds = await kindsToWatch(dataPlane, release, items);
      dataPlane.addKinds(key, kinds);
      owners = this.deps.directories && new OwnerPass(this.deps.directories);
      outcomes = await applyRelease(
        {
          release,
          dataPlane,
          memory: this.memory,
          // Labels name the Release of either kind; its uid tells which.
          releaseExists:
            owners?.exists ??
            ((ns, n, uid) => PROFILES.some((p) => this.deps.releases.get(ns, n, p)?.metadata.uid === uid)),
          ...(resourcePolicy && { resourcePolicy }),
          ...(tenancy &&
            this.deps.tenancy &&
            placed.placement && {
              tenancy: {
                tenancy,
                ...this.deps.tenancy,
                cluster: placed.placement.cluster,
                observedByOthers: this.observing.byOthers(key),
              },
            }),
          ...(this.deps.observeLimits && {
            observeLimits: { ...this.deps.observeLimits, observedByOthers: this.observing.byOthers(key) },
          }),
          ...(previewed && { previewed }),
          logger,
          signal,
          onResult: (kind, result) => {
            this.deps.observer?.applied(dataPlane.key, kind, result);
            progress?.step();
          },
        },
        items,
      );
      logChanges(logger, outcomes);
      // What this Release observes now counts against its organization's share (observedPerOrganization).
      this.observing.set(
        key,
        outcomes.filter(
          (o) => o.item.ok && o.item.policy?.apply === ApplyModes.observe && o.state !== 'notAllowed',
        ).length,
      );
    }
    const uid = release.metadata.uid ?? '';
    // Suspended or DryRun: dry runs only, nothing pruned, the plan reported.
    const preview = writesNothing(release);
    // The apply connected the watches of the spec's kinds; a kind only the inventory has (it left
    // the spec, perhaps before a restart) is watched too, or its objects could never be pruned. A
    // watch that does not connect leaves the picture incomplete: nothing is pruned, and it is said.
    if (!outcomes.some((o) => o.unreachable))
      await Promise.all(kinds.map((info) => dataPlane.cache(info).catch(() => undefined)));
    const pruneContext = {
      key,
      releaseUid: uid,
      dataPlane,
      memory: this.memory,
      logger,
      signal,
      retain: retentionOf(release, () => items),
      // What the status recorded before this pass: stale objects and those on a data plane the
      // Release left are all there (in resources, or in pendingRemovals).
      inventory: Inventory.of(previous),
    };
    // A preview deletes nothing: it says what a prune would delete.
    const pruning = preview
      ? { pruned: [], givenBack: [], retained: [], notProven: [], present: undefined }
      : await pruneRelease(pruneContext, outcomes);
    const pruned = [...pruning.pruned];
    const givenBack = [...pruning.givenBack];
    const retained = [...pruning.retained];
    const notProven = [...pruning.notProven];
    let pruneFailure = pruning.failure;
    // Moved (another DataPlane, or this one re-pointed): once everything is applied here, the
    // objects are removed from every other cluster the Release applied to.
    // Every placement is recorded in the status from its first status write on (placementsOf
    // takes in the entries written with the finalizer).
    let placements = appliedTo;
    const allApplied = outcomes.every((o) => o.state === 'applied') && !pruneFailure;
    if (!preview && allApplied && placed.placement && placements.length > 1) {
      const moved = await this.sweepOthers(key, release, placed.placement, logger, signal);
      placements = moved.appliedTo;
      pruned.push(...moved.deleted);
      givenBack.push(...moved.givenBack);
      retained.push(...moved.retained);
      notProven.push(...moved.notProven);
      pruneFailure = moved.failure;
    }
    for (const m of pruned) this.deps.observer?.pruned(dataPlane.key, m.info.kind);
    for (const o of outcomes)
      if (o.drift?.corrected) this.deps.observer?.driftCorrected(dataPlane.key, o.item.kind);
    // Keep the last known inventory when this data plane is unreachable: it tells us nothing new
    // (an old data plane of a move that does not answer says nothing about this one).
    const unreachable = outcomes.some((o) => o.unreachable) || pruning.failure?.unreachable === true;
    const rules = unreachable ? undefined : await this.deps.healthRules?.prepare(outcomes.map((o) => o.live));
    const resources = unreachable
      ? (previous.resources ?? [])
      : resourceStatuses(
          outcomes,
          previous.resources,
          now,
          { releaseUid: uid, preview, known: pruneContext.inventory },
          rules,
        );
    // Recorded objects the spec no longer has as they are stay recorded until verified gone: on
    // a complete picture of the only data plane the Release's objects may be on.
    const watched = new Set(dataPlane.watchedKinds().map((k) => `${k.group}/${k.kind}`));
    const pendingRemovals = unreachable
      ? previous.pendingRemovals
      : settlePending(
          pendingRemovalsOf(previous, resources),
          placements.length <= 1 ? pruning.present : undefined,
          (group, kind) => watched.has(`${group}/${kind}`),
        );
    let applied = appliedCondition(outcomes);
    if (pruneFailure && applied.status === 'True') {
      applied = {
        ...applied,
        status: 'False',
        reason: pruneFailure.unreachable
          ? Reasons.dataPlaneUnreachable
          : 'deferred' in pruneFailure && pruneFailure.deferred
            ? Reasons.pruneDeferred
            : Reasons.pruneFailed,
        message: pruneFailure.message,
      };
    }
    let ready = readyCondition(applied, resources);
    // A preview of another Release says what that Release's prune would delete.
    const planned =
      preview && !unreachable
        ? plannedDeletions(
            previewed
              ? {
                  ...pruneContext,
                  releaseUid: previewed.metadata.uid ?? '',
                  retain: retentionOf(previewed, () => items),
                  inventory: Inventory.of(previewed.status),
                }
              : pruneContext,
            outcomes,
          )
        : undefined;
    if (preview && !unreachable)
      [applied, ready] = isSuspended(release)
        ? suspendedConditions(release.metadata.name, resources, planned?.length)
        : previewConditions(resources, planned?.length);
    // Conditions are computed from every entry; only what is written is fitted to the size budget.
    const status = boundStatus(
      withConditions(
        release,
        {
          ...previous,
          ...(placements.length > 0 ? { appliedTo: placements } : {}),
          observedGeneration: release.metadata.generation,
          ...handledRequest(release),
          resources,
          pendingRemovals,
          retained: retainedStatus(previous.retained, retained, outcomes),
          plannedDeletions: preview ? (planned ?? previous.plannedDeletions) : undefined,
          conditions: removeCondition(
            removeCondition(previous.conditions, ConditionTypes.finalizing),
            ConditionTypes.planeDeleting,
          ),
        },
        [
          applied,
          ready,
          ...(target.deleting
            ? [{ type: ConditionTypes.planeDeleting, status: 'True' as const, ...target.deleting }]
            : []),
        ],
        now,
      ),
      statusBudget(release),
      previous.resources,
    );
    const progressWrites = await progress?.settled();
    if (progressWrites) logger.debug({ progressWrites }, 'first pass progress written');
    await this.writeStatus(progressed ?? release, status, logger, signal);
    for (const e of reconcileEvents(previous, status, pruned, givenBack, retained, outcomes)) {
      logger.debug({ type: e.type, reason: e.reason }, 'event recorded');
      this.deps.events.emit(release, e.type, e.reason, e.message);
    }
    this.reportNotProven(key, release, notProven);
    // Once, when its Environment or DataPlane starts being deleted (the condition stays meanwhile).
    if (target.deleting && !previous.conditions?.some((c) => c.type === ConditionTypes.planeDeleting))
      this.deps.events.emit(release, 'Warning', target.deleting.reason, target.deleting.message);
    this.observe(key, status, resources);
    await dataPlane.useKinds(key, kindsInUse(dataPlane, outcomes, uid));
    if (await owners?.settle()) {
      // An owner outside the cache was taken for alive while it was read, and is gone: decide again.
      logger.debug("an object's owning Release (another shard's) turned out gone; reconciling again");
      return { requeueAfterMs: OWNER_RECHECK_MS };
    }

    const failed = outcomes.filter((o) => o.state === 'failed' || o.state === 'recreating');
    if (failed.length > 0) {
      // Bounded: a thousand failures with long messages would make one enormous log line.
      const reasons = problemMessages(failed).map((m) => truncate(m, 512));
      throw new ReconcileError(
        `${plural(failed.length, 'resource')} not applied: ${listWithMore(reasons, MAX_ERRORS_LISTED)}`,
        { ...failureLogLevel(failed) },
      );
    }
    const waiting = outcomes.some((o) => o.state === 'waiting');
    // An object that waits for the Release to change is not looked at again on the fast timer.
    const terminal = new Set(outcomes.filter(awaitsSpecChange).map((o) => o.item.id));
    const transitioning = isTransitioning(resources.filter((r) => !terminal.has(r.id)));
    const requeueAfterMs = this.requeueAfter(release, waiting || transitioning);
    logger.debug({ resources: outcomes.length, requeueAfterMs: requeueAfterMs ?? null }, 'reconciled');
    return { requeueAfterMs };
  }

  /**
   * reportNotProven tells, once per change, of objects that carry the Release's labels and that it
   * no longer wants but whose uid its inventory does not record: left in place, never deleted.
   */
  private reportNotProven(key: string, release: Release, notProven: ManagedObject[]): void {
    if (notProven.length === 0) {
      this.notProvenReported.delete(key);
      return;
    }
    const message = notProvenMessage(notProven);
    if (this.notProvenReported.get(key) === message) return;
    this.notProvenReported.set(key, message);
    this.deps.events.emit(release, 'Warning', EventReasons.notProven, message);
  }

  /** forget drops everything remembered about a Release that no longer exists. */
  async forget(key: string): Promise<void> {
    this.notProvenReported.delete(key);
    this.observing.set(key, 0);
    this.deps.writer.forget(key);
    this.memory.forgetOwner(key);
    this.deps.observer?.forgotten(key);
    const dp = this.dataPlaneOf.get(key);
    this.dataPlaneOf.delete(key);
    if (dp) await this.deps.resolver.get(dp)?.releaseKinds(key);
  }

  /** ensureFinalizer adds our finalizer when it is missing (one write). */
  private async ensureFinalizer(release: Release, signal: AbortSignal): Promise<Release> {
    if (release.metadata.finalizers?.includes(profileOf(release).finalizer(release))) return release;
    return this.deps.writer.addFinalizer(release, signal);
  }

  /**
   * place records the data plane's cluster before anything is applied there, in the same write
   * that adds the finalizer (the placement annotation; the status write at the end of the
   * reconcile takes it into status.appliedTo): one write on a first apply, none once recorded. A
   * data plane that cannot say which cluster it is does not answer: nothing is applied, and
   * `unreachable` says why (the finalizer is still added).
   */
  private async place(
    release: Release,
    dataPlane: DataPlanePort,
    logger: Logger,
    signal: AbortSignal,
  ): Promise<{ release: Release; placement?: Placement; unreachable?: string }> {
    let cluster: string;
    try {
      cluster = await dataPlane.clusterId(signal);
    } catch (err) {
      // A limit we enforced, or a refusal (401), is not silence: dataPlaneProblem says which.
      return {
        release: await this.ensureFinalizer(release, signal),
        unreachable: dataPlaneProblem(err, describeError),
      };
    }
    const placement: Placement = { dataPlane: dataPlaneName(dataPlane), cluster };
    const record = placementRecord(release, placement);
    if (record === undefined) return { release: await this.ensureFinalizer(release, signal), placement };
    logger.debug({ dataPlane: dataPlane.key, cluster }, 'recording the data-plane cluster before applying');
    return { release: await this.deps.writer.addFinalizer(release, signal, record), placement };
  }

  /** sweepOthers removes the Release's objects from every recorded cluster other than `current`. */
  private async sweepOthers(
    key: string,
    release: Release,
    current: Placement,
    logger: Logger,
    signal: AbortSignal,
  ): Promise<{
    appliedTo: Placement[];
    deleted: ManagedObject[];
    givenBack: ManagedObject[];
    retained: RetainedObject[];
    notProven: ManagedObject[];
    failure?: { message: string; unreachable: boolean };
  }> {
    const ctx = {
      release,
      key,
      resolver: this.deps.resolver,
      memory: this.memory,
      logger,
      signal,
      inventory: Inventory.of(release.status),
    };
    const deleted: ManagedObject[] = [];
    const notProven: ManagedObject[] = [];
    const givenBack: ManagedObject[] = [];
    const retained: RetainedObject[] = [];
    const failures: string[] = [];
    let unreachable = false;
    const cleaned: Placement[] = [];
    for (const p of otherPlacements(placementsOf(release), current)) {
      // Another plane object reaching the same cluster (a DataPlane and a ClusterDataPlane of one
      // cluster, say): the objects there are the ones just applied, not leftovers to delete.
      if (p.cluster === current.cluster) {
        logger.info({ from: p }, 'moved to another plane object of the same cluster; nothing to sweep');
        cleaned.push(p);
        continue;
      }
      const result = await sweepPlacement(ctx, p);
      deleted.push(...result.deleted);
      givenBack.push(...result.givenBack);
      retained.push(...result.retained);
      notProven.push(...result.notProven);
      if (result.clean) {
        logger.info({ from: p }, 'moved: the data plane the Release left is clean');
        cleaned.push(p);
      } else if (result.failure) {
        failures.push(result.failure.message);
        unreachable ||= result.failure.unreachable;
      }
    }
    const appliedTo = placementsOf(release).filter((p) => !cleaned.some((c) => isSamePlacement(c, p)));
    const failure =
      failures.length > 0
        ? { unreachable, message: `moving off a previous data plane: ${failures.join('; ')}` }
        : undefined;
    return { appliedTo, deleted, givenBack, retained, notProven, failure };
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
      logger.info(
        { from: previous, to: dataPlane.key },
        'Release moved to another data plane; its objects leave the old one once applied here',
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

  /** observe reports readiness and the health of every resource (`resources`: all of them, not only those the status lists). */
  private observe(key: string, status: ReleaseStatus, resources: ResourceStatus[]): void {
    const ready = status.conditions?.find((c) => c.type === ConditionTypes.ready)?.status ?? 'Unknown';
    this.deps.observer?.observed(
      key,
      ready,
      resources.map((r) => r.healthStatus),
      resources.filter((r) => r.drift).length,
    );
  }

  private now(): Date {
    return this.deps.now?.() ?? new Date();
  }
}

/** MAX_LOGGED_CHANGES bounds the objects one change-set log line names. */
const MAX_LOGGED_CHANGES = 10;

/**
 * logChanges writes one info line per pass that created or configured objects: how many of each,
 * and which (kind, namespace, name and id, at most MAX_LOGGED_CHANGES; never the object's
 * contents), as Flux logs a change set. Every object is also a debug line. A line per object at
 * info was most of the log and a tenth of the controller's CPU while thousands of Releases were
 * applied for the first time.
 */
function logChanges(logger: Logger, outcomes: readonly ItemOutcome[]): void {
  const changed: Array<{ action: 'created' | 'configured'; object: string; id: string }> = [];
  for (const o of outcomes) {
    if (!o.created && !o.configured) continue;
    const namespace = o.namespaced === false ? undefined : o.item.namespace;
    const object = describeRef({ kind: o.item.kind, name: o.item.name, namespace });
    const action = o.created ? 'created' : 'configured';
    changed.push({ action, object, id: o.item.id });
    logger.debug({ object, id: o.item.id }, action);
  }
  if (changed.length === 0) return;
  const count = (action: string) => changed.filter((c) => c.action === action).length;
  logger.info(
    {
      created: count('created'),
      configured: count('configured'),
      objects: changed.slice(0, MAX_LOGGED_CHANGES).map((c) => `${c.action} ${c.object} (${c.id})`),
      ...(changed.length > MAX_LOGGED_CHANGES && { more: changed.length - MAX_LOGGED_CHANGES }),
    },
    'applied changes',
  );
}

/**
 * failureLogLevel is how a reconcile error of these failed items is logged: at info when each waits
 * for something expected (a data plane, a webhook starting, a namespace, a recreate), at warn
 * when each has a cause the data plane named (forbidden, refused credentials, a denial), and as an
 * error with its stack trace otherwise.
 */
function failureLogLevel(failed: readonly ItemOutcome[]): { logLevel?: 'info' | 'warn' } {
  const waiting = (o: ItemOutcome) =>
    o.unreachable ||
    o.state === 'recreating' ||
    (o.failure !== undefined && EXPECTED_FAILURES.has(o.failure));
  if (failed.every(waiting)) return { logLevel: 'info' };
  if (failed.every((o) => waiting(o) || (o.failure !== undefined && o.failure !== 'Failed')))
    return { logLevel: 'warn' };
  return {};
}

/** unreachableOutcomes are the outcomes of a reconcile whose data plane did not answer before applying. */
function unreachableOutcomes(items: DesiredItem[], why: string): ItemOutcome[] {
  return items.map((item) =>
    item.ok
      ? {
          item,
          state: 'failed',
          unreachable: true,
          message: `resource "${item.id}": the data plane ${why}`,
        }
      : { item, state: 'invalid', message: item.message },
  );
}
