/**
 * Placement: where a Release's objects live. `status.appliedTo` lists every (DataPlane, cluster)
 * that may hold them: an entry is recorded before the first apply on a cluster and removed only
 * once that cluster is verified clean, listed through connected watches of every kind the Release
 * used with none of its objects left. The cluster is identified by the data plane itself
 * (DataPlaneInventory.clusterId), so a DataPlane re-pointed at another cluster is never mistaken for the
 * one the objects were applied to. Before the first apply on a cluster the entry is written with
 * the finalizer, into the placement annotation (one write where there were two); the next status
 * write takes it into status.appliedTo, and placementsOf reads both. `sweep` is the one way objects leave a data plane as a whole:
 * cleanup sweeps every placement, and a reconcile sweeps those the Release has moved away from.
 */
import type { Logger } from 'pino';
import type { Placement, Release } from '../../api/v1alpha1/schema.ts';
import type { DataPlaneInventory, DataPlanePort, ManagedObject } from '../../dataplane/port.ts';
import { KindNotServedError, type ResourceInfo } from '../../kube/discovery.ts';
import { describeError } from '../../kube/errors.ts';
import { describeManaged, removeAll, stillThere, type RetainedObject } from '../../ssa/delete.ts';
import { classifyFailure } from '../../ssa/failure.ts';
import type { ApplyMemory } from '../../ssa/memory.ts';
import { listWithMore, plural } from '../../api/text.ts';
import { formatApiVersion, isRecord } from '../../api/object.ts';
import { Annotations } from '../../api/v1alpha1/constants.ts';
import { kindsToWatch } from './kinds.ts';
import type { Inventory } from './inventory.ts';
import { giveBackOf, ownedBy, retentionOf } from './policy.ts';
import { letGo, outsideView } from './recorded.ts';
import { isResolveFailure, planeOfKey, refString, type DataPlaneResolver } from './resolve.ts';

const MAX_LISTED = 5;

/** SweepContext is what a sweep needs. */
export interface SweepContext {
  release: Release;
  key: string;
  resolver: DataPlaneResolver;
  memory: ApplyMemory;
  logger: Logger;
  signal: AbortSignal;
  /** inventory is what the Release's status proves is its own: nothing else is removed. */
  inventory: Inventory;
}

/** SweepResult says what one sweep of one data plane found and did. */
export interface SweepResult {
  /** left are the Release's proven objects that may still be there after this sweep (terminating). */
  left: ManagedObject[];
  /** notProven carry the Release's labels there but are not in its inventory: left in place, not waited for. */
  notProven: ManagedObject[];
  deleted: ManagedObject[];
  givenBack: ManagedObject[];
  /** retained were kept (given back) because of their policy (`prune: Disabled`, `apply: Observe`). */
  retained: RetainedObject[];
  /** clean is true once nothing is left and the watches have seen all our writes there. */
  clean: boolean;
  /** failure says why the data plane could not be swept (unreachable, re-pointed, refused deletes). */
  failure?: { message: string; unreachable: boolean };
}

/** MAX_BROKEN_LISTED bounds the broken watches a message names. */
const MAX_BROKEN_LISTED = 3;

/**
 * brokenWatchesText names the broken watches of a data plane and their errors:
 * `the watch of Widget (example.com/v1) on data plane acme/dp is broken (...)`.
 */
export function brokenWatchesText(dataPlane: DataPlaneInventory, user?: string): string {
  const broken = dataPlane.brokenWatches(user);
  if (broken.length === 0) return `a watch of data plane ${dataPlane.key} is not connected`;
  const listed = broken.map(
    (w) =>
      `${w.info.kind} (${formatApiVersion(w.info.group, w.info.version)})${w.error ? `: ${w.error}` : ''}`,
  );
  const what = broken.length === 1 ? 'the watch of' : `the watches of ${broken.length} kinds,`;
  return `${what} ${listWithMore(listed, MAX_BROKEN_LISTED)}, on data plane ${dataPlane.key} ${broken.length === 1 ? 'is' : 'are'} broken`;
}

/** WATCH_REMEDY says what to do about a broken watch. */
const WATCH_REMEDY =
  "check that the data plane's API server answers lists and watches of that kind (the controller's log has each failure); this goes on by itself once the watch is connected again";

/**
 * pruneDeferred is the prune failure of a Release (its key) whose data plane has a broken watch of
 * one of its kinds: what to prune cannot be known, so nothing is deleted, and the Release must say
 * so rather than be Ready.
 */
export function pruneDeferred(
  dataPlane: DataPlaneInventory,
  key: string,
): {
  message: string;
  unreachable: false;
  deferred: true;
} {
  return {
    unreachable: false,
    deferred: true,
    message: `pruning deferred: ${brokenWatchesText(dataPlane, key)}, so objects that left the spec are not looked for (nothing is deleted from an incomplete picture); ${WATCH_REMEDY}`,
  };
}

/** unlessNotServed rethrows every error but KindNotServedError (a kind that cannot have objects). */
function unlessNotServed(err: unknown): undefined {
  if (err instanceof KindNotServedError) return undefined;
  throw err;
}

/** MAX_RECORDED_PLACEMENTS bounds the entries read from the placement annotation (a tenant can edit it). */
const MAX_RECORDED_PLACEMENTS = 16;
/** MAX_PLACEMENT_FIELD bounds a DataPlane reference or a cluster id read from the annotation. */
const MAX_PLACEMENT_FIELD = 300;

/**
 * recordedPlacements reads the placement annotation (Annotations.placement): entries written with
 * the finalizer before the first apply on a cluster. Malformed entries are ignored (the annotation
 * is only ever widened by a tenant's edit: an entry naming a plane it never used makes cleanup look
 * there too, and deletes nothing the Release's inventory does not prove its own).
 */
export function recordedPlacements(release: Release): Placement[] {
  const text = release.metadata.annotations?.[Annotations.placement];
  if (!text) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return [];
  }
  if (!Array.isArray(parsed)) return [];
  const valid = (v: unknown): v is string =>
    typeof v === 'string' && v.length > 0 && v.length <= MAX_PLACEMENT_FIELD;
  return parsed.slice(0, MAX_RECORDED_PLACEMENTS).flatMap((e: unknown) => {
    if (!isRecord(e) || !valid(e['dataPlane']) || !valid(e['cluster'])) return [];
    return [{ dataPlane: e['dataPlane'], cluster: e['cluster'] }];
  });
}

/**
 * placementsOf is every (DataPlane, cluster) that may hold a Release's objects: status.appliedTo,
 * and the entries recorded with the finalizer that no status write has taken in yet.
 */
export function placementsOf(release: Release): Placement[] {
  return recordedPlacements(release).reduce(withPlacement, [...(release.status?.appliedTo ?? [])]);
}

/**
 * placementRecord is the placement annotation to write before applying on `p`, or undefined when
 * `p` is recorded already: the entries status.appliedTo does not hold yet, and `p`.
 */
export function placementRecord(release: Release, p: Placement): string | undefined {
  if (placementsOf(release).some((q) => isSamePlacement(q, p))) return undefined;
  const inStatus = release.status?.appliedTo ?? [];
  const pending = recordedPlacements(release).filter((q) => !inStatus.some((r) => isSamePlacement(q, r)));
  return JSON.stringify(withPlacement(pending, p));
}

/** isSamePlacement tells whether two placements name the same DataPlane and cluster. */
export function isSamePlacement(a: Placement, b: Placement): boolean {
  return a.dataPlane === b.dataPlane && a.cluster === b.cluster;
}

/** withPlacement adds a placement to a list, once. */
export function withPlacement(list: readonly Placement[] | undefined, p: Placement): Placement[] {
  const all = [...(list ?? [])];
  return all.some((q) => isSamePlacement(q, p)) ? all : [...all, p];
}

/** otherPlacements are the recorded placements other than `current` (all of them without one). */
export function otherPlacements(list: readonly Placement[] | undefined, current?: Placement): Placement[] {
  return (list ?? []).filter((p) => !current || !isSamePlacement(p, current));
}

/** describePlacement renders a placement for messages. */
export function describePlacement(namespace: string, p: Placement): string {
  return `DataPlane ${namespace}/${p.dataPlane} (cluster ${p.cluster})`;
}

/**
 * isBoundTo tells whether an event from a data plane may wake a Release: the object's labels name
 * the Release (a data plane can forge them), so the Release must carry that uid, live in the
 * DataPlane's namespace, and use the DataPlane now (`currentDataPlane`, from its Environment) or
 * have applied through it (status.appliedTo). A hostile data plane cannot churn the Releases of
 * another organization, nor of its own organization on other data planes.
 */
export function isBoundTo(
  release: Release,
  uid: string,
  dataPlaneKey: string,
  currentDataPlane: string | undefined,
): boolean {
  if (release.metadata.uid !== uid) return false;
  // A cluster-scoped plane's key is its reference; a namespaced plane's key holds the namespace,
  // which must be the Release's.
  const plane = planeOfKey(dataPlaneKey);
  const name = refString(plane.ref);
  if (plane.namespace !== undefined && release.metadata.namespace !== plane.namespace) return false;
  return currentDataPlane === name || placementsOf(release).some((p) => p.dataPlane === name);
}

/**
 * dataPlaneName is the reference of a port as status.appliedTo writes it: a DataPlane's name (its
 * key is `namespace/name`), or a ClusterDataPlane's `ClusterDataPlane/NAME` (its key).
 */
export function dataPlaneName(dataPlane: DataPlaneInventory): string {
  return refString(planeOfKey(dataPlane.key).ref);
}

/**
 * sweep removes a Release's objects from one data plane: it starts and connects the watches of
 * every kind of the spec and the inventory (and every other kind watched there), so that an empty
 * cache means "nothing left" and not "not looked"; deletes or gives back, as the Release's
 * inventory recorded, the objects it proves are the Release's. Objects that only carry the
 * Release's labels are left in place, reported, and not waited for. It releases its watches once
 * the data plane is clean.
 */
export async function sweep(ctx: SweepContext, dataPlane: DataPlanePort): Promise<SweepResult> {
  const uid = ctx.release.metadata.uid ?? '';
  const none = { left: [], notProven: [], deleted: [], givenBack: [], retained: [], clean: false };
  let left: ManagedObject[];
  let notProven: ManagedObject[];
  let deleted: ManagedObject[];
  let givenBack: ManagedObject[];
  let retained: RetainedObject[];
  try {
    // A discovery failure throws: a kind not looked at must never read as "nothing left".
    const infos = await kindsToWatch(dataPlane, ctx.release, undefined, true);
    dataPlane.addKinds(ctx.key, infos);
    // A kind the data plane no longer serves (its CRD was deleted) has no objects: its watch ended.
    const connect = (info: ResourceInfo) => dataPlane.cache(info).catch(unlessNotServed);
    await Promise.all(infos.map(connect));
    await Promise.all(dataPlane.watchedKinds().map(connect));
    if (!dataPlane.isComplete(ctx.key)) {
      const known = dataPlane.objectsOf(uid).map(describeManaged);
      return {
        ...none,
        failure: {
          unreachable: false,
          message: `cleanup of data plane ${dataPlane.key} waits for a complete picture: ${brokenWatchesText(dataPlane, ctx.key)}, so the Release's objects there cannot be proven gone (${known.length === 0 ? 'none of them is in the connected caches' : `known there: ${listWithMore(known, MAX_LISTED, ', ')}`}); ${WATCH_REMEDY}`,
        },
      };
    }
    // Cleanup proves absence: a recorded object the watches do not show is read by name (recorded.ts).
    const cached = dataPlane.objectsOf(uid);
    const inView = new Set(cached.map((m) => m.object.metadata.uid));
    const outside = await outsideView(
      dataPlane,
      uid,
      ctx.inventory.recorded(),
      (r) => inView.has(r.uid),
      ctx.signal,
    );
    ({ proven: left, unproven: notProven } = ctx.inventory.split([...cached, ...outside]));
    const removed = await removeAll(dataPlane, left, ctx.signal, {
      owned: ownedBy(ctx.inventory),
      giveBack: giveBackOf(ctx.inventory),
      retain: retentionOf(ctx.release),
    });
    ({ deleted, givenBack, retained } = removed);
    letGo(dataPlane, { deleted, givenBack: [...givenBack, ...retained] }, outside);
    // What this pass removed is known gone from the API server's answers: a cleanup whose deletes
    // all completed at once is done now, not one watch event later.
    left = stillThere(left, removed);
    for (const m of givenBack) ctx.logger.info({ object: describeManaged(m) }, 'gave back adopted object');
    for (const m of retained) ctx.logger.info({ object: describeManaged(m), reason: m.reason }, 'retained');
    for (const m of notProven)
      ctx.logger.warn(
        { object: describeManaged(m) },
        "left in place: carries this Release's labels but its uid is not in the Release's inventory",
      );
    if (removed.failed.length > 0) {
      const listed = removed.failed.map(
        (f) => `${describeManaged(f.object)}: ${classifyFailure(f.error).message}`,
      );
      return {
        ...none,
        left,
        notProven,
        deleted,
        givenBack,
        retained,
        failure: {
          unreachable: removed.unreachable,
          message: `removing ${plural(removed.failed.length, 'object')} from data plane ${dataPlane.key} failed: ${listWithMore(listed, MAX_LISTED)}`,
        },
      };
    }
  } catch (err) {
    const failure = classifyFailure(err);
    return {
      ...none,
      failure: {
        unreachable: failure.kind === 'Unreachable',
        message: `cannot list the objects on data plane ${dataPlane.key}: ${describeError(err)}`,
      },
    };
  }
  // Our last applies may not have reached the watch yet; an empty cache proves nothing until they have.
  const clean = left.length === 0 && ctx.memory.unseenWrites(dataPlane, uid).length === 0;
  if (clean) await dataPlane.releaseKinds(ctx.key);
  return { left, notProven, deleted, givenBack, retained, clean };
}

/**
 * sweepPlacement sweeps a recorded placement: it connects to its DataPlane (or uses `current`
 * when that is the same one) and checks that it still reaches the recorded cluster; otherwise the
 * objects there cannot be verified gone, and the failure says what to do.
 */
export async function sweepPlacement(
  ctx: SweepContext,
  p: Placement,
  current?: DataPlanePort,
): Promise<SweepResult> {
  const ns = ctx.release.metadata.namespace ?? '';
  const where = describePlacement(ns, p);
  const failed = (message: string, unreachable = false): SweepResult => ({
    left: [],
    notProven: [],
    deleted: [],
    givenBack: [],
    retained: [],
    clean: false,
    failure: { message, unreachable },
  });
  let dataPlane = current && dataPlaneName(current) === p.dataPlane ? current : undefined;
  if (!dataPlane) {
    const target = await ctx.resolver.dataPlane(ns, p.dataPlane);
    if (isResolveFailure(target))
      return failed(`objects may remain on ${where}, which cannot be reached: ${target.message}`);
    dataPlane = target.dataPlane;
  }
  let cluster: string;
  try {
    cluster = await dataPlane.clusterId(ctx.signal);
  } catch (err) {
    return failed(`objects may remain on ${where}, which does not answer: ${describeError(err)}`, true);
  }
  if (cluster !== p.cluster) {
    return failed(
      `objects may remain on ${where}, but DataPlane ${p.dataPlane} now reaches another cluster (${cluster}); point it back at the cluster the objects were applied to, or remove them there by hand and drop the entry from status.appliedTo`,
    );
  }
  return sweep(ctx, dataPlane);
}
