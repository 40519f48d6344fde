/**
 * The cluster-gateway transport: OpenChoreo's planes run an agent that dials out to the cluster
 * gateway beside the control plane, and the controller sends the plane's Kubernetes requests to the
 * gateway over mutual TLS (its own client certificate, the gateway's CA, operator flags). The
 * controller holds no credential of the plane. Answers are Kubernetes' own; the gateway adds its
 * own errors (403 for a plane object it did not authorize the agent for, 413 over 10 MiB, 502 when
 * no agent is connected or after its 30 s timeout, text or empty bodies the client already reads
 * without assuming JSON) and answers 501 to every watch, so this transport's caches poll.
 *
 * A plane uses it when it has spec.clusterAgent and no spec.kubernetesCluster.
 */
import { readFile } from 'node:fs/promises';
import { KubeClient } from '../../kube/client.ts';
import { CredentialsError } from '../credentials.ts';
import { planeWhere, type DataPlaneTransport } from '../transport.ts';
import { proxyBase, refuseGatewayName } from './path.ts';

/** GatewaySettings say how the controller reaches the cluster gateway (flags --cluster-gateway-*). */
export interface GatewaySettings {
  /** url is the gateway's internal HTTPS address, e.g. https://cluster-gateway.openchoreo-control-plane:8444. */
  url: string;
  /** caFile verifies the gateway's serving certificate. */
  caFile: string;
  /** certFile and keyFile are the controller's client certificate for the gateway. */
  certFile: string;
  keyFile: string;
  /** serverName is the name checked in the gateway's certificate; default the URL's host. */
  serverName?: string;
  /** pollIntervalMs is the period at which a plane's objects are listed (the gateway cannot watch). */
  pollIntervalMs: number;
}

/**
 * gatewayTransport reaches planes that have spec.clusterAgent and no spec.kubernetesCluster
 * through the cluster gateway; without --cluster-gateway-url such planes are refused, naming it.
 */
export function gatewayTransport(settings: GatewaySettings | undefined): DataPlaneTransport {
  return {
    name: 'gateway',
    handles: (plane) => plane.spec.kubernetesCluster === undefined && plane.spec.clusterAgent !== undefined,
    connect: async (request) => {
      const where = planeWhere(request.plane);
      if (!settings) {
        throw new CredentialsError(
          `${where} is reached through OpenChoreo's cluster gateway (spec.clusterAgent), but this controller has no gateway configured (--cluster-gateway-url)`,
        );
      }
      const nameProblem = refuseGatewayName(request.plane.metadata.name);
      if (nameProblem) throw new CredentialsError(`${where}: ${nameProblem}`);
      let ca: Buffer, cert: Buffer, key: Buffer;
      try {
        // Read at every (re)connection: a changed plane object or a new controller picks up rotated files.
        [ca, cert, key] = await Promise.all([
          readFile(settings.caFile),
          readFile(settings.certFile),
          readFile(settings.keyFile),
        ]);
      } catch (err) {
        throw new CredentialsError(
          `${where}: the controller cannot read its cluster-gateway certificate files (${codeOf(err)}); check --cluster-gateway-ca-file, --cluster-gateway-cert-file and --cluster-gateway-key-file`,
        );
      }
      const client = new KubeClient({
        ...request.client,
        server: proxyBase(settings.url, request.plane),
        ca,
        cert,
        key,
        ...(settings.serverName ? { servername: settings.serverName } : {}),
        // The gateway answers 501 to an Upgrade header and carries no watch: HTTP/2 brings nothing.
        http2: false,
        // The gateway and the agent log it as the request's id.
        requestIds: true,
      });
      return { client, pollIntervalMs: settings.pollIntervalMs, refuseName: refuseGatewayName };
    },
  };
}

function codeOf(err: unknown): string {
  if (err !== null && typeof err === 'object' && 'code' in err && typeof err.code === 'string')
    return err.code;
  return err instanceof Error ? err.message : String(err);
}
