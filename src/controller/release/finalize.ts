/**
 * Finalize step: when a Release is deleted, delete every object it applied on the data plane,
 * wait until they are gone, then remove the finalizer. If the data plane cannot be reached the
 * finalizer stays and `Finalizing` says why: objects are never silently orphaned. An operator can
 * let go on purpose with the annotation `openchoreo.dev/deletion-policy: Orphan`.
 */
import type { Logger } from 'pino';
import { Annotations, ConditionTypes, FINALIZER, Reasons } from '../../api/v1alpha1/constants.ts';
import type { Release, ReleaseStatus } from '../../api/v1alpha1/schema.ts';
import type { ResourceInfo } from '../../kube/discovery.ts';
import { describeError } from '../../kube/errors.ts';
import { deletionPolicy, desiredItems } from './desired.ts';
import { deleteObjects, describeManaged, isAdoptedNamespace } from './prune.ts';
import { unseenWrites, type AppliedRecords } from './apply.ts';
import { isResolveFailure, resolveTarget } from './resolve.ts';
import type { ReconcileResult, ReleaseReconcilerDeps } from './reconciler.ts';
import { ReconcileError } from './reconciler.ts';
import { statusEquals, withConditions } from './status.ts';

/** CLEANUP_POLL_MS is how often cleanup looks again while objects are still terminating. */
export const CLEANUP_POLL_MS = 3_000;
/** CLEANUP_MESSAGE is the specification's Finalizing message. */
export const CLEANUP_MESSAGE = 'Cleaning up dataplane resources';
const MAX_LISTED = 5;

/** FinalizeContext is what the finalize step needs. */
export interface FinalizeContext extends ReleaseReconcilerDeps {
  release: Release;
  key: string;
  logger: Logger;
  signal: AbortSignal;
  at: Date;
  records: AppliedRecords;
  forget: () => Promise<void>;
}

/** finalizeRelease runs one step of the cleanup of a deleted Release. */
export async function finalizeRelease(ctx: FinalizeContext): Promise<ReconcileResult> {
  const { release, writer, events, signal, logger } = ctx;
  if (!release.metadata.finalizers?.includes(FINALIZER)) return {};

  if (deletionPolicy(release) === 'Orphan') {
    events.emit(
      release,
      'Normal',
      Reasons.orphaned,
      `deletion policy Orphan: data-plane objects left in place (annotation ${Annotations.deletionPolicy})`,
    );
    logger.info('deletion policy Orphan; removing finalizer without cleanup');
    await writer.removeFinalizer(release, signal);
    await ctx.forget();
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
    const full = `${message}. The finalizer ${FINALIZER} stays until cleanup succeeds; to release the Release and leave its objects, annotate it with ${Annotations.deletionPolicy}=Orphan`;
    await setFinalizing(Reasons.cleanupFailed, full);
    events.emit(release, 'Warning', Reasons.cleanupFailed, message);
    throw new ReconcileError(`cleanup of Release ${ctx.key} failed: ${message}`, { cause });
  };

  // One status write per pass, with what is still left: the message changes only when that does.
  const target = await resolveTarget(release, ctx.reader, ctx.pool);
  if (isResolveFailure(target))
    return fail(`cannot reach the data plane to delete its objects: ${target.message}`);
  const { conn } = target;

  let left;
  try {
    const gvks = [
      ...desiredItems(release)
        .filter((i) => i.ok)
        .map((i) => ({ group: i.group, version: i.version, kind: i.kind })),
      ...(release.status?.resources ?? []).map((r) => ({ group: r.group, version: r.version, kind: r.kind })),
    ];
    const infos = (
      await Promise.all(gvks.map((g) => conn.discovery.resolve(g).catch(() => undefined)))
    ).filter((i): i is ResourceInfo => i !== undefined);
    conn.watches.add(ctx.key, infos);
    // Every watch must be connected: a stale cache could hide objects and orphan them.
    await Promise.all(infos.map((info) => conn.watches.informerFor(info)));
    await Promise.all(conn.watches.watched().map((w) => conn.watches.informerFor(w.info)));
    left = conn.watches
      .objectsOf(release.metadata.uid ?? '')
      .filter((m) => !isAdoptedNamespace(m.object, m.info));
    const { failed } = await deleteObjects(conn, left, signal);
    if (failed.length > 0) {
      const listed = failed
        .slice(0, MAX_LISTED)
        .map((f) => `${describeManaged(f.object)}: ${describeError(f.error)}`);
      return fail(
        `deleting ${failed.length} data-plane object(s) failed: ${listed.join('; ')}`,
        failed[0]?.error,
      );
    }
  } catch (err) {
    return fail(`deleting data-plane objects failed: ${describeError(err)}`, err);
  }

  // Our last applies may not have reached the watch yet; an empty cache proves nothing until they have.
  const unseen = unseenWrites(ctx.records, conn, release.metadata.uid ?? '');
  if (left.length === 0 && unseen.length > 0) return { requeueAfterMs: CLEANUP_POLL_MS };
  if (left.length === 0) {
    logger.info('data plane clean; removing finalizer');
    await writer.removeFinalizer(release, signal);
    await ctx.forget();
    return {};
  }
  const names = left.slice(0, MAX_LISTED).map(describeManaged);
  const more = left.length > MAX_LISTED ? ` and ${left.length - MAX_LISTED} more` : '';
  await setFinalizing(
    Reasons.cleanupInProgress,
    `${CLEANUP_MESSAGE}: waiting for ${left.length} object${left.length === 1 ? '' : 's'} to be deleted: ${names.join(', ')}${more}`,
  );
  return { requeueAfterMs: CLEANUP_POLL_MS };
}
