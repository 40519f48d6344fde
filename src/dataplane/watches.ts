/**
 * WatchSet holds one label-selected informer per kind on one data plane, started when a Release
 * first needs the kind and stopped when no Release uses it any more. Every event on a managed
 * object reaches `onEvent`, which enqueues the Release named by the object's labels. Objects a
 * Release only observes (not ours, so not in those caches) are served by one watch per kind and
 * namespace, shared by every observed object there (its cache keeps only the observed names), whose
 * events reach `onObserved` with the Releases observing the object.
 *
 * Every cache of the data plane counts against one CacheBudget (and its organization's): over it,
 * every watch of the data plane is closed and its caches freed, and for OVERFLOW_HOLD_MS each
 * request for a cache fails with the error naming the limit and its flag, so its Releases report it.
 */
import type { Logger } from 'pino';
import { withoutManagedFields, type KubeObject } from '../api/object.ts';
import { Labels } from '../api/v1alpha1/constants.ts';
import { MANAGED_BY_VALUES, trackingOf } from '../api/v1alpha1/profile.ts';
import { Informer, type InformerEventType, type ListBudget } from '../kube/informer.ts';
import type { KubeClient } from '../kube/client.ts';
import { KubeApiError } from '../kube/client.ts';
import { collectionPath, KindNotServedError, type ResourceInfo } from '../kube/discovery.ts';
import type { CacheBudget } from '../kube/cachebudget.ts';
import { kindKey, slimObject, type ManagedObject } from './port.ts';
import { TreeInterner } from '../kube/intern.ts';

/**
 * OVERFLOW_HOLD_MS is how long a data plane whose caches outgrew their budget stays without
 * watches: its Releases report why meanwhile, then its watches are started again (a data plane
 * that floods again is closed again).
 */
export const OVERFLOW_HOLD_MS = 60_000;

/** MANAGED_SELECTOR selects every object the controller applied, for a Release of any kind (profile.ts). */
export const MANAGED_SELECTOR = `${Labels.managedBy} in (${MANAGED_BY_VALUES.join(',')})`;

/**
 * managedSelector selects the objects the controller applied for one organization's Releases of
 * either kind (their `openchoreo.dev/release-namespace` label is the organization: a RenderedRelease's
 * objects carry it too, besides upstream's labels), or for every organization when none is given (a
 * ClusterDataPlane serves them all). Organizations' DataPlanes that share a cluster then each cache
 * only their own objects, and no organization's watch delivers another's (docs/architecture.md,
 * "One cache per organization").
 */
export function managedSelector(organization: string | undefined, shardSelector?: string): string {
  const scoped = organization
    ? `${MANAGED_SELECTOR},${Labels.releaseNamespace}=${organization}`
    : MANAGED_SELECTOR;
  // A shard's objects (docs/architecture.md, "Shards that divide memory"): every object carries its
  // Release's values of the selector's keys, so the Release selector selects them too.
  return shardSelector ? `${scoped},${shardSelector}` : scoped;
}

/** secretMetadataOnly keeps a Secret's metadata and type, never its data. */
export function secretMetadataOnly(obj: KubeObject): KubeObject {
  const slim: KubeObject & { data?: unknown; stringData?: unknown } = withoutManagedFields(obj);
  const { data: _data, stringData: _stringData, ...rest } = slim;
  return rest;
}

/** WatchedKind is one kind being watched. */
export interface WatchedKind {
  info: ResourceInfo;
  informer: Informer;
}

/** WatchSetOptions configures a WatchSet. */
export interface WatchSetOptions {
  client: KubeClient;
  logger: Logger;
  /**
   * organization scopes the watches to the objects of this organization's Releases (a DataPlane
   * serves only the Releases of its own namespace); undefined watches every managed object.
   */
  organization?: string;
  /**
   * shardSelector is the shard's --release-selector, added to every managed watch: a shard caches
   * only the objects of Releases it serves (their labels carry the selector's keys).
   */
  shardSelector?: string;
  /** syncTimeoutMs bounds the wait for a new informer's first list. */
  syncTimeoutMs: number;
  /** listBudget bounds each list of a kind (pages, bytes, time): a data plane may answer forever. */
  listBudget?: ListBudget;
  onEvent: (type: InformerEventType, obj: KubeObject) => void;
  /** onHealthChange is told when a watch of this data plane breaks or recovers. */
  onHealthChange?: (healthy: boolean) => void;
  /** onObserved is told the users (Release keys) observing an object that changed. */
  onObserved?: (users: string[]) => void;
  /** pollIntervalMs makes every cache list at this period instead of watching (a client that cannot watch). */
  pollIntervalMs?: number;
  /**
   * onKindGone is told when a watched kind is no longer served (its list answered 404: the CRD was
   * deleted): its watch has ended and it counts as having no objects. What discovery knew of the
   * kind is stale then.
   */
  onKindGone?: (info: ResourceInfo) => void;
  /** budget counts every cache of the data plane (objects, bytes); unbounded without. */
  budget?: CacheBudget;
  /** now is the clock of the overflow hold (tests). */
  now?: () => number;
}

/** ObservedCollection is the shared watch of one kind in one namespace, caching the observed names. */
interface ObservedCollection {
  informer: Informer;
  /** names are the observed names there, each with its users (Release keys). */
  names: Map<string, Set<string>>;
}

/** collectionKey identifies an observed collection: kind and namespace. */
function collectionKey(info: ResourceInfo, namespace: string | undefined): string {
  return `${kindKey(info)}|${namespace ?? ''}`;
}

/** WatchSet manages the per-kind watches of one data plane. */
export class WatchSet {
  private readonly kinds = new Map<string, WatchedKind>();
  /** users are the kinds each user needs (kindKeys, a shared copy: most Releases use the same few). */
  private readonly users = new Map<string, readonly string[]>();
  /** refs counts the users of each kind, so finding unused kinds does not scan every user. */
  private readonly refs = new Map<string, number>();
  /**
   * byRelease indexes the cached objects by the uid in their release-uid label, each object once
   * across API versions, so a reconcile looks at its own objects only (no scan of every cached
   * object: that made a full resync quadratic in the number of Releases). A list, not a map by
   * name: a Release has few objects, and a map with a key string per object cost 0.5 KB per Release.
   */
  private readonly byRelease = new Map<string, ManagedObject[]>();
  /** observed are the shared watches of observed objects, by collectionKey. */
  private readonly observed = new Map<string, ObservedCollection>();
  /** overflow is why the caches were closed over their budget, and until when they stay closed. */
  private overflow: { error: KubeApiError; until: number; kinds: ResourceInfo[] } | undefined;

  constructor(private readonly options: WatchSetOptions) {}

  /**
   * informerFor returns the informer of a kind once it is synced and connected, starting it when
   * needed. A broken watch is retried at once; if it does not recover in time this throws the
   * list or watch error, so callers report the data plane unreachable instead of trusting a
   * stale cache.
   */
  async informerFor(info: ResourceInfo): Promise<Informer> {
    this.checkOverflow();
    const key = kindKey(info);
    let watched = this.kinds.get(key);
    if (!watched) {
      const informer: Informer = new Informer({
        client: this.options.client,
        path: collectionPath(info),
        labelSelector: managedSelector(this.options.organization, this.options.shardSelector),
        listBudget: this.options.listBudget,
        ...this.budgeted(),
        name: `${this.options.client.name}/${key}`,
        logger: this.options.logger,
        transform: slimObject,
        onHealthChange: (healthy) => this.options.onHealthChange?.(healthy),
        pollIntervalMs: this.options.pollIntervalMs,
        endWhenNotServed: true,
        onGone: () => this.kindGone(key, informer),
      });
      informer.addHandler((type, obj, old) => {
        this.index(info, type === 'deleted' ? undefined : obj, old ?? (type === 'deleted' ? obj : undefined));
        // The first list is not news: a kind is first watched for a Release being reconciled,
        // which reads the cache once it is synced, and every other owner of an object listed has
        // not been reconciled since (it would have watched the kind). Waking each owner once per
        // object listed made a restart reconcile every Release once per kind it uses.
        if (informer.hasSynced()) this.options.onEvent(type, obj);
      });
      informer.start();
      watched = { info, informer };
      this.kinds.set(key, watched);
    }
    await this.connected(watched.informer, info.kind, info);
    return watched.informer;
  }

  /**
   * kindGone forgets the watch of a kind the server no longer serves: it ended with an empty cache
   * (its objects left the index as deleted), so the kind counts as having no objects and does not
   * make the picture incomplete. A Release that applies the kind again starts a new watch.
   */
  private kindGone(key: string, informer: Informer): void {
    const watched = this.kinds.get(key);
    if (watched?.informer !== informer) return;
    this.kinds.delete(key);
    this.options.onKindGone?.(watched.info);
    // The picture of the data plane may be complete again: its Releases may prune and clean up.
    this.options.onHealthChange?.(this.allHealthy());
  }

  /** budgeted are the informer options that count a cache against the data plane's budget. */
  private budgeted(): { budget?: CacheBudget; onOverflow: (err: KubeApiError) => void } {
    return {
      ...(this.options.budget && { budget: this.options.budget }),
      onOverflow: (err) => void this.overflowed(err),
    };
  }

  /**
   * overflowed closes every watch of the data plane (their caches are freed and the budget given
   * back) and remembers why, so every Release of the data plane reports it for OVERFLOW_HOLD_MS.
   */
  private async overflowed(error: KubeApiError): Promise<void> {
    if (this.overflow) return;
    const now = this.options.now?.() ?? Date.now();
    this.overflow = { error, until: now + OVERFLOW_HOLD_MS, kinds: this.watched().map((w) => w.info) };
    this.options.logger.warn(
      { err: error.message, holdMs: OVERFLOW_HOLD_MS },
      'data-plane watch caches over their budget: every watch of the data plane closed; its Releases report it',
    );
    await this.closeAll();
    this.options.onHealthChange?.(false);
  }

  /**
   * checkOverflow throws the overflow error while the hold lasts; after it, the data plane's
   * watches may start again.
   */
  private checkOverflow(): void {
    if (!this.overflow) return;
    if ((this.options.now?.() ?? Date.now()) < this.overflow.until) throw this.overflow.error;
    this.overflow = undefined;
  }

  /**
   * observe returns one object from the shared watch of its kind and namespace, started on first
   * use (a name new to a running watch is listed for once); undefined when it does not exist.
   * Throws like informerFor when it cannot connect.
   */
  async observe(
    user: string,
    info: ResourceInfo,
    namespace: string | undefined,
    name: string,
  ): Promise<KubeObject | undefined> {
    this.checkOverflow();
    const key = collectionKey(info, namespace);
    let observed = this.observed.get(key);
    let relist = false;
    if (!observed) {
      const names = new Map<string, Set<string>>([[name, new Set<string>()]]);
      const informer: Informer = new Informer({
        client: this.options.client,
        path: collectionPath(info, namespace),
        // Only what some Release observes is kept; the rest of the namespace passes by.
        accept: (obj) => names.has(obj.metadata.name ?? ''),
        ...this.budgeted(),
        name: `${this.options.client.name}/${key}`,
        logger: this.options.logger,
        // Someone else's object: nothing here reads its managedFields, nor a Secret's data
        // (observed as metadata only: its contents are never held, nor copied to a Release).
        transform: info.group === '' && info.kind === 'Secret' ? secretMetadataOnly : withoutManagedFields,
        pollIntervalMs: this.options.pollIntervalMs,
        endWhenNotServed: true,
        onGone: () => {
          if (this.observed.get(key)?.informer === informer) this.observed.delete(key);
        },
      });
      informer.addHandler((_type, obj) => {
        const users = names.get(obj.metadata.name ?? '');
        if (users) this.options.onObserved?.([...users]);
      });
      informer.start();
      observed = { informer, names };
      this.observed.set(key, observed);
    } else if (!observed.names.has(name)) {
      observed.names.set(name, new Set<string>());
      relist = true;
    }
    observed.names.get(name)?.add(user);
    const what = `${info.kind} ${namespace ? `${namespace}/` : ''}${name}`;
    await this.connected(observed.informer, what, info);
    // The running watch dropped this name until now: one list (shared by every name added
    // meanwhile) caches it.
    if (relist) {
      await observed.informer.relist();
      await this.connected(observed.informer, what, info);
    }
    return observed.informer.get(namespace, name);
  }

  /** observedWatches is the number of shared watches serving observed objects. */
  observedWatches(): number {
    return this.observed.size;
  }

  /** useObserved keeps a user's observed objects to `refs`, stopping watches nobody observes any more. */
  async useObserved(
    user: string,
    refs: ReadonlyArray<{ info: ResourceInfo; namespace?: string; name: string }>,
  ): Promise<void> {
    const keep = new Set(refs.map((r) => `${collectionKey(r.info, r.namespace)}/${r.name}`));
    const unused: Informer[] = [];
    for (const [key, o] of this.observed) {
      for (const [name, users] of o.names) {
        if (keep.has(`${key}/${name}`) || !users.delete(user) || users.size > 0) continue;
        o.names.delete(name);
        const slash = key.lastIndexOf('|');
        o.informer.evict(key.slice(slash + 1) || undefined, name);
      }
      if (o.names.size > 0) continue;
      this.observed.delete(key);
      unused.push(o.informer);
    }
    await Promise.all(unused.map((i) => i.stop()));
  }

  /**
   * connected waits until an informer is listed and connected: a broken watch is retried at once;
   * if it does not recover in time this throws the list or watch error, so callers report the
   * data plane unreachable instead of trusting a stale cache.
   */
  private async connected(informer: Informer, what: string, info: ResourceInfo): Promise<void> {
    if (!informer.isHealthy() && !informer.gone) {
      informer.retryNow();
      try {
        await informer.waitForHealthy(AbortSignal.timeout(this.options.syncTimeoutMs));
      } catch (cause) {
        const err = informer.lastSyncError;
        if (err instanceof Error) throw err;
        throw new KubeApiError(
          `watching ${what} on ${this.options.client.name}: no connection within ${this.options.syncTimeoutMs} ms`,
          {
            statusCode: 0,
            reason: 'Timeout',
            cause,
          },
        );
      }
    }
    if (informer.overflow) throw informer.overflow;
    if (informer.gone) {
      throw new KindNotServedError(
        info,
        `its list answers 404 (the CustomResourceDefinition was deleted, or the version is no longer served)`,
      );
    }
    // Stopped while we waited (the connection was replaced or nobody needs the kind): its cache
    // is empty, which must not read as "no objects".
    if (informer.stopped) {
      throw new KubeApiError(`watching ${what} on ${this.options.client.name}: the watch was stopped`, {
        statusCode: 0,
        reason: 'Stopped',
      });
    }
  }

  /** use records the kinds one user (a Release) needs and stops watches nobody needs any more. */
  async use(user: string, infos: ResourceInfo[]): Promise<void> {
    const next = sharedKinds(infos.map(kindKey));
    const previous = this.users.get(user) ?? [];
    for (const k of next) if (!previous.includes(k)) this.refs.set(k, (this.refs.get(k) ?? 0) + 1);
    this.users.set(user, next);
    await this.unref(previous.filter((k) => !next.includes(k)));
  }

  /** add records more kinds one user needs, keeping those it already had. */
  add(user: string, infos: ResourceInfo[]): void {
    const kinds = this.users.get(user) ?? [];
    const added = [...new Set(infos.map(kindKey))].filter((k) => !kinds.includes(k));
    for (const k of added) this.refs.set(k, (this.refs.get(k) ?? 0) + 1);
    this.users.set(user, sharedKinds([...kinds, ...added]));
  }

  /** release forgets a user's kinds and observed objects. */
  async release(user: string): Promise<void> {
    await this.useObserved(user, []);
    const kinds = this.users.get(user);
    if (!kinds) return;
    this.users.delete(user);
    await this.unref(kinds);
  }

  /** objectsOf lists the cached objects that carry a Release uid, once each across API versions. */
  objectsOf(releaseUid: string): ManagedObject[] {
    return [...(this.byRelease.get(releaseUid) ?? [])];
  }

  /** cachedObjects counts the objects in the caches of every watched kind (a gauge per data plane). */
  cachedObjects(): number {
    let n = 0;
    for (const w of this.kinds.values()) n += w.informer.size;
    return n;
  }

  /** watched lists every kind being watched. */
  watched(): WatchedKind[] {
    return [...this.kinds.values()];
  }

  /**
   * broken lists the watched kinds whose watch is not listed and connected, with their last error:
   * among one user's kinds (a Release's), or among all.
   */
  broken(user?: string): Array<{ info: ResourceInfo; error: unknown }> {
    const overflow = this.overflow;
    if (overflow) return overflow.kinds.map((info) => ({ info, error: overflow.error }));
    return this.watchedOf(user)
      .filter((w) => !w.informer.isHealthy())
      .map((w) => ({ info: w.info, error: w.informer.lastSyncError }));
  }

  /**
   * allHealthy tells whether every watch of one user's kinds (or of all) is listed and connected:
   * a complete picture, required before pruning. A Release's picture is the watches of its own
   * kinds (its spec and inventory): another Release's broken or still-listing watch is not its
   * business, and must not hold up its pruning or cleanup.
   */
  allHealthy(user?: string): boolean {
    // Closed over the budget: no watch, no picture (until the watches are started again).
    if (this.overflow) return false;
    return this.watchedOf(user).every((w) => w.informer.isHealthy());
  }

  /** watchedOf lists the running watches of one user's kinds, or all of them. */
  private watchedOf(user: string | undefined): WatchedKind[] {
    if (user === undefined) return [...this.kinds.values()];
    return (this.users.get(user) ?? []).flatMap((k) => {
      const watched = this.kinds.get(k);
      return watched ? [watched] : [];
    });
  }

  /** stop ends every watch. */
  async stop(): Promise<void> {
    await this.closeAll();
  }

  /** closeAll ends every watch and forgets every cached object. */
  private async closeAll(): Promise<void> {
    const all = [...this.kinds.values()].map((w) => w.informer);
    all.push(...[...this.observed.values()].map((o) => o.informer));
    this.kinds.clear();
    this.observed.clear();
    this.byRelease.clear();
    await Promise.all(all.map((i) => i.stop()));
  }

  private async unref(kinds: readonly string[]): Promise<void> {
    const unused: WatchedKind[] = [];
    for (const k of kinds) {
      const n = (this.refs.get(k) ?? 1) - 1;
      if (n > 0) {
        this.refs.set(k, n);
        continue;
      }
      this.refs.delete(k);
      const watched = this.kinds.get(k);
      if (!watched) continue;
      this.kinds.delete(k);
      for (const obj of watched.informer.list()) this.index(watched.info, undefined, obj);
      unused.push(watched);
    }
    await Promise.all(unused.map((w) => w.informer.stop()));
  }

  /** index moves one object in byRelease: `old` out, `obj` in (either may be absent). */
  private index(info: ResourceInfo, obj: KubeObject | undefined, old: KubeObject | undefined): void {
    // Indexed by the uid alone: an object that carries a Release's uid is that Release's, with or
    // without an id label, so cleanup finds it.
    const uidOf = (o: KubeObject) => trackingOf(o)?.uid || undefined;
    const oldUid = old ? uidOf(old) : undefined;
    if (old && oldUid) {
      const entries = this.byRelease.get(oldUid) ?? [];
      // Another API version of the same kind may hold the entry; remove only our own.
      const at = entries.findIndex((e) => e.info === info && sameObject(e, info, old));
      if (at >= 0) entries.splice(at, 1);
      if (entries.length === 0) this.byRelease.delete(oldUid);
    }
    const uid = obj ? uidOf(obj) : undefined;
    if (obj && uid) {
      let entries = this.byRelease.get(uid);
      if (!entries) this.byRelease.set(uid, (entries = []));
      const at = entries.findIndex((e) => sameObject(e, info, obj));
      if (at >= 0) entries[at] = { object: obj, info };
      else entries.push({ object: obj, info });
    }
  }
}

/** kindSets keeps one frozen copy of each distinct list of kinds that users need. */
const kindSets = new TreeInterner();

/** sharedKinds returns the shared copy of a set of kindKeys (sorted, each once). */
function sharedKinds(kinds: Iterable<string>): readonly string[] {
  return kindSets.intern([...new Set(kinds)].sort());
}

/** sameObject tells whether an indexed entry is the object `obj` of kind `info`, in any API version. */
function sameObject(entry: ManagedObject, info: ResourceInfo, obj: KubeObject): boolean {
  return (
    entry.info.kind === info.kind &&
    entry.info.group === info.group &&
    entry.object.metadata.name === obj.metadata.name &&
    (entry.object.metadata.namespace ?? '') === (obj.metadata.namespace ?? '')
  );
}
