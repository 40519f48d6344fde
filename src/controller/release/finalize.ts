/**
 * Finalize step: when a Release is deleted, delete every object its status inventory proves it
 * created (and give back those it adopted, as recorded), on every data plane it applied to, wait
 * until they are gone, then remove the finalizer. Upstream deletes whatever carries its labels;
 * here an object that carries the Release's labels but whose uid the inventory does not record is
 * left in place and reported (`Finalizing` while waiting, then a `NotProven` Event), never deleted:
 * anyone with patch can write labels. If the data plane cannot be reached the finalizer stays and
 * `Finalizing` says why: objects are never silently orphaned. An operator can let go on purpose
 * with the annotation `openchoreo.dev/deletion-policy: Orphan`.
 */
import { FINALIZERS, profileOf } from '../../api/v1alpha1/profile.ts';
import type { Logger } from 'pino';
import { Annotations, ConditionTypes, EventReasons, Reasons } from '../../api/v1alpha1/constants.ts';
import type { Release, ReleaseStatus } from '../../api/v1alpha1/schema.ts';
import { listWithMore, plural } from '../../api/text.ts';
import type { ReconcileResult } from '../../runtime/controller.ts';
import type { Slot } from '../../runtime/limiter.ts';
import type { DataPlanePort } from '../../dataplane/port.ts';
import { describeManaged } from '../../ssa/delete.ts';
import type { ApplyMemory } from '../../ssa/memory.ts';
import type { ReleaseStore } from './controlplane.ts';
import { deletionPolicy } from './desired.ts';
import { ReconcileError } from './errors.ts';
import { retainedEvent } from './events.ts';
import type { ReleaseEvents } from './reconciler.ts';
import { Inventory, notProvenMessage } from './inventory.ts';
import { dataPlaneName, otherPlacements, placementsOf, sweep, sweepPlacement } from './placement.ts';
import { isResolveFailure, type DataPlaneResolver } from './resolve.ts';
import { statusEquals, withConditions } from './status.ts';

/** CLEANUP_POLL_MS is how often cleanup looks again while objects are still terminating. */
export const CLEANUP_POLL_MS = 3_000;
/** CLEANUP_MESSAGE is the specification's Finalizing message. */
export const CLEANUP_MESSAGE = 'Cleaning up dataplane resources';
const MAX_LISTED = 5;

/** FinalizeContext is what the finalize step needs. */
export interface FinalizeContext {
  release: Release;
  key: string;
  resolver: DataPlaneResolver;
  writer: ReleaseStore;
  events: ReleaseEvents;
  memory: ApplyMemory;
  logger: Logger;
  signal: AbortSignal;
  at: Date;
  /**
   * forget drops what the reconciler remembers of the Release once it is gone; called before the
   * finalizer's removal, whose answer the writer then keeps until the Release's deletion arrives.
   */
  forget: () => Promise<void>;
  /** acquire takes a slot of the data plane (its share of the workers), or undefined when none is free. */
  acquire: (dataPlane: DataPlanePort) => Slot | undefined;
  /** defer is the result that gives the worker back until the data plane has a free slot. */
  defer: () => ReconcileResult;
}

/** finalizeRelease runs one step of the cleanup of a deleted Release. */
export async function finalizeRelease(ctx: FinalizeContext): Promise<ReconcileResult> {
  const { release, writer, events, signal, logger } = ctx;
  // Either of our finalizers (a RenderedRelease bound for the observability plane has its own).
  if (!release.metadata.finalizers?.some((f) => FINALIZERS.includes(f))) return {};

  if (deletionPolicy(release) === 'Orphan') {
    events.emit(
      release,
      'Normal',
      EventReasons.orphaned,
      `deletion policy Orphan: data-plane objects left in place (annotation ${Annotations.deletionPolicy})`,
    );
    logger.info('deletion policy Orphan; removing finalizer without cleanup');
    await ctx.forget();
    await writer.removeFinalizer(release, signal);
    return {};
  }

  const setFinalizing = async (reason: string, message: string): Promise<void> => {
    const status: ReleaseStatus = withConditions(
      release,
      release.status ?? {},
      [{ type: ConditionTypes.finalizing, status: 'True', reason, message }],
      ctx.at,
    );
    if (!statusEquals(release.status, status)) await writer.writeStatus(release, status, signal);
  };
  const fail = async (message: string, cause?: unknown): Promise<never> => {
    const full = `${message}. The finalizer ${profileOf(release).finalizer(release)} stays until cleanup succeeds; only to give up on cleanup and leave the objects on the data plane, unmanaged, annotate the Release with ${Annotations.deletionPolicy}=Orphan`;
    await setFinalizing(Reasons.cleanupFailed, full);
    events.emit(release, 'Warning', Reasons.cleanupFailed, message);
    throw new ReconcileError(`cleanup of Release ${ctx.key} failed: ${message}`, { cause });
  };

  // One status write per pass, with what is still left: the message changes only when that does.
  let target = await ctx.resolver.resolve(release);
  if (isResolveFailure(target)) {
    const placements = placementsOf(release);
    if (placements.length === 0 && !appliedAnything(release)) {
      // appliedTo is recorded before the first apply anywhere: nothing can be left to delete.
      logger.info({ reason: target.reason }, 'nothing was ever applied; removing finalizer');
      await ctx.forget();
      await writer.removeFinalizer(release, signal);
      return {};
    }
    // The Environment (or the plane it names) is gone, but the planes the objects were applied
    // through are recorded: clean up there. Only when none of those can be reached does the
    // finalizer stay (objects may remain; never orphaned silently).
    const first = placements[0];
    const recorded = first
      ? await ctx.resolver.dataPlane(release.metadata.namespace ?? '', first.dataPlane)
      : target;
    if (isResolveFailure(recorded))
      return fail(
        `cannot reach the data plane to delete its objects: ${target.message}; ${recorded.message}`,
      );
    target = recorded;
  }
  const slot = ctx.acquire(target.dataPlane);
  if (!slot) return ctx.defer();
  try {
    return await sweepAll(ctx, target.dataPlane, fail, setFinalizing);
  } finally {
    slot.release();
  }
}

/** appliedAnything tells whether a Release's status shows an object it applied (older Releases have no appliedTo). */
function appliedAnything(release: Release): boolean {
  return (release.status?.resources ?? []).some(
    (r) => r.applied !== undefined || r.lastObservedTime !== undefined,
  );
}

/** sweepAll deletes the Release's objects from its data plane and every recorded one, holding a slot of the first. */
async function sweepAll(
  ctx: FinalizeContext,
  dataPlane: DataPlanePort,
  fail: (message: string) => Promise<never>,
  setFinalizing: (reason: string, message: string) => Promise<void>,
): Promise<ReconcileResult> {
  const { release, writer, signal, logger, events } = ctx;
  const sweepContext = {
    release,
    key: ctx.key,
    resolver: ctx.resolver,
    memory: ctx.memory,
    logger,
    signal,
    inventory: Inventory.of(release.status),
  };
  // The current data plane, and every other cluster the Release applied to (status.appliedTo).
  const results = [await sweep(sweepContext, dataPlane)];
  const cluster = await dataPlane.clusterId(signal).catch(() => undefined);
  const current = cluster === undefined ? undefined : { dataPlane: dataPlaneName(dataPlane), cluster };
  for (const p of otherPlacements(placementsOf(release), current)) {
    results.push(await sweepPlacement(sweepContext, p, dataPlane));
  }
  for (const m of results.flatMap((r) => r.retained)) {
    const e = retainedEvent(m, 'of a deleted Release');
    events.emit(release, e.type, e.reason, e.message);
  }
  const failures = results.flatMap((r) => (r.failure ? [r.failure.message] : []));
  if (failures.length > 0) return fail(failures.join('; '));

  const left = results.flatMap((r) => r.left);
  const notProven = results.flatMap((r) => r.notProven);
  if (results.every((r) => r.clean)) {
    if (notProven.length > 0)
      events.emit(release, 'Warning', EventReasons.notProven, notProvenMessage(notProven));
    logger.info({ notProven: notProven.length }, 'data plane clean; removing finalizer');
    await ctx.forget();
    await writer.removeFinalizer(release, signal);
    return {};
  }
  if (left.length === 0) return { requeueAfterMs: CLEANUP_POLL_MS };
  await setFinalizing(
    Reasons.cleanupInProgress,
    `${CLEANUP_MESSAGE}: waiting for ${plural(left.length, 'object')} to be deleted: ${listWithMore(left.map(describeManaged), MAX_LISTED, ', ')}` +
      (notProven.length > 0 ? `. ${notProvenMessage(notProven)}` : ''),
  );
  return { requeueAfterMs: CLEANUP_POLL_MS };
}
