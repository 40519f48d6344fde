/**
 * Transports: how the controller reaches a plane's Kubernetes API. Each transport turns a plane
 * object (DataPlane, ClusterDataPlane, ObservabilityPlane, ClusterObservabilityPlane) into a
 * KubeClient and says whether that client can watch; everything above the client (the port in
 * direct.ts, its caches, apply and delete) is the same for all of them. The pool asks the
 * registry, in order, for the first transport that handles a plane: adding a transport is one entry
 * in the registry, never a branch in the pool.
 */
import type { Plane } from '../api/v1alpha1/schema.ts';
import type { KubeClient, KubeClientOptions } from '../kube/client.ts';
import type { AccessGrant } from './access.ts';
import { CredentialsError, type SecretLike } from './credentials.ts';

/** TransportRequest is what a transport gets to build the client of one plane. */
export interface TransportRequest {
  plane: Plane;
  /** key names the plane in logs and metrics (planeKey). */
  key: string;
  /** secret is the kubeconfig Secret the plane's spec.kubernetesCluster.secretRef names, when it does. */
  secret: SecretLike | undefined;
  /**
   * grant is what the operator's policy lets the organization's connection do (access.ts): the
   * identity it impersonates, whether it may skip TLS verification.
   */
  grant: AccessGrant;
  /** client are the settings every client gets (name, timeouts, limits, metrics, the unreachable log). */
  client: Omit<KubeClientOptions, 'server'>;
}

/** TransportConnection is what a transport built for one plane. */
export interface TransportConnection {
  client: KubeClient;
  /**
   * pollIntervalMs says the client cannot watch: its caches list at this period instead
   * (src/kube/informer.ts, polling mode). Undefined: the client watches.
   */
  pollIntervalMs?: number;
  /**
   * refuseName says why a namespace or object name cannot be sent through this transport (the
   * cluster gateway loses an escaped `/`, `?` or `#`), or undefined when it can.
   */
  refuseName?: (name: string) => string | undefined;
}

/** DataPlaneTransport is one way of reaching planes. */
export interface DataPlaneTransport {
  /** name identifies the transport in logs and docs: direct, tunnel, gateway. */
  readonly name: string;
  /** handles tells whether this transport reaches the plane; the registry's first that does is used. */
  handles(plane: Plane): boolean;
  /** connect builds the plane's client; a plane it cannot reach as configured is a CredentialsError. */
  connect(request: TransportRequest): Promise<TransportConnection>;
}

/** planeWhere names a plane object in messages: `Kind namespace/name`, or `Kind name` when cluster-scoped. */
export function planeWhere(plane: Pick<Plane, 'kind' | 'metadata'>): string {
  const { namespace, name } = plane.metadata;
  return `${plane.kind || 'DataPlane'} ${namespace ? `${namespace}/` : ''}${name}`;
}

/**
 * planeKey identifies a plane object in the pool, logs and metrics. A DataPlane keeps its historic
 * `namespace/name` (status.appliedTo and metric series use it); other kinds are prefixed with
 * their kind, so a ClusterDataPlane and a DataPlane of the same name never share a connection.
 */
export function planeKey(plane: Pick<Plane, 'kind' | 'metadata'>): string {
  const { namespace, name } = plane.metadata;
  const where = namespace ? `${namespace}/${name}` : name;
  return !plane.kind || plane.kind === 'DataPlane' ? where : `${plane.kind}/${where}`;
}

/** selectTransport returns the first transport of the registry that handles the plane. */
export function selectTransport(registry: readonly DataPlaneTransport[], plane: Plane): DataPlaneTransport {
  const transport = registry.find((t) => t.handles(plane));
  if (!transport) {
    throw new CredentialsError(
      `${planeWhere(plane)} says neither how to reach its API server (spec.kubernetesCluster) nor through the cluster gateway (spec.clusterAgent); set one`,
    );
  }
  return transport;
}
