/**
 * Recorded objects outside the watches' view. A data plane's watches select what the controller
 * applied for the organization and, on a shard, for that shard's Releases (shard.ts: objects carry
 * their Release's values of the --release-selector's keys). An object a Release's inventory records
 * can exist outside that view: applied before the upgrade that added the shard labels, applied by
 * another shard before the Release moved here, or relabelled by someone on the data plane. The
 * cache's silence proves nothing about such an object, so prune and cleanup read each recorded
 * object the cache does not show, by the name its status entry records. Absent is proven by a 404,
 * or by another uid at that name (a uid never comes back). One that exists and still carries the
 * Release's uid label is the Release's, outside the view, and is removed (or given back) as a cached
 * one would be; one without it was given back or taken away and is not the Release's any more.
 *
 * What was proven absent, deleted or given back here is remembered per connection (bounded), so the
 * steady state (every recorded object in view) and a finished removal send nothing.
 */
import { trackingOf } from '../../api/v1alpha1/profile.ts';
import type { DataPlaneObjects } from '../../dataplane/port.ts';
import type { ManagedObject } from '../../dataplane/port.ts';
import { KindNotServedError } from '../../kube/discovery.ts';
import type { RecordedObject } from './inventory.ts';

/** MAX_SETTLED bounds the uids remembered per connection as gone from its Releases' objects. */
export const MAX_SETTLED = 10_000;

/** PARALLEL_READS bounds the reads of recorded objects in flight for one Release. */
const PARALLEL_READS = 8;

/** settled are, per connection, the uids proven absent there, or deleted or given back through it. */
const settled = new WeakMap<DataPlaneObjects, Set<string>>();

/**
 * letGo remembers what a removal pass took off a connection, so no read is needed to prove it gone:
 * objects given back (our labels are off: not the Release's any more) and objects deleted while the
 * watches showed them (their going is seen there). A deleted object that was outside the view is
 * not remembered: it is read again until it is gone, as cleanup waits for every deletion to finish.
 */
export function letGo(
  dataPlane: DataPlaneObjects,
  removed: { deleted: readonly ManagedObject[]; givenBack: readonly ManagedObject[] },
  outside: readonly ManagedObject[],
): void {
  const away = removed.deleted.filter((m) => !outside.includes(m));
  for (const m of [...away, ...removed.givenBack])
    if (m.object.metadata.uid) settle(dataPlane, m.object.metadata.uid);
}

function settle(dataPlane: DataPlaneObjects, uid: string): void {
  let uids = settled.get(dataPlane);
  if (!uids) settled.set(dataPlane, (uids = new Set<string>()));
  if (uids.size >= MAX_SETTLED) {
    const oldest = uids.values().next().value;
    if (oldest !== undefined) uids.delete(oldest);
  }
  uids.add(uid);
}

/**
 * outsideView reads the recorded objects that `shown` says the caches do not show and that are
 * not known gone, and returns those that exist with this uid and the Release's uid label. It
 * throws when a read fails (the caller must not conclude anything): a kind the data plane no
 * longer serves has no objects.
 */
export async function outsideView(
  dataPlane: DataPlaneObjects,
  releaseUid: string,
  recorded: readonly RecordedObject[],
  shown: (r: RecordedObject) => boolean,
  signal: AbortSignal,
): Promise<ManagedObject[]> {
  const known = settled.get(dataPlane);
  const wanted = recorded.filter((r) => !shown(r) && !known?.has(r.uid));
  const found: ManagedObject[] = [];
  for (let i = 0; i < wanted.length; i += PARALLEL_READS) {
    const batch = await Promise.all(wanted.slice(i, i + PARALLEL_READS).map((r) => locate(r)));
    for (const m of batch) if (m) found.push(m);
  }
  return found;

  async function locate(r: RecordedObject): Promise<ManagedObject | undefined> {
    let info;
    try {
      info = await dataPlane.resolveKind({ group: r.group, version: r.version, kind: r.kind });
    } catch (err) {
      if (!(err instanceof KindNotServedError)) throw err;
      settle(dataPlane, r.uid);
      return undefined;
    }
    const live = await dataPlane.read(info, info.namespaced ? r.namespace : undefined, r.name, signal);
    if (!live || live.metadata.uid !== r.uid) {
      settle(dataPlane, r.uid);
      return undefined;
    }
    // Given back (our labels taken off) or relabelled for another Release: not this one's to remove.
    if (trackingOf(live)?.uid !== releaseUid) return undefined;
    return { object: live, info };
  }
}
