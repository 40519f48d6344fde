/**
 * Snapshot diffing: what changed between two listings of one collection, as the add/update/delete
 * events a watch would have delivered. The informer uses it after every list (the first, a relist
 * after 410, and each poll of a polling informer), so a cache filled by lists and one filled by a
 * watch tell their handlers the same things. Pure: no I/O, table-tested.
 */
import type { KubeObject } from '../api/object.ts';
import type { InformerEventType } from './informer.ts';

/** SnapshotChange is one difference between two listings, in the informer's event vocabulary. */
export interface SnapshotChange<T extends KubeObject> {
  type: InformerEventType;
  /** obj is the object now (for 'deleted', the last one seen). */
  obj: T;
  /** old is the object before; undefined for 'added'. */
  old: T | undefined;
}

/**
 * diffSnapshot compares the cached objects with a new listing (both keyed by objectKey) and
 * returns the changes: deletions first, then additions and updates in the listing's order. A name
 * deleted and created again between two lists (another uid) is a deletion of the old object and an
 * addition of the new one, as a watch would have said. An object counts as updated when its
 * resourceVersion differs; an object without one is compared by content, so a server that sends
 * none still gets its changes reported.
 */
export function diffSnapshot<T extends KubeObject>(
  previous: ReadonlyMap<string, T>,
  next: ReadonlyMap<string, T>,
): Array<SnapshotChange<T>> {
  const changes: Array<SnapshotChange<T>> = [];
  for (const [key, old] of previous) {
    if (!next.has(key)) changes.push({ type: 'deleted', obj: old, old });
  }
  for (const [key, obj] of next) {
    const old = previous.get(key);
    if (!old) changes.push({ type: 'added', obj, old: undefined });
    else if (old.metadata.uid && obj.metadata.uid && old.metadata.uid !== obj.metadata.uid) {
      changes.push({ type: 'deleted', obj: old, old }, { type: 'added', obj, old: undefined });
    } else if (old !== obj && changed(old, obj)) changes.push({ type: 'updated', obj, old });
  }
  return changes;
}

/** changed tells whether two versions of one object differ. */
function changed(old: KubeObject, obj: KubeObject): boolean {
  const before = old.metadata.resourceVersion;
  const after = obj.metadata.resourceVersion;
  if (before && after) return before !== after;
  return JSON.stringify(old) !== JSON.stringify(obj);
}
