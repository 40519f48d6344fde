/**
 * DataPlanePool caches one connection (a DirectDataPlane: client, discovery, watches) per
 * DataPlane and rebuilds it when the DataPlane's cluster spec or its kubeconfig Secret changes, so
 * rotated credentials take effect without a restart and unchanged ones cost nothing. A DataPlane
 * with spec.kubernetesCluster.tunnel gets the same connection over a tunnel socket (tunnel.ts).
 *
 * No connection outlives what it was built for: when the spec or Secret changed and the new
 * connection cannot be built (invalid credentials), the old one is closed with its watches rather
 * than kept for credentials that are no longer the DataPlane's; a connection finished for a
 * DataPlane that was deleted meanwhile (`isCurrent` says no) is closed instead of kept; and a
 * closed connection reports no more requests to the metrics.
 */
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { KubeObject } from '../api/object.ts';
import { TUNNEL_HOST_PATTERN, type DataPlane } from '../api/v1alpha1/schema.ts';
import type { InformerEventType, ListBudget } from '../kube/informer.ts';
import type { ClientLimits, Connector, RequestObserver } from '../kube/client.ts';
import { accessFromInline, accessFromSecret, CredentialsError, type SecretLike } from './credentials.ts';
import { clientFor } from '../kube/kubeconfig.ts';
import { DirectDataPlane } from './direct.ts';
import { DEFAULT_ENDPOINT_POLICY, EndpointPolicy, describeRefusal, serverHost } from './endpoint.ts';
import { tunnelConnector, type TunnelProxySettings } from './tunnel.ts';
import { WatchSet } from './watches.ts';

/** DataPlanePoolOptions configures a DataPlanePool. */
export interface DataPlanePoolOptions {
  logger: Logger;
  requestTimeoutMs: number;
  /** limits bound what a data plane may send (bodies, watch lines, silent watches). */
  limits?: Partial<ClientLimits>;
  /** listBudget bounds each list of a data plane. */
  listBudget?: ListBudget;
  /** http2 carries each data plane's watches over one HTTP/2 connection when it offers it (default true). */
  http2?: boolean;
  /** observer returns the request observer (metrics) of one data plane. */
  observer?: (dataPlane: string) => RequestObserver;
  onEvent: (dataPlane: string, type: InformerEventType, obj: KubeObject) => void;
  /** onHealthChange is told when a watch of a data plane breaks or recovers. */
  onHealthChange?: (dataPlane: string, healthy: boolean) => void;
  /**
   * endpoints is the operator's policy of where a DataPlane may point the controller; default
   * DEFAULT_ENDPOINT_POLICY (no metadata or link-local addresses, https only).
   */
  endpoints?: EndpointPolicy;
  /** tunnel is the operator's apiserver-network-proxy server, for DataPlanes with spec.kubernetesCluster.tunnel. */
  tunnel?: TunnelProxySettings;
  /**
   * isCurrent tells whether a DataPlane still exists (the same uid is in the control-plane cache);
   * a connection built for one that does not is closed at once. Always true without.
   */
  isCurrent?: (dataPlane: DataPlane) => boolean;
  /** onObserved is told which users (Release keys) observe an object of a data plane that changed. */
  onObserved?: (dataPlane: string, users: string[]) => void;
}

/** DataPlaneGoneError says a connection was not kept because its DataPlane was deleted or the pool closed. */
export class DataPlaneGoneError extends Error {
  constructor(key: string, why: string) {
    super(`DataPlane ${key}: ${why}; the connection was closed`);
    this.name = 'DataPlaneGoneError';
  }
}

/** DataPlanePool owns every data-plane connection. */
export class DataPlanePool {
  private readonly connections = new Map<string, DirectDataPlane>();
  private readonly building = new Map<string, Promise<DirectDataPlane>>();
  /** muted silences the request observer of each connection once it is closed. */
  private readonly muted = new WeakMap<DirectDataPlane, { on: boolean }>();
  private closed = false;

  constructor(private readonly options: DataPlanePoolOptions) {}

  /** connect returns the connection for a DataPlane, building or rebuilding it when needed. */
  async connect(dp: DataPlane, secret: SecretLike | undefined): Promise<DirectDataPlane> {
    const key = `${dp.metadata.namespace}/${dp.metadata.name}`;
    const fingerprint = fingerprintOf(dp, secret);
    const current = this.connections.get(key);
    if (current?.fingerprint === fingerprint) return current;
    const pending = this.building.get(key);
    if (pending) {
      await pending.catch(() => undefined);
      const built = this.connections.get(key);
      if (built?.fingerprint === fingerprint) return built;
    }
    const build = this.build(key, fingerprint, dp, secret);
    this.building.set(key, build);
    let conn: DirectDataPlane;
    try {
      conn = await build;
    } catch (err) {
      // What the old connection was built from is no longer the DataPlane's: keeping it would
      // keep acting (and watching) with credentials or an endpoint the owner replaced.
      const old = this.connections.get(key);
      if (old && old.fingerprint !== fingerprint) {
        this.connections.delete(key);
        this.options.logger.warn(
          { dataPlane: key },
          'data-plane spec or credentials changed and the new connection cannot be built; closed the old one',
        );
        await this.closeConnection(old);
      }
      throw err;
    } finally {
      if (this.building.get(key) === build) this.building.delete(key);
    }
    // Deleted (or shut down) while it was being built: forget() has already run, so nobody else
    // would ever close this one.
    const gone = this.closed ? 'the controller is stopping' : this.isCurrent(dp) ? undefined : 'deleted';
    if (gone) {
      await this.closeConnection(conn);
      throw new DataPlaneGoneError(key, gone);
    }
    const old = this.connections.get(key);
    this.connections.set(key, conn);
    if (old && old !== conn) {
      this.options.logger.info({ dataPlane: key }, 'data-plane credentials changed; reconnecting');
      await this.closeConnection(old);
    }
    return conn;
  }

  /** get returns the current connection of a DataPlane without building one. */
  get(key: string): DirectDataPlane | undefined {
    return this.connections.get(key);
  }

  /** watches returns the number of open watches of every open connection (for the gauges). */
  watches(): Map<string, number> {
    const out = new Map<string, number>();
    for (const [key, conn] of this.connections) out.set(key, conn.watchedKinds().length);
    return out;
  }

  /** forget closes and drops the connection of a deleted DataPlane. */
  async forget(key: string): Promise<void> {
    const conn = this.connections.get(key);
    this.connections.delete(key);
    if (conn) await this.closeConnection(conn);
  }

  /** close ends every connection; connections built afterwards are closed at once. */
  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.connections.values()];
    this.connections.clear();
    await Promise.all(all.map((c) => this.closeConnection(c)));
  }

  private isCurrent(dp: DataPlane): boolean {
    return this.options.isCurrent?.(dp) ?? true;
  }

  private async closeConnection(conn: DirectDataPlane): Promise<void> {
    const gate = this.muted.get(conn);
    if (gate) gate.on = false;
    await conn.close();
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
    const tunnelled = dp.spec.kubernetesCluster.tunnel !== undefined;
    const host = await this.checkEndpoint(dp, access.server, tunnelled);
    const logger = this.options.logger.child({ dataPlane: key });
    // Requests still ending after the connection closed (watches being stopped) are not counted:
    // the series of a deleted DataPlane are removed, and must not come back.
    const observe = this.options.observer?.(key);
    const gate = { on: true };
    const client = clientFor(access, {
      name: `data plane ${key}`,
      timeoutMs: this.options.requestTimeoutMs,
      observer:
        observe &&
        ((verb, code, seconds) => {
          if (gate.on) observe(verb, code, seconds);
        }),
      connect: this.connectorOf(dp, access.server),
      limits: this.options.limits,
      ...(this.options.http2 === false ? { http2: false } : {}),
      // Through a tunnel the agent resolves the name, in the data plane's own network.
      ...(tunnelled ? {} : { lookup: this.endpoints.lookup(host) }),
      // The error a tenant sees says only "cannot reach"; the operator's log says why.
      onUnreachable: (detail) => logger.warn(detail, 'data-plane request got no answer'),
    });
    // The WatchSet is built before the connection it serves: forgetKinds reaches it through this.
    const connection: { current?: DirectDataPlane } = {};
    const watches = new WatchSet({
      client,
      logger,
      syncTimeoutMs: this.options.requestTimeoutMs,
      listBudget: this.options.listBudget,
      onEvent: (type, obj) => this.options.onEvent(key, type, obj),
      onHealthChange: (healthy) => this.options.onHealthChange?.(key, healthy),
      onObserved: (users) => this.options.onObserved?.(key, users),
      // What discovery knew of a kind that is gone is stale: the next look-up asks again.
      onKindGone: () => connection.current?.forgetKinds(),
    });
    const conn = new DirectDataPlane(key, fingerprint, client, watches);
    connection.current = conn;
    this.muted.set(conn, gate);
    return conn;
  }

  private get endpoints(): EndpointPolicy {
    return this.options.endpoints ?? DEFAULT_POLICY;
  }

  /**
   * checkEndpoint refuses a server the operator's endpoint policy does not allow, before any
   * connection: the scheme, a denied host name, and every address the host resolves to now (the
   * client's lookup checks again at every connect). It returns the server's host name. A name that
   * does not resolve now is left to the connection, which reports it unreachable.
   */
  private async checkEndpoint(dp: DataPlane, server: string, tunnelled: boolean): Promise<string> {
    const why = await this.endpoints.checkServer(server, tunnelled);
    if (why) {
      const where = `DataPlane ${dp.metadata.namespace}/${dp.metadata.name}`;
      throw new CredentialsError(describeRefusal(where, server, why));
    }
    return serverHost(server);
  }

  /** connectorOf is the tunnel of a DataPlane that asks for one; undefined connects directly. */
  private connectorOf(dp: DataPlane, server: string): Connector | undefined {
    const tunnel = dp.spec.kubernetesCluster.tunnel;
    if (!tunnel) return undefined;
    if (!this.options.tunnel) {
      throw new CredentialsError(
        `DataPlane ${dp.metadata.namespace}/${dp.metadata.name}: spec.kubernetesCluster.tunnel is set, but this controller has no tunnel proxy server configured (--tunnel-proxy-address)`,
      );
    }
    // The CRD checks the pattern too; the request line of the CONNECT must never see anything else.
    if (tunnel.host.length > 253 || !TUNNEL_HOST.test(tunnel.host)) {
      throw new CredentialsError(
        `DataPlane ${dp.metadata.namespace}/${dp.metadata.name}: spec.kubernetesCluster.tunnel.host is not a lowercase DNS name`,
      );
    }
    return tunnelConnector({
      proxy: this.options.tunnel,
      host: tunnel.host,
      secure: new URL(server).protocol === 'https:',
      timeoutMs: this.options.requestTimeoutMs,
    });
  }
}

const DEFAULT_POLICY = new EndpointPolicy(DEFAULT_ENDPOINT_POLICY);

/** TUNNEL_HOST is the CRD's pattern of spec.kubernetesCluster.tunnel.host. */
const TUNNEL_HOST = new RegExp(TUNNEL_HOST_PATTERN);

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
