/**
 * DirectDataPlane implements the data-plane port over a direct HTTPS connection to the data
 * plane's API server: one client, its discovery cache, and the per-kind watches (watches.ts). The
 * REST paths, the apply and delete requests and the namespace bookkeeping live here and nowhere
 * else in the controller.
 */
import { isRecord, type GroupVersionKind, type KubeObject } from '../api/object.ts';
import type { KubeClient } from '../kube/client.ts';
import { isKubeApiError, KubeApiError } from '../kube/client.ts';
import { Discovery, collectionPath, objectPath, type ResourceInfo } from '../kube/discovery.ts';
import { oneLine } from '../api/text.ts';
import { describeError } from '../kube/errors.ts';
import {
  CREATE_ONLY_RESOURCE_VERSION,
  NAMESPACE_KIND,
  type BrokenWatch,
  type ApplyRequestOptions,
  type DataPlanePort,
  type DeleteOutcome,
  type JsonPatchOperation,
  type KindCache,
  type ObservedRef,
} from './port.ts';
import { type WatchSet } from './watches.ts';
import { kindKey, type ManagedObject } from './port.ts';

/** APPLY_CONTENT_TYPE is the content type of a server-side apply request (JSON is valid YAML). */
export const APPLY_CONTENT_TYPE = 'application/apply-patch+yaml';

/** UNREACHABLE_MEMORY_MS is how long a data plane that did not answer its identity read is not asked again. */
export const UNREACHABLE_MEMORY_MS = 5_000;

/** VERSION_PATTERN is what a gitVersion of /version may look like (v1.33.2, v1.30.4-eks-1a2b3c+k3s1). */
const VERSION_PATTERN = /^v[0-9]+\.[0-9]+\.[0-9]+[-+.A-Za-z0-9]{0,48}$/;

/** MAX_WATCH_ERROR bounds the error of a broken watch that messages quote. */
const MAX_WATCH_ERROR = 300;

/** DirectDataPlane is a data plane reached by a direct connection to its API server. */
export class DirectDataPlane implements DataPlanePort {
  private readonly discovery: Discovery;
  /**
   * knownNamespaces are namespaces known to exist, with their metadata as last seen (who owns them
   * is read from it), so ensuring them costs no request in steady state.
   */
  private readonly knownNamespaces = new Map<string, KubeObject>();
  /** existingNamespaces are namespaces a create found existing, whose metadata nobody needed yet. */
  private readonly existingNamespaces = new Set<string>();
  /** ensuring holds the namespace checks in flight, so concurrent callers share one. */
  private readonly ensuring = new Map<string, Promise<boolean>>();
  private cluster: Promise<string> | undefined;

  constructor(
    readonly key: string,
    /** fingerprint identifies the spec and credentials the connection was built from. */
    readonly fingerprint: string,
    private readonly client: KubeClient,
    private readonly watches: WatchSet,
    /** refuseName says why a name cannot be sent through this connection's transport (transport.ts). */
    private readonly refuseName?: (name: string) => string | undefined,
    /** endpoint is the `host:port` of the data plane's own server; undefined behind a shared gateway. */
    readonly endpoint?: string,
  ) {
    this.discovery = new Discovery(client);
  }

  /**
   * pathOf is the REST path of one object, after the transport said its names can travel: a
   * refused name is an invalid resource (422), reported on that resource and never sent.
   */
  private pathOf(info: ResourceInfo, namespace: string | undefined, name: string): string {
    for (const part of namespace ? [namespace, name] : [name]) {
      const why = this.refuseName?.(part);
      if (why) {
        throw new KubeApiError(
          `${info.kind} ${namespace ? `${namespace}/` : ''}${name} on ${this.key}: ${why}`,
          {
            statusCode: 422,
            reason: 'Invalid',
          },
        );
      }
    }
    return objectPath(info, namespace, name);
  }

  async clusterId(signal: AbortSignal): Promise<string> {
    this.cluster ??= this.readClusterId(signal);
    const reading = this.cluster;
    try {
      return await reading;
    } catch (err) {
      // A data plane that did not answer is remembered as such for a few seconds: every reconcile
      // of its Releases would otherwise wait the whole timeout again, holding a worker.
      if (isKubeApiError(err) && err.isUnreachable)
        setTimeout(() => {
          if (this.cluster === reading) this.cluster = undefined;
        }, UNREACHABLE_MEMORY_MS).unref();
      else if (this.cluster === reading) this.cluster = undefined;
      throw err;
    }
  }

  async serverVersion(signal: AbortSignal): Promise<string> {
    const answer = await this.client.request<unknown>({ method: 'GET', path: '/version', signal });
    const version = isRecord(answer) ? answer['gitVersion'] : undefined;
    // An answer of the data plane is untrusted: only what looks like a version is kept.
    if (typeof version !== 'string' || !VERSION_PATTERN.test(version))
      throw new Error(`data plane ${this.key}: /version did not answer a Kubernetes version (gitVersion)`);
    return version;
  }

  private async readClusterId(signal: AbortSignal): Promise<string> {
    for (const name of ['kube-system', 'default']) {
      const uid = (await this.read(NAMESPACE_KIND, undefined, name, signal))?.metadata.uid;
      if (uid) return uid;
    }
    throw new Error(
      `data plane ${this.key}: neither namespace kube-system nor default exists, so the cluster cannot be identified`,
    );
  }

  resolveKind(gvk: GroupVersionKind): Promise<ResourceInfo> {
    return this.discovery.resolve(gvk);
  }

  forgetKinds(): void {
    this.discovery.invalidate();
  }

  cache(info: ResourceInfo): Promise<KindCache> {
    return this.watches.informerFor(info);
  }

  objectsOf(releaseUid: string): ManagedObject[] {
    return this.watches.objectsOf(releaseUid);
  }

  isComplete(user?: string): boolean {
    return this.watches.allHealthy(user);
  }

  brokenWatches(user?: string): BrokenWatch[] {
    return this.watches.broken(user).map(({ info, error }) => ({
      info,
      ...(error !== undefined && { error: oneLine(describeError(error), MAX_WATCH_ERROR) }),
    }));
  }

  watchedKinds(): ResourceInfo[] {
    return this.watches.watched().map((w) => w.info);
  }

  /** cachedObjects counts the objects this connection's watches hold (the gauge per data plane). */
  cachedObjects(): number {
    return this.watches.cachedObjects();
  }

  isBehind(kind: ResourceInfo | string, resourceVersion: string): boolean {
    const key = typeof kind === 'string' ? kind : kindKey(kind);
    return this.watches
      .watched()
      .some((w) => kindKey(w.info) === key && w.informer.isBehind(resourceVersion));
  }

  useKinds(user: string, kinds: ResourceInfo[]): Promise<void> {
    return this.watches.use(user, kinds);
  }

  addKinds(user: string, kinds: ResourceInfo[]): void {
    this.watches.add(user, kinds);
  }

  releaseKinds(user: string): Promise<void> {
    return this.watches.release(user);
  }

  observe(
    user: string,
    info: ResourceInfo,
    namespace: string | undefined,
    name: string,
  ): Promise<KubeObject | undefined> {
    return this.watches.observe(user, info, namespace, name);
  }

  useObserved(user: string, refs: ObservedRef[]): Promise<void> {
    return this.watches.useObserved(user, refs);
  }

  // async: a name the transport refuses is a rejected promise, never a throw at the call.
  async apply(
    info: ResourceInfo,
    object: KubeObject,
    fieldManager: string,
    signal: AbortSignal,
    options: ApplyRequestOptions = {},
  ): Promise<KubeObject> {
    return this.client.request<KubeObject>({
      method: 'PATCH',
      path: this.pathOf(info, object.metadata.namespace, object.metadata.name ?? ''),
      query: { fieldManager, force: options.force ?? true, ...(options.dryRun && { dryRun: 'All' }) },
      body: object,
      contentType: APPLY_CONTENT_TYPE,
      signal,
    });
  }

  async create(
    info: ResourceInfo,
    object: KubeObject,
    fieldManager: string,
    signal: AbortSignal,
  ): Promise<KubeObject | undefined> {
    const answer = await this.client.attempt<KubeObject>(
      {
        method: 'PATCH',
        path: this.pathOf(info, object.metadata.namespace, object.metadata.name ?? ''),
        query: { fieldManager, force: true },
        body: {
          ...object,
          metadata: { ...object.metadata, resourceVersion: CREATE_ONLY_RESOURCE_VERSION },
        },
        contentType: APPLY_CONTENT_TYPE,
        signal,
      },
      [409],
    );
    return answer.ok ? answer.body : undefined;
  }

  async delete(info: ResourceInfo, object: KubeObject, signal: AbortSignal): Promise<DeleteOutcome> {
    try {
      const answer = await this.client.attempt<unknown>(
        {
          method: 'DELETE',
          path: this.pathOf(info, object.metadata.namespace, object.metadata.name ?? ''),
          body: {
            apiVersion: 'v1',
            kind: 'DeleteOptions',
            propagationPolicy: 'Background',
            preconditions: object.metadata.uid ? { uid: object.metadata.uid } : undefined,
          },
          signal,
        },
        [404],
      );
      return answer.ok ? deleteOutcome(answer.body) : 'absent';
    } catch (err) {
      // A uid precondition failure means the object was replaced by someone else: not ours to delete.
      if (isKubeApiError(err) && err.isConflict && /precondition/i.test(err.message)) return 'absent';
      throw err;
    }
  }

  async patch(
    info: ResourceInfo,
    object: KubeObject,
    operations: JsonPatchOperation[],
    signal: AbortSignal,
  ): Promise<KubeObject> {
    return this.client.request<KubeObject>({
      method: 'PATCH',
      path: this.pathOf(info, object.metadata.namespace, object.metadata.name ?? ''),
      body: operations,
      contentType: 'application/json-patch+json',
      signal,
    });
  }

  async read(
    info: ResourceInfo,
    namespace: string | undefined,
    name: string,
    signal: AbortSignal,
  ): Promise<KubeObject | undefined> {
    const answer = await this.client.attempt<KubeObject>(
      { method: 'GET', path: this.pathOf(info, namespace, name), signal },
      [404],
    );
    return answer.ok ? answer.body : undefined;
  }

  async ensureNamespace(
    template: KubeObject,
    fieldManager: string,
    signal: AbortSignal,
    options: ApplyRequestOptions = {},
  ): Promise<boolean> {
    const name = template.metadata.name ?? '';
    if (this.knownNamespaces.has(name) || this.existingNamespaces.has(name)) return false;
    if (options.dryRun) return this.makeNamespace(name, template, fieldManager, signal, options);
    // Releases sharing a namespace ask at once (a restart reconciles them all): one read serves all.
    const pending = this.ensuring.get(name);
    if (pending) return pending.then(() => false);
    const making = this.makeNamespace(name, template, fieldManager, signal, options).finally(() =>
      this.ensuring.delete(name),
    );
    this.ensuring.set(name, making);
    return making;
  }

  private async makeNamespace(
    name: string,
    template: KubeObject,
    fieldManager: string,
    signal: AbortSignal,
    options: ApplyRequestOptions,
  ): Promise<boolean> {
    // Create first: a namespace that exists answers 409 AlreadyExists, which is an answer, so a new
    // namespace costs one request and an existing one too (no read before the create).
    const create = {
      method: 'POST',
      path: collectionPath(NAMESPACE_KIND),
      query: { fieldManager, ...(options.dryRun && { dryRun: 'All' }) },
      body: template,
      signal,
    } as const;
    const answer = await this.client.attempt<KubeObject>(create, [409, 403]);
    if (!answer.ok && answer.statusCode === 403) {
      // Credentials that may not create namespaces (an impersonated identity confined to its own,
      // say) are refused before the server looks: one that exists is still theirs to use.
      const live = await this.read(NAMESPACE_KIND, undefined, name, signal);
      if (!live) await this.client.request(create); // throws the refusal, named, for the caller
      if (live) this.knownNamespaces.set(name, namespaceMeta(live));
      this.existingNamespaces.add(name);
      return false;
    }
    if (!answer.ok) {
      // Its metadata is read only by a caller that needs it (namespace()), and then remembered.
      this.existingNamespaces.add(name);
      return false;
    }
    // A dry run created nothing: the namespace is still missing.
    if (options.dryRun) return true;
    this.knownNamespaces.set(name, namespaceMeta(answer.body));
    return true;
  }

  async namespace(name: string, signal: AbortSignal): Promise<KubeObject | undefined> {
    const known = this.knownNamespaces.get(name);
    if (known) return known;
    const live = await this.read(NAMESPACE_KIND, undefined, name, signal);
    if (live) this.knownNamespaces.set(name, namespaceMeta(live));
    return live && namespaceMeta(live);
  }

  forgetNamespace(name: string): void {
    this.knownNamespaces.delete(name);
    this.existingNamespaces.delete(name);
  }

  /** close ends every watch and the client's connections. */
  async close(): Promise<void> {
    await this.watches.stop();
    await this.client.close();
  }
}

/** namespaceMeta keeps what is needed of a Namespace to know it exists and who owns it. */
function namespaceMeta(ns: KubeObject): KubeObject {
  const { name, uid, labels, annotations } = ns.metadata;
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name, ...(uid && { uid }), ...(labels && { labels }), ...(annotations && { annotations }) },
  };
}

/**
 * deleteOutcome reads a DELETE's answer: the API server answers a deletion done at once with a
 * `Status` (or, for some kinds, the object as it was), and a deletion that waits (finalizers, a
 * grace period) with the object carrying its deletionTimestamp. Anything else reads as waiting, so
 * an unexpected answer costs a look later, never a conclusion that the object is gone.
 */
export function deleteOutcome(body: unknown): DeleteOutcome {
  if (!isRecord(body)) return 'terminating';
  if (body['kind'] === 'Status') return body['status'] === 'Success' ? 'removed' : 'terminating';
  const metadata = body['metadata'];
  if (!isRecord(metadata) || typeof body['kind'] !== 'string') return 'terminating';
  return metadata['deletionTimestamp'] ? 'terminating' : 'removed';
}
