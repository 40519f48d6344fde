/**
 * DirectDataPlane implements the data-plane port over a direct HTTPS connection to the data
 * plane's API server: one client, its discovery cache, and the per-kind watches (watches.ts). The
 * REST paths, the apply and delete requests and the namespace bookkeeping live here and nowhere
 * else in the controller.
 */
import type { GroupVersionKind, KubeObject } from '../api/object.ts';
import type { KubeClient } from '../kube/client.ts';
import { isKubeApiError } from '../kube/client.ts';
import { Discovery, collectionPath, objectPath, type ResourceInfo } from '../kube/discovery.ts';
import { oneLine } from '../api/text.ts';
import { describeError } from '../kube/errors.ts';
import {
  NAMESPACE_KIND,
  type BrokenWatch,
  type ApplyRequestOptions,
  type DataPlanePort,
  type JsonPatchOperation,
  type KindCache,
  type ObservedRef,
} from './port.ts';
import { kindKey, type ManagedObject, type WatchSet } from './watches.ts';

/** APPLY_CONTENT_TYPE is the content type of a server-side apply request (JSON is valid YAML). */
export const APPLY_CONTENT_TYPE = 'application/apply-patch+yaml';

/** MAX_WATCH_ERROR bounds the error of a broken watch that messages quote. */
const MAX_WATCH_ERROR = 300;

/** DirectDataPlane is a data plane reached by a direct connection to its API server. */
export class DirectDataPlane implements DataPlanePort {
  private readonly discovery: Discovery;
  /** knownNamespaces are namespaces known to exist, so ensuring them costs no request in steady state. */
  private readonly knownNamespaces = new Set<string>();
  /** ensuring holds the namespace checks in flight, so concurrent callers share one. */
  private readonly ensuring = new Map<string, Promise<boolean>>();
  private cluster: Promise<string> | undefined;

  constructor(
    readonly key: string,
    /** fingerprint identifies the spec and credentials the connection was built from. */
    readonly fingerprint: string,
    private readonly client: KubeClient,
    private readonly watches: WatchSet,
  ) {
    this.discovery = new Discovery(client);
  }

  async clusterId(signal: AbortSignal): Promise<string> {
    this.cluster ??= this.readClusterId(signal);
    try {
      return await this.cluster;
    } catch (err) {
      this.cluster = undefined;
      throw err;
    }
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

  isComplete(): boolean {
    return this.watches.allHealthy();
  }

  brokenWatches(): BrokenWatch[] {
    return this.watches.broken().map(({ info, error }) => ({
      info,
      ...(error !== undefined && { error: oneLine(describeError(error), MAX_WATCH_ERROR) }),
    }));
  }

  watchedKinds(): ResourceInfo[] {
    return this.watches.watched().map((w) => w.info);
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

  apply(
    info: ResourceInfo,
    object: KubeObject,
    fieldManager: string,
    signal: AbortSignal,
    options: ApplyRequestOptions = {},
  ): Promise<KubeObject> {
    return this.client.request<KubeObject>({
      method: 'PATCH',
      path: objectPath(info, object.metadata.namespace, object.metadata.name ?? ''),
      query: { fieldManager, force: true, ...(options.dryRun && { dryRun: 'All' }) },
      body: object,
      contentType: APPLY_CONTENT_TYPE,
      signal,
    });
  }

  async delete(info: ResourceInfo, object: KubeObject, signal: AbortSignal): Promise<boolean> {
    try {
      await this.client.request({
        method: 'DELETE',
        path: objectPath(info, object.metadata.namespace, object.metadata.name ?? ''),
        body: {
          apiVersion: 'v1',
          kind: 'DeleteOptions',
          propagationPolicy: 'Background',
          preconditions: object.metadata.uid ? { uid: object.metadata.uid } : undefined,
        },
        signal,
      });
      return true;
    } catch (err) {
      if (isKubeApiError(err) && err.isNotFound) return false;
      // A uid precondition failure means the object was replaced by someone else: not ours to delete.
      if (isKubeApiError(err) && err.isConflict && /precondition/i.test(err.message)) return false;
      throw err;
    }
  }

  patch(
    info: ResourceInfo,
    object: KubeObject,
    operations: JsonPatchOperation[],
    signal: AbortSignal,
  ): Promise<KubeObject> {
    return this.client.request<KubeObject>({
      method: 'PATCH',
      path: objectPath(info, object.metadata.namespace, object.metadata.name ?? ''),
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
    try {
      return await this.client.request<KubeObject>({
        method: 'GET',
        path: objectPath(info, namespace, name),
        signal,
      });
    } catch (err) {
      if (isKubeApiError(err) && err.isNotFound) return undefined;
      throw err;
    }
  }

  async ensureNamespace(
    template: KubeObject,
    fieldManager: string,
    signal: AbortSignal,
    options: ApplyRequestOptions = {},
  ): Promise<boolean> {
    const name = template.metadata.name ?? '';
    if (this.knownNamespaces.has(name)) return false;
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
    let created = false;
    if (!(await this.read(NAMESPACE_KIND, undefined, name, signal))) {
      try {
        await this.client.request({
          method: 'POST',
          path: collectionPath(NAMESPACE_KIND),
          query: { fieldManager, ...(options.dryRun && { dryRun: 'All' }) },
          body: template,
          signal,
        });
        created = true;
      } catch (err) {
        if (!(isKubeApiError(err) && err.isConflict)) throw err;
      }
      // A dry run created nothing: the namespace is still missing.
      if (created && options.dryRun) return true;
    }
    this.knownNamespaces.add(name);
    return created;
  }

  forgetNamespace(name: string): void {
    this.knownNamespaces.delete(name);
  }

  /** close ends every watch and the client's connections. */
  async close(): Promise<void> {
    await this.watches.stop();
    await this.client.close();
  }
}
