/**
 * Prune step: removes what this Release applied earlier and no longer wants: an id gone from the
 * spec, or an id whose kind, namespace or name changed. Only objects the Release's status
 * inventory proves are its own (inventory.ts: their uid recorded when it created or adopted them)
 * are removed, as the inventory says: deleted, or given back (adopted ones, unless adopted to be
 * deleted); so are kept those the Release's policy keeps (`prune: Disabled`, `apply: Observe`;
 * reported as retained); a Namespace that existed before is never deleted. An object that carries
 * the Release's labels but is not in its inventory is left in place and reported (`notProven`).
 * Fenced: uid precondition on each delete, never an object whose id did not apply cleanly in this
 * reconcile, and only on a complete picture: every apply answered and every watch of the data
 * plane listed and connected.
 */
import type { Logger } from 'pino';
import type { KubeObject } from '../../api/object.ts';
import { parseApiVersion } from '../../api/object.ts';
import { trackingOf } from '../../api/v1alpha1/profile.ts';
import type { ObjectRef } from '../../api/v1alpha1/schema.ts';
import { listWithMore, plural } from '../../api/text.ts';
import type { DataPlaneInventory, DataPlanePort } from '../../dataplane/port.ts';
import { identityOf, type ManagedObject } from '../../dataplane/port.ts';
import {
  describeManaged,
  planRemovals,
  removeAll,
  type RemovalPlan,
  type RemoveOptions,
  type Retention,
  type RetainedObject,
} from '../../ssa/delete.ts';
import { classifyFailure } from '../../ssa/failure.ts';
import { recordKey, type ApplyMemory } from '../../ssa/memory.ts';
import type { ItemOutcome } from './apply.ts';
import type { Inventory } from './inventory.ts';
import { pruneDeferred } from './placement.ts';
import { letGo, outsideView } from './recorded.ts';
import { describeError } from '../../kube/errors.ts';
import { giveBackOf, ownedBy } from './policy.ts';

/** MAX_LISTED_FAILURES bounds how many failed deletions a message names. */
const MAX_LISTED_FAILURES = 3;

/** PruneContext is what the prune step needs. */
export interface PruneContext {
  /** key is the Release's key: the user of its kinds' watches, whose picture must be complete. */
  key: string;
  releaseUid: string;
  dataPlane: DataPlanePort;
  memory: ApplyMemory;
  logger: Logger;
  signal: AbortSignal;
  /** retain says which objects the Release's policy keeps (policy.ts retentionOf). */
  retain?: (m: ManagedObject) => Retention | undefined;
  /** inventory is what the Release's status proves is its own, and how each object leaves. */
  inventory: Inventory;
}

/** PruneResult says what the prune step did. */
export interface PruneResult {
  /** pruned are the objects deleted in this pass. */
  pruned: ManagedObject[];
  /** givenBack are the adopted objects given back in this pass. */
  givenBack: ManagedObject[];
  /** retained are the objects kept (and given back) because of their policy in this pass. */
  retained: RetainedObject[];
  /** notProven carry the Release's labels and are no longer wanted, but are not in its inventory: left in place. */
  notProven: ManagedObject[];
  /**
   * present are the uids of every object carrying the Release's labels on the data plane, from
   * the complete picture the prune ran on (undefined when it did not run): what is not among them
   * is gone from there.
   */
  present?: Set<string>;
  /** failure says why some stale objects could not be deleted (deferred: a watch is broken, nothing was looked for). */
  failure?: { message: string; unreachable: boolean; deferred?: boolean };
}

/** pruneRelease deletes the stale objects of a Release, when the picture is complete. */
export async function pruneRelease(ctx: PruneContext, outcomes: ItemOutcome[]): Promise<PruneResult> {
  const { dataPlane } = ctx;
  const incomplete = outcomes.some((o) => o.state === 'failed' || o.state === 'recreating' || o.unreachable);
  const nothing: PruneResult = { pruned: [], givenBack: [], retained: [], notProven: [] };
  if (incomplete) return nothing;
  if (!dataPlane.isComplete(ctx.key)) return { ...nothing, failure: pruneDeferred(dataPlane, ctx.key) };
  const cached = dataPlane.objectsOf(ctx.releaseUid);
  let outside: ManagedObject[];
  try {
    outside = await outsideOf(ctx, cached, outcomes);
  } catch (err) {
    const failure = classifyFailure(err);
    return {
      ...nothing,
      failure: {
        unreachable: failure.kind === 'Unreachable',
        message: `pruning deferred: looking for recorded objects outside the data plane's watches failed (${describeError(err)}); nothing is deleted until they can be looked for`,
      },
    };
  }
  const managed = outside.length > 0 ? [...cached, ...outside] : cached;
  const present = new Set(managed.flatMap((m) => (m.object.metadata.uid ? [m.object.metadata.uid] : [])));
  const none: PruneResult = { ...nothing, present };
  const stale = staleObjects(managed, outcomes);
  if (stale.length === 0) return none;

  const { deleted, givenBack, retained, failed, unreachable, notOwned } = await removeAll(
    dataPlane,
    stale,
    ctx.signal,
    removeOptions(ctx),
  );
  letGo(dataPlane, { deleted, givenBack: [...givenBack, ...retained] }, outside);
  for (const m of notOwned)
    ctx.logger.warn(
      { object: describeManaged(m), id: resourceIdOf(m.object) },
      "left in place: carries this Release's labels but its uid is not in the Release's inventory",
    );
  for (const m of [...deleted, ...givenBack, ...retained]) {
    ctx.memory.forget(
      recordKey(dataPlane.key, m.info, m.object.metadata.namespace, m.object.metadata.name ?? ''),
    );
    ctx.logger.info(
      { object: describeManaged(m), id: resourceIdOf(m.object) },
      deleted.includes(m) ? 'pruned' : givenBack.includes(m) ? 'gave back adopted object' : 'retained',
    );
  }
  if (failed.length === 0) return { pruned: deleted, givenBack, retained, notProven: notOwned, present };
  const listed = failed.map((f) => `${describeManaged(f.object)}: ${classifyFailure(f.error).message}`);
  return {
    pruned: deleted,
    givenBack,
    retained,
    notProven: notOwned,
    present,
    failure: {
      unreachable,
      message: `could not remove ${plural(failed.length, 'object')} no longer in spec: ${listWithMore(listed, MAX_LISTED_FAILURES)}`,
    },
  };
}

/**
 * outsideOf are the Release's recorded objects that exist outside the watches' view (recorded.ts),
 * other than those `cached` holds and those at a name this pass applied.
 */
async function outsideOf(
  ctx: PruneContext,
  cached: readonly ManagedObject[],
  outcomes: ItemOutcome[],
): Promise<ManagedObject[]> {
  const uids = new Set(cached.map((m) => m.object.metadata.uid));
  // The object this pass applied is the one at that name: a recorded uid there is in view, or gone.
  const applied = new Set(
    outcomes.flatMap((o) =>
      o.state === 'applied' && o.item.ok && o.live
        ? [identityOf(o.item.group, o.item.kind, o.live.metadata.namespace, o.live.metadata.name ?? '')]
        : [],
    ),
  );
  return outsideView(
    ctx.dataPlane,
    ctx.releaseUid,
    ctx.inventory.recorded(),
    (r) => uids.has(r.uid) || applied.has(identityOf(r.group, r.kind, r.namespace, r.name)),
    ctx.signal,
  );
}

/** MAX_PLANNED_DELETIONS bounds status.plannedDeletions. */
export const MAX_PLANNED_DELETIONS = 100;

/**
 * plannedDeletions is what a real prune would delete now (apply mode DryRun), on the same complete
 * picture a prune needs: the stale objects the inventory proves are the Release's that would be
 * neither given back (adopted) nor kept (their policy); undefined when the picture is incomplete.
 */
export function plannedDeletions(ctx: PlanContext, outcomes: ItemOutcome[]): ObjectRef[] | undefined {
  return prunePlan(ctx, outcomes)
    ?.deleted.slice(0, MAX_PLANNED_DELETIONS)
    .map(({ object, info }) => {
      const id = resourceIdOf(object);
      return {
        ...(id && { id }),
        group: info.group,
        version: info.version,
        kind: info.kind,
        ...(object.metadata.namespace && { namespace: object.metadata.namespace }),
        name: object.metadata.name ?? '',
      };
    });
}

/**
 * PlanContext is what planning a prune needs: no memory, logger or signal, as nothing is sent, and
 * of the data plane only its inventory's picture of the Release (kubectl release diff's read-only
 * port has nothing more).
 */
export type PlanContext = Pick<PruneContext, 'key' | 'releaseUid' | 'retain' | 'inventory'> & {
  dataPlane: Pick<DataPlaneInventory, 'isComplete' | 'objectsOf'>;
};

/**
 * prunePlan is what a real prune would do now with each stale object (deleted, given back,
 * retained by policy, or left in place as not proven), decided as pruneRelease decides it
 * (ssa/delete.ts removalOf) and sending nothing; undefined when the picture is incomplete, as a
 * prune would then not run.
 */
export function prunePlan(ctx: PlanContext, outcomes: ItemOutcome[]): RemovalPlan | undefined {
  const incomplete = outcomes.some((o) => o.state === 'failed' || o.state === 'recreating' || o.unreachable);
  if (incomplete || !ctx.dataPlane.isComplete(ctx.key)) return undefined;
  return planRemovals(staleObjects(ctx.dataPlane.objectsOf(ctx.releaseUid), outcomes), removeOptions(ctx));
}

/** removeOptions are the removeAll options of a Release: only what its inventory proves, as it says. */
function removeOptions(ctx: PlanContext): RemoveOptions {
  return {
    owned: ownedBy(ctx.inventory),
    giveBack: giveBackOf(ctx.inventory),
    ...(ctx.retain && { retain: ctx.retain }),
  };
}

/** resourceIdOf reads the spec id a managed object was applied for. */
export function resourceIdOf(object: KubeObject): string {
  return trackingOf(object)?.resourceId ?? '';
}

/**
 * staleObjects picks the managed objects no spec item wants. Objects of ids that did not apply
 * cleanly are kept: a bad new object never deletes the good old one.
 */
export function staleObjects(managed: ManagedObject[], outcomes: ItemOutcome[]): ManagedObject[] {
  const wanted = new Map<string, string>();
  const protectedIds = new Set<string>();
  for (const o of outcomes) {
    if (o.state === 'applied' && o.item.ok) {
      const { group } = parseApiVersion(o.item.object.apiVersion);
      wanted.set(
        o.item.id,
        identityOf(group, o.item.kind, o.namespaced === false ? undefined : o.item.namespace, o.item.name),
      );
    } else {
      protectedIds.add(o.item.id);
    }
  }
  const wantedIdentities = new Set(wanted.values());
  return managed.filter(({ object, info }) => {
    const id = resourceIdOf(object);
    if (protectedIds.has(id)) return false;
    const identity = identityOf(info.group, info.kind, object.metadata.namespace, object.metadata.name ?? '');
    // An object moved to another id is wanted; the cache may still show its old id label.
    return !wantedIdentities.has(identity) && wanted.get(id) !== identity;
  });
}
