/**
 * TestKube: a small admin client for tests, on our own raw client and discovery, so tests read
 * exactly what the API server stores.
 */
import type { Cluster } from '../../testbed/cluster.ts';
import type { KubeObject } from '../../src/api/object.ts';
import { parseApiVersion } from '../../src/api/object.ts';
import { KubeClient, isKubeApiError, type Connector } from '../../src/kube/client.ts';
import { collectionPath, Discovery, objectPath } from '../../src/kube/discovery.ts';

/** TestKube talks to one test cluster as admin. */
export class TestKube {
  readonly client: KubeClient;
  readonly discovery: Discovery;

  /** `connect` reaches the cluster another way than directly (the bench's tunnel, src/dataplane/tunnel.ts). */
  constructor(
    readonly cluster: Pick<Cluster, 'server' | 'caData' | 'certData' | 'keyData' | 'name'>,
    connect?: Connector,
  ) {
    this.client = new KubeClient({
      ...(connect ? { connect } : {}),
      name: cluster.name,
      server: cluster.server,
      ca: Buffer.from(cluster.caData, 'base64'),
      cert: Buffer.from(cluster.certData, 'base64'),
      key: Buffer.from(cluster.keyData, 'base64'),
      maxRetries: 0,
      timeoutMs: 20_000,
    });
    this.discovery = new Discovery(this.client);
  }

  private async info(apiVersion: string, kind: string) {
    return this.discovery.resolve({ ...parseApiVersion(apiVersion), kind });
  }

  /** apply server-side-applies an object as field manager `test`. */
  async apply<T extends KubeObject = KubeObject>(obj: KubeObject, fieldManager = 'test'): Promise<T> {
    const info = await this.info(obj.apiVersion, obj.kind);
    return this.client.request<T>({
      method: 'PATCH',
      path: objectPath(info, obj.metadata.namespace, obj.metadata.name ?? ''),
      query: { fieldManager, force: true },
      body: obj,
      contentType: 'application/apply-patch+yaml',
    });
  }

  /** create POSTs an object and returns what the server stored. */
  async create<T extends KubeObject = KubeObject>(obj: KubeObject): Promise<T> {
    const info = await this.info(obj.apiVersion, obj.kind);
    return this.client.request<T>({
      method: 'POST',
      path: collectionPath(info, obj.metadata.namespace),
      body: obj,
    });
  }

  /** get returns an object, or undefined when it does not exist. */
  async get<T extends KubeObject = KubeObject>(
    apiVersion: string,
    kind: string,
    namespace: string | undefined,
    name: string,
  ): Promise<T | undefined> {
    const info = await this.info(apiVersion, kind);
    try {
      return await this.client.request<T>({ method: 'GET', path: objectPath(info, namespace, name) });
    } catch (err) {
      if (isKubeApiError(err) && err.isNotFound) return undefined;
      throw err;
    }
  }

  /** list returns the objects of a kind, optionally in one namespace and by label selector. */
  async list<T extends KubeObject = KubeObject>(
    apiVersion: string,
    kind: string,
    namespace?: string,
    labelSelector?: string,
  ): Promise<T[]> {
    const info = await this.info(apiVersion, kind);
    const list = await this.client.request<{ items: T[] }>({
      method: 'GET',
      path: collectionPath(info, namespace),
      query: { labelSelector },
    });
    return list.items;
  }

  /** patch sends a merge patch (or another patch type). */
  async patch<T extends KubeObject = KubeObject>(
    apiVersion: string,
    kind: string,
    namespace: string | undefined,
    name: string,
    body: unknown,
    options: { subresource?: string; contentType?: string } = {},
  ): Promise<T> {
    const info = await this.info(apiVersion, kind);
    const path = objectPath(info, namespace, name) + (options.subresource ? `/${options.subresource}` : '');
    return this.client.request<T>({
      method: 'PATCH',
      path,
      body,
      contentType: options.contentType ?? 'application/merge-patch+json',
    });
  }

  /** delete deletes an object; a missing object is fine. */
  async delete(
    apiVersion: string,
    kind: string,
    namespace: string | undefined,
    name: string,
    body?: unknown,
  ): Promise<void> {
    const info = await this.info(apiVersion, kind);
    try {
      await this.client.request({ method: 'DELETE', path: objectPath(info, namespace, name), body });
    } catch (err) {
      if (!(isKubeApiError(err) && err.isNotFound)) throw err;
    }
  }

  /** ensureNamespace creates a namespace if it does not exist. */
  async ensureNamespace(name: string, labels?: Record<string, string>): Promise<void> {
    try {
      await this.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } });
    } catch (err) {
      if (!(isKubeApiError(err) && err.isConflict)) throw err;
    }
  }

  /** metrics returns the API server's /metrics text. */
  async metrics(): Promise<string> {
    return this.client.text({ method: 'GET', path: '/metrics' });
  }

  /** close releases the connections. */
  async close(): Promise<void> {
    await this.client.close();
  }
}
