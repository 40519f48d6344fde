/**
 * DataPlanePool caches one connection (a DirectDataPlane: client, discovery, watches) per
 * plane object and rebuilds it when the plane's cluster spec or its kubeconfig Secret changes, so
 * rotated credentials take effect without a restart and unchanged ones cost nothing. How a plane is
 * reached is its transport's business (transport.ts): the registry here holds the tunnel, direct
 * (credentialed.ts) and cluster-gateway (gateway/) transports, and the first that handles a plane
 * builds its client; a transport that cannot watch makes the plane's caches poll.
 *
 * No connection outlives what it was built for: when the spec or Secret changed and the new
 * connection cannot be built (invalid credentials), the old one is closed with its watches rather
 * than kept for credentials that are no longer the DataPlane's; a connection finished for a
 * DataPlane that was deleted meanwhile (`isCurrent` says no) is closed instead of kept; and a
 * closed connection reports no more requests to the metrics.
 */
import { digest256 } from '../api/digest.ts';
import type { Logger } from 'pino';
import type { KubeObject } from '../api/object.ts';
import type { Plane } from '../api/v1alpha1/schema.ts';
import type { InformerEventType, ListBudget } from '../kube/informer.ts';
import type { ClientLimits, RequestObserver } from '../kube/client.ts';
import { CacheBudget, type CacheLimits } from '../kube/cachebudget.ts';
import { grantFingerprint, OPEN_GRANT, type AccessGrant } from './access.ts';
import type { SecretLike } from './credentials.ts';
import { directTransport, tunnelTransport } from './credentialed.ts';
import { DirectDataPlane } from './direct.ts';
import { DEFAULT_ENDPOINT_POLICY, EndpointPolicy } from './endpoint.ts';
import { gatewayTransport, type GatewaySettings } from './gateway/transport.ts';
import { planeKey, selectTransport, type DataPlaneTransport } from './transport.ts';
import type { TunnelProxySettings } from './tunnel.ts';
import { WatchSet } from './watches.ts';

/**
 * DataPlaneCacheLimits bound the watch caches (objects and approximate bytes) of each data plane,
 * and of all data planes of one organization together (the plane's namespace).
 */
export interface DataPlaneCacheLimits {
  dataPlane: CacheLimits;
  organization: CacheLimits;
}

/** DataPlanePoolOptions configures a DataPlanePool. */
export interface DataPlanePoolOptions {
  logger: Logger;
  /**
   * shardSelector is this shard's --release-selector: every data-plane watch adds it, and objects
   * carry their Release's values of its keys, so a shard caches only its own Releases' objects.
   */
  shardSelector?: string;
  requestTimeoutMs: number;
  /** limits bound what a data plane may send (bodies, watch lines, silent watches). */
  limits?: Partial<ClientLimits>;
  /** listBudget bounds each list of a data plane. */
  listBudget?: ListBudget;
  /** cacheLimits bound the watch caches per data plane and per organization; unbounded without. */
  cacheLimits?: DataPlaneCacheLimits;
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
  /** gateway is OpenChoreo's cluster gateway, for planes with spec.clusterAgent and no spec.kubernetesCluster. */
  gateway?: GatewaySettings;
  /**
   * isCurrent tells whether a DataPlane still exists (the same uid is in the control-plane cache);
   * a connection built for one that does not is closed at once. Always true without.
   */
  isCurrent?: (dataPlane: Plane) => boolean;
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
  /** organizations are the cache budgets shared by the data planes of each organization. */
  private readonly organizations = new Map<string, CacheBudget>();
  /** transports is the registry: the first that handles a plane reaches it. */
  private readonly transports: readonly DataPlaneTransport[];

  constructor(private readonly options: DataPlanePoolOptions) {
    const endpoints = options.endpoints ?? DEFAULT_POLICY;
    this.transports = [
      tunnelTransport(endpoints, options.tunnel),
      directTransport(endpoints),
      gatewayTransport(options.gateway),
    ];
  }

  /**
   * connect returns the connection for a plane, building or rebuilding it when needed. `grant` is
   * what the operator's policy lets the connection do (access.ts); a changed grant rebuilds it.
   */
  async connect(
    dp: Plane,
    secret: SecretLike | undefined,
    grant: AccessGrant = OPEN_GRANT,
  ): Promise<DirectDataPlane> {
    const key = planeKey(dp);
    const fingerprint = `${fingerprintOf(dp, secret)}/${grantFingerprint(grant)}`;
    const current = this.connections.get(key);
    if (current?.fingerprint === fingerprint) return current;
    const pending = this.building.get(key);
    if (pending) {
      await pending.catch(() => undefined);
      const built = this.connections.get(key);
      if (built?.fingerprint === fingerprint) return built;
    }
    const build = this.build(key, fingerprint, dp, secret, grant);
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

  /** cachedObjects returns the number of objects each open connection's watches hold (for the gauges). */
  cachedObjects(): Map<string, number> {
    const out = new Map<string, number>();
    for (const [key, conn] of this.connections) out.set(key, conn.cachedObjects());
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

  /**
   * budgetOf is the cache budget of one connection, charged to its organization's too. A rebuilt
   * connection gets a budget of its own: the old one gives its share back as its watches stop.
   */
  private budgetOf(key: string, plane: Plane, limits: DataPlaneCacheLimits): CacheBudget {
    const organization = plane.metadata.namespace ?? CLUSTER_PLANES;
    let shared = this.organizations.get(organization);
    if (!shared) {
      shared = new CacheBudget(
        plane.metadata.namespace ? `organization ${organization}` : CLUSTER_PLANES,
        limits.organization,
      );
      this.organizations.set(organization, shared);
    }
    return new CacheBudget(`data plane ${key}`, limits.dataPlane, shared);
  }

  private isCurrent(dp: Plane): boolean {
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
    plane: Plane,
    secret: SecretLike | undefined,
    grant: AccessGrant,
  ): Promise<DirectDataPlane> {
    const transport = selectTransport(this.transports, plane);
    const logger = this.options.logger.child({ dataPlane: key });
    // Requests still ending after the connection closed (watches being stopped) are not counted:
    // the series of a deleted DataPlane are removed, and must not come back.
    const observe = this.options.observer?.(key);
    const gate = { on: true };
    const { client, pollIntervalMs, refuseName } = await transport.connect({
      plane,
      key,
      secret,
      grant,
      client: {
        name: `data plane ${key}`,
        timeoutMs: this.options.requestTimeoutMs,
        observer:
          observe &&
          ((verb, code, seconds) => {
            if (gate.on) observe(verb, code, seconds);
          }),
        limits: this.options.limits,
        ...(this.options.http2 === false ? { http2: false } : {}),
        // The error a tenant sees says only "cannot reach"; the operator's log says why.
        onUnreachable: (detail) => logger.warn(detail, 'data-plane request got no answer'),
      },
    });
    // The WatchSet is built before the connection it serves: forgetKinds reaches it through this.
    const connection: { current?: DirectDataPlane } = {};
    const watches = new WatchSet({
      client,
      logger,
      // A DataPlane serves only its own namespace's Releases: it caches only that organization's
      // objects. A ClusterDataPlane serves every organization (no namespace): it caches them all.
      ...(plane.metadata.namespace ? { organization: plane.metadata.namespace } : {}),
      ...(this.options.shardSelector && { shardSelector: this.options.shardSelector }),
      syncTimeoutMs: this.options.requestTimeoutMs,
      listBudget: this.options.listBudget,
      ...(this.options.cacheLimits && { budget: this.budgetOf(key, plane, this.options.cacheLimits) }),
      ...(pollIntervalMs !== undefined ? { pollIntervalMs } : {}),
      onEvent: (type, obj) => this.options.onEvent(key, type, obj),
      onHealthChange: (healthy) => this.options.onHealthChange?.(key, healthy),
      onObserved: (users) => this.options.onObserved?.(key, users),
      // What discovery knew of a kind that is gone is stale: the next look-up asks again.
      onKindGone: () => connection.current?.forgetKinds(),
    });
    // The cluster gateway is the operator's, shared by every plane it serves: not a tenant's endpoint.
    const endpoint = transport.name === 'gateway' ? undefined : endpointOf(client.server);
    const conn = new DirectDataPlane(key, fingerprint, client, watches, refuseName, endpoint);
    connection.current = conn;
    this.muted.set(conn, gate);
    return conn;
  }
}

const DEFAULT_POLICY = new EndpointPolicy(DEFAULT_ENDPOINT_POLICY);

/** endpointOf is the `host:port` of a server URL, with the scheme's default port written out. */
export function endpointOf(server: string): string {
  const url = new URL(server);
  return `${url.hostname}:${url.port || (url.protocol === 'http:' ? '80' : '443')}`;
}

/** CLUSTER_PLANES is the organization budget of the operator's cluster-scoped planes (no namespace). */
const CLUSTER_PLANES = 'cluster-scoped planes';

/** fingerprints remembers the hash of each cached object, so an unchanged one is hashed once. */
const fingerprints = new WeakMap<object, string>();

function hashOnce(value: object): string {
  let hash = fingerprints.get(value);
  if (hash === undefined) {
    hash = digest256(JSON.stringify(value));
    fingerprints.set(value, hash);
  }
  return hash;
}

/**
 * fingerprintOf identifies what a connection was built from. Informer caches replace an object
 * when it changes, so hashing is keyed by object identity: a reconcile that finds the same
 * DataPlane and Secret objects costs no hashing of their (kilobytes of) credentials.
 */
function fingerprintOf(plane: Plane, secret: SecretLike | undefined): string {
  const { kubernetesCluster, clusterAgent, planeID } = plane.spec;
  // What a connection is built from: the plane's cluster or gateway identity, and its Secret.
  const reach = kubernetesCluster
    ? hashOnce(kubernetesCluster)
    : `gateway/${planeID ?? ''}/${clusterAgent ? hashOnce(clusterAgent) : 'none'}`;
  if (!kubernetesCluster?.secretRef) return reach;
  return `${reach}/${secret?.data ? hashOnce(secret.data) : 'none'}`;
}
