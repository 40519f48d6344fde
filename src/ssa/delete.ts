/**
 * removeAll takes a set of cached objects off one data plane in reverse apply order (order.ts).
 * Only objects the caller proves are its own (`owned`: by a uid it recorded, never by labels,
 * which anyone with patch can write) are touched; the others are left in place and returned as
 * `notOwned`, for the caller to report. Each owned one is either deleted, only if it is still the object that was seen (uid precondition), or,
 * when the caller says it was adopted, given back: our labels, annotations and field ownership
 * are removed and the object itself stays, as its owner left it; or, when the caller's policy says
 * it must be kept (retained), given back the same way and reported as retained. Objects already
 * terminating are skipped. A failure does not stop the others; an unreachable data plane stops the pass, since
 * every further request would wait for the same timeout.
 */
import { describeRef, isApplyEntryOf, type KubeObject } from '../api/object.ts';
import { isKubeApiError } from '../kube/client.ts';
import type { DataPlaneObjects, JsonPatchOperation } from '../dataplane/port.ts';
import type { ManagedObject } from '../dataplane/port.ts';
import { deleteOrder } from './order.ts';

/** GiveBack says what of ours to take off an adopted object. */
export interface GiveBack {
  /** fieldManager is our manager; its Apply entry is removed from managedFields. */
  fieldManager: string;
  labels: readonly string[];
  annotations: readonly string[];
}

/** Retention says why an object must never be deleted, and what to take off it instead. */
export interface Retention {
  reason: string;
  giveBack: GiveBack;
}

/** RetainedObject is an object kept instead of deleted, with the reason. */
export interface RetainedObject extends ManagedObject {
  reason: string;
}

/** RemoveOptions configures removeAll. */
export interface RemoveOptions {
  /** owned tells whether the caller can prove an object is its own; no other is ever touched. */
  owned: (m: ManagedObject) => boolean;
  /** giveBack returns what to take off an object that must be given back, or undefined to delete it. */
  giveBack?: (m: ManagedObject) => GiveBack | undefined;
  /** retain returns why an object must be kept (given back, never deleted), checked before giveBack. */
  retain?: (m: ManagedObject) => Retention | undefined;
}

/** RemoveResult says what a removal pass did. */
export interface RemoveResult {
  /** deleted were deleted by this pass: gone, or still terminating (then also in `terminating`). */
  deleted: ManagedObject[];
  /** terminating were deleted by this pass and are still there, as the API server answered (finalizers, a grace period). */
  terminating: ManagedObject[];
  /** absent were gone already, or replaced by another object of the same name, when this pass came. */
  absent: ManagedObject[];
  givenBack: ManagedObject[];
  /** retained were given back because the caller's policy keeps them. */
  retained: RetainedObject[];
  failed: Array<{ object: ManagedObject; error: unknown }>;
  /** notOwned were left in place: the caller could not prove them its own (terminating ones omitted). */
  notOwned: ManagedObject[];
  /** unreachable tells that the data plane stopped answering during the pass. */
  unreachable: boolean;
}

/**
 * RemovalDecision is what a removal pass does with one object: nothing (it is terminating already),
 * leave it in place (not provably the caller's), keep it (retained, given back), give it back, or
 * delete it.
 */
export type RemovalDecision =
  | { action: 'skip' }
  | { action: 'notOwned' }
  | { action: 'retain'; retention: Retention }
  | { action: 'giveBack'; giveBack: GiveBack }
  | { action: 'delete' };

/** removalOf decides what removeAll does with one object; the one place that decision is made. */
export function removalOf(m: ManagedObject, options: RemoveOptions): RemovalDecision {
  if (m.object.metadata.deletionTimestamp) return { action: 'skip' };
  if (!options.owned(m)) return { action: 'notOwned' };
  const retention = options.retain?.(m);
  if (retention) return { action: 'retain', retention };
  const giveBack = options.giveBack?.(m);
  return giveBack ? { action: 'giveBack', giveBack } : { action: 'delete' };
}

/** RemovalPlan is what a removal pass would do with each object, had it sent anything. */
export type RemovalPlan = Pick<RemoveResult, 'deleted' | 'givenBack' | 'retained' | 'notOwned'>;

/**
 * planRemovals says what removeAll would do with the objects (a dry run: nothing is sent), by the
 * same decision (removalOf), in the same order.
 */
export function planRemovals(objects: ManagedObject[], options: RemoveOptions): RemovalPlan {
  const plan: RemovalPlan = { deleted: [], givenBack: [], retained: [], notOwned: [] };
  for (const m of deleteOrder(objects, (o) => o.info.kind)) {
    const removal = removalOf(m, options);
    if (removal.action === 'notOwned') plan.notOwned.push(m);
    else if (removal.action === 'retain') plan.retained.push({ ...m, reason: removal.retention.reason });
    else if (removal.action === 'giveBack') plan.givenBack.push(m);
    else if (removal.action === 'delete') plan.deleted.push(m);
  }
  return plan;
}

/** removeAll runs one removal pass over the given objects. */
export async function removeAll(
  dataPlane: DataPlaneObjects,
  objects: ManagedObject[],
  signal: AbortSignal,
  options: RemoveOptions,
): Promise<RemoveResult> {
  const result: RemoveResult = {
    deleted: [],
    terminating: [],
    absent: [],
    givenBack: [],
    retained: [],
    failed: [],
    notOwned: [],
    unreachable: false,
  };
  for (const m of deleteOrder(objects, (o) => o.info.kind)) {
    const removal = removalOf(m, options);
    if (removal.action === 'skip') continue;
    if (removal.action === 'notOwned') {
      result.notOwned.push(m);
      continue;
    }
    try {
      if (removal.action === 'retain') {
        if (await giveBackOne(dataPlane, m, removal.retention.giveBack, signal))
          result.retained.push({ ...m, reason: removal.retention.reason });
        else result.absent.push(m);
      } else if (removal.action === 'giveBack') {
        if (await giveBackOne(dataPlane, m, removal.giveBack, signal)) result.givenBack.push(m);
        else result.absent.push(m);
      } else {
        const outcome = await dataPlane.delete(m.info, m.object, signal);
        if (outcome === 'absent') result.absent.push(m);
        else result.deleted.push(m);
        if (outcome === 'terminating') result.terminating.push(m);
      }
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

/**
 * giveBackOne removes what is ours from one object with a JSON patch fenced by its uid and
 * resourceVersion (a concurrent change fails the patch, and the next pass tries again). It reads
 * the object first: the cache keeps only our own managedFields entry, and the patch must keep
 * every other manager's. False when the object is gone or was replaced.
 */
async function giveBackOne(
  dataPlane: DataPlaneObjects,
  m: ManagedObject,
  what: GiveBack,
  signal: AbortSignal,
): Promise<boolean> {
  const { namespace, name = '' } = m.object.metadata;
  const fresh = await dataPlane.read(m.info, namespace, name, signal);
  if (!fresh || fresh.metadata.uid !== m.object.metadata.uid) return false;
  await dataPlane.patch(m.info, fresh, giveBackPatch(fresh, what), signal);
  return true;
}

/**
 * stillThere are the objects of a pass that may still be on the data plane as the caller's after
 * it: those it skipped as already terminating and those whose deletion waits, as the API server
 * answered. Deleted at once, given back, retained (given back) or gone already are not: the
 * answers to this pass's own requests say so before any watch event does.
 */
export function stillThere(objects: readonly ManagedObject[], result: RemoveResult): ManagedObject[] {
  const done = new Set(
    [
      ...result.deleted.filter((m) => !result.terminating.includes(m)),
      ...result.absent,
      ...result.givenBack,
      ...result.retained,
    ].map(identity),
  );
  return objects.filter((m) => !done.has(identity(m)));
}

/** identity names one object of one kind (`retained` holds copies, not the objects given). */
function identity(m: ManagedObject): string {
  return `${m.info.group}/${m.info.kind} ${describeManaged(m)} ${m.object.metadata.uid ?? ''}`;
}

/** giveBackPatch is the JSON patch that takes our labels, annotations and field ownership off an object. */
export function giveBackPatch(object: KubeObject, what: GiveBack): JsonPatchOperation[] {
  const { metadata } = object;
  const ops: JsonPatchOperation[] = [
    { op: 'test', path: '/metadata/uid', value: metadata.uid ?? '' },
    { op: 'test', path: '/metadata/resourceVersion', value: metadata.resourceVersion ?? '' },
  ];
  for (const key of what.labels)
    if (metadata.labels?.[key] !== undefined)
      ops.push({ op: 'remove', path: `/metadata/labels/${escape(key)}` });
  for (const key of what.annotations)
    if (metadata.annotations?.[key] !== undefined)
      ops.push({ op: 'remove', path: `/metadata/annotations/${escape(key)}` });
  const others = (metadata.managedFields ?? []).filter((e) => !isApplyEntryOf(e, what.fieldManager));
  // An empty list would leave managedFields as they are; one empty entry clears them.
  ops.push({ op: 'add', path: '/metadata/managedFields', value: others.length > 0 ? others : [{}] });
  return ops;
}

/** escape makes a map key one JSON-pointer segment (RFC 6901). */
function escape(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** describeManaged renders a cached object as `Kind/namespace/name`. */
export function describeManaged(m: ManagedObject): string {
  return describeRef({
    kind: m.info.kind,
    name: m.object.metadata.name ?? '',
    namespace: m.object.metadata.namespace,
  });
}
