/**
 * Prune step: deletes what this Release applied earlier and no longer wants: an id gone from the
 * spec, or an id whose kind, namespace or name changed. Fenced: only objects that still carry
 * this Release's uid (uid precondition on each delete), never an object whose id did not apply
 * cleanly in this reconcile, never an adopted Namespace, and only on a complete picture: every
 * apply answered and every watch of the data plane listed and connected.
 */
import type { Logger } from 'pino';
import type { KubeObject } from '../../api/object.ts';
import { parseApiVersion } from '../../api/object.ts';
import { Annotations, Labels } from '../../api/v1alpha1/constants.ts';
import { listWithMore, plural } from '../../api/text.ts';
import type { ResourceInfo } from '../../kube/discovery.ts';
import type { DataPlanePort } from '../../dataplane/port.ts';
import { identityOf, type ManagedObject } from '../../dataplane/watches.ts';
import { deleteAll, describeManaged } from '../../ssa/delete.ts';
import { classifyFailure } from '../../ssa/failure.ts';
import { recordKey, type ApplyMemory } from '../../ssa/memory.ts';
import type { ItemOutcome } from './apply.ts';

/** MAX_LISTED_FAILURES bounds how many failed deletions a message names. */
const MAX_LISTED_FAILURES = 3;

/** PruneContext is what the prune step needs. */
export interface PruneContext {
  releaseUid: string;
  dataPlane: DataPlanePort;
  memory: ApplyMemory;
  logger: Logger;
  signal: AbortSignal;
}

/** PruneResult says what the prune step did. */
export interface PruneResult {
  /** pruned are the objects deleted in this pass. */
  pruned: ManagedObject[];
  /** failure says why some stale objects could not be deleted. */
  failure?: { message: string; unreachable: boolean };
}

/** pruneRelease deletes the stale objects of a Release, when the picture is complete. */
export async function pruneRelease(ctx: PruneContext, outcomes: ItemOutcome[]): Promise<PruneResult> {
  const { dataPlane } = ctx;
  const incomplete = outcomes.some((o) => o.state === 'failed' || o.state === 'recreating' || o.unreachable);
  if (incomplete || !dataPlane.isComplete()) return { pruned: [] };
  const stale = staleObjects(dataPlane.objectsOf(ctx.releaseUid), outcomes);
  if (stale.length === 0) return { pruned: [] };

  const { deleted, failed, unreachable } = await deleteAll(dataPlane, stale, ctx.signal);
  for (const m of deleted) {
    ctx.memory.forget(
      recordKey(dataPlane.key, m.info, m.object.metadata.namespace, m.object.metadata.name ?? ''),
    );
    ctx.logger.info({ object: describeManaged(m), id: resourceIdOf(m.object) }, 'pruned');
  }
  if (failed.length === 0) return { pruned: deleted };
  const listed = failed.map((f) => `${describeManaged(f.object)}: ${classifyFailure(f.error).message}`);
  return {
    pruned: deleted,
    failure: {
      unreachable,
      message: `could not delete ${plural(failed.length, 'object')} no longer in spec: ${listWithMore(listed, MAX_LISTED_FAILURES)}`,
    },
  };
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
    if (isAdoptedNamespace(object, info)) return false;
    const identity = identityOf(info.group, info.kind, object.metadata.namespace, object.metadata.name ?? '');
    // An object moved to another id is wanted; the cache may still show its old id label.
    return !wantedIdentities.has(identity) && wanted.get(id) !== identity;
  });
}

/** isAdoptedNamespace tells whether a Namespace existed before the Release applied it. */
export function isAdoptedNamespace(object: KubeObject, info: ResourceInfo): boolean {
  return (
    info.group === '' &&
    info.kind === 'Namespace' &&
    object.metadata.annotations?.[Annotations.adopted] === 'true'
  );
}
