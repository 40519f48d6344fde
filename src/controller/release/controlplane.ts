/**
 * Writes on the control plane: a Release's status (merge patch on the status subresource) and our
 * finalizer (JSON patch guarded by a test, so a stale copy never clobbers other finalizers), and
 * the in-use finalizer of what Releases resolve through (protection.ts; merge patch guarded by the
 * resourceVersion). The reconciler keeps the response of its last write, because the watch cache
 * may not have caught up when the next reconcile of the same Release starts.
 */
import {
  Annotations,
  API_VERSION,
  CONTROLLER_NAME,
  IN_USE_FINALIZER,
  IN_USE_LABEL,
  STATUS_FIELD_MANAGER,
} from '../../api/v1alpha1/constants.ts';
import {
  FINALIZERS,
  profileOf,
  RELEASE_PROFILE,
  releaseKeyOf,
  type KindProfile,
} from '../../api/v1alpha1/profile.ts';
import type { Release, ReleaseStatus } from '../../api/v1alpha1/schema.ts';
import type { KubeClient } from '../../kube/client.ts';
import type { KubeObject } from '../../api/object.ts';
import { isKubeApiError } from '../../kube/client.ts';
import { slimRelease } from './budget.ts';
import type { ProtectedKind, ProtectionChange, ProtectionStore } from './protection.ts';

/** releasesPath is the REST path of a namespace's Releases (of the kind its profile names). */
export function releasesPath(namespace: string, profile: KindProfile = RELEASE_PROFILE): string {
  return `/apis/${API_VERSION}/namespaces/${encodeURIComponent(namespace)}/${profile.plural}`;
}

/** releasePath is the REST path of one Release (of the kind its profile names: releases or renderedreleases). */
export function releasePath(namespace: string, name: string, profile: KindProfile = RELEASE_PROFILE): string {
  return `${releasesPath(namespace, profile)}/${encodeURIComponent(name)}`;
}

/** ReleaseStore is what the reconciler writes on Releases, and its memory of its own writes. */
export interface ReleaseStore {
  freshest(cached: Release): Release;
  forget(key: string): void;
  writeStatus(release: Release, status: ReleaseStatus, signal?: AbortSignal): Promise<Release>;
  /**
   * addFinalizer adds our finalizer when it is missing and, given `placement`, sets the placement
   * annotation, in one write (the placement is recorded before the first apply on a cluster).
   */
  addFinalizer(release: Release, signal?: AbortSignal, placement?: string): Promise<Release>;
  removeFinalizer(release: Release, signal?: AbortSignal): Promise<void>;
}

/** ReleaseWriter writes Release status and finalizers on the control plane. */
export class ReleaseWriter implements ReleaseStore {
  /** written is our last written copy of each Release, until the cache has it. */
  private readonly written = new Map<string, Release>();
  /**
   * versions are the resourceVersions of each of our writes the cache has not delivered yet: two
   * writes of one reconcile (the finalizer, then the status) can both be in flight, and the echo
   * of the first arrives when the second is already the last.
   */
  private readonly versions = new Map<string, string[]>();
  /**
   * finalized is the uid of each Release whose finalizer we removed, until its deletion arrives:
   * a reconcile woken meanwhile (by the delete events of its objects) would otherwise read the
   * cached copy, still with the finalizer, sweep again and remove the finalizer a second time.
   */
  private readonly finalized = new Map<string, string>();

  /**
   * `cached` returns the cache's copy of a Release (of its kind). The watch may deliver the echo
   * of a write before the write's own answer is read; that copy is then already as fresh as ours,
   * and keeping ours would hold a second copy of the Release until its next resync (171 of 1,000
   * Releases in one bench run, docs/performance.md, "Memory per Release").
   */
  constructor(
    private readonly client: KubeClient,
    private readonly cached: (release: Release) => Release | undefined = () => undefined,
  ) {}

  /**
   * freshest returns our last written copy when the cache has not caught up with it yet
   * (resourceVersions of one etcd are increasing integers), else the cached copy; without our
   * finalizers once we removed them.
   */
  freshest(cached: Release): Release {
    const key = releaseKeyOf(cached);
    if (this.finalized.get(key) === cached.metadata.uid) {
      const finalizers = (cached.metadata.finalizers ?? []).filter((f) => !FINALIZERS.includes(f));
      return { ...cached, metadata: { ...cached.metadata, finalizers } };
    }
    const ours = this.written.get(key);
    if (
      ours &&
      ours.metadata.uid === cached.metadata.uid &&
      Number(ours.metadata.resourceVersion) > Number(cached.metadata.resourceVersion)
    ) {
      return ours;
    }
    this.written.delete(key);
    return cached;
  }

  /**
   * seen is told each copy of a Release the cache receives: once the cache holds our last write
   * (or a later version), our copy of it goes. Without this, every Release's last status write
   * stayed in memory, a second copy of it, until its next reconcile (the resync, minutes later).
   * It returns true when the copy is one of our writes itself: its echo, which the reconcile that
   * wrote it has already taken into account, so it needs no reconcile of its own.
   */
  seen(cached: Release): boolean {
    const key = releaseKeyOf(cached);
    const ours = this.written.get(key);
    const uid = cached.metadata.uid;
    const rv = Number(cached.metadata.resourceVersion);
    if (ours && (ours.metadata.uid !== uid || Number(ours.metadata.resourceVersion) <= rv)) {
      this.written.delete(key);
    }
    if (this.finalized.has(key) && this.finalized.get(key) !== uid) this.finalized.delete(key);
    const versions = this.versions.get(key) ?? [];
    const echo = ours?.metadata.uid === uid && versions.includes(cached.metadata.resourceVersion ?? '');
    const pending = ours?.metadata.uid === uid ? versions.filter((v) => Number(v) > rv) : [];
    if (pending.length > 0) this.versions.set(key, pending);
    else this.versions.delete(key);
    return echo;
  }

  /** size is the number of Releases whose last write the cache has not delivered yet. */
  get size(): number {
    return this.written.size;
  }

  /** forget drops what we remember of a Release. */
  forget(key: string): void {
    this.written.delete(key);
    this.versions.delete(key);
    this.finalized.delete(key);
  }

  /** writeStatus replaces the status of a Release. */
  async writeStatus(release: Release, status: ReleaseStatus, signal?: AbortSignal): Promise<Release> {
    // A merge patch keeps a field it does not name: a field the new status drops is sent as null.
    const removed = Object.keys(release.status ?? {}).filter(
      (k) => (status as Record<string, unknown>)[k] === undefined,
    );
    const body = { ...status, ...Object.fromEntries(removed.map((k) => [k, null])) };
    const updated = await this.client.request<Release>({
      method: 'PATCH',
      path: `${releasePath(release.metadata.namespace ?? '', release.metadata.name, profileOf(release))}/status`,
      query: { fieldManager: profileOf(release).statusFieldManager },
      body: { status: body },
      contentType: 'application/merge-patch+json',
      signal,
    });
    return this.remember(updated);
  }

  /**
   * addFinalizer adds our finalizer (of the Release's kind and plane, when missing) and the placement annotation (when given) in
   * one JSON patch, failing with 409/422 if the copy was stale: the finalizer list and an absent
   * annotation map are tested, so nobody else's finalizer or annotation is ever replaced.
   */
  async addFinalizer(release: Release, signal?: AbortSignal, placement?: string): Promise<Release> {
    const { finalizers, annotations } = release.metadata;
    const finalizer = profileOf(release).finalizer(release);
    const ops: unknown[] = [{ op: 'test', path: '/metadata/uid', value: release.metadata.uid }];
    if (!finalizers?.includes(finalizer)) {
      if (finalizers) ops.push({ op: 'test', path: '/metadata/finalizers', value: finalizers });
      ops.push(
        finalizers
          ? { op: 'add', path: '/metadata/finalizers/-', value: finalizer }
          : { op: 'add', path: '/metadata/finalizers', value: [finalizer] },
      );
    }
    if (placement !== undefined) {
      if (annotations) {
        ops.push({
          op: 'add',
          path: `/metadata/annotations/${pointerToken(Annotations.placement)}`,
          value: placement,
        });
      } else {
        // Adding the whole map is safe only while there is none: the test fails once someone added one.
        ops.push({ op: 'test', path: '/metadata/annotations', value: null });
        ops.push({ op: 'add', path: '/metadata/annotations', value: { [Annotations.placement]: placement } });
      }
    }
    if (ops.length === 1) return release;
    return this.remember(await this.patch(release, ops, signal));
  }

  /** removeFinalizer removes our finalizers (either, FINALIZERS); a Release that is already gone is fine. */
  async removeFinalizer(release: Release, signal?: AbortSignal): Promise<void> {
    const finalizers = release.metadata.finalizers ?? [];
    // From the last, so each index stays right while the ones before it are removed.
    const ours = finalizers.flatMap((f, i) => (FINALIZERS.includes(f) ? [i] : [])).reverse();
    if (ours.length === 0) return;
    const key = releaseKeyOf(release);
    try {
      await this.patch(
        release,
        ours.flatMap((i) => [
          { op: 'test', path: `/metadata/finalizers/${i}`, value: finalizers[i] },
          { op: 'remove', path: `/metadata/finalizers/${i}` },
        ]),
        signal,
      );
    } catch (err) {
      if (!(isKubeApiError(err) && err.isNotFound)) throw err;
    }
    this.forget(key);
    if (release.metadata.uid) this.finalized.set(key, release.metadata.uid);
  }

  private patch(release: Release, ops: unknown[], signal?: AbortSignal): Promise<Release> {
    return this.client.request<Release>({
      method: 'PATCH',
      path: releasePath(release.metadata.namespace ?? '', release.metadata.name, profileOf(release)),
      query: { fieldManager: profileOf(release).statusFieldManager },
      body: ops,
      contentType: 'application/json-patch+json',
      signal,
    });
  }

  private remember(release: Release): Release {
    const slim = slimRelease(release);
    const key = releaseKeyOf(release);
    const cached = this.cached(release);
    if (
      cached &&
      cached.metadata.uid === release.metadata.uid &&
      Number(cached.metadata.resourceVersion) >= Number(release.metadata.resourceVersion)
    ) {
      // The echo came before the answer: the cache is as fresh as this write, and no echo of it
      // (or of an earlier write) is still to come.
      this.written.delete(key);
      this.versions.delete(key);
      return slim;
    }
    const previous = this.written.get(key);
    const versions = previous?.metadata.uid === release.metadata.uid ? (this.versions.get(key) ?? []) : [];
    this.written.set(key, slim);
    this.versions.set(key, [...versions, release.metadata.resourceVersion ?? '']);
    return slim;
  }
}

const PROTECTED_PATHS: Record<ProtectedKind, string> = {
  Environment: `/apis/${API_VERSION}/namespaces/{ns}/environments`,
  DataPlane: `/apis/${API_VERSION}/namespaces/{ns}/dataplanes`,
  Secret: '/api/v1/namespaces/{ns}/secrets',
};

function protectedPath(kind: ProtectedKind, namespace: string, name?: string): string {
  const base = PROTECTED_PATHS[kind].replace('{ns}', encodeURIComponent(namespace));
  return name === undefined ? base : `${base}/${encodeURIComponent(name)}`;
}

interface ObjectList {
  items: KubeObject[];
}

/** ProtectionWriter reads and writes the in-use finalizer of Environments, DataPlanes and Secrets. */
export class ProtectionWriter implements ProtectionStore {
  constructor(private readonly client: KubeClient) {}

  async protectedSecrets(namespace: string, signal: AbortSignal): Promise<KubeObject[]> {
    const list = await this.client.request<ObjectList>({
      method: 'GET',
      path: protectedPath('Secret', namespace),
      query: { labelSelector: IN_USE_LABEL },
      signal,
    });
    return list.items.map(metadataOnly);
  }

  async secret(namespace: string, name: string, signal: AbortSignal): Promise<KubeObject | undefined> {
    try {
      const secret = await this.client.request<KubeObject>({
        method: 'GET',
        path: protectedPath('Secret', namespace, name),
        signal,
      });
      return metadataOnly(secret);
    } catch (err) {
      if (isKubeApiError(err) && err.isNotFound) return undefined;
      throw err;
    }
  }

  /**
   * setProtection replaces the finalizer list, guarded by the resourceVersion it was computed
   * from (a stale copy fails with 409 and is retried from the cache). A Secret is labelled while
   * protected. An object that is already gone needs nothing.
   */
  async setProtection(change: ProtectionChange, signal: AbortSignal): Promise<void> {
    const { metadata } = change.object;
    const others = (metadata.finalizers ?? []).filter((f) => f !== IN_USE_FINALIZER);
    const finalizers = change.protect ? [...others, IN_USE_FINALIZER] : others;
    const labels =
      change.kind === 'Secret' ? { [IN_USE_LABEL]: change.protect ? CONTROLLER_NAME : null } : undefined;
    try {
      await this.client.request({
        method: 'PATCH',
        path: protectedPath(change.kind, metadata.namespace ?? '', metadata.name),
        query: { fieldManager: STATUS_FIELD_MANAGER },
        body: {
          metadata: { resourceVersion: metadata.resourceVersion, finalizers, ...(labels && { labels }) },
        },
        contentType: 'application/merge-patch+json',
        signal,
      });
    } catch (err) {
      if (!(isKubeApiError(err) && err.isNotFound)) throw err;
    }
  }
}

/** pointerToken escapes a key as one JSON pointer token (RFC 6901). */
function pointerToken(key: string): string {
  return key.replaceAll('~', '~0').replaceAll('/', '~1');
}

/** metadataOnly keeps a Secret's metadata: its data is never needed here. */
function metadataOnly(object: KubeObject): KubeObject {
  return { apiVersion: object.apiVersion, kind: object.kind, metadata: object.metadata };
}

/**
 * ReleaseReader reads Releases this process does not cache (--release-selector: other shards'),
 * for what must still see them: whether an object's owner lives, and what a namespace's Releases
 * resolve through.
 */
export class ReleaseReader {
  /** profile is the kind read (Release or RenderedRelease: one reader per served kind). */
  constructor(
    private readonly client: KubeClient,
    private readonly profile: KindProfile = RELEASE_PROFILE,
  ) {}

  /** uid returns the uid of Release namespace/name, or undefined when it does not exist. */
  async uid(namespace: string, name: string, signal?: AbortSignal): Promise<string | undefined> {
    try {
      const release = await this.client.request<KubeObject>({
        method: 'GET',
        path: releasePath(namespace, name, this.profile),
        ...(signal && { signal }),
      });
      return release.metadata.uid ?? '';
    } catch (err) {
      if (isKubeApiError(err) && err.isNotFound) return undefined;
      throw new Error(
        `reading ${this.profile.kind} ${namespace}/${name} (outside this shard's cache) failed`,
        {
          cause: err,
        },
      );
    }
  }

  /** inNamespace lists every Release of a namespace (every shard's), managedFields dropped. */
  async inNamespace(namespace: string, signal: AbortSignal): Promise<Release[]> {
    const list = await this.client.request<{ items: KubeObject[] }>({
      method: 'GET',
      path: releasesPath(namespace, this.profile),
      signal,
    });
    return list.items.map((obj) => slimRelease(obj.kind ? obj : { ...obj, kind: this.profile.kind }));
  }
}
