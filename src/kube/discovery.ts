/**
 * Discovery maps a kind to its REST resource on one cluster. It reads only the group-version
 * documents it needs (`/api/v1`, `/apis/<group>/<version>`), caches them, and asks again when a
 * kind is missing and the cached answer is older than a second, so a CRD installed a moment ago is
 * found without polling the whole discovery tree. A failed request is remembered for a few seconds
 * (FAILURE_TTL_MS), and one that got no answer at all for every group-version of the cluster: a
 * data plane that accepts connections and never answers costs one timeout, not one per object.
 * The cache is bounded: at most MAX_CACHED_GROUP_VERSIONS documents, least recently used out, and
 * an answer "not served" is dropped after NEGATIVE_TTL_MS.
 */
import type { GroupVersionKind } from '../api/object.ts';
import { apiVersionProblem, formatApiVersion, isRecord } from '../api/object.ts';
import { nearestName } from '../api/text.ts';
import type { KubeClient } from './client.ts';
import { isKubeApiError, type KubeApiError } from './client.ts';

/** ResourceInfo is how a kind is served. */
export interface ResourceInfo extends GroupVersionKind {
  /** resource is the plural REST name, e.g. `deployments`. */
  resource: string;
  namespaced: boolean;
  verbs: string[];
}

/** KindNotServedError says the cluster does not serve a kind (CRD not installed, or version removed). */
export class KindNotServedError extends Error {
  readonly gvk: GroupVersionKind;
  constructor(gvk: GroupVersionKind, why: string) {
    super(`the data plane does not serve ${gvk.kind} in ${formatApiVersion(gvk.group, gvk.version)}: ${why}`);
    this.name = 'KindNotServedError';
    this.gvk = gvk;
  }
}

const REFRESH_AFTER_MISS_MS = 1_000;
/**
 * MAX_CACHED_GROUP_VERSIONS bounds the documents one Discovery keeps, least recently used first
 * out: tenants choose the group-versions asked for, and a cluster serves far fewer (a cluster with
 * many CRDs, a few hundred).
 */
export const MAX_CACHED_GROUP_VERSIONS = 1_000;
/**
 * NEGATIVE_TTL_MS is how long the answer "this group-version is not served" is kept at all (it is
 * asked again after REFRESH_AFTER_MISS_MS anyway when that kind is looked up): made-up
 * group-versions must not stay in memory until the cache is next cleared.
 */
export const NEGATIVE_TTL_MS = 60_000;
/**
 * FAILURE_TTL_MS is how long a failed discovery request is answered from memory. Long enough that
 * the objects of one pass (and the other Releases on the same data plane) do not each wait for a
 * timeout; short enough that a data plane that comes back is found at the next reconcile.
 */
export const FAILURE_TTL_MS = 5_000;

interface GroupVersionDoc {
  fetchedAt: number;
  /** kinds is undefined when the group-version itself is not served. */
  kinds: Map<string, ResourceInfo> | undefined;
}

interface CachedDoc {
  doc: Promise<GroupVersionDoc>;
  /** failedUntil is set once the request failed: until then the failure is the answer. */
  failedUntil?: number;
  /** expiresAt is set on a "not served" answer: after it the entry is dropped (NEGATIVE_TTL_MS). */
  expiresAt?: number;
}

/** Discovery resolves kinds to resources for one cluster. */
export class Discovery {
  private readonly docs = new Map<string, CachedDoc>();
  /** down is the last "no answer" of the cluster, answered for every group-version until `until`. */
  private down: { until: number; error: KubeApiError } | undefined;

  constructor(private readonly client: KubeClient) {}

  /** resolve returns how a kind is served, or throws KindNotServedError. */
  async resolve(gvk: GroupVersionKind): Promise<ResourceInfo> {
    const key = formatApiVersion(gvk.group, gvk.version);
    // Never a request: the group and version would be path segments (a tenant wrote them).
    const problem = apiVersionProblem(key);
    if (problem) throw new KindNotServedError(gvk, problem);
    let doc = await this.load(key, false);
    if (!doc.kinds?.has(gvk.kind) && performance.now() - doc.fetchedAt > REFRESH_AFTER_MISS_MS) {
      doc = await this.load(key, true);
    }
    if (!doc.kinds) throw new KindNotServedError(gvk, `API version ${key} is not served`);
    const info = doc.kinds.get(gvk.kind);
    if (!info) {
      // A typo of a served kind (Deploymnet, configmap) says which one was probably meant; kinds
      // are short and alike, so fewer edits count as a typo than for flags.
      const guess = nearestName(gvk.kind, doc.kinds.keys(), { ignoreCase: true, charactersPerEdit: 4 });
      throw new KindNotServedError(
        gvk,
        `no kind ${gvk.kind} in ${key}${guess ? `; did you mean ${guess}?` : ''}`,
      );
    }
    return info;
  }

  /** invalidate forgets every cached document (after the cluster changed or was replaced). */
  invalidate(): void {
    this.docs.clear();
    this.down = undefined;
  }

  /** size is the number of group-version documents cached (bounded by MAX_CACHED_GROUP_VERSIONS). */
  get size(): number {
    return this.docs.size;
  }

  private load(groupVersion: string, refresh: boolean): Promise<GroupVersionDoc> {
    const now = performance.now();
    const cached = this.docs.get(groupVersion);
    if (cached?.failedUntil !== undefined) {
      if (now < cached.failedUntil) return cached.doc;
      this.docs.delete(groupVersion);
    } else if (cached && !refresh) {
      // Least recently used first out: a hit moves the document to the end.
      this.docs.delete(groupVersion);
      this.docs.set(groupVersion, cached);
      return cached.doc;
    }
    if (this.down && now < this.down.until) return Promise.reject(this.down.error);
    const entry: CachedDoc = { doc: this.fetch(groupVersion) };
    this.docs.delete(groupVersion);
    this.docs.set(groupVersion, entry);
    this.evict(now);
    entry.doc
      .then((doc) => {
        if (!doc.kinds) entry.expiresAt = doc.fetchedAt + NEGATIVE_TTL_MS;
      })
      .catch((err: unknown) => {
        const until = performance.now() + FAILURE_TTL_MS;
        if (this.docs.get(groupVersion) === entry) entry.failedUntil = until;
        if (isKubeApiError(err) && err.isUnreachable) this.down = { until, error: err };
      });
    return entry.doc;
  }

  /**
   * evict drops expired negative answers and failures, then the least recently used documents
   * over MAX_CACHED_GROUP_VERSIONS.
   */
  private evict(now: number): void {
    for (const [key, entry] of this.docs) {
      const until = entry.failedUntil ?? entry.expiresAt;
      if (until !== undefined && now >= until) this.docs.delete(key);
    }
    for (const key of this.docs.keys()) {
      if (this.docs.size <= MAX_CACHED_GROUP_VERSIONS) break;
      this.docs.delete(key);
    }
  }

  private async fetch(groupVersion: string): Promise<GroupVersionDoc> {
    const [group = '', version = ''] = groupVersion.includes('/')
      ? groupVersion.split('/')
      : ['', groupVersion];
    const path = groupVersionPath(group, version);
    try {
      const doc = await this.client.request<unknown>({ method: 'GET', path });
      const kinds = new Map<string, ResourceInfo>();
      const list = isRecord(doc) && Array.isArray(doc['resources']) ? doc['resources'] : [];
      for (const r of list) {
        if (!isRecord(r) || typeof r['name'] !== 'string' || typeof r['kind'] !== 'string') continue;
        if (r['name'].includes('/')) continue; // subresources such as deployments/status
        kinds.set(r['kind'], {
          group,
          version,
          kind: r['kind'],
          resource: r['name'],
          namespaced: r['namespaced'] === true,
          verbs: Array.isArray(r['verbs'])
            ? r['verbs'].filter((v): v is string => typeof v === 'string')
            : [],
        });
      }
      return { fetchedAt: performance.now(), kinds };
    } catch (err) {
      if (isKubeApiError(err) && err.isNotFound) return { fetchedAt: performance.now(), kinds: undefined };
      throw err;
    }
  }
}

/**
 * groupVersionPath is the REST path of a group-version. Every segment is encoded: they come from
 * tenants' objects and data planes' answers, and a `?`, `/` or space in one must stay in it.
 */
export function groupVersionPath(group: string, version: string): string {
  return group === ''
    ? `/api/${encodeURIComponent(version)}`
    : `/apis/${encodeURIComponent(group)}/${encodeURIComponent(version)}`;
}

/** collectionPath is the REST path of a kind's collection, in a namespace or cluster-wide (every segment encoded). */
export function collectionPath(info: ResourceInfo, namespace?: string): string {
  const prefix = groupVersionPath(info.group, info.version);
  const resource = encodeURIComponent(info.resource);
  return info.namespaced && namespace
    ? `${prefix}/namespaces/${encodeURIComponent(namespace)}/${resource}`
    : `${prefix}/${resource}`;
}

/** objectPath is the REST path of one object. */
export function objectPath(info: ResourceInfo, namespace: string | undefined, name: string): string {
  return `${collectionPath(info, info.namespaced ? namespace : undefined)}/${encodeURIComponent(name)}`;
}
