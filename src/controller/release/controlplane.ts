/**
 * Writes to the Release on the control plane: status (merge patch on the status subresource) and
 * our finalizer (JSON patch guarded by a test, so a stale copy never clobbers other finalizers).
 * The reconciler keeps the response of its last write, because the watch cache may not have
 * caught up when the next reconcile of the same Release starts.
 */
import { API_VERSION, FINALIZER, STATUS_FIELD_MANAGER } from '../../api/v1alpha1/constants.ts';
import type { Release, ReleaseStatus } from '../../api/v1alpha1/schema.ts';
import type { KubeClient } from '../../kube/client.ts';
import { withoutManagedFields } from '../../api/object.ts';
import { isKubeApiError } from '../../kube/client.ts';

/** releasePath is the REST path of one Release. */
export function releasePath(namespace: string, name: string): string {
  return `/apis/${API_VERSION}/namespaces/${encodeURIComponent(namespace)}/releases/${encodeURIComponent(name)}`;
}

/** ReleaseStore is what the reconciler writes on Releases, and its memory of its own writes. */
export interface ReleaseStore {
  freshest(cached: Release): Release;
  forget(key: string): void;
  writeStatus(release: Release, status: ReleaseStatus, signal?: AbortSignal): Promise<Release>;
  addFinalizer(release: Release, signal?: AbortSignal): Promise<Release>;
  removeFinalizer(release: Release, signal?: AbortSignal): Promise<void>;
}

/** ReleaseWriter writes Release status and finalizers on the control plane. */
export class ReleaseWriter implements ReleaseStore {
  private readonly written = new Map<string, Release>();

  constructor(private readonly client: KubeClient) {}

  /**
   * freshest returns our last written copy when the cache has not caught up with it yet
   * (resourceVersions of one etcd are increasing integers), else the cached copy.
   */
  freshest(cached: Release): Release {
    const key = `${cached.metadata.namespace}/${cached.metadata.name}`;
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

  /** forget drops what we remember of a Release. */
  forget(key: string): void {
    this.written.delete(key);
  }

  /** writeStatus replaces the status of a Release. */
  async writeStatus(release: Release, status: ReleaseStatus, signal?: AbortSignal): Promise<Release> {
    const updated = await this.client.request<Release>({
      method: 'PATCH',
      path: `${releasePath(release.metadata.namespace ?? '', release.metadata.name)}/status`,
      query: { fieldManager: STATUS_FIELD_MANAGER },
      body: { status },
      contentType: 'application/merge-patch+json',
      signal,
    });
    return this.remember(updated);
  }

  /** addFinalizer adds our finalizer, failing with 409/422 if the copy was stale. */
  async addFinalizer(release: Release, signal?: AbortSignal): Promise<Release> {
    const finalizers = release.metadata.finalizers;
    const ops = [
      { op: 'test', path: '/metadata/uid', value: release.metadata.uid },
      finalizers
        ? { op: 'add', path: '/metadata/finalizers/-', value: FINALIZER }
        : { op: 'add', path: '/metadata/finalizers', value: [FINALIZER] },
    ];
    if (finalizers) ops.unshift({ op: 'test', path: '/metadata/finalizers', value: finalizers });
    return this.remember(await this.patch(release, ops, signal));
  }

  /** removeFinalizer removes our finalizer; a Release that is already gone is fine. */
  async removeFinalizer(release: Release, signal?: AbortSignal): Promise<void> {
    const i = release.metadata.finalizers?.indexOf(FINALIZER) ?? -1;
    if (i < 0) return;
    try {
      await this.patch(
        release,
        [
          { op: 'test', path: `/metadata/finalizers/${i}`, value: FINALIZER },
          { op: 'remove', path: `/metadata/finalizers/${i}` },
        ],
        signal,
      );
    } catch (err) {
      if (!(isKubeApiError(err) && err.isNotFound)) throw err;
    }
    this.forget(`${release.metadata.namespace}/${release.metadata.name}`);
  }

  private patch(release: Release, ops: unknown[], signal?: AbortSignal): Promise<Release> {
    return this.client.request<Release>({
      method: 'PATCH',
      path: releasePath(release.metadata.namespace ?? '', release.metadata.name),
      query: { fieldManager: STATUS_FIELD_MANAGER },
      body: ops,
      contentType: 'application/json-patch+json',
      signal,
    });
  }

  private remember(release: Release): Release {
    const slim = withoutManagedFields<Release>(release);
    this.written.set(`${release.metadata.namespace}/${release.metadata.name}`, slim);
    return slim;
  }
}
