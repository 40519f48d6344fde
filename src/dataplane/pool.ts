/**
 * DataPlanePool caches one direct connection (a DirectDataPlane: client, discovery, watches) per
 * DataPlane and rebuilds it when the DataPlane's cluster spec or its kubeconfig Secret changes, so
 * rotated credentials take effect without a restart and unchanged ones cost nothing.
 */
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { KubeObject } from '../api/object.ts';
import type { DataPlane } from '../api/v1alpha1/schema.ts';
import type { InformerEventType } from '../kube/informer.ts';
import type { RequestObserver } from '../kube/client.ts';
import { accessFromInline, accessFromSecret, type SecretLike } from './credentials.ts';
import { clientFor } from '../kube/kubeconfig.ts';
import { DirectDataPlane } from './direct.ts';
import { WatchSet } from './watches.ts';

/** DataPlanePoolOptions configures a DataPlanePool. */
export interface DataPlanePoolOptions {
  logger: Logger;
  requestTimeoutMs: number;
  /** observer returns the request observer (metrics) of one data plane. */
  observer?: (dataPlane: string) => RequestObserver;
  onEvent: (dataPlane: string, type: InformerEventType, obj: KubeObject) => void;
  /** onHealthChange is told when a watch of a data plane breaks or recovers. */
  onHealthChange?: (dataPlane: string, healthy: boolean) => void;
  /** onObserved is told which users (Release keys) observe an object of a data plane that changed. */
  onObserved?: (dataPlane: string, users: string[]) => void;
}

/** DataPlanePool owns every data-plane connection. */
export class DataPlanePool {
  private readonly connections = new Map<string, DirectDataPlane>();
  private readonly building = new Map<string, Promise<DirectDataPlane>>();

  constructor(private readonly options: DataPlanePoolOptions) {}

  /** connect returns the connection for a DataPlane, building or rebuilding it when needed. */
  async connect(dp: DataPlane, secret: SecretLike | undefined): Promise<DirectDataPlane> {
    const key = `${dp.metadata.namespace}/${dp.metadata.name}`;
    const fingerprint = fingerprintOf(dp, secret);
    const current = this.connections.get(key);
    if (current?.fingerprint === fingerprint) return current;
    const pending = this.building.get(key);
    if (pending) {
      const conn = await pending;
      if (conn.fingerprint === fingerprint) return conn;
    }
    const build = this.build(key, fingerprint, dp, secret);
    this.building.set(key, build);
    try {
      const conn = await build;
      const old = this.connections.get(key);
      this.connections.set(key, conn);
      if (old) {
        this.options.logger.info({ dataPlane: key }, 'data-plane credentials changed; reconnecting');
        await old.close();
      }
      return conn;
    } finally {
      if (this.building.get(key) === build) this.building.delete(key);
    }
  }

  /** get returns the current connection of a DataPlane without building one. */
  get(key: string): DirectDataPlane | undefined {
    return this.connections.get(key);
  }

  /** forget closes and drops the connection of a deleted DataPlane. */
  async forget(key: string): Promise<void> {
    const conn = this.connections.get(key);
    this.connections.delete(key);
    if (conn) await conn.close();
  }

  /** close ends every connection. */
  async close(): Promise<void> {
    const all = [...this.connections.values()];
    this.connections.clear();
    await Promise.all(all.map((c) => c.close()));
  }

  private async build(
    key: string,
    fingerprint: string,
    dp: DataPlane,
    secret: SecretLike | undefined,
  ): Promise<DirectDataPlane> {
    const access = dp.spec.kubernetesCluster.secretRef
      ? await accessFromSecret(dp, secret)
      : accessFromInline(dp);
    const client = clientFor(access, {
      name: `data plane ${key}`,
      timeoutMs: this.options.requestTimeoutMs,
      observer: this.options.observer?.(key),
    });
    const watches = new WatchSet({
      client,
      logger: this.options.logger.child({ dataPlane: key }),
      syncTimeoutMs: this.options.requestTimeoutMs,
      onEvent: (type, obj) => this.options.onEvent(key, type, obj),
      onHealthChange: (healthy) => this.options.onHealthChange?.(key, healthy),
      onObserved: (users) => this.options.onObserved?.(key, users),
    });
    return new DirectDataPlane(key, fingerprint, client, watches);
  }
}

/** fingerprints remembers the hash of each cached object, so an unchanged one is hashed once. */
const fingerprints = new WeakMap<object, string>();

function hashOnce(value: object): string {
  let hash = fingerprints.get(value);
  if (hash === undefined) {
    hash = createHash('sha256').update(JSON.stringify(value)).digest('base64url');
    fingerprints.set(value, hash);
  }
  return hash;
}

/**
 * fingerprintOf identifies what a connection was built from. Informer caches replace an object
 * when it changes, so hashing is keyed by object identity: a reconcile that finds the same
 * DataPlane and Secret objects costs no hashing of their (kilobytes of) credentials.
 */
function fingerprintOf(dp: DataPlane, secret: SecretLike | undefined): string {
  const cluster = hashOnce(dp.spec.kubernetesCluster);
  if (!dp.spec.kubernetesCluster.secretRef) return cluster;
  return `${cluster}/${secret?.data ? hashOnce(secret.data) : 'none'}`;
}
