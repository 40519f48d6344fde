/**
 * The data-plane port: the small interface through which the controller reaches one data-plane
 * cluster. The reconciler, the apply library and cleanup see only this; how the cluster is reached
 * (a direct connection today, see direct.ts) is the implementation's business, so a second
 * transport is one new implementation and its credentials, not a change across the reconciler.
 * It comes in two halves: DataPlaneObjects (kinds, caches, reads and writes of objects, namespaces,
 * observed objects: all the apply library uses) and DataPlaneInventory (a Release's objects, the
 * completeness of the picture, watched kinds, the cluster's identity: only the controller's);
 * DataPlanePort is both.
 */
import { isApplyEntryOf, type GroupVersionKind, type KubeObject } from '../api/object.ts';
import { MANAGED_BY_VALUES } from '../api/v1alpha1/profile.ts';
import type { ResourceInfo } from '../kube/discovery.ts';
import { sharedStrings, TreeInterner } from '../kube/intern.ts';

/** ManagedObject is a cached object with the kind it was found under. */
export interface ManagedObject {
  object: KubeObject;
  info: ResourceInfo;
}

/** kindKey identifies a served kind: `group/version/Kind`. */
export function kindKey(info: { group: string; version: string; kind: string }): string {
  // One flat copy per kind, however often it is built: Releases, apply records and watches keep it.
  return sharedStrings.intern([info.group, info.version, info.kind].join('/'));
}

/** identityOf names an object regardless of API version: `group/Kind/namespace/name`. */
export function identityOf(group: string, kind: string, namespace: string | undefined, name: string): string {
  // join makes one flat string; a template literal makes a tree of four (the index keeps one per object).
  return [group, kind, namespace ?? '', name].join('/');
}

/**
 * fieldSets holds one copy of each distinct field set of ours: objects applied from the same
 * template have the same set, which was about half of a cached object (1.4 of 3.2 KB for a
 * Deployment).
 */
const fieldSets = new TreeInterner();

/**
 * slimObject keeps only our own managedFields entry: the cache needs it to notice drift, and the
 * other managers' entries are most of an object's size. Its field set is shared with every other
 * object that has the same one (frozen: nothing may change it through one object).
 */
export function slimObject(obj: KubeObject): KubeObject {
  const managed = obj.metadata.managedFields;
  if (!managed) return obj;
  const ours = managed
    .filter((m) => MANAGED_BY_VALUES.some((manager) => isApplyEntryOf(m, manager)))
    .map((m) => ({ ...m, fieldsV1: fieldSets.intern(m.fieldsV1) }));
  return { ...obj, metadata: { ...obj.metadata, managedFields: ours } };
}

/** KindCache is the synced, connected cache of one kind's managed objects on a data plane. */
export interface KindCache {
  /** get returns a cached object (only objects carrying the managed-by label are cached). */
  get(namespace: string | undefined, name: string): KubeObject | undefined;
  /** isBehind tells whether the cache has not yet seen a resourceVersion (e.g. of our own write). */
  isBehind(resourceVersion: string | undefined): boolean;
}

/** BrokenWatch is a watch of a data plane that is not listed and connected, and why. */
export interface BrokenWatch {
  info: ResourceInfo;
  /** error is the last list or watch failure, one line, when there was one. */
  error?: string;
}

/** JsonPatchOperation is one operation of an RFC 6902 JSON patch. */
export interface JsonPatchOperation {
  op: 'add' | 'remove' | 'replace' | 'test';
  path: string;
  value?: unknown;
}

/** ObservedRef names one object observed through a watch of its own. */
export interface ObservedRef {
  info: ResourceInfo;
  namespace: string | undefined;
  name: string;
}

/** ApplyRequestOptions modify one apply request. */
export interface ApplyRequestOptions {
  /**
   * dryRun sends the apply with `dryRun=All`: the API server runs admission and returns the object
   * as it would be, with our field manager's field set, and persists nothing.
   */
  dryRun?: boolean;
  /**
   * force takes over fields other managers own (default true). Without it the API server refuses
   * an apply that would change another manager's field (409 Conflict), so their values are kept.
   */
  force?: boolean;
}

/**
 * CREATE_ONLY_RESOURCE_VERSION is the resourceVersion a create-only apply sends. An apply that
 * creates drops it; an apply that would update an existing object takes it as a precondition and
 * fails with 409 Conflict, as no stored object has it: etcd's first revision holds no key (the first
 * write is revision 2). A uid would not do: an apply that creates refuses a uid ("no existing
 * object was found").
 */
export const CREATE_ONLY_RESOURCE_VERSION = '1';

/** NAMESPACE_KIND is how every cluster serves Namespaces. */
export const NAMESPACE_KIND: ResourceInfo = {
  group: '',
  version: 'v1',
  kind: 'Namespace',
  resource: 'namespaces',
  namespaced: false,
  verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
};

/**
 * DeleteOutcome is what a delete did: `removed`, the object is gone (the API server deleted it
 * at once); `terminating`, its deletion started but it is still there (a finalizer of someone
 * else's, a grace period); `absent`, nothing was deleted, since the object was gone already or
 * replaced by another of the same name (the uid precondition failed).
 */
export type DeleteOutcome = 'removed' | 'terminating' | 'absent';

/**
 * DataPlaneObjects is the objects half of the data-plane port: the served kinds, the caches of our
 * objects, reads and writes of single objects, namespaces and observed objects. It is all the apply
 * library (`src/ssa/`) sees, and all that code which only reads or writes objects should take: an
 * object is written, read or watched through it, never listed by Release. `cache` and `resolveKind`
 * are here although the controller also calls them (to connect the watches of a Release's kinds,
 * to resolve its inventory's kinds): they are how one object is found, and the apply library reads
 * through them. `isBehind` is here because it asks of one write whether the caches have seen it
 * (the apply memory's question), not what a Release has.
 */
export interface DataPlaneObjects {
  /** key is `namespace/name` of the DataPlane (as DataPlaneInventory.key): messages and apply records name it. */
  readonly key: string;

  /** resolveKind says how the data plane serves a kind (cached), or throws KindNotServedError. */
  resolveKind(gvk: GroupVersionKind): Promise<ResourceInfo>;
  /** forgetKinds drops what is known about served kinds, after the data plane said one is gone. */
  forgetKinds(): void;

  /**
   * cache returns the cache of a kind once it is synced and connected, starting its watch when
   * needed; it throws the list or watch error when the watch cannot be (re)established in time,
   * so that callers report the data plane unreachable instead of trusting a stale cache.
   */
  cache(info: ResourceInfo): Promise<KindCache>;
  /**
   * isBehind tells whether the watch of a kind (a ResourceInfo or its kindKey) has not delivered a
   * resourceVersion yet, e.g. of our own write; false when the kind is not watched at all.
   */
  isBehind(kind: ResourceInfo | string, resourceVersion: string): boolean;

  /**
   * observe returns an object the controller does not manage (it lacks our labels, so the kind's
   * watch does not see it) from a watch on that one object, started for `user` on first use and
   * kept until `useObserved` drops it; undefined when it does not exist. It throws, like cache(),
   * when the watch cannot connect in time. Its changes wake the user (the pool's onObserved).
   */
  observe(
    user: string,
    info: ResourceInfo,
    namespace: string | undefined,
    name: string,
  ): Promise<KubeObject | undefined>;
  /** useObserved keeps the watches of a user's observed objects to these, stopping the others. */
  useObserved(user: string, refs: ObservedRef[]): Promise<void>;

  /** apply server-side-applies one object with force and returns the live object (or, dry run, what it would be). */
  apply(
    info: ResourceInfo,
    object: KubeObject,
    fieldManager: string,
    signal: AbortSignal,
    options?: ApplyRequestOptions,
  ): Promise<KubeObject>;
  /**
   * create server-side-applies (with force, as apply) an object only when none of that name
   * exists: the request carries a resourceVersion precondition no stored object can meet
   * (CREATE_ONLY_RESOURCE_VERSION), which a create ignores and an update of an existing object fails
   * on, so an object that exists is never written. It returns the created object, or undefined when
   * one exists already (its 409 is an answer, not an error). The created object's managedFields are
   * exactly an apply's (a POST would leave an Update entry that later applies cannot drop fields of).
   */
  create(
    info: ResourceInfo,
    object: KubeObject,
    fieldManager: string,
    signal: AbortSignal,
  ): Promise<KubeObject | undefined>;
  /**
   * delete deletes one object only if it is still the one given (uid precondition), with
   * background propagation, and says from the API server's answer whether it is gone now.
   */
  delete(info: ResourceInfo, object: KubeObject, signal: AbortSignal): Promise<DeleteOutcome>;
  /** patch sends a JSON patch to one object (its `test` operations fence it) and returns the result. */
  patch(
    info: ResourceInfo,
    object: KubeObject,
    operations: JsonPatchOperation[],
    signal: AbortSignal,
  ): Promise<KubeObject>;
  /** read GETs one object from the data plane itself (not a cache); undefined when it does not exist. */
  read(
    info: ResourceInfo,
    namespace: string | undefined,
    name: string,
    signal: AbortSignal,
  ): Promise<KubeObject | undefined>;
  /**
   * ensureNamespace creates a Namespace from a template when it does not exist; never updates one.
   * Namespaces known to exist are remembered, so the steady state costs no request. It returns
   * true when it created the namespace. With `dryRun` nothing is created: a missing namespace is
   * checked by a dry-run create (admission) and true means it would be created.
   */
  ensureNamespace(
    template: KubeObject,
    fieldManager: string,
    signal: AbortSignal,
    options?: ApplyRequestOptions,
  ): Promise<boolean>;
  /**
   * namespace returns a Namespace as the data plane has it (its name, uid, labels and annotations),
   * or undefined when it does not exist: remembered from ensureNamespace or an earlier read, so the
   * steady state costs no request.
   */
  namespace(name: string, signal: AbortSignal): Promise<KubeObject | undefined>;
  /** forgetNamespace drops a namespace from what is known to exist (the data plane said it is missing). */
  forgetNamespace(name: string): void;
}

/**
 * DataPlaneInventory is the inventory half of the data-plane port: which of our objects a Release
 * has on the plane, whether that picture is complete (its watches listed and connected), which
 * kinds are watched for whom, and which cluster the port reaches. Only the controller uses it
 * (controller/release/ to prune, sweep and bind watches; controller/plane/ to check a plane;
 * `kubectl release diff` runs the controller's steps on the three of it its read-only port has):
 * the apply library never lists by Release nor decides that something is gone. `endpoint` is here
 * with the cluster's identity: it says where the port reaches, which only the reconciler's fair
 * shares of workers need.
 */
export interface DataPlaneInventory {
  /** key is `namespace/name` of the DataPlane (as DataPlaneObjects.key): messages and placements name it. */
  readonly key: string;
  /**
   * endpoint is the `host:port` the data plane is reached at, when it is its own (not a gateway
   * shared by every plane): workers are shared fairly per endpoint too.
   */
  readonly endpoint?: string;

  /**
   * clusterId identifies the cluster behind the port: the uid of its kube-system namespace (of
   * `default` where there is none), asked once per connection. A DataPlane whose endpoint now
   * reaches another cluster answers another id, so cleanup never mistakes it for the old one.
   */
  clusterId(signal: AbortSignal): Promise<string>;

  /**
   * serverVersion asks the cluster for its Kubernetes version (`gitVersion` of /version), every
   * call a request: the plane status check (controller/plane/) calls it once per slow period.
   */
  serverVersion(signal: AbortSignal): Promise<string>;

  /** objectsOf lists the cached objects that carry a Release uid, once each across API versions. */
  objectsOf(releaseUid: string): ManagedObject[];
  /**
   * isComplete tells whether every watch of one user's kinds (a Release's: addKinds, useKinds), or
   * of every kind, is listed and connected: required before deleting anything.
   */
  isComplete(user?: string): boolean;
  /** brokenWatches lists the watches of one user's kinds, or of all, that are not listed and connected. */
  brokenWatches(user?: string): BrokenWatch[];
  /** watchedKinds lists every kind being watched. */
  watchedKinds(): ResourceInfo[];

  /** useKinds records the kinds one user (a Release) needs and stops watches nobody needs any more. */
  useKinds(user: string, kinds: ResourceInfo[]): Promise<void>;
  /** addKinds records more kinds one user needs, keeping those it already had. */
  addKinds(user: string, kinds: ResourceInfo[]): void;
  /** releaseKinds forgets every kind of a user, and every object it observes. */
  releaseKinds(user: string): Promise<void>;
}

/**
 * DataPlanePort is everything the controller does on one data plane: both halves, for code that
 * needs both (the reconciler, cleanup's sweep, the pool's connections). Take the narrower half
 * where it is enough.
 */
export interface DataPlanePort extends DataPlaneObjects, DataPlaneInventory {}
