/**
 * deleteAll deletes a set of cached objects from one data plane in reverse apply order
 * (order.ts), each only if it is still the object that was seen (uid precondition), skipping
 * those already terminating. A failure does not stop the others; an unreachable data plane stops
 * the pass, since every further request would wait for the same timeout.
 */
import { describeRef } from '../api/object.ts';
import { isKubeApiError } from '../kube/client.ts';
import type { DataPlanePort } from '../dataplane/port.ts';
import type { ManagedObject } from '../dataplane/watches.ts';
import { deleteOrder } from './order.ts';

/** DeleteResult says what a deletion pass did. */
export interface DeleteResult {
  deleted: ManagedObject[];
  failed: Array<{ object: ManagedObject; error: unknown }>;
  /** unreachable tells that the data plane stopped answering during the pass. */
  unreachable: boolean;
}

/** deleteAll runs one deletion pass over the given objects. */
export async function deleteAll(
  dataPlane: DataPlanePort,
  objects: ManagedObject[],
  signal: AbortSignal,
): Promise<DeleteResult> {
  const result: DeleteResult = { deleted: [], failed: [], unreachable: false };
  for (const m of deleteOrder(objects, (o) => o.info.kind)) {
    if (m.object.metadata.deletionTimestamp) continue;
    try {
      if (await dataPlane.delete(m.info, m.object, signal)) result.deleted.push(m);
    } catch (error) {
      result.failed.push({ object: m, error });
      if (isKubeApiError(error) && error.isUnreachable) {
        result.unreachable = true;
        break;
      }
    }
  }
  return result;
}

/** describeManaged renders a cached object as `Kind/namespace/name`. */
export function describeManaged(m: ManagedObject): string {
  return describeRef({
    kind: m.info.kind,
    name: m.object.metadata.name ?? '',
    namespace: m.object.metadata.namespace,
  });
}
