/**
 * Inventory: the controller's proof of which data-plane objects are a Release's. Labels are how
 * objects are found, never proof (anyone with `patch` can write them): an object is the Release's
 * only when the controller recorded its uid in the Release's status when it created or adopted it
 * (`status.resources[].uid`), or kept that record once the object left the spec
 * (`status.pendingRemovals`). Only such an object is ever deleted or given back, and how it goes
 * (`removal`) was decided when it was recorded, from the Release, never from the live object.
 *
 * The crash window: an object applied just before a crash (or a failed status write) has no
 * recorded uid. While its spec still lists it, and it carries this Release's uid label, it is
 * recorded on the next pass as `Found`: written as the Release's, but given back, never deleted,
 * since the controller cannot tell it from an object someone labelled. One that left the spec in
 * between is left in place and reported. Never deleting what is not provably ours wins over never
 * orphaning. Pure.
 */
import { isApplyEntryOf, type KubeObject } from '../../api/object.ts';
import { Labels } from '../../api/v1alpha1/constants.ts';
import { MANAGED_BY_VALUES, trackingOf } from '../../api/v1alpha1/profile.ts';
import type {
  InventoryEntry,
  Origin,
  ReleaseStatus,
  Removal,
  ResourceStatus,
} from '../../api/v1alpha1/schema.ts';
import { listWithMore, plural } from '../../api/text.ts';
import type { ManagedObject } from '../../dataplane/port.ts';
import { describeManaged } from '../../ssa/delete.ts';
import { sameApplied } from '../../ssa/memory.ts';
import type { ItemOutcome } from './apply.ts';

/** MAX_PENDING_REMOVALS bounds status.pendingRemovals; the oldest entries go first. */
export const MAX_PENDING_REMOVALS = 1000;

/** Proof is what the inventory records of one object: its uid, how it became ours, how it leaves. */
export interface Proof {
  uid: string;
  origin: Origin;
  removal: Removal;
}

/** RecordedObject is where a recorded object is: its kind, namespace, name and uid. */
export interface RecordedObject {
  group: string;
  version: string;
  kind: string;
  namespace?: string;
  name: string;
  uid: string;
}

/** Inventory indexes the recorded objects of a Release by uid. */
export class Inventory {
  private readonly byUid = new Map<string, Proof>();
  private readonly where: RecordedObject[] = [];

  constructor(entries: Iterable<Partial<Proof & RecordedObject>>) {
    for (const e of entries) {
      if (!e.uid || !e.origin || !e.removal) continue;
      this.byUid.set(e.uid, { uid: e.uid, origin: e.origin, removal: e.removal });
      if (e.kind && e.name && e.version !== undefined)
        this.where.push({
          group: e.group ?? '',
          version: e.version,
          kind: e.kind,
          ...(e.namespace && { namespace: e.namespace }),
          name: e.name,
          uid: e.uid,
        });
    }
  }

  /** recorded lists where each recorded object is (as its status entry says), to look for it by name. */
  recorded(): readonly RecordedObject[] {
    return this.where;
  }

  /** of builds the inventory a status records: its resources and its pending removals. */
  static of(status: ReleaseStatus | undefined): Inventory {
    return new Inventory([...(status?.resources ?? []), ...(status?.pendingRemovals ?? [])]);
  }

  /** proofOf returns the record of an object, found by its uid alone (never by its labels). */
  proofOf(object: KubeObject): Proof | undefined {
    const uid = object.metadata.uid;
    return uid ? this.byUid.get(uid) : undefined;
  }

  /**
   * split separates the objects that carry the Release's labels into those it can prove are its
   * own and the others. Unproven objects already being deleted are dropped: nothing is left to say.
   */
  split(objects: readonly ManagedObject[]): { proven: ManagedObject[]; unproven: ManagedObject[] } {
    const proven: ManagedObject[] = [];
    const unproven: ManagedObject[] = [];
    for (const m of objects) {
      if (this.proofOf(m.object)) proven.push(m);
      else if (!m.object.metadata.deletionTimestamp) unproven.push(m);
    }
    return { proven, unproven };
  }
}

/** isNamespaceKind tells whether a kind is the core Namespace. */
function isNamespaceKind(kind: { group: string; kind: string }): boolean {
  return kind.group === '' && kind.kind === 'Namespace';
}

/**
 * adoptedRemoval is how an adopted object leaves, from what the Release asked at adoption: a
 * Namespace is always given back (deleting it would delete everything in it, made by others).
 */
export function adoptedRemoval(kind: { group: string; kind: string }, deleteAsked: boolean): Removal {
  return deleteAsked && !isNamespaceKind(kind) ? 'Delete' : 'GiveBack';
}

/**
 * isSoleWriter tells whether our field manager is the only one recorded on an object: the answer
 * to an apply that created it. An object someone else made in the meantime carries their manager.
 */
function isSoleWriter(object: KubeObject): boolean {
  const entries = object.metadata.managedFields ?? [];
  return entries.length > 0 && entries.every((e) => MANAGED_BY_VALUES.some((m) => isApplyEntryOf(e, m)));
}

/**
 * provenance is the inventory record of one spec item after the apply step: the record kept from
 * before while the object is the same (same uid; `known` has every record of the last status);
 * else a new one for an object this pass created
 * (`Created`, deleted when removed) or adopted (`Adopted`, as the Release asked); for an object of
 * this Release's that an earlier version of the controller applied (its apply token, kept in
 * status, names this uid) `Created`; for any other object carrying this Release's uid label
 * `Found` (given back, never deleted). Nothing for an object that is not the Release's (observed).
 */
export function provenance(
  o: ItemOutcome,
  prev: ResourceStatus | undefined,
  releaseUid: string,
  known?: Inventory,
): Proof | undefined {
  const kept =
    prev?.uid && prev.origin && prev.removal
      ? { uid: prev.uid, origin: prev.origin, removal: prev.removal }
      : undefined;
  const live = o.live;
  const uid = live?.metadata.uid;
  if (o.state !== 'applied' || !live || !uid) return kept;
  if (kept?.uid === uid) return kept;
  // Recorded under another id, or as pending removal (it left the spec and came back).
  const recorded = known?.proofOf(live);
  if (recorded) return recorded;
  if (o.created && isSoleWriter(live)) return { uid, origin: 'Created', removal: 'Delete' };
  if (o.adopted?.uid === uid) return { uid, origin: 'Adopted', removal: o.adopted.removal };
  if (trackingOf(live)?.uid !== releaseUid) return kept;
  // A status written before uids were recorded: the token of that apply, verified against this
  // uid and the object sent now, proves the controller applied it; the apply of an adoption was
  // marked in its token, so this one created it.
  if (prev?.applied && !prev.uid && o.applied && !o.drift && sameApplied(prev.applied, o.applied))
    return { uid, origin: 'Created', removal: 'Delete' };
  return { uid, origin: 'Found', removal: 'GiveBack' };
}

/**
 * pendingRemovalsOf is status.pendingRemovals before this pass removes anything: the entries kept
 * from before and every recorded object the new resources no longer record (its id left the spec,
 * or the object was renamed, replaced or left on another data plane), once each by uid, newest
 * last, at most MAX_PENDING_REMOVALS.
 */
export function pendingRemovalsOf(
  previous: ReleaseStatus | undefined,
  resources: readonly ResourceStatus[],
): InventoryEntry[] {
  const current = new Set(resources.flatMap((r) => (r.uid ? [r.uid] : [])));
  const byUid = new Map<string, InventoryEntry>();
  for (const e of previous?.pendingRemovals ?? []) if (!current.has(e.uid)) byUid.set(e.uid, e);
  for (const r of previous?.resources ?? []) {
    if (!r.uid || !r.origin || !r.removal || current.has(r.uid)) continue;
    byUid.delete(r.uid);
    byUid.set(r.uid, {
      id: r.id,
      group: r.group,
      version: r.version,
      kind: r.kind,
      ...(r.namespace && { namespace: r.namespace }),
      name: r.name,
      uid: r.uid,
      origin: r.origin,
      removal: r.removal,
    });
  }
  return [...byUid.values()].slice(-MAX_PENDING_REMOVALS);
}

/**
 * settlePending drops the pending removals verified gone: not among `present` (the uids of the
 * Release's objects on its only data plane, from a complete picture) while their kind is watched
 * there. Without such a picture (`present` undefined: incomplete, or objects may still be on a
 * data plane the Release moved away from) every entry stays.
 */
export function settlePending(
  pending: readonly InventoryEntry[],
  present: ReadonlySet<string> | undefined,
  watched: (group: string, kind: string) => boolean,
): InventoryEntry[] | undefined {
  const left = present
    ? pending.filter((e) => present.has(e.uid) || !watched(e.group, e.kind))
    : [...pending];
  return left.length > 0 ? left : undefined;
}

const MAX_LISTED = 5;

/**
 * notProvenMessage says which objects carry the Release's labels but were left in place because
 * their uid is not in its inventory, and what to do about them.
 */
export function notProvenMessage(unproven: readonly ManagedObject[]): string {
  const one = unproven.length === 1;
  const first = unproven[0];
  const uidLabel = (first && trackingOf(first.object)?.profile.labels.uid) ?? Labels.releaseUid;
  return (
    `${plural(unproven.length, 'object')} ${one ? 'carries' : 'carry'} this Release's labels but ${one ? 'was' : 'were'} not created or adopted by it ` +
    `(uid not in its status inventory); left in place: ${listWithMore(unproven.map(describeManaged), MAX_LISTED, ', ')}. ` +
    `Delete ${one ? 'it' : 'them'} yourself if not needed, or remove the ${uidLabel} label`
  );
}
