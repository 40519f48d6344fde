/**
 * FakeDataPlane is an in-memory data-plane port for unit tests of the apply library, the
 * reconciler and cleanup: a store of objects with uids and increasing resourceVersions, served
 * kinds, a cache that (like the real watches) holds only objects carrying the managed-by label,
 * and switches that make it unreachable, incomplete or refuse one object. It records every
 * request it receives, so a test can assert that the steady state sends none. It is a unit-test
 * double only; features are done when they pass against real API servers (test/).
 */
import { randomUUID } from 'node:crypto';
import {
  formatApiVersion,
  isRecord,
  type GroupVersionKind,
  type KubeObject,
  type ManagedFieldsEntry,
} from '../../src/api/object.ts';
import { Labels } from '../../src/api/v1alpha1/constants.ts';
import { isOurManagedBy, trackingOf } from '../../src/api/v1alpha1/profile.ts';
import { KubeApiError } from '../../src/kube/client.ts';
import { KindNotServedError, type ResourceInfo } from '../../src/kube/discovery.ts';
import {
  identityOf,
  kindKey,
  NAMESPACE_KIND,
  type ApplyRequestOptions,
  type BrokenWatch,
  type DataPlanePort,
  type DeleteOutcome,
  type JsonPatchOperation,
  type KindCache,
  type ManagedObject,
  type ObservedRef,
} from '../../src/dataplane/port.ts';

/** FakeRequest is one request the fake received. */
export interface FakeRequest {
  verb: 'apply' | 'exists' | 'dry-run' | 'delete' | 'read' | 'create' | 'patch' | 'watch';
  kind: string;
  namespace?: string;
  name: string;
}

/** servedKind describes a kind as a cluster serves it. */
export function servedKind(gvk: GroupVersionKind, resource: string, namespaced = true): ResourceInfo {
  return {
    ...gvk,
    resource,
    namespaced,
    verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
  };
}

/** FakeDataPlane is a DataPlanePort backed by a Map. */
export class FakeDataPlane implements DataPlanePort {
  readonly requests: FakeRequest[] = [];
  /** unreachable makes every request fail as if the API server did not answer. */
  unreachable = false;
  /** complete is what isComplete answers: false models a watch that is not connected. */
  complete = true;
  /** refuse returns an error for an apply the data plane should reject. */
  refuse: (object: KubeObject) => KubeApiError | undefined = () => undefined;
  /** cluster is what clusterId answers: change it to model a DataPlane re-pointed at another cluster. */
  cluster = 'cluster-1';
  /** version is what serverVersion answers. */
  version = 'v1.0.0-fake';
  /** deleteKeepsObject models finalizers: a deleted object only gets a deletionTimestamp. */
  deleteKeepsObject = false;
  /** endpoint is the `host:port` the data plane is reached at (fair shares per endpoint). */
  endpoint: string | undefined;

  private readonly kinds = new Map<string, ResourceInfo>();
  private readonly objects = new Map<string, { info: ResourceInfo; object: KubeObject }>();
  private readonly users = new Map<string, Set<string>>();
  /** watching are the kinds whose cache was asked for, as the real watches start on first use. */
  private readonly watching = new Map<string, ResourceInfo>();
  private readonly knownNamespaces = new Set<string>();
  /** observers are the users of each observed object's own watch, by storeKey. */
  private readonly observers = new Map<string, Set<string>>();
  private revision = 1000;

  constructor(
    readonly key = 'acme/dp',
    kinds: ResourceInfo[] = [],
  ) {
    for (const info of [NAMESPACE_KIND, ...kinds]) this.serve(info);
  }

  /** serve makes the data plane serve a kind (a CRD became Established). */
  serve(info: ResourceInfo): void {
    this.kinds.set(`${info.group}/${info.version}/${info.kind}`, info);
  }

  /** put stores an object as if someone else created it; returns the stored copy. */
  put(info: ResourceInfo, object: KubeObject): KubeObject {
    const stored = this.store(
      info,
      object,
      this.find(info, object)?.object.metadata.uid ?? object.metadata.uid,
    );
    return stored;
  }

  /** get returns the stored object, managed or not. */
  get(info: ResourceInfo, namespace: string | undefined, name: string): KubeObject | undefined {
    return this.objects.get(this.storeKey(info, namespace, name))?.object;
  }

  /** remove deletes an object behind the controller's back (or finishes a pending deletion). */
  remove(info: ResourceInfo, namespace: string | undefined, name: string): void {
    this.objects.delete(this.storeKey(info, namespace, name));
  }

  /** restart forgets every watch and known namespace, as a new controller process starts with none. */
  restart(): void {
    this.users.clear();
    this.watching.clear();
    this.knownNamespaces.clear();
  }

  /** writes counts the requests that change something. */
  writes(): FakeRequest[] {
    return this.requests.filter(
      (r) => r.verb !== 'read' && r.verb !== 'watch' && r.verb !== 'dry-run' && r.verb !== 'exists',
    );
  }

  /** observedBy lists the objects (`group/Kind/namespace/name`) a user observes through watches of their own. */
  observedBy(user: string): string[] {
    return [...this.observers].filter(([, users]) => users.has(user)).map(([key]) => key);
  }

  async clusterId(): Promise<string> {
    await this.answer();
    return this.cluster;
  }

  async serverVersion(): Promise<string> {
    await this.answer();
    return this.version;
  }

  async resolveKind(gvk: GroupVersionKind): Promise<ResourceInfo> {
    await this.answer();
    const info = this.kinds.get(`${gvk.group}/${gvk.version}/${gvk.kind}`);
    if (!info) throw new KindNotServedError(gvk, 'not in discovery');
    return info;
  }

  forgetKinds(): void {}

  async cache(info: ResourceInfo): Promise<KindCache> {
    await this.answer();
    this.watching.set(kindKey(info), info);
    return {
      get: (namespace, name) => {
        const o = this.get(info, namespace, name);
        return o && isManaged(o) ? o : undefined;
      },
      isBehind: () => false,
    };
  }

  objectsOf(releaseUid: string): ManagedObject[] {
    const seen = new Set<string>();
    const out: ManagedObject[] = [];
    const watched = new Set([...this.watching.values()].map((i) => `${i.group}/${i.kind}`));
    for (const { info, object } of this.objects.values()) {
      if (!watched.has(`${info.group}/${info.kind}`)) continue;
      if (!isManaged(object) || trackingOf(object)?.uid !== releaseUid) continue;
      const identity = identityOf(
        info.group,
        info.kind,
        object.metadata.namespace,
        object.metadata.name ?? '',
      );
      if (seen.has(identity)) continue;
      seen.add(identity);
      out.push({ info, object });
    }
    return out;
  }

  isComplete(): boolean {
    return this.complete;
  }

  brokenWatches(): BrokenWatch[] {
    if (this.complete) return [];
    const info = [...this.watching.values()][0] ?? NAMESPACE_KIND;
    return [{ info, error: 'the watch is not connected (FakeDataPlane.complete is false)' }];
  }

  watchedKinds(): ResourceInfo[] {
    return [...this.watching.values()];
  }

  isBehind(): boolean {
    return false;
  }

  useKinds(user: string, kinds: ResourceInfo[]): Promise<void> {
    this.users.set(user, new Set(kinds.map(kindKey)));
    this.stopUnused();
    return Promise.resolve();
  }

  addKinds(user: string, kinds: ResourceInfo[]): void {
    const set = this.users.get(user) ?? new Set();
    for (const k of kinds) set.add(kindKey(k));
    this.users.set(user, set);
  }

  releaseKinds(user: string): Promise<void> {
    this.users.delete(user);
    this.stopUnused();
    return this.useObserved(user, []);
  }

  async observe(
    user: string,
    info: ResourceInfo,
    namespace: string | undefined,
    name: string,
  ): Promise<KubeObject | undefined> {
    await this.answer();
    const key = this.storeKey(info, namespace, name);
    let users = this.observers.get(key);
    if (!users) {
      // Starting a watch lists the object once; a running one costs nothing.
      this.record('watch', info, namespace, name);
      this.observers.set(key, (users = new Set()));
    }
    users.add(user);
    const o = this.get(info, namespace, name);
    return o && structuredClone(o);
  }

  useObserved(user: string, refs: ObservedRef[]): Promise<void> {
    const keep = new Set(refs.map((r) => this.storeKey(r.info, r.namespace, r.name)));
    for (const [key, users] of this.observers) {
      if (keep.has(key)) continue;
      users.delete(user);
      if (users.size === 0) this.observers.delete(key);
    }
    return Promise.resolve();
  }

  /** stopUnused stops watching kinds no user needs, as the real watches do. */
  private stopUnused(): void {
    const used = new Set([...this.users.values()].flatMap((s) => [...s]));
    for (const k of this.watching.keys()) if (!used.has(k)) this.watching.delete(k);
  }

  async apply(
    info: ResourceInfo,
    object: KubeObject,
    fieldManager: string,
    _signal?: AbortSignal,
    options: ApplyRequestOptions = {},
  ): Promise<KubeObject> {
    this.record(
      options.dryRun ? 'dry-run' : 'apply',
      info,
      object.metadata.namespace,
      object.metadata.name ?? '',
    );
    await this.answer();
    const refused = this.refuse(object);
    if (refused) throw refused;
    const existing = this.find(info, object)?.object;
    const stored = this.store(info, object, existing?.metadata.uid, fieldManager, options.dryRun);
    return structuredClone(stored);
  }

  async create(
    info: ResourceInfo,
    object: KubeObject,
    fieldManager: string,
  ): Promise<KubeObject | undefined> {
    // One request, as the direct port's create-only apply: `apply` when it created the object,
    // `exists` (nothing written) when one was there.
    const exists = this.find(info, object) !== undefined;
    this.record(exists ? 'exists' : 'apply', info, object.metadata.namespace, object.metadata.name ?? '');
    await this.answer();
    const refused = this.refuse(object);
    if (refused) throw refused;
    if (exists) return undefined;
    return structuredClone(this.store(info, object, undefined, fieldManager));
  }

  /**
   * edit changes a stored object as another field manager's update does: each pointer (`/data/a`)
   * gets the value (undefined removes it), the field leaves our manager's set, and a set value
   * joins `manager`'s set.
   */
  edit(
    info: ResourceInfo,
    namespace: string | undefined,
    name: string,
    manager: string,
    changes: Record<string, unknown>,
  ): void {
    const current = this.objects.get(this.storeKey(info, namespace, name));
    if (!current) throw new Error(`edit: ${info.kind} ${namespace ?? ''}/${name} does not exist`);
    const next = structuredClone(current.object);
    const entries = next.metadata.managedFields ?? [];
    let theirs = entries.find((e) => e.manager === manager);
    if (!theirs) {
      theirs = {
        manager,
        operation: 'Update',
        apiVersion: formatApiVersion(info.group, info.version),
        fieldsType: 'FieldsV1',
        fieldsV1: {},
      };
      entries.push(theirs);
    }
    for (const [pointer, value] of Object.entries(changes)) {
      const path = pointer.split('/').slice(1);
      setPath(next, path, value);
      for (const e of entries) if (e !== theirs) removeFieldPath(e, path);
      if (value !== undefined) addFieldPath(theirs, path);
    }
    next.metadata.managedFields = entries;
    next.metadata.resourceVersion = String(++this.revision);
    current.object = next;
  }

  async delete(info: ResourceInfo, object: KubeObject): Promise<DeleteOutcome> {
    this.record('delete', info, object.metadata.namespace, object.metadata.name ?? '');
    await this.answer();
    const key = this.storeKey(info, object.metadata.namespace, object.metadata.name ?? '');
    const current = this.objects.get(key);
    if (!current || current.object.metadata.uid !== object.metadata.uid) return 'absent';
    if (this.deleteKeepsObject) {
      current.object = {
        ...current.object,
        metadata: { ...current.object.metadata, deletionTimestamp: '2026-01-01T00:00:00Z' },
      };
      return 'terminating';
    }
    this.objects.delete(key);
    return 'removed';
  }

  async patch(info: ResourceInfo, object: KubeObject, operations: JsonPatchOperation[]): Promise<KubeObject> {
    this.record('patch', info, object.metadata.namespace, object.metadata.name ?? '');
    await this.answer();
    const current = this.find(info, object);
    if (!current) throw new KubeApiError('not found', { statusCode: 404, reason: 'NotFound' });
    const next = structuredClone(current.object) as unknown as Record<string, unknown>;
    for (const op of operations) applyOperation(next, op);
    const patched = next as unknown as KubeObject;
    patched.metadata.resourceVersion = String(++this.revision);
    current.object = patched;
    return structuredClone(patched);
  }

  async read(
    info: ResourceInfo,
    namespace: string | undefined,
    name: string,
  ): Promise<KubeObject | undefined> {
    this.record('read', info, namespace, name);
    await this.answer();
    const o = this.get(info, namespace, name);
    return o && structuredClone(o);
  }

  async ensureNamespace(
    template: KubeObject,
    _fieldManager?: string,
    _signal?: AbortSignal,
    options: ApplyRequestOptions = {},
  ): Promise<boolean> {
    const name = template.metadata.name ?? '';
    if (this.knownNamespaces.has(name)) return false;
    await this.answer();
    let created = false;
    if (!this.get(NAMESPACE_KIND, undefined, name)) {
      if (options.dryRun) {
        this.record('dry-run', NAMESPACE_KIND, undefined, name);
        return true;
      }
      this.record('create', NAMESPACE_KIND, undefined, name);
      this.store(NAMESPACE_KIND, template, undefined);
      created = true;
    }
    this.knownNamespaces.add(name);
    return created;
  }

  async namespace(name: string): Promise<KubeObject | undefined> {
    // Served from memory, as the direct port's known namespaces are: not recorded as a read.
    await this.answer();
    return this.get(NAMESPACE_KIND, undefined, name);
  }

  forgetNamespace(name: string): void {
    this.knownNamespaces.delete(name);
  }

  private find(info: ResourceInfo, object: KubeObject) {
    return this.objects.get(this.storeKey(info, object.metadata.namespace, object.metadata.name ?? ''));
  }

  private store(
    info: ResourceInfo,
    object: KubeObject,
    uid: string | undefined,
    fieldManager?: string,
    dryRun = false,
  ): KubeObject {
    const ours: ManagedFieldsEntry | undefined = fieldManager
      ? {
          manager: fieldManager,
          operation: 'Apply',
          apiVersion: formatApiVersion(info.group, info.version),
          fieldsType: 'FieldsV1',
          fieldsV1: fieldSetOf(object),
        }
      : undefined;
    const stored: KubeObject = {
      ...structuredClone(object),
      metadata: {
        ...structuredClone(object.metadata),
        uid: uid ?? randomUUID(),
        resourceVersion: String(dryRun ? this.revision : ++this.revision),
        // An apply with force takes its fields back: the other managers keep only the rest.
        managedFields: ours
          ? [
              ours,
              ...(this.find(info, object)?.object.metadata.managedFields ?? [])
                .filter((e) => e.manager !== fieldManager)
                .map((e) => withoutFields(e, ours.fieldsV1)),
            ]
          : (object.metadata.managedFields ?? []),
      },
    };
    if (!dryRun)
      this.objects.set(this.storeKey(info, object.metadata.namespace, object.metadata.name ?? ''), {
        info,
        object: stored,
      });
    return stored;
  }

  private storeKey(info: ResourceInfo, namespace: string | undefined, name: string): string {
    return identityOf(info.group, info.kind, info.namespaced ? namespace : undefined, name);
  }

  private record(
    verb: FakeRequest['verb'],
    info: ResourceInfo,
    namespace: string | undefined,
    name: string,
  ): void {
    this.requests.push({ verb, kind: info.kind, namespace, name });
  }

  /** answer lets the caller's other work run, as a network round trip would, then fails when unreachable. */
  private async answer(): Promise<void> {
    await Promise.resolve();
    if (this.unreachable)
      throw new KubeApiError(`data plane ${this.key}: connect ECONNREFUSED`, {
        statusCode: 0,
        reason: 'Unreachable',
      });
  }
}

/** fieldSetOf is the fieldsV1 set of an applied object, as the API server records it (lists atomic). */
export function fieldSetOf(object: KubeObject): Record<string, unknown> {
  const set = (value: Record<string, unknown>): Record<string, unknown> =>
    Object.fromEntries(
      Object.entries(value).map(([k, v]) => [
        `f:${k}`,
        isRecord(v) && Object.keys(v).length > 0 ? set(v) : {},
      ]),
    );
  const { apiVersion: _a, kind: _k, metadata, status: _s, ...rest } = object;
  const meta: Record<string, unknown> = {};
  if (metadata.labels) meta['f:labels'] = set(metadata.labels);
  if (metadata.annotations) meta['f:annotations'] = set(metadata.annotations);
  return { ...(Object.keys(meta).length > 0 && { 'f:metadata': meta }), ...set(rest) };
}

function withoutFields(entry: ManagedFieldsEntry, taken: unknown): ManagedFieldsEntry {
  const strip = (mine: unknown, other: unknown): unknown => {
    if (!isRecord(mine) || !isRecord(other)) return mine;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(mine)) {
      const o = other[k];
      if (isRecord(o) && Object.keys(o).length === 0 && isRecord(v) && Object.keys(v).length === 0) continue;
      out[k] = isRecord(o) ? strip(v, o) : v;
    }
    return out;
  };
  return { ...entry, fieldsV1: strip(entry.fieldsV1, taken) };
}

function setPath(target: Record<string, unknown>, path: string[], value: unknown): void {
  let node = target;
  for (const seg of path.slice(0, -1)) {
    if (!isRecord(node[seg])) node[seg] = {};
    node = node[seg] as Record<string, unknown>;
  }
  const last = path[path.length - 1] ?? '';
  if (value === undefined) delete node[last];
  else node[last] = value;
}

function removeFieldPath(entry: ManagedFieldsEntry, path: string[]): void {
  let node: unknown = entry.fieldsV1;
  for (const seg of path.slice(0, -1)) node = isRecord(node) ? node[`f:${seg}`] : undefined;
  if (isRecord(node)) delete node[`f:${path[path.length - 1] ?? ''}`];
}

function addFieldPath(entry: ManagedFieldsEntry, path: string[]): void {
  entry.fieldsV1 ??= {};
  let node = entry.fieldsV1 as Record<string, unknown>;
  for (const seg of path) {
    if (!isRecord(node[`f:${seg}`])) node[`f:${seg}`] = {};
    node = node[`f:${seg}`] as Record<string, unknown>;
  }
}

function isManaged(object: KubeObject): boolean {
  return isOurManagedBy(object.metadata.labels?.[Labels.managedBy]);
}

/** applyOperation applies one JSON patch operation in place (enough of RFC 6902 for metadata edits). */
function applyOperation(target: Record<string, unknown>, op: JsonPatchOperation): void {
  const segments = op.path
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  const last = segments.pop() ?? '';
  let parent: Record<string, unknown> = target;
  for (const s of segments) {
    const child = parent[s];
    if (typeof child !== 'object' || child === null)
      throw new KubeApiError(`path ${op.path} does not exist`, { statusCode: 422, reason: 'Invalid' });
    parent = child as Record<string, unknown>;
  }
  if (op.op === 'test') {
    if (JSON.stringify(parent[last]) !== JSON.stringify(op.value))
      throw new KubeApiError(`test of ${op.path} failed`, { statusCode: 422, reason: 'Invalid' });
  } else if (op.op === 'remove') {
    if (!(last in parent))
      throw new KubeApiError(`path ${op.path} does not exist`, { statusCode: 422, reason: 'Invalid' });
    delete parent[last];
  } else {
    parent[last] = structuredClone(op.value);
  }
}
