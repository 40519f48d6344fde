/**
 * Plane status, pure: what a DataPlane, a ClusterDataPlane or an Environment says about itself
 * (conditions `Ready` and `Terminating`, the cluster's identity and version, how many Releases use
 * it), derived from the controller's caches and the last check of the cluster. No I/O here:
 * `check.ts` checks a cluster, `controller.ts` reads caches, writes and emits.
 *
 * What an organization learns here is its own: a DataPlane is used only by Releases of its own
 * namespace (resolve.ts), so names are given; a ClusterDataPlane, shared by organizations, only
 * counts its Releases.
 */
import { PlaneConditionTypes, PlaneReasons } from '../../api/v1alpha1/constants.ts';
import type {
  Condition,
  DataPlane,
  Environment,
  EnvironmentStatus,
  PlaneStatus,
  Release,
} from '../../api/v1alpha1/schema.ts';
import { jsonEqual } from '../../api/object.ts';
import { listWithMore, plural } from '../../api/text.ts';
import { dependenciesOf, protectionKey, type ProtectionLookup } from '../release/protection.ts';
import {
  CLUSTER_REF_PREFIX,
  currentRef,
  declaredRef,
  PlaneKinds,
  refString,
  type ControlPlaneReader,
} from '../release/resolve.ts';
import { removeCondition, setCondition, type ConditionInput } from '../release/status.ts';

/**
 * HEARTBEAT_MS is how old status.lastCheckedTime may get before it is written again while nothing
 * else changed: a fresh time on every check would be a write per plane per check at steady state
 * (Kubernetes moved Node heartbeats out of status for the same reason).
 */
export const HEARTBEAT_MS = 60 * 60_000;

/** MAX_NAMED is how many Releases a message names before "and N more". */
const MAX_NAMED = 5;

/** Check is the last check of a plane's cluster: its identity and version, or why there is none. */
export type Check =
  | { ok: true; clusterID: string; serverVersion: string; brokenWatches?: string }
  | { ok: false; reason: string; message: string };

/** Users are the Releases that use an object: how many, and the names an organization may see. */
export interface Users {
  count: number;
  /** names are `namespace/name` of the users, sorted; empty where only a count may be shown. */
  names: string[];
}

/** PlaneId names a plane: a DataPlane of a namespace, or a ClusterDataPlane. */
export interface PlaneId {
  kind: typeof PlaneKinds.dataPlane | typeof PlaneKinds.clusterDataPlane;
  namespace?: string;
  name: string;
}

/** describePlane is how messages name a plane: `DataPlane ns/name` or `ClusterDataPlane name`. */
export function describePlane(id: PlaneId): string {
  return id.kind === PlaneKinds.clusterDataPlane
    ? `${id.kind} ${id.name}`
    : `${id.kind} ${id.namespace}/${id.name}`;
}

/**
 * planeUsers counts the Releases that use a plane: through their Environment (now), or with
 * objects still on it (status.appliedTo), as in-use protection counts them. Names are given only
 * for a DataPlane, whose users are all of its own namespace.
 */
export function planeUsers(
  id: PlaneId,
  releases: Iterable<Release>,
  lookup: ProtectionLookup & Pick<ControlPlaneReader, 'clusterDataPlane'>,
): Users {
  const names: string[] = [];
  let count = 0;
  if (id.kind === PlaneKinds.dataPlane) {
    const key = protectionKey('DataPlane', id.name);
    for (const r of releases) {
      if (r.metadata.namespace !== id.namespace) continue;
      if (!dependenciesOf(r, lookup).includes(key)) continue;
      count++;
      names.push(`${r.metadata.namespace}/${r.metadata.name}`);
    }
    return { count, names: names.sort() };
  }
  const ref = `${CLUSTER_REF_PREFIX}${id.name}`;
  const planes = {
    dataPlane: (ns: string, name: string) => lookup.dataPlane(ns, name),
    clusterDataPlane: (name: string) => lookup.clusterDataPlane(name),
  };
  for (const r of releases) {
    const env = lookup.environment(r.metadata.namespace ?? '', r.spec.environmentName);
    const now = env && currentRef(env, planes);
    if ((now && refString(now) === ref) || r.status?.appliedTo?.some((p) => p.dataPlane === ref)) count++;
  }
  return { count, names: [] };
}

/** environmentUsers are the Releases of the Environment's namespace that name it. */
export function environmentUsers(env: Environment, releases: Iterable<Release>): Users {
  const names: string[] = [];
  for (const r of releases) {
    if (r.metadata.namespace === env.metadata.namespace && r.spec.environmentName === env.metadata.name)
      names.push(`${r.metadata.namespace}/${r.metadata.name}`);
  }
  return { count: names.length, names: names.sort() };
}

/** readyOfCheck is a plane's Ready condition from its last check. */
export function readyOfCheck(id: PlaneId, check: Check | undefined): ConditionInput {
  const type = PlaneConditionTypes.ready;
  if (!check)
    return {
      type,
      status: 'Unknown',
      reason: PlaneReasons.notChecked,
      message: `${describePlane(id)} has not been checked: no Release of this controller connects to it yet, and the controller does not connect to a shared plane on an organization's behalf`,
    };
  if (!check.ok) return { type, status: 'False', reason: check.reason, message: check.message };
  if (check.brokenWatches)
    return {
      type,
      status: 'False',
      reason: PlaneReasons.watchBroken,
      message: `the cluster answers (Kubernetes ${check.serverVersion}), but watches of its Releases' objects are broken: ${check.brokenWatches}; nothing is pruned or cleaned up there until they recover`,
    };
  return {
    type,
    status: 'True',
    reason: PlaneReasons.reachable,
    message: `the cluster answers: Kubernetes ${check.serverVersion}, cluster ID ${check.clusterID}`,
  };
}

/**
 * terminatingCondition says what an object being deleted waits for: the Releases that use it
 * (named, or counted), and what to do. Undefined while it is not being deleted.
 */
export function terminatingCondition(
  what: string,
  deleting: boolean,
  users: Users,
): ConditionInput | undefined {
  if (!deleting) return undefined;
  const type = PlaneConditionTypes.terminating;
  if (users.count === 0)
    return {
      type,
      status: 'True',
      reason: PlaneReasons.released,
      message: `${what} is being deleted; no Release uses it any more`,
    };
  const who =
    users.names.length > 0
      ? `${plural(users.count, 'Release')} that ${users.count === 1 ? 'uses' : 'use'} it: ${listWithMore(users.names, MAX_NAMED, ', ')}`
      : plural(users.count, 'Release');
  return {
    type,
    status: 'True',
    reason: PlaneReasons.inUseByReleases,
    message: `${what} is being deleted and waits for ${who}; move them to another Environment (spec.environmentName) or delete them, and it goes once their objects are cleaned up`,
  };
}

/** withConditions sets our conditions on a status's list, keeping other writers' types (and removing `absent`). */
function withConditions(
  conditions: Condition[] | undefined,
  set: Array<ConditionInput | undefined>,
  absent: string[],
  generation: number | undefined,
  now: Date,
): Condition[] {
  let list = conditions ?? [];
  for (const type of absent) list = removeCondition(list, type);
  for (const c of set) if (c) list = setCondition(list, c, generation, now);
  return list;
}

/** PlaneStatusInput is what a plane's status is derived from. */
export interface PlaneStatusInput {
  id: PlaneId;
  plane: DataPlane;
  check: Check | undefined;
  /** checkedAt is when `check` was made. */
  checkedAt: Date | undefined;
  users: Users;
  now: Date;
}

/** planeStatus is the status a plane should have; fields of other writers (agentConnection) are kept. */
export function planeStatus(input: PlaneStatusInput): PlaneStatus {
  const { id, plane, check, checkedAt, users, now } = input;
  const previous = plane.status ?? {};
  const terminating = terminatingCondition(describePlane(id), !!plane.metadata.deletionTimestamp, users);
  const next: PlaneStatus = {
    ...previous,
    observedGeneration: plane.metadata.generation ?? 0,
    conditions: withConditions(
      previous.conditions,
      [readyOfCheck(id, check), terminating],
      terminating ? [] : [PlaneConditionTypes.terminating],
      plane.metadata.generation,
      now,
    ),
    releases: users.count,
  };
  delete next.clusterID;
  delete next.serverVersion;
  if (check?.ok) {
    next.clusterID = check.clusterID;
    next.serverVersion = check.serverVersion;
  }
  if (checkedAt) next.lastCheckedTime = checkedAt.toISOString();
  return next;
}

/** EnvironmentStatusInput is what an Environment's status is derived from. */
export interface EnvironmentStatusInput {
  environment: Environment;
  planes: Pick<ControlPlaneReader, 'dataPlane' | 'clusterDataPlane'>;
  users: Users;
  now: Date;
}

/** environmentReady says whether an Environment's data plane resolves, and is not failing. */
export function environmentReady(
  environment: Environment,
  planes: Pick<ControlPlaneReader, 'dataPlane' | 'clusterDataPlane'>,
): { ready: ConditionInput; dataPlane?: string } {
  const type = PlaneConditionTypes.ready;
  const ns = environment.metadata.namespace ?? '';
  const declared = declaredRef(environment);
  if (declared && 'invalid' in declared)
    return {
      ready: { type, status: 'False', reason: PlaneReasons.invalidDataPlaneRef, message: declared.invalid },
    };
  const ref = currentRef(environment, planes);
  const plane =
    ref &&
    (ref.kind === PlaneKinds.clusterDataPlane
      ? planes.clusterDataPlane(ref.name)
      : planes.dataPlane(ns, ref.name));
  if (!ref || !plane) {
    const message = declared
      ? `${declared.kind === PlaneKinds.clusterDataPlane ? `ClusterDataPlane ${declared.name}` : `DataPlane ${ns}/${declared.name}`} (spec.dataPlaneRef) not found; create it, or name another`
      : `spec.dataPlaneRef names no data plane, and neither a DataPlane ${ns}/default nor a ClusterDataPlane default exists; set spec.dataPlaneRef or create one`;
    return { ready: { type, status: 'False', reason: PlaneReasons.dataPlaneNotFound, message } };
  }
  const dataPlane = `${ref.kind}/${ref.name}`;
  const where = describePlane({ kind: ref.kind, namespace: ns, name: ref.name });
  const planeReady = plane.status?.conditions?.find((c) => c.type === PlaneConditionTypes.ready);
  if (planeReady?.status === 'False')
    return {
      dataPlane,
      ready: {
        type,
        status: 'False',
        reason: PlaneReasons.dataPlaneNotReady,
        message: `${where} is not Ready (${planeReady.reason}): see its status`,
      },
    };
  return {
    dataPlane,
    ready: {
      type,
      status: 'True',
      reason: PlaneReasons.dataPlaneResolved,
      message: `resolves to ${where}${planeReady?.status === 'True' ? ', which is Ready' : ''}`,
    },
  };
}

/** environmentStatus is the status an Environment should have. */
export function environmentStatus(input: EnvironmentStatusInput): EnvironmentStatus {
  const { environment, planes, users, now } = input;
  const previous = environment.status ?? {};
  const { ready, dataPlane } = environmentReady(environment, planes);
  const what = `Environment ${environment.metadata.namespace}/${environment.metadata.name}`;
  const terminating = terminatingCondition(what, !!environment.metadata.deletionTimestamp, users);
  const next: EnvironmentStatus = {
    ...previous,
    observedGeneration: environment.metadata.generation ?? 0,
    conditions: withConditions(
      previous.conditions,
      [ready, terminating],
      terminating ? [] : [PlaneConditionTypes.terminating],
      environment.metadata.generation,
      now,
    ),
    releases: users.count,
  };
  delete next.dataPlane;
  if (dataPlane) next.dataPlane = dataPlane;
  return next;
}

/**
 * needsWrite tells whether a status must be written: anything but lastCheckedTime differs, or the
 * written lastCheckedTime is older than HEARTBEAT_MS.
 */
export function needsWrite(
  previous: { lastCheckedTime?: string; [field: string]: unknown } | undefined,
  next: { lastCheckedTime?: string; [field: string]: unknown },
  now: Date,
): boolean {
  const { lastCheckedTime: before, ...rest } = previous ?? {};
  const { lastCheckedTime: after, ...wanted } = next;
  if (!jsonEqual(rest, wanted)) return true;
  if (after === undefined || after === before) return false;
  return before === undefined || now.getTime() - Date.parse(before) >= HEARTBEAT_MS;
}
