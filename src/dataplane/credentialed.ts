/**
 * The transports of planes whose credentials the controller holds (spec.kubernetesCluster: inline
 * certificates or a kubeconfig Secret): `direct`, a connection to the API server, and `tunnel`, the
 * same connection over an apiserver-network-proxy tunnel (tunnel.ts). Both pass the operator's
 * endpoint policy before any connection, and the client's lookup checks every address again.
 */
import { TUNNEL_HOST_PATTERN } from '../api/v1alpha1/constants.ts';
import type { DataPlane, Plane } from '../api/v1alpha1/schema.ts';
import type { Connector } from '../kube/client.ts';
import { clientFor } from '../kube/kubeconfig.ts';
import { grantedAccess } from './access.ts';
import { accessFromInline, accessFromSecret, CredentialsError } from './credentials.ts';
import { describeRefusal, serverHost, type EndpointPolicy } from './endpoint.ts';
import {
  planeWhere,
  type DataPlaneTransport,
  type TransportRequest,
  type TransportConnection,
} from './transport.ts';
import { tunnelConnector, type TunnelProxySettings } from './tunnel.ts';

/** TUNNEL_HOST is the CRD's pattern of spec.kubernetesCluster.tunnel.host. */
const TUNNEL_HOST = new RegExp(TUNNEL_HOST_PATTERN);

/** directTransport reaches planes with spec.kubernetesCluster and no tunnel by connecting to their API server. */
export function directTransport(endpoints: EndpointPolicy): DataPlaneTransport {
  return {
    name: 'direct',
    handles: (plane) => plane.spec.kubernetesCluster !== undefined && !plane.spec.kubernetesCluster.tunnel,
    connect: (request) => credentialedClient(request, endpoints, undefined),
  };
}

/**
 * tunnelTransport reaches planes with spec.kubernetesCluster.tunnel through the operator's proxy
 * server; without one configured such planes are refused, naming the flag.
 */
export function tunnelTransport(
  endpoints: EndpointPolicy,
  proxy: TunnelProxySettings | undefined,
): DataPlaneTransport {
  return {
    name: 'tunnel',
    handles: (plane) => plane.spec.kubernetesCluster?.tunnel !== undefined,
    connect: (request) => {
      const where = planeWhere(request.plane);
      const tunnel = request.plane.spec.kubernetesCluster?.tunnel;
      if (!proxy) {
        throw new CredentialsError(
          `${where}: spec.kubernetesCluster.tunnel is set, but this controller has no tunnel proxy server configured (--tunnel-proxy-address)`,
        );
      }
      // The CRD checks the pattern too; the request line of the CONNECT must never see anything else.
      if (!tunnel || tunnel.host.length > 253 || !TUNNEL_HOST.test(tunnel.host)) {
        throw new CredentialsError(
          `${where}: spec.kubernetesCluster.tunnel.host is not a lowercase DNS name`,
        );
      }
      return credentialedClient(request, endpoints, (server) =>
        tunnelConnector({
          proxy,
          host: tunnel.host,
          secure: new URL(server).protocol === 'https:',
          timeoutMs: request.client.timeoutMs ?? 30_000,
        }),
      );
    },
  };
}

/** credentialedClient builds the client of a plane from its credentials, after the endpoint policy allowed it. */
async function credentialedClient(
  request: TransportRequest,
  endpoints: EndpointPolicy,
  connectorFor: ((server: string) => Connector) | undefined,
): Promise<TransportConnection> {
  // The credential readers take a DataPlane; every plane kind has the same spec.kubernetesCluster.
  const plane = request.plane as unknown as DataPlane;
  const where = planeWhere(request.plane);
  const ref = plane.spec.kubernetesCluster?.secretRef;
  const access = ref
    ? grantedAccess(
        await accessFromSecret(plane, request.secret),
        request.grant,
        `${where}: kubeconfig in Secret ${ref.name}`,
      )
    : grantedAccess(accessFromInline(plane), request.grant, where);
  const tunnelled = connectorFor !== undefined;
  const host = await checkEndpoint(endpoints, request.plane, access.server, tunnelled, ref?.name);
  const connect = connectorFor?.(access.server);
  const client = clientFor(access, {
    ...request.client,
    ...(connect ? { connect } : {}),
    // Through a tunnel the agent resolves the name, in the data plane's own network.
    ...(tunnelled ? {} : { lookup: endpoints.lookup(host) }),
  });
  return { client };
}

/**
 * checkEndpoint refuses a server the operator's endpoint policy does not allow, before any
 * connection: the scheme, a denied host name, and every address the host resolves to now (the
 * client's lookup checks again at every connect). It returns the server's host name. A name that
 * does not resolve now is left to the connection, which reports it unreachable.
 */
async function checkEndpoint(
  endpoints: EndpointPolicy,
  plane: Plane,
  server: string,
  tunnelled: boolean,
  secretName: string | undefined,
): Promise<string> {
  const why = await endpoints.checkServer(server, tunnelled);
  const host = serverHost(server);
  if (why) {
    // A kubeconfig Secret is the operator's: its server is not the tenant's to read, so neither
    // the server nor its host is quoted. An inline apiServerURL is the tenant's own text.
    throw new CredentialsError(
      secretName
        ? describeRefusal(planeWhere(plane), `of the kubeconfig in Secret ${secretName}`, redact(why, host))
        : describeRefusal(planeWhere(plane), server, why),
    );
  }
  return host;
}

/** redact replaces a host (and the host name inside it, case aside) in a refusal with "it". */
function redact(why: string, host: string): string {
  return host === '' ? why : why.split(host).join('it').split(host.toLowerCase()).join('it');
}
