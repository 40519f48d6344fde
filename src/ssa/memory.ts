/**
 * ApplyMemory remembers the controller's last server-side apply of each object (what was sent,
 * and the object's uid, resourceVersion and our field set in the answer), so that an object that
 * is still as we left it is not applied again: the steady state sends no request. It also knows
 * which writes the watches have not delivered yet, so an empty cache is not mistaken for "gone".
 */
import { digest128, digest256 } from '../api/digest.ts';
import { isApplyEntryOf, isRecord, parseApiVersion, type KubeObject } from '../api/object.ts';
import type { ResourceInfo } from '../kube/discovery.ts';
import type { DataPlaneObjects } from '../dataplane/port.ts';
import { kindKey } from '../dataplane/port.ts';
import { sharedStrings } from '../kube/intern.ts';
import type { FailureKind } from './failure.ts';
import { MAX_REPORTED_FIELDS } from './fields.ts';

/** AppliedRecord remembers our last apply of one object. */
export interface AppliedRecord {
  /** dataPlane is the key of the data plane the object was applied to. */
  dataPlane: string;
  /** hash identifies what we sent. */
  hash: string;
  uid: string;
  resourceVersion: string;
  /** fieldsHash is ownFieldsHash of the answer. */
  fieldsHash: string;
  /** owner is the key of the owner that applied it (a Release's `namespace/name`). */
  owner: string;
  /** ownerUid is the uid of that owner (cleanup waits until the watch has seen its writes). */
  ownerUid: string;
  /** kind is the kindKey of the object's watch. */
  kind: string;
  /** object is the apply response, kept only until the watch cache has caught up with it. */
  object?: KubeObject;
  /**
   * drift is the last drift report (drift mode Report), keyed by the live object's uid and our
   * field set there, so a drift that stays as it is costs no request to report again.
   */
  drift?: { key: string; report: DriftReport | undefined };
}

/** DriftedField is one field we applied that someone else changed or removed. */
export interface DriftedField {
  /** path is the field as a pointer (fields.ts missingFields). */
  path: string;
  /** manager is the field manager that owns it now, when one does. */
  manager?: string;
}

/** DriftReport says how an object drifted from our last apply. */
export interface DriftReport {
  fields: DriftedField[];
  /** deleted tells that the object we applied is gone (deleted, replaced, or stripped of our labels). */
  deleted?: boolean;
}

/** Plan is what a server-side dry-run apply of one object says a real apply would do. */
export interface Plan {
  action: 'Create' | 'Update' | 'Unchanged' | 'Error';
  /** fields are the pointers an Update changes. */
  fields?: string[];
  /** message says why it would fail (Error), or what the plan could not check. */
  message?: string;
}

/** MAX_POINTER_LENGTH is the longest pointer a plan keeps (a data plane chooses its map keys). */
export const MAX_POINTER_LENGTH = 512;

/**
 * boundPlan bounds a plan's pointers in place, in count (MAX_REPORTED_FIELDS, as every list of
 * fields the library returns) and in length (MAX_POINTER_LENGTH, cut with `…`): they are made of
 * the keys of objects on the data plane, which the data plane chooses.
 */
export function boundPlan(plan: Plan): Plan {
  if (!plan.fields) return plan;
  plan.fields = plan.fields
    .slice(0, MAX_REPORTED_FIELDS)
    .map((p) => (p.length <= MAX_POINTER_LENGTH ? p : `${p.slice(0, MAX_POINTER_LENGTH - 1)}…`));
  return plan;
}

/**
 * appliedToken renders our last apply of an object for its owner's status, so that a new process
 * can recognise an object it applied before without applying it again: a digest of what was sent
 * together with the object's uid, then the hash of the field set our manager owned in the answer.
 */
export function appliedToken(record: Pick<AppliedRecord, 'hash' | 'uid' | 'fieldsHash'>): string {
  // Made again each time (a digest of two short strings): kept, the token was the largest part
  // of a record (about 90 of 300 bytes), and its owner's status holds a copy anyway.
  return `${identityDigest(record.hash, record.uid)}.${record.fieldsHash}`;
}

/**
 * recallRecord rebuilds the record of an apply from its appliedToken when the token was made for
 * exactly the object we want to send now (`hash`) and the very object that is live (its uid).
 * The record keeps the field set of that apply, so a change someone made since still reads as
 * drift (needsApply, driftOf); when the field set is intact it takes the live resourceVersion, and
 * the object is not applied again. A token for anything else, or one that does not parse, is
 * ignored: the object is then applied, as without a token. The token is a hint verified against
 * the data plane, never trusted on its own.
 */
export function recallRecord(
  token: string | undefined,
  live: KubeObject,
  hash: string,
  fieldManager: string,
  where: Pick<AppliedRecord, 'dataPlane' | 'owner' | 'ownerUid' | 'kind'>,
): AppliedRecord | undefined {
  const uid = live.metadata.uid;
  if (!token || !uid) return undefined;
  const dot = token.indexOf('.');
  if (dot < 0 || token.slice(0, dot) !== identityDigest(hash, uid)) return undefined;
  const fieldsHash = token.slice(dot + 1);
  const intact = fieldsHash === ownFieldsHash(live, fieldManager);
  return {
    ...where,
    hash,
    uid,
    resourceVersion: intact ? (live.metadata.resourceVersion ?? '') : '',
    fieldsHash,
  };
}

/**
 * sameApplied tells whether two appliedTokens were made for the same apply: the same object sent
 * to the same uid (the field sets after it may differ). A token its owner kept from before,
 * matching the token of an apply recalled or made now, proves which uid that earlier apply reached.
 */
export function sameApplied(a: string, b: string): boolean {
  const dot = a.indexOf('.');
  return dot > 0 && b.length > dot && b[dot] === '.' && a.slice(0, dot) === b.slice(0, dot);
}

/** identityDigest binds what we sent to the object it was sent to (128 bits, base64url). */
function identityDigest(hash: string, uid: string): string {
  return digest128(`${hash}\n${uid}`);
}

/** DriftKind is what driftOf found. */
export type DriftKind = 'deleted' | 'fields';

/** recordKey identifies an applied object: data plane, kind and object. */
export function recordKey(
  dataPlane: string,
  info: Pick<ResourceInfo, 'group' | 'version' | 'kind'>,
  namespace: string | undefined,
  name: string,
): string {
  // join makes one flat string (a template literal keeps a tree of its parts alive in the map).
  return [dataPlane, kindKey(info), `${namespace ?? ''}/${name}`].join('|');
}

/**
 * ownFieldsHash hashes one manager's applied field set, which changes when someone else takes or
 * removes its fields. The API server renders fieldsV1 in a canonical order, so plain JSON is stable.
 */
export function ownFieldsHash(obj: KubeObject, fieldManager: string): string {
  const entry = obj.metadata.managedFields?.find((m) => isApplyEntryOf(m, fieldManager));
  // Objects from one template have one field set: the records keep one copy of its hash.
  return sharedStrings.intern(digest256(JSON.stringify(entry?.fieldsV1 ?? null)));
}

/**
 * needsApply decides whether an object must be applied again: not when the live object is the
 * very one we applied with the same content, or a newer version in which our fields are intact.
 */
export function needsApply(
  live: KubeObject | undefined,
  record: AppliedRecord | undefined,
  hash: string,
  fieldManager: string,
): boolean {
  if (!live || !record) return true;
  if (record.hash !== hash || record.uid !== live.metadata.uid) return true;
  if (record.resourceVersion === live.metadata.resourceVersion) return false;
  return record.fieldsHash !== ownFieldsHash(live, fieldManager);
}

/** ownFields returns one manager's applied field set (fieldsV1) on an object. */
export function ownFields(
  obj: KubeObject | undefined,
  fieldManager: string,
): Record<string, unknown> | undefined {
  const fields = obj?.metadata.managedFields?.find((m) => isApplyEntryOf(m, fieldManager))?.fieldsV1;
  return isRecord(fields) ? fields : undefined;
}

/**
 * driftOf tells whether an object drifted from our last apply of the very same desired object:
 * it is gone from our cache or was replaced (another uid), or our field set changed (someone
 * else took or removed fields we own). Undefined when we have not applied it (in this process),
 * or what we want changed since (then the apply is an update, not a correction).
 */
export function driftOf(
  live: KubeObject | undefined,
  record: AppliedRecord | undefined,
  hash: string,
  fieldManager: string,
): DriftKind | undefined {
  if (!record || record.hash !== hash) return undefined;
  if (!live || live.metadata.uid !== record.uid) return 'deleted';
  if (live.metadata.resourceVersion === record.resourceVersion) return undefined;
  return ownFieldsHash(live, fieldManager) === record.fieldsHash ? undefined : 'fields';
}

/**
 * Refusal is what the data plane answered to an object it refused as written (failure.ts
 * TERMINAL_FAILURES): sending the same object again cannot change the answer.
 */
export interface Refusal {
  message: string;
  failure: FailureKind;
}

/**
 * OwnerNotes keeps, per owner and recordKey, one note and what it was computed from (its basis):
 * a note is only good for the same basis, and an owner keeps notes of its current objects only.
 */
class OwnerNotes<V> {
  private readonly notes = new Map<string, Map<string, { basis: string; value: V }>>();

  get(owner: string, key: string, basis: string): V | undefined {
    const note = this.notes.get(owner)?.get(key);
    return note?.basis === basis ? note.value : undefined;
  }

  set(owner: string, key: string, basis: string, value: V): void {
    let notes = this.notes.get(owner);
    if (!notes) this.notes.set(owner, (notes = new Map<string, { basis: string; value: V }>()));
    notes.set(key, { basis, value });
  }

  delete(owner: string, key: string): void {
    const notes = this.notes.get(owner);
    notes?.delete(key);
    if (notes?.size === 0) this.notes.delete(owner);
  }

  keep(owner: string, keys: ReadonlySet<string>): void {
    const notes = this.notes.get(owner);
    if (!notes) return;
    for (const key of notes.keys()) if (!keys.has(key)) notes.delete(key);
    if (notes.size === 0) this.notes.delete(owner);
  }

  count(owner: string): number {
    return this.notes.get(owner)?.size ?? 0;
  }

  forget(owner: string): void {
    this.notes.delete(owner);
  }
}

/** ApplyMemory is the record of our applies, keyed by recordKey. */
export class ApplyMemory {
  private readonly records = new Map<string, AppliedRecord>();
  /** creating are the record keys of creates in flight (creatingNow). */
  private readonly creating = new Set<string>();
  /** plans are the last dry-run plans, each with what it was computed from. */
  private readonly plans = new OwnerNotes<Plan>();
  /**
   * refusals are the objects the data plane refused as written, each with what was sent and the
   * live version it was sent against: the same object is not sent again (no retry loop for a
   * tenant's typo) until one of them changes or the owner asks for a fresh pass.
   */
  private readonly refusals = new OwnerNotes<Refusal>();

  /** planOf returns the plan of one object when it was computed from the same basis (desired object and live version). */
  planOf(owner: string, key: string, basis: string): Plan | undefined {
    return this.plans.get(owner, key, basis);
  }

  /**
   * rememberPlan records a dry-run plan, so an unchanged preview sends nothing again. It bounds the
   * plan's pointers first, in place (boundPlan), so the caller reports what is remembered.
   */
  rememberPlan(owner: string, key: string, basis: string, plan: Plan): void {
    this.plans.set(owner, key, basis, boundPlan(plan));
  }

  /** refusalOf returns the data plane's refusal of one object when it was sent from the same basis. */
  refusalOf(owner: string, key: string, basis: string): Refusal | undefined {
    return this.refusals.get(owner, key, basis);
  }

  /** rememberRefusal records that the data plane refused one object as written. */
  rememberRefusal(owner: string, key: string, basis: string, refusal: Refusal): void {
    this.refusals.set(owner, key, basis, refusal);
  }

  /** forgetRefusal drops the refusal of one object (it was sent again). */
  forgetRefusal(owner: string, key: string): void {
    this.refusals.delete(owner, key);
  }

  /** forgetRefusals drops every refusal of an owner (it asked for a fresh pass). */
  forgetRefusals(owner: string): void {
    this.refusals.forget(owner);
  }

  /**
   * keepCurrent drops an owner's plans and refusals of objects that are not in `keys` (the objects
   * of its current spec): an owner whose objects are renamed on every update would otherwise keep
   * a note of every name it ever had.
   */
  keepCurrent(owner: string, keys: Iterable<string>): void {
    const keep = new Set(keys);
    this.plans.keep(owner, keep);
    this.refusals.keep(owner, keep);
  }

  /** planCount is the number of plans remembered for an owner. */
  planCount(owner: string): number {
    return this.plans.count(owner);
  }

  /** refusalCount is the number of refusals remembered for an owner. */
  refusalCount(owner: string): number {
    return this.refusals.count(owner);
  }

  /** forgetPlans drops an owner's plans (it applies for real again). */
  forgetPlans(owner: string): void {
    this.plans.forget(owner);
  }

  /** get returns the record of one object. */
  get(key: string): AppliedRecord | undefined {
    return this.records.get(key);
  }

  /** remember records an apply. */
  remember(key: string, record: AppliedRecord): void {
    this.records.set(key, record);
  }

  /**
   * caughtUp is told each object a data plane's watch delivers: once the watch has our write (or a
   * later version), the record no longer needs the apply response, so it lets go of that copy.
   * Without this every applied object stayed in memory twice until its owner's next reconcile.
   * It returns true when the object is exactly the version our last apply of it returned: the
   * echo of our own write, which tells its owner nothing new.
   */
  caughtUp(dataPlane: string, obj: KubeObject, added = false): boolean {
    const { group, version } = parseApiVersion(obj.apiVersion);
    const key = recordKey(
      dataPlane,
      { group, version, kind: obj.kind },
      obj.metadata.namespace,
      obj.metadata.name ?? '',
    );
    const record = this.records.get(key);
    if (record?.object && Number(obj.metadata.resourceVersion) >= Number(record.resourceVersion)) {
      record.object = undefined;
    }
    // The cache keeps this object's uid for as long as it lives: share that copy instead of the
    // answer's (one uid fewer per object remembered).
    if (record && record.uid === obj.metadata.uid) record.uid = obj.metadata.uid;
    // A new object whose create is in flight: its watch event can come before the create's
    // answer. Either it is our create, or someone else's, which our create-only apply finds (409)
    // and reads: the reconcile that sends it accounts for the object either way.
    if (added && this.creating.has(key)) return true;
    return record !== undefined && record.resourceVersion === obj.metadata.resourceVersion;
  }

  /**
   * creatingNow marks a create of the object with this record key as in flight (until `done` is
   * called), so that its watch event, which may come before its answer, is known as our echo.
   */
  creatingNow(key: string): () => void {
    this.creating.add(key);
    return () => this.creating.delete(key);
  }

  /** forget drops the record of one object (it was deleted). */
  forget(key: string): void {
    this.records.delete(key);
  }

  /** forgetOwner drops every record of an owner that no longer exists. */
  forgetOwner(owner: string): void {
    this.plans.forget(owner);
    this.refusals.forget(owner);
    for (const [key, r] of this.records) if (r.owner === owner) this.records.delete(key);
  }

  /**
   * unseenWrites lists an owner's applies that the data plane's watches have not delivered yet:
   * until they have, an empty cache does not prove that nothing is left.
   */
  unseenWrites(dataPlane: DataPlaneObjects, ownerUid: string): AppliedRecord[] {
    return [...this.records.values()].filter(
      (r) =>
        r.ownerUid === ownerUid &&
        r.dataPlane === dataPlane.key &&
        dataPlane.isBehind(r.kind, r.resourceVersion),
    );
  }

  /** size is the number of records. */
  get size(): number {
    return this.records.size;
  }
}
