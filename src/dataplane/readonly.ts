/**
 * ReadOnlyDataPlane is a read-only, one-shot data-plane port, for planning without a controller
 * (`kubectl release diff`): the objects carrying one label (a Release's uid) are listed once per
 * kind when first needed, and kept as they were listed (no watch, nothing left running); every
 * other read is a single GET. It never writes: an apply or a namespace creation is sent only as a
 * server-side dry run (`dryRun=All`), and every other write (create, delete, patch, a real apply)
 * is refused before it is sent. The check sits on every request the port sends (readOnlyRefusal),
 * so no future method can write by mistake either. What each dry-run apply answered is kept
 * (dryRunAnswer), so a caller can show the object as a real apply would leave it.
 */
import { isRecord, type GroupVersionKind, type KubeObject } from '../api/object.ts';
import type { KubeClient, KubeRequest } from '../kube/client.ts';
import { collectionPath, Discovery, objectPath, type ResourceInfo } from '../kube/discovery.ts';
import { APPLY_CONTENT_TYPE } from './direct.ts';
import {
  identityOf,
  kindKey,
  NAMESPACE_KIND,
  type ApplyRequestOptions,
  type DataPlaneInventory,
  type DataPlaneObjects,
  type DeleteOutcome,
  type JsonPatchOperation,
  type KindCache,
  type ManagedObject,
  type ObservedRef,
} from './port.ts';

/** READ_ONLY_PAGE is how many objects one list request of a snapshot asks for. */
export const READ_ONLY_PAGE = 500;

/** MAX_READ_ONLY_OBJECTS bounds the objects a snapshot holds: a data plane's answers are untrusted. */
export const MAX_READ_ONLY_OBJECTS = 20_000;

/** ReadOnlyError says a write was refused by a read-only port; nothing was sent. */
export class ReadOnlyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReadOnlyError';
  }
}

/**
 * readOnlyRefusal says why a request must not be sent through a read-only port: anything but a
 * GET that is not a server-side dry run (`dryRun=All`). Undefined when it may go.
 */
export function readOnlyRefusal(req: Pick<KubeRequest, 'method' | 'path' | 'query'>): string | undefined {
  if (req.method === 'GET') return undefined;
  if (req.query?.['dryRun'] === 'All') return undefined;
  return `${req.method} ${req.path} is a write, and this data-plane connection is read-only (only reads and server-side dry runs are sent)`;
}

/** ReadOnlySelector is the label every listed object carries (`key=value`). */
export interface ReadOnlySelector {
  key: string;
  value: string;
}

interface Listing {
  info: ResourceInfo;
  /** objects by `namespace/name`; undefined until listed. */
  objects?: Map<string, KubeObject>;
  done: Promise<Map<string, KubeObject>>;
}

/**
 * ReadOnlyDataPlane is the read-only, one-shot port described above. It implements the objects half
 * of the port (the controller's apply step runs on it in dry-run) and, of the inventory half, only
 * what the diff's listing and prune plan ask: useKinds (list these kinds), objectsOf and isComplete.
 * The cluster's identity and the watch bookkeeping of a running controller have no use here.
 */
export class ReadOnlyDataPlane
  implements DataPlaneObjects, Pick<DataPlaneInventory, 'useKinds' | 'objectsOf' | 'isComplete'>
{
  private readonly discovery: Discovery;
  private readonly listings = new Map<string, Listing>();
  private readonly answers = new Map<string, KubeObject>();
  private readonly namespaces = new Map<string, KubeObject | undefined>();
  private held = 0;

  constructor(
    /** key is `namespace/name` of the DataPlane. */
    readonly key: string,
    private readonly client: KubeClient,
    /** selector picks the objects to list; without one nothing is listed (a Release not created yet has none). */
    private readonly selector: ReadOnlySelector | undefined,
  ) {
    this.discovery = new Discovery(client);
  }

  /** send sends one request after the read-only check; a refused one is never sent. */
  private async send<T>(req: KubeRequest, expected: readonly number[] = []) {
    const refused = readOnlyRefusal(req);
    if (refused) throw new ReadOnlyError(`DataPlane ${this.key}: ${refused}`);
    return this.client.attempt<T>(req, expected);
  }

  resolveKind(gvk: GroupVersionKind): Promise<ResourceInfo> {
    return this.discovery.resolve(gvk);
  }

  forgetKinds(): void {
    this.discovery.invalidate();
  }

  /** listing starts (once) the list of a kind's selected objects. */
  private listing(info: ResourceInfo): Listing {
    const key = kindKey(info);
    let listing = this.listings.get(key);
    if (!listing) {
      const entry: Listing = { info, done: Promise.resolve(new Map<string, KubeObject>()) };
      entry.done = this.list(info).then((objects) => (entry.objects = objects));
      // A failed list is observed through isComplete; cache() rethrows it to its caller.
      entry.done.catch(() => undefined);
      this.listings.set(key, entry);
      listing = entry;
    }
    return listing;
  }

  /** list lists a kind's selected objects once, page by page, keeping only those that carry the label. */
  private async list(info: ResourceInfo): Promise<Map<string, KubeObject>> {
    const objects = new Map<string, KubeObject>();
    const selector = this.selector;
    if (!selector) return objects;
    let next: string | undefined;
    do {
      const answer = await this.send<{ items?: unknown; metadata?: { continue?: unknown } }>({
        method: 'GET',
        path: collectionPath(info),
        query: {
          labelSelector: `${selector.key}=${selector.value}`,
          limit: READ_ONLY_PAGE,
          ...(next && { continue: next }),
        },
      });
      const body = answer.ok ? answer.body : {};
      for (const item of Array.isArray(body.items) ? (body.items as unknown[]) : []) {
        if (!isRecord(item) || !isRecord(item['metadata'])) continue;
        const object = item as unknown as KubeObject;
        // An answer that does not meet the selector is not the data plane's to give: dropped.
        if (object.metadata.labels?.[selector.key] !== selector.value) continue;
        if (++this.held > MAX_READ_ONLY_OBJECTS)
          throw new Error(
            `data plane ${this.key}: more than ${MAX_READ_ONLY_OBJECTS} objects carry ${selector.key}=${selector.value}; not planned`,
          );
        // A list's items carry no apiVersion and kind.
        objects.set(`${object.metadata.namespace ?? ''}/${object.metadata.name ?? ''}`, {
          ...object,
          apiVersion: info.group ? `${info.group}/${info.version}` : info.version,
          kind: info.kind,
        });
      }
      const token = body.metadata?.continue;
      next = typeof token === 'string' && token !== '' ? token : undefined;
    } while (next);
    return objects;
  }

  async cache(info: ResourceInfo): Promise<KindCache> {
    const objects = await this.listing(info).done;
    return {
      get: (namespace, name) => objects.get(`${namespace ?? ''}/${name}`),
      // Nothing is written through this port, so nothing can be behind.
      isBehind: () => false,
    };
  }

  objectsOf(releaseUid: string): ManagedObject[] {
    if (this.selector?.value !== releaseUid) return [];
    const seen = new Set<string>();
    const found: ManagedObject[] = [];
    for (const { info, objects } of this.listings.values()) {
      for (const object of objects?.values() ?? []) {
        // One object is listed once per API version of its kind: count it once.
        const id =
          object.metadata.uid ??
          identityOf(info.group, info.kind, object.metadata.namespace, object.metadata.name ?? '');
        if (seen.has(id)) continue;
        seen.add(id);
        found.push({ object, info });
      }
    }
    return found;
  }

  isComplete(): boolean {
    return [...this.listings.values()].every((l) => l.objects !== undefined);
  }

  isBehind(): boolean {
    return false;
  }

  /** useKinds lists the kinds (once each) and returns when every list has answered. */
  async useKinds(_user: string, kinds: ResourceInfo[]): Promise<void> {
    await Promise.all(kinds.map((info) => this.listing(info).done));
  }

  /** observe reads the object once: no watch is kept. */
  observe(
    _user: string,
    info: ResourceInfo,
    namespace: string | undefined,
    name: string,
  ): Promise<KubeObject | undefined> {
    return this.read(info, namespace, name, new AbortController().signal);
  }

  useObserved(_user: string, _refs: ObservedRef[]): Promise<void> {
    return Promise.resolve();
  }

  /** apply sends only a server-side dry run, and keeps what it answered; a real apply is refused. */
  async apply(
    info: ResourceInfo,
    object: KubeObject,
    fieldManager: string,
    signal: AbortSignal,
    options: ApplyRequestOptions = {},
  ): Promise<KubeObject> {
    const namespace = info.namespaced ? object.metadata.namespace : undefined;
    const name = object.metadata.name ?? '';
    const answer = await this.send<KubeObject>({
      method: 'PATCH',
      path: objectPath(info, namespace, name),
      query: { fieldManager, force: options.force ?? true, ...(options.dryRun && { dryRun: 'All' }) },
      body: object,
      contentType: APPLY_CONTENT_TYPE,
      signal,
    });
    if (!answer.ok) throw new Error(`data plane ${this.key}: no answer to a dry-run apply`);
    this.answers.set(identityOf(info.group, info.kind, namespace, name), answer.body);
    return answer.body;
  }

  /**
   * dryRunAnswer is what the last dry-run apply of an object answered: the object as a real apply
   * would leave it; undefined when none was sent for it.
   */
  dryRunAnswer(
    group: string,
    kind: string,
    namespace: string | undefined,
    name: string,
  ): KubeObject | undefined {
    return this.answers.get(identityOf(group, kind, namespace, name));
  }

  create(info: ResourceInfo, object: KubeObject): Promise<KubeObject | undefined> {
    return Promise.reject(this.refusal('create', info, object));
  }

  delete(info: ResourceInfo, object: KubeObject): Promise<DeleteOutcome> {
    return Promise.reject(this.refusal('delete', info, object));
  }

  patch(info: ResourceInfo, object: KubeObject, _operations: JsonPatchOperation[]): Promise<KubeObject> {
    return Promise.reject(this.refusal('patch', info, object));
  }

  private refusal(verb: string, info: ResourceInfo, object: KubeObject): ReadOnlyError {
    const { namespace, name } = object.metadata;
    return new ReadOnlyError(
      `DataPlane ${this.key}: ${verb} ${info.kind}/${namespace ? `${namespace}/` : ''}${name ?? ''} refused: this data-plane connection is read-only`,
    );
  }

  async read(
    info: ResourceInfo,
    namespace: string | undefined,
    name: string,
    signal: AbortSignal,
  ): Promise<KubeObject | undefined> {
    const answer = await this.send<KubeObject>(
      { method: 'GET', path: objectPath(info, namespace, name), signal },
      [404],
    );
    return answer.ok ? answer.body : undefined;
  }

  /**
   * ensureNamespace only checks, by a dry-run create (admission included), whether a missing
   * namespace could be created: true when it is missing. A real creation is refused.
   */
  async ensureNamespace(
    template: KubeObject,
    fieldManager: string,
    signal: AbortSignal,
    options: ApplyRequestOptions = {},
  ): Promise<boolean> {
    const name = template.metadata.name ?? '';
    if (!options.dryRun)
      throw new ReadOnlyError(
        `DataPlane ${this.key}: creating Namespace ${name} refused: this data-plane connection is read-only`,
      );
    if (await this.namespace(name, signal)) return false;
    const answer = await this.send<KubeObject>(
      {
        method: 'POST',
        path: collectionPath(NAMESPACE_KIND),
        query: { fieldManager, dryRun: 'All' },
        body: template,
        signal,
      },
      [409],
    );
    return answer.ok;
  }

  async namespace(name: string, signal: AbortSignal): Promise<KubeObject | undefined> {
    if (!this.namespaces.has(name))
      this.namespaces.set(name, await this.read(NAMESPACE_KIND, undefined, name, signal));
    return this.namespaces.get(name);
  }

  forgetNamespace(name: string): void {
    this.namespaces.delete(name);
  }

  /** close closes the client's connections; nothing else is running. */
  async close(): Promise<void> {
    await this.client.close();
  }
}
