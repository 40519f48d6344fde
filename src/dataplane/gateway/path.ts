/**
 * The cluster gateway's path scheme: `{gateway}/api/proxy/{planeType}/{planeID}/{crNamespace}/{crName}/k8s`
 * before the Kubernetes API path. `{crNamespace}/{crName}` names the plane object the gateway
 * authorized the plane's agent for; cluster-scoped plane kinds use `_cluster`. Pure.
 */
import type { Plane } from '../../api/v1alpha1/schema.ts';

/** PlaneType is the gateway's name of a kind of plane. */
export type PlaneType = 'dataplane' | 'observabilityplane';

/** CLUSTER_SCOPE is the gateway's namespace segment of a cluster-scoped plane object. */
export const CLUSTER_SCOPE = '_cluster';

/** KUBERNETES_TARGET is the gateway's target segment of the plane's Kubernetes API. */
export const KUBERNETES_TARGET = 'k8s';

/** PLANE_TYPES maps each plane kind to the gateway's plane type. */
export const PLANE_TYPES: Readonly<Record<string, PlaneType>> = {
  DataPlane: 'dataplane',
  ClusterDataPlane: 'dataplane',
  ObservabilityPlane: 'observabilityplane',
  ClusterObservabilityPlane: 'observabilityplane',
};

/** planeTypeOf is the gateway's plane type of a plane object (a DataPlane when the kind is not said). */
export function planeTypeOf(plane: Pick<Plane, 'kind'>): PlaneType {
  return PLANE_TYPES[plane.kind || 'DataPlane'] ?? 'dataplane';
}

/** planeIdOf is the plane's identity at the gateway: spec.planeID, or its name when empty. */
export function planeIdOf(plane: Pick<Plane, 'metadata' | 'spec'>): string {
  return plane.spec.planeID || plane.metadata.name;
}

/**
 * proxyBase is the URL every Kubernetes request of a plane is sent under: the gateway URL's own
 * path is kept, and every segment we add is path-escaped.
 */
export function proxyBase(gatewayUrl: string, plane: Plane): string {
  const url = new URL(gatewayUrl);
  const segments = [
    'api',
    'proxy',
    planeTypeOf(plane),
    planeIdOf(plane),
    plane.metadata.namespace || CLUSTER_SCOPE,
    plane.metadata.name,
    KUBERNETES_TARGET,
  ];
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/${segments.map(encodeURIComponent).join('/')}`;
  url.search = '';
  url.hash = '';
  return url.toString();
}

/**
 * statusPath is the gateway's readiness path of a plane: it answers `{"connected": bool}`.
 */
export function statusPath(plane: Plane): string {
  return `/api/v1/planes/${encodeURIComponent(planeTypeOf(plane))}/${encodeURIComponent(planeIdOf(plane))}/status`;
}

/**
 * refuseGatewayName says why a name cannot travel through the gateway: it splits the decoded path
 * and the agent joins the pieces again, so an escaped `/`, `?`, `#` or `%` inside a name reaches the
 * plane as something else (an RBAC object may be named so; most kinds may not). A `.` or `..` name
 * would be read as a path step. Undefined when the name is safe.
 */
export function refuseGatewayName(name: string): string | undefined {
  if (/[/?#%]/.test(name)) {
    return `the name "${name.replace(/[^\x20-\x7e]/g, '?')}" contains /, ?, # or %, which OpenChoreo's cluster gateway does not carry intact; rename the object`;
  }
  if (name === '.' || name === '..') return `the name "${name}" cannot be sent through the cluster gateway`;
  return undefined;
}
