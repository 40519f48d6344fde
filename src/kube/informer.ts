/**
 * Informer keeps an in-memory copy of one collection: it lists (paged), then watches from the
 * list's resourceVersion with bookmarks, re-watching from the last seen resourceVersion when a
 * stream ends and re-listing only when the server says that version is gone (410). A page larger
 * than the client's body cap is asked for again with half the `limit` (objects of up to 1.5 MiB
 * make 500 of them more than V8 can hold as one string), and a list can have a budget of pages,
 * bytes and time (a data plane may answer `continue` forever). Errors and
 * dropped connections are retried forever with capped exponential backoff and jitter, so an
 * informer never stops on its own (client-node's stops for good on any error but 410). Reconcilers read
 * the cache instead of the API server.
 *
 * A server that cannot watch (OpenChoreo's cluster gateway answers 501 to every watch) gets a
 * polling informer instead (`pollIntervalMs`): it lists at that period and tells its handlers what
 * changed since the last list (snapshot.ts), so the cache, its events, its health and its bounds are
 * those of the watching informer; only how soon a change is seen differs.
 *
 * Nothing a server sends is cached on trust: an object that does not match the informer's own label
 * and field selectors (and its `accept` filter) is dropped, and every cached object is counted
 * against a CacheBudget (cachebudget.ts) by the bytes it came in. Over the budget the informer ends
 * like one whose collection is gone: its cache is emptied (handlers are told every object was
 * deleted), it never lists again, and `overflow` says why.
 */
import type { Logger } from 'pino';
import type { KubeObject } from '../api/object.ts';
import { isRecord } from '../api/object.ts';
import type { KubeClient, WatchEvent } from './client.ts';
import { KubeApiError, LimitReasons, formatBytes, isKubeApiError } from './client.ts';
import { sleep } from './sleep.ts';
import { describeError } from './errors.ts';
import { sharedStrings } from './intern.ts';
import { diffSnapshot } from './snapshot.ts';
import { oneLine } from '../api/text.ts';
import type { CacheBudget } from './cachebudget.ts';
import { selectorMatcher, type Matcher } from './selector.ts';

/** MAX_WATCH_ERROR_MESSAGE bounds what an error of an ERROR watch event quotes of the server's message. */
const MAX_WATCH_ERROR_MESSAGE = 2048;

/** DEFAULT_PAGE_SIZE is the page size of the initial list. */
export const DEFAULT_PAGE_SIZE = 500;
/** DEFAULT_MIN_BACKOFF_MS is the first wait after a failed list or watch. */
export const DEFAULT_MIN_BACKOFF_MS = 500;
/** DEFAULT_MAX_BACKOFF_MS caps the wait between attempts. */
export const DEFAULT_MAX_BACKOFF_MS = 30_000;
/** WATCH_TIMEOUT_SECONDS is the server-side watch timeout; randomised like client-go's 5-10 minutes. */
export const WATCH_TIMEOUT_SECONDS = 300;

/** ListBudget bounds one paged list (every page of it, retries of a page included). */
export interface ListBudget {
  /** maxPages caps the page requests of one list. */
  maxPages: number;
  /** maxBytes caps the bytes of all pages of one list (a page may overshoot it once). */
  maxBytes: number;
  /** timeoutMs caps the time of one list. */
  timeoutMs: number;
  /** settings names what raises each bound (a flag), for error messages. */
  settings?: Partial<Record<'maxPages' | 'maxBytes' | 'timeoutMs', string>>;
}

/** InformerEventType is what happened to an object in the cache. */
export type InformerEventType = 'added' | 'updated' | 'deleted';

/** InformerHandler is told about every change to the cache, after the cache has changed. */
export type InformerHandler<T> = (type: InformerEventType, obj: T, old: T | undefined) => void;

/** InformerOptions configures an Informer. */
export interface InformerOptions<T extends KubeObject> {
  client: KubeClient;
  /** path is the collection path, e.g. `/apis/apps/v1/deployments` (all namespaces). */
  path: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** name identifies the informer in logs and metrics. */
  name: string;
  logger: Logger;
  pageSize?: number;
  /** listBudget bounds each paged list; without it only the client's per-page cap applies. */
  listBudget?: ListBudget;
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** transform runs on every object before it is cached (drop what the cache need not hold). */
  transform?: (obj: KubeObject) => T;
  /** onError is told about every failed list or watch (metrics). */
  onError?: (err: unknown) => void;
  /** onHealthChange is told when the informer loses or regains its connection to the server. */
  onHealthChange?: (healthy: boolean) => void;
  /**
   * pollIntervalMs makes the informer list at this period instead of watching, for servers that
   * cannot watch; `retryNow` lists at once. Undefined: watch.
   */
  pollIntervalMs?: number;
  /**
   * endWhenNotServed ends the informer when its list answers 404: the server no longer serves the
   * collection (the CRD was deleted, or the version removed), so it has no objects. Without it the
   * informer retries forever (the control plane's own kinds must come back on their own).
   */
  endWhenNotServed?: boolean;
  /**
   * onGone is told once when the informer ends so (endWhenNotServed). The cache is empty by then
   * (handlers were told of every object as deleted).
   */
  onGone?: (err: KubeApiError) => void;
  /**
   * accept narrows what is cached beyond the selectors (for example to the names some Releases
   * observe); what it refuses is dropped like an object outside the selectors.
   */
  accept?: (obj: KubeObject) => boolean;
  /** budget counts every cached object and its bytes; over it the informer ends (`overflow`). */
  budget?: CacheBudget;
  /** onOverflow is told once when the informer ended over its budget; its cache is empty by then. */
  onOverflow?: (err: KubeApiError) => void;
}

/** ListPage is one page of a list answer. */
interface ListPage {
  metadata?: { resourceVersion?: string; continue?: string };
  items?: KubeObject[];
  kind?: string;
  apiVersion?: string;
}

/** objectKey is the cache key of an object: `namespace/name`, or `name` when cluster-scoped. */
export function objectKey(namespace: string | undefined, name: string): string {
  return namespace ? `${namespace}/${name}` : name;
}

/** Informer is a supervised list+watch cache of one collection. */
export class Informer<T extends KubeObject = KubeObject> {
  private readonly store = new Map<string, T>();
  /** indexes map each index's values to the keys of the cached objects that have them (addIndex). */
  private readonly indexes = new Map<string, CacheIndex<T>>();
  /** sizes are the bytes each cached object was counted with (what the budget gets back). */
  private readonly sizes = new Map<string, number>();
  /** matches tells whether an object is one this informer asked for. */
  private readonly matches: Matcher;
  /** overflowError is what ended the informer over its cache budget. */
  private overflowError: KubeApiError | undefined;
  /** listsStarted counts the lists begun, so relist knows which list covers a caller. */
  private listsStarted = 0;
  /** relistWaiters wait for a list that began after they asked. */
  private relistWaiters: Array<{ after: number; done: () => void }> = [];
  /** watchAbort ends the current watch early (relist). */
  private watchAbort: AbortController | undefined;
  private wantList = false;
  /** dropped counts objects refused for not matching the selectors or `accept`. */
  private droppedCount = 0;
  private readonly handlers = new Set<InformerHandler<T>>();
  private readonly abort = new AbortController();
  private resourceVersion: string | undefined;
  private synced = false;
  private syncWaiters: Array<() => void> = [];
  private running: Promise<void> | undefined;
  private lastError: unknown;
  /** goneError is the 404 that ended the informer: the collection is not served any more. */
  private goneError: KubeApiError | undefined;
  private healthy = false;
  /** toldHealthy is what onHealthChange was last told; undefined until the first connection or failure. */
  private toldHealthy: boolean | undefined;
  private healthWaiters: Array<() => void> = [];
  private wake: (() => void) | undefined;
  /** woken says retryNow was called while no wait was in progress. */
  private woken = false;
  /** pageLimit is the page size of lists: halved for good each time a page is over the body cap. */
  private pageLimit: number;

  constructor(private readonly options: InformerOptions<T>) {
    this.pageLimit = options.pageSize ?? DEFAULT_PAGE_SIZE;
    const selected = selectorMatcher(options.labelSelector, options.fieldSelector);
    const accept = options.accept;
    this.matches = accept ? (obj) => selected(obj) && accept(obj) : selected;
  }

  /** start begins listing and watching in the background; it is idempotent. */
  start(): void {
    this.running ??= this.run();
  }

  /** stop ends the watch and waits for the loop to finish. */
  async stop(): Promise<void> {
    this.abort.abort(new Error(`informer ${this.options.name} stopped`));
    await this.running;
    this.release();
    for (const w of [...this.syncWaiters, ...this.healthWaiters]) w();
    this.syncWaiters = [];
    this.healthWaiters = [];
    this.settleRelists();
  }

  /** release empties the cache and gives its objects and bytes back to the budget (memory returns). */
  private release(): void {
    let bytes = 0;
    for (const size of this.sizes.values()) bytes += size;
    this.options.budget?.charge(-this.sizes.size, -bytes);
    this.sizes.clear();
    this.store.clear();
    for (const index of this.indexes.values()) index.keys.clear();
  }

  /** overflow is the error that ended the informer over its cache budget, undefined otherwise. */
  get overflow(): KubeApiError | undefined {
    return this.overflowError;
  }

  /** dropped counts the objects the server sent that the selectors or `accept` refused. */
  get dropped(): number {
    return this.droppedCount;
  }

  /**
   * relist lists the collection again (ending the current watch) and resolves once a list that
   * began after the call has completed, or the informer stopped: what `accept` admits now is
   * cached. Callers asking at once share one list.
   */
  relist(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      this.relistWaiters.push({ after: this.listsStarted, done: resolve });
      this.wantList = true;
      this.watchAbort?.abort();
      this.retryNow();
    });
  }

  private settleRelists(started = Number.POSITIVE_INFINITY): void {
    const waiting: typeof this.relistWaiters = [];
    for (const w of this.relistWaiters) {
      if (w.after < started) w.done();
      else waiting.push(w);
    }
    this.relistWaiters = waiting;
  }

  /** stopped tells whether stop was called, or the informer ended because its collection is gone. */
  get stopped(): boolean {
    return this.abort.signal.aborted;
  }

  /**
   * gone is the 404 that ended the informer when the server stopped serving its collection (a CRD
   * deleted while its kind was watched), undefined otherwise. A gone informer holds nothing and
   * never lists again: the collection has no objects. Watching the kind again takes a new informer.
   */
  get gone(): KubeApiError | undefined {
    return this.goneError;
  }

  /** hasSynced tells whether the first list has completed. */
  hasSynced(): boolean {
    return this.synced;
  }

  /** lastSyncError is the most recent list or watch failure, cleared once the informer is healthy again. */
  get lastSyncError(): unknown {
    return this.lastError;
  }

  /**
   * isHealthy tells whether the cache is connected: listed, and its watch accepted by the server
   * since the last failure. An unhealthy cache may be stale; decisions that delete must not trust it.
   */
  isHealthy(): boolean {
    return this.healthy;
  }

  /**
   * retryNow cuts short the backoff after a failure, so a caller that needs the cache need not
   * wait; a polling informer lists at once.
   */
  retryNow(): void {
    if (this.wake) this.wake();
    // Asked between two waits (a list in flight): the next wait ends at once.
    else this.woken = true;
  }

  /** waitForHealthy resolves once the informer is healthy (or stopped); it rejects when the signal aborts. */
  waitForHealthy(signal?: AbortSignal): Promise<void> {
    if (this.healthy || this.stopped) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onAbort = () => reject(signal?.reason as Error);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.healthWaiters.push(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      });
    });
  }

  /**
   * isBehind tells whether the cache has not yet seen the given resourceVersion (for example
   * the one our own write returned). resourceVersions are opaque in general but are etcd
   * revisions in practice; when either is not a number the cache is assumed current.
   */
  isBehind(resourceVersion: string | undefined): boolean {
    const seen = Number(this.resourceVersion);
    const wanted = Number(resourceVersion);
    return Number.isFinite(seen) && Number.isFinite(wanted) && seen < wanted;
  }

  /** waitForSync resolves once the first list has completed (or the informer stopped). */
  waitForSync(signal?: AbortSignal): Promise<void> {
    if (this.synced || this.stopped) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onAbort = () => reject(signal?.reason as Error);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.syncWaiters.push(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      });
    });
  }

  /** addHandler subscribes to cache changes; it returns a function that unsubscribes. */
  addHandler(handler: InformerHandler<T>): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }

  /** get returns the cached object, if any. */
  get(namespace: string | undefined, name: string): T | undefined {
    return this.store.get(objectKey(namespace, name));
  }

  /**
   * evict drops one object from the cache without telling handlers (its `accept` no longer admits
   * it: nobody needs it), giving its count back.
   */
  evict(namespace: string | undefined, name: string): void {
    this.remove(objectKey(namespace, name));
  }

  /**
   * addIndex keeps the cached objects findable by the values `valuesOf` computes from each object
   * alone (client-go's indexers): `byIndex` then answers without a scan of the cache. Objects
   * already cached are indexed at once.
   */
  addIndex(name: string, valuesOf: (obj: T) => Iterable<string>): void {
    if (this.indexes.has(name))
      throw new Error(`informer ${this.options.name}: index ${name} exists already`);
    const index: CacheIndex<T> = { valuesOf, keys: new Map() };
    this.indexes.set(name, index);
    for (const [key, obj] of this.store) indexObject(index, key, obj, 1);
  }

  /** byIndex returns the cached objects that `addIndex(name)` gave `value`. */
  byIndex(name: string, value: string): T[] {
    const index = this.indexes.get(name);
    if (!index) throw new Error(`informer ${this.options.name}: no index ${name}`);
    const out: T[] = [];
    for (const key of index.keys.get(value) ?? []) {
      const obj = this.store.get(key);
      if (obj) out.push(obj);
    }
    return out;
  }

  /** list returns every cached object. */
  list(): T[] {
    return [...this.store.values()];
  }

  /** values iterates over the cached objects without copying them (a scan that stops early). */
  values(): IterableIterator<T> {
    return this.store.values();
  }

  /** size is the number of cached objects. */
  get size(): number {
    return this.store.size;
  }

  private async run(): Promise<void> {
    const { minBackoffMs = DEFAULT_MIN_BACKOFF_MS, maxBackoffMs = DEFAULT_MAX_BACKOFF_MS } = this.options;
    let failures = 0;
    let needList = true;
    const signal = this.abort.signal;
    while (!signal.aborted) {
      try {
        if (this.wantList) {
          this.wantList = false;
          needList = true;
        }
        if (needList) {
          await this.listAll(signal);
          needList = false;
        }
        const poll = this.options.pollIntervalMs;
        if (poll !== undefined) {
          // Healthy until a list fails: between two lists the cache is as current as a poll can be.
          failures = 0;
          await this.backoff(poll * (0.9 + Math.random() / 5), signal);
          needList = true;
          continue;
        }
        await this.watchOnce(signal);
        failures = 0;
      } catch (err) {
        if (signal.aborted) break;
        if (isKubeApiError(err) && err.reason === LimitReasons.cacheBudgetExceeded) {
          this.overflowError = err;
          this.end(err);
          break;
        }
        // The collection is not served (a 404 to a list of every namespace can mean nothing else):
        // retrying forever would leave a kind that can have no objects looking broken.
        if (this.options.endWhenNotServed && needList && isKubeApiError(err) && err.isNotFound) {
          this.goneError = err;
          this.end(err);
          break;
        }
        // A watch cut for silence or for outliving its timeoutSeconds may just have been quiet:
        // like a stream that ended, it is re-watched at once from our resourceVersion, and that
        // request (bounded by the request timeout) tells whether the server is still there.
        if (isKubeApiError(err) && err.reason === LimitReasons.watchTimeout) {
          this.options.logger.info(
            { informer: this.options.name, err: describeError(err) },
            'watch went silent; re-watching',
          );
          continue;
        }
        this.lastError = err;
        this.setHealthy(false);
        this.options.onError?.(err);
        // 410 Gone: our resourceVersion is older than the server's window; only a relist helps.
        if (isKubeApiError(err) && (err.isGone || err.reason === 'Expired')) {
          this.options.logger.info({ informer: this.options.name }, 'watch expired, relisting');
          needList = true;
          continue;
        }
        // A watch that fails for another reason than the transport (for example 500 after a
        // restart of the API server with a newer etcd) is safest answered with a fresh list.
        if (!(isKubeApiError(err) && err.isUnreachable)) needList = true;
        failures++;
        const wait = Math.min(maxBackoffMs, minBackoffMs * 2 ** (failures - 1)) * (0.5 + Math.random() / 2);
        this.options.logger.warn(
          { informer: this.options.name, err: describeError(err), retryInMs: Math.round(wait) },
          'list/watch failed; retrying',
        );
        await this.backoff(wait, signal);
      }
    }
  }

  /**
   * end empties the cache (telling handlers, giving the budget back), ends the informer and reports
   * it gone (its collection is not served) or over its budget.
   */
  private end(err: KubeApiError): void {
    this.lastError = err;
    if (this.overflowError)
      this.options.logger.warn(
        { informer: this.options.name, err: describeError(err) },
        'watch cache over its budget; the watch ends and its cache is freed',
      );
    else
      this.options.logger.info(
        { informer: this.options.name, err: describeError(err) },
        'the server no longer serves this collection (404); its watch ends and it counts as empty',
      );
    const objects = [...this.store.values()];
    this.release();
    for (const old of objects) this.emit('deleted', old, old);
    this.healthy = false;
    this.abort.abort(new Error(`informer ${this.options.name} ended: the collection is not served`));
    for (const w of [...this.syncWaiters, ...this.healthWaiters]) w();
    this.syncWaiters = [];
    this.healthWaiters = [];
    this.settleRelists();
    if (this.overflowError) this.options.onOverflow?.(err);
    else this.options.onGone?.(err);
  }

  /**
   * overBudget is the error that ends the informer when a charge put its budget over a limit.
   * Thrown from a list or a watch event, the run loop ends the informer with it.
   */
  private overBudget(why: string): KubeApiError {
    return new KubeApiError(
      `${this.options.client.name}: ${why}; its watches were closed and their caches freed`,
      {
        statusCode: 0,
        reason: LimitReasons.cacheBudgetExceeded,
      },
    );
  }

  /** put caches an object counted at `bytes` (replacing any copy), charging the difference. */
  private put(key: string, obj: T, bytes: number): void {
    const before = this.sizes.get(key);
    this.unindex(key);
    this.store.set(key, obj);
    for (const index of this.indexes.values()) indexObject(index, key, obj, 1);
    this.sizes.set(key, bytes);
    const why = this.options.budget?.charge(before === undefined ? 1 : 0, bytes - (before ?? 0));
    if (why) throw this.overBudget(why);
  }

  /** remove drops a cached object, giving its count back. */
  private remove(key: string): void {
    const before = this.sizes.get(key);
    this.unindex(key);
    this.store.delete(key);
    if (before === undefined) return;
    this.sizes.delete(key);
    this.options.budget?.charge(-1, -before);
  }

  /** unindex takes a cached object out of every index (before it is replaced or removed). */
  private unindex(key: string): void {
    const old = this.store.get(key);
    if (old) for (const index of this.indexes.values()) indexObject(index, key, old, -1);
  }

  private async backoff(ms: number, signal: AbortSignal): Promise<void> {
    if (this.woken) {
      this.woken = false;
      return;
    }
    const woken = new Promise<void>((resolve) => (this.wake = resolve));
    await Promise.race([sleep(ms, signal).catch(() => undefined), woken]);
    this.wake = undefined;
  }

  private setHealthy(healthy: boolean): void {
    this.tellHealth(healthy);
    if (this.healthy === healthy) return;
    this.healthy = healthy;
    if (healthy) {
      this.lastError = undefined;
      for (const w of this.healthWaiters) w();
      this.healthWaiters = [];
    }
  }

  /**
   * tellHealth tells onHealthChange when the health it last told changes. A first connection that
   * nothing failed before is not news (handlers learn about it from the initial list, and a Release
   * that started the watch waits for it); a first failure is, and so the connection after it.
   */
  private tellHealth(healthy: boolean): void {
    if (this.toldHealthy === undefined && healthy) {
      this.toldHealthy = true;
      return;
    }
    if (this.toldHealthy === healthy) return;
    this.toldHealthy = healthy;
    this.options.onHealthChange?.(healthy);
  }

  private async listAll(signal: AbortSignal): Promise<void> {
    const { client, path, listBudget: budget } = this.options;
    const seen = new Map<string, T>();
    const seenBytes = new Map<string, number>();
    const started = ++this.listsStarted;
    let cont: string | undefined;
    let resourceVersion = '';
    let pages = 0;
    let bytes = 0;
    const listSignal = budget ? AbortSignal.any([signal, AbortSignal.timeout(budget.timeoutMs)]) : signal;
    const overBudget = (what: string, setting: string | undefined) =>
      new KubeApiError(
        `GET ${path} on ${client.name}: the list ${what}${setting ? ` (${setting} raises it)` : ''}`,
        { statusCode: 0, reason: LimitReasons.listBudgetExceeded },
      );
    // Not do-while: retrying a page with a smaller limit must not end the loop on a first page.
    for (;;) {
      if (budget && pages >= budget.maxPages) {
        throw overBudget(`did not end within ${budget.maxPages} pages`, budget.settings?.maxPages);
      }
      pages++;
      let page: ListPage;
      let bytesOfPage: number;
      try {
        const answer = await client.requestSized<ListPage>({
          method: 'GET',
          path,
          query: {
            labelSelector: this.options.labelSelector,
            fieldSelector: this.options.fieldSelector,
            limit: this.pageLimit,
            continue: cont,
          },
          signal: listSignal,
        });
        page = answer.body;
        bytes += answer.bytes;
        bytesOfPage = answer.bytes;
      } catch (err) {
        if (budget && listSignal.aborted && !signal.aborted) {
          throw overBudget(`did not end within ${budget.timeoutMs / 1000} s`, budget.settings?.timeoutMs);
        }
        // The same continue token with a smaller limit resumes where this page began.
        if (isKubeApiError(err) && err.reason === LimitReasons.responseTooLarge && this.pageLimit > 1) {
          this.pageLimit = Math.floor(this.pageLimit / 2);
          this.options.logger.info(
            { informer: this.options.name, limit: this.pageLimit },
            'list page over the body cap; asking for smaller pages',
          );
          continue;
        }
        throw err;
      }
      if (budget && bytes > budget.maxBytes) {
        throw overBudget(`is larger than ${formatBytes(budget.maxBytes)}`, budget.settings?.maxBytes);
      }
      // List items carry no apiVersion/kind; restore them from the list's own kind.
      const itemKind = page.kind?.replace(/List$/, '');
      const items = Array.isArray(page.items) ? page.items : [];
      // Each item is counted at its share of the page: exact enough, and costs no serialising.
      const itemBytes = items.length > 0 ? Math.ceil(bytesOfPage / items.length) : 0;
      for (const raw of items) {
        if (!isRecord(raw) || !isRecord(raw.metadata) || !this.matches(raw)) {
          this.droppedCount++;
          continue;
        }
        const key = objectKey(raw.metadata.namespace, raw.metadata.name ?? '');
        seenBytes.set(key, this.sizes.get(key) ?? itemBytes);
        // An unchanged object keeps its cached copy: a poll of a quiet collection costs no
        // transform, no interning and no second copy of anything.
        const cached = this.store.get(key);
        const rv = raw.metadata.resourceVersion;
        if (cached && rv && cached.metadata.resourceVersion === rv) {
          seen.set(key, cached);
          continue;
        }
        const obj = this.prepare({
          ...raw,
          apiVersion: raw.apiVersion ?? page.apiVersion ?? '',
          kind: raw.kind ?? itemKind ?? '',
        });
        seen.set(key, obj);
        seenBytes.set(key, itemBytes);
      }
      cont = page.metadata?.continue || undefined;
      resourceVersion = page.metadata?.resourceVersion ?? resourceVersion;
      if (!cont) break;
    }
    // Replace the cache, telling handlers what changed while we were not watching. Each change is
    // made to the store before its event, as a watch event would be.
    for (const change of diffSnapshot(this.store, seen)) {
      const key = objectKey(change.obj.metadata.namespace, change.obj.metadata.name ?? '');
      if (change.type === 'deleted') this.remove(key);
      else this.put(key, change.obj, seenBytes.get(key) ?? 0);
      this.emit(change.type, change.obj, change.old);
    }
    this.resourceVersion = resourceVersion;
    this.settleRelists(started);
    this.setHealthy(true);
    if (!this.synced) {
      this.synced = true;
      for (const w of this.syncWaiters) w();
      this.syncWaiters = [];
    }
  }

  private async watchOnce(signal: AbortSignal): Promise<void> {
    const timeoutSeconds = Math.round(WATCH_TIMEOUT_SECONDS * (1 + Math.random()));
    const watchAbort = (this.watchAbort = new AbortController());
    // Asked to relist before this watch began: it would only be ended at once.
    if (this.wantList) return;
    await this.options.client.watch<KubeObject>(
      this.options.path,
      {
        labelSelector: this.options.labelSelector,
        fieldSelector: this.options.fieldSelector,
        resourceVersion: this.resourceVersion,
        allowWatchBookmarks: true,
        timeoutSeconds,
      },
      (event, bytes) => this.onWatchEvent(event, bytes),
      AbortSignal.any([signal, watchAbort.signal]),
      () => this.setHealthy(true),
    );
  }

  private onWatchEvent(event: WatchEvent<KubeObject>, bytes: number): void {
    if (event.type === 'ERROR') {
      const status = isRecord(event.object) ? (event.object as Record<string, unknown>) : {};
      const code = typeof status['code'] === 'number' ? status['code'] : 500;
      throw new KubeApiError(
        `watch ${this.options.path}: ${typeof status['message'] === 'string' ? oneLine(status['message'], MAX_WATCH_ERROR_MESSAGE) : 'error event'}`,
        {
          statusCode: code,
          reason: typeof status['reason'] === 'string' ? status['reason'] : 'WatchError',
        },
      );
    }
    const rv = event.object.metadata?.resourceVersion;
    if (event.type === 'BOOKMARK') {
      if (rv) this.resourceVersion = rv;
      return;
    }
    if (!isRecord(event.object) || !isRecord(event.object.metadata)) {
      this.droppedCount++;
      return;
    }
    const key = objectKey(event.object.metadata.namespace, event.object.metadata.name ?? '');
    const old = this.store.get(key);
    // Not what we asked for: never cached. One we held that no longer matches has left the selection
    // (an API server says DELETED then; a server that does not is taken at its word all the same).
    if (event.type !== 'DELETED' && !this.matches(event.object)) {
      this.droppedCount++;
      if (old) {
        this.remove(key);
        this.emit('deleted', old, old);
      }
      if (rv) this.resourceVersion = rv;
      return;
    }
    const obj = this.prepare(event.object);
    if (event.type === 'DELETED') {
      this.remove(key);
      this.emit('deleted', obj, old);
    } else {
      this.put(key, obj, bytes);
      this.emit(old ? 'updated' : 'added', obj, old);
    }
    if (rv) this.resourceVersion = rv;
  }

  /**
   * prepare turns an object from the server into the cached one: transformed, then its string
   * values shared with the other cached objects (JSON.parse made a copy of each for each object).
   */
  private prepare(obj: KubeObject): T {
    const cached = this.options.transform ? this.options.transform(obj) : (obj as T);
    sharedStrings.internValues(cached);
    return cached;
  }

  private emit(type: InformerEventType, obj: T, old: T | undefined): void {
    for (const handler of this.handlers) {
      try {
        handler(type, obj, old);
      } catch (err) {
        this.options.logger.error(
          { informer: this.options.name, err: describeError(err) },
          'informer handler failed',
        );
      }
    }
  }
}

/** CacheIndex is one index of an informer: each value, the keys of the cached objects that have it. */
interface CacheIndex<T> {
  valuesOf: (obj: T) => Iterable<string>;
  keys: Map<string, Set<string>>;
}

/** indexObject adds (+1) or removes (-1) the object cached under key to or from an index. */
function indexObject<T>(index: CacheIndex<T>, key: string, obj: T, change: 1 | -1): void {
  for (const value of indexValues(index, obj)) {
    let keys = index.keys.get(value);
    if (change === 1) {
      if (!keys) index.keys.set(value, (keys = new Set()));
      keys.add(key);
    } else if (keys) {
      keys.delete(key);
      if (keys.size === 0) index.keys.delete(value);
    }
  }
}

/**
 * indexValues are an object's values in an index, once each; none when computing them fails (an
 * object the index function cannot read is not findable by it, and the cache goes on).
 */
function indexValues<T>(index: CacheIndex<T>, obj: T): Set<string> {
  try {
    return new Set(index.valuesOf(obj));
  } catch {
    return new Set();
  }
}
