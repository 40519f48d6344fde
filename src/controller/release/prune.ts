/**
 * Prune step: removes what this Release applied earlier and no longer wants: an id gone from the
 * spec, or an id whose kind, namespace or name changed. Objects it created are deleted; objects it
 * adopted are given back (policy.ts removalOf), and so are those the Release's policy keeps
 * (`prune: Disabled`, `apply: Observe`; reported as retained); a Namespace that existed before is
 * never deleted.
 * Fenced: only objects that still carry this Release's uid (uid precondition on each delete),
 * never an object whose id did not apply cleanly in this reconcile, and only on a complete
 * picture: every apply answered and every watch of the data plane listed and connected.
 */
import type { Logger } from 'pino';
import type { KubeObject } from '../../api/object.ts';
import { parseApiVersion } from '../../api/object.ts';
import { Labels } from '../../api/v1alpha1/constants.ts';
import type { ObjectRef } from '../../api/v1alpha1/schema.ts';
import { listWithMore, plural } from '../../api/text.ts';
import type { DataPlanePort } from '../../dataplane/port.ts';
import { identityOf, type ManagedObject } from '../../dataplane/watches.ts';
import { describeManaged, removeAll, type Retention, type RetainedObject } from '../../ssa/delete.ts';
import { classifyFailure } from '../../ssa/failure.ts';
import { recordKey, type ApplyMemory } from '../../ssa/memory.ts';
import type { ItemOutcome } from './apply.ts';
import { pruneDeferred } from './placement.ts';
import { giveBackOf } from './policy.ts';

/** MAX_LISTED_FAILURES bounds how many failed deletions a message names. */
const MAX_LISTED_FAILURES = 3;

/** PruneContext is what the prune step needs. */
export interface PruneContext {
  releaseUid: string;
  dataPlane: DataPlanePort;
  memory: ApplyMemory;
  logger: Logger;
  signal: AbortSignal;
  /** retain says which objects the Release's policy keeps (policy.ts retentionOf). */
  retain?: (m: ManagedObject) => Retention | undefined;
}

/** PruneResult says what the prune step did. */
export interface PruneResult {
  /** pruned are the objects deleted in this pass. */
  pruned: ManagedObject[];
  /** givenBack are the adopted objects given back in this pass. */
  givenBack: ManagedObject[];
  /** retained are the objects kept (and given back) because of their policy in this pass. */
  retained: RetainedObject[];
  /** failure says why some stale objects could not be deleted (deferred: a watch is broken, nothing was looked for). */
  failure?: { message: string; unreachable: boolean; deferred?: boolean };
}

/** pruneRelease deletes the stale objects of a Release, when the picture is complete. */
export async function pruneRelease(ctx: PruneContext, outcomes: ItemOutcome[]): Promise<PruneResult> {
  const { dataPlane } = ctx;
  const incomplete = outcomes.some((o) => o.state === 'failed' || o.state === 'recreating' || o.unreachable);
  const none: PruneResult = { pruned: [], givenBack: [], retained: [] };
  if (incomplete) return none;
  if (!dataPlane.isComplete()) return { ...none, failure: pruneDeferred(dataPlane) };
  const stale = staleObjects(dataPlane.objectsOf(ctx.releaseUid), outcomes);
  if (stale.length === 0) return none;

  const { deleted, givenBack, retained, failed, unreachable } = await removeAll(
    dataPlane,
    stale,
    ctx.signal,
    {
      giveBack: giveBackOf,
      ...(ctx.retain && { retain: ctx.retain }),
    },
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
  if (failed.length === 0) return { pruned: deleted, givenBack, retained };
  const listed = failed.map((f) => `${describeManaged(f.object)}: ${classifyFailure(f.error).message}`);
  return {
    pruned: deleted,
    givenBack,
    retained,
    failure: {
      unreachable,
      message: `could not remove ${plural(failed.length, 'object')} no longer in spec: ${listWithMore(listed, MAX_LISTED_FAILURES)}`,
    },
  };
}

/** MAX_PLANNED_DELETIONS bounds status.plannedDeletions. */
export const MAX_PLANNED_DELETIONS = 100;

/**
 * plannedDeletions is what a real prune would delete now (apply mode DryRun), on the same complete
 * picture a prune needs: the stale objects that would be neither given back (adopted) nor kept
 * (their policy); undefined when the picture is incomplete.
 */
export function plannedDeletions(ctx: PruneContext, outcomes: ItemOutcome[]): ObjectRef[] | undefined {
  const incomplete = outcomes.some((o) => o.state === 'failed' || o.state === 'recreating' || o.unreachable);
  if (incomplete || !ctx.dataPlane.isComplete()) return undefined;
  return staleObjects(ctx.dataPlane.objectsOf(ctx.releaseUid), outcomes)
    .filter((m) => !giveBackOf(m) && !ctx.retain?.(m))
    .slice(0, MAX_PLANNED_DELETIONS)
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

/** resourceIdOf reads the spec id a managed object was applied for. */
export function resourceIdOf(object: KubeObject): string {
  return object.metadata.labels?.[Labels.resourceId] ?? '';
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
