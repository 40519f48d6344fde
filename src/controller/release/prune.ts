/**
 * Prune step: deletes what this Release applied earlier and no longer wants: an id gone from the
 * spec, or an id whose kind, namespace or name changed. Fenced: only objects that still carry
 * this Release's uid, never an object whose id failed to apply in this reconcile, never an
 * adopted Namespace, and only when the picture is complete (every watch synced, every apply done).
 */
import type { KubeObject } from '../../api/object.ts';
import { describeRef, parseApiVersion } from '../../api/object.ts';
import { Labels } from '../../api/v1alpha1/constants.ts';
import { isKubeApiError } from '../../kube/client.ts';
import type { ResourceInfo } from '../../kube/discovery.ts';
import { identityOf, type ManagedObject } from '../../dataplane/watches.ts';
import type { DataPlaneConnection } from '../../dataplane/pool.ts';
import { deleteObject } from '../../ssa/apply.ts';
import { deleteOrder } from '../../ssa/order.ts';
import { ADOPTED_ANNOTATION } from './apply.ts';
import type { ItemOutcome } from './status.ts';

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
    const id = object.metadata.labels?.[Labels.resourceId] ?? '';
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
    object.metadata.annotations?.[ADOPTED_ANNOTATION] === 'true'
  );
}

/** DeleteResult says what a deletion pass did. */
export interface DeleteResult {
  deleted: ManagedObject[];
  failed: Array<{ object: ManagedObject; error: unknown }>;
}

/**
 * deleteObjects deletes objects in reverse apply order, skipping those already terminating. A
 * failure does not stop the others; an unreachable data plane stops the pass.
 */
export async function deleteObjects(
  conn: DataPlaneConnection,
  objects: ManagedObject[],
  signal: AbortSignal,
): Promise<DeleteResult> {
  const result: DeleteResult = { deleted: [], failed: [] };
  for (const m of deleteOrder(objects, (o) => o.info.kind)) {
    if (m.object.metadata.deletionTimestamp) continue;
    try {
      if (await deleteObject(conn.client, m.info, m.object, signal)) result.deleted.push(m);
    } catch (error) {
      result.failed.push({ object: m, error });
      if (isKubeApiError(error) && error.isUnreachable) break;
    }
  }
  return result;
}

/** describeManaged renders a managed object as `Kind/namespace/name`. */
export function describeManaged(m: ManagedObject): string {
  return describeRef({
    kind: m.info.kind,
    name: m.object.metadata.name ?? '',
    namespace: m.object.metadata.namespace,
  });
}
