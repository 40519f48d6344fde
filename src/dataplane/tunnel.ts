/**
 * The tunnel transport: a data plane that accepts no inbound connections runs an
 * apiserver-network-proxy (konnectivity) agent that dials out to a proxy server next to the
 * controller. For each connection the controller asks the proxy server, over mutual TLS, for an
 * HTTP CONNECT tunnel to `<tunnel host>:<API server port>`; the proxy server routes it to the agent
 * that advertises that host (`--proxy-strategies=destHost`), the agent dials the API server in its
 * own network, and the controller then speaks TLS with the data plane's own credentials inside the
 * tunnel. Everything above the socket (timeouts, retries, watches, metrics, body bounds) is the
 * unchanged KubeClient: this module only supplies the socket (`Connector`).
 *
 * The proxy server's address and the controller's certificate for it are operator settings; the
 * tunnel host is the only tenant input, and it only selects an agent.
 */
import { readFile } from 'node:fs/promises';
import * as https from 'node:https';
import { isIP } from 'node:net';
import type { Duplex } from 'node:stream';
import * as tls from 'node:tls';
import type { Connector } from '../kube/client.ts';

/** TunnelProxySettings say how the controller reaches the proxy server's HTTP CONNECT frontend. */
export interface TunnelProxySettings {
  /** address is `host:port` of the proxy server's frontend (`--server-port`, mode http-connect). */
  address: string;
  /** caFile verifies the proxy server's serving certificate. */
  caFile: string;
  /** certFile and keyFile are the controller's client certificate for the proxy server. */
  certFile: string;
  keyFile: string;
  /** serverName is the name checked in the proxy server's certificate; default the address's host. */
  serverName?: string;
}

/** TunnelFailure says which hop of the tunnel failed: what an operator has to fix. */
export type TunnelFailure =
  /** the proxy server did not accept a connection or its TLS handshake */
  | 'ProxyUnreachable'
  /** no agent advertising the tunnel host is connected to the proxy server */
  | 'AgentMissing'
  /** the agent is there but could not connect to its API server */
  | 'AgentCannotDial'
  /** the proxy server answered something else than a tunnel */
  | 'ProxyRefused';

/**
 * TunnelError is a failed tunnel. It has no `code`, so the client reports its message (which says
 * which hop failed) as the reason the API server cannot be reached. The message never holds what
 * the proxy server sent: its words name other agents and addresses.
 */
export class TunnelError extends Error {
  constructor(
    readonly failure: TunnelFailure,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'TunnelError';
  }
}

/** TunnelOptions configure the connector of one data plane. */
export interface TunnelOptions {
  proxy: TunnelProxySettings;
  /** host is the DataPlane's spec.kubernetesCluster.tunnel.host. */
  host: string;
  /** secure tells whether the API server speaks TLS (an https:// URL). */
  secure: boolean;
  /** timeoutMs bounds opening the tunnel (proxy connection, CONNECT and the agent's dial). */
  timeoutMs: number;
}

/**
 * tunnelConnector returns the Connector of one data plane: each call opens a CONNECT tunnel to the
 * tunnel host at the port the client would have dialled, then wraps it in the client's TLS.
 */
export function tunnelConnector(options: TunnelOptions): Connector {
  return async (connectOptions) => {
    const tunnel = await openTunnel(options, `${options.host}:${connectOptions.port}`);
    if (!options.secure) return tunnel;
    // TLS to the API server runs inside the tunnel, with the client's own CA, certificate and
    // server name: the proxy and the agent see only ciphertext.
    const inner = tls.connect({ ...connectOptions, socket: tunnel });
    inner.once('close', () => tunnel.destroy());
    return inner;
  };
}

/** openTunnel asks the proxy server for a tunnel to `target` and resolves with its socket. */
export async function openTunnel(options: TunnelOptions, target: string): Promise<Duplex> {
  const { proxy, host } = options;
  const [proxyHost, proxyPort] = splitAddress(proxy.address);
  let ca: Buffer, cert: Buffer, key: Buffer;
  try {
    // Read at every tunnel: certificates rotate (cert-manager), and tunnels are pooled, so rare.
    [ca, cert, key] = await Promise.all([
      readFile(proxy.caFile),
      readFile(proxy.certFile),
      readFile(proxy.keyFile),
    ]);
  } catch (err) {
    throw new TunnelError(
      'ProxyUnreachable',
      `the controller cannot read its tunnel proxy certificate files (${codeOf(err)}): check --tunnel-proxy-ca-file, --tunnel-proxy-cert-file and --tunnel-proxy-key-file`,
      { cause: err },
    );
  }
  const serverName = proxy.serverName ?? (isIP(proxyHost) ? undefined : proxyHost);
  return new Promise<Duplex>((resolve, reject) => {
    const req = https.request({
      host: proxyHost,
      port: proxyPort,
      method: 'CONNECT',
      path: target,
      // The proxy server routes by the request's authority; say it in Host too.
      headers: { host: target },
      agent: false,
      ca,
      cert,
      key,
      // Explicit: Node would otherwise verify the proxy's certificate against the Host header
      // (the tunnel target); '' checks an IP address against the certificate's IP names.
      servername: serverName ?? '',
    });
    const timer = setTimeout(() => {
      req.destroy(
        new TunnelError(
          'ProxyUnreachable',
          `the tunnel proxy server ${proxy.address} gave no tunnel to host '${host}' within ${options.timeoutMs} ms`,
        ),
      );
    }, options.timeoutMs);
    req.once('connect', (res, socket, head) => {
      clearTimeout(timer);
      const status = res.statusCode ?? 0;
      if (status === 200 && head.length === 0) {
        resolve(socket);
        return;
      }
      socket.destroy();
      reject(refusal(status, options));
    });
    req.once('response', (res) => {
      // A CONNECT answered without switching the connection (a plain HTTP server): not a tunnel.
      clearTimeout(timer);
      res.destroy();
      reject(refusal(res.statusCode ?? 0, options));
    });
    req.once('error', (err) => {
      clearTimeout(timer);
      reject(
        err instanceof TunnelError
          ? err
          : new TunnelError(
              'ProxyUnreachable',
              `the tunnel proxy server ${proxy.address} cannot be reached (${codeOf(err)})`,
              { cause: err },
            ),
      );
    });
    req.end();
  });
}

/**
 * refusal maps the proxy server's answer to which hop failed. apiserver-network-proxy answers 500
 * when no agent serves the host, and 502, 503 or 504 when the agent's dial failed or timed out.
 */
function refusal(status: number, options: TunnelOptions): TunnelError {
  const { host, proxy } = options;
  if (status === 500) {
    return new TunnelError(
      'AgentMissing',
      `no proxy agent for host '${host}' is connected to the tunnel proxy server ${proxy.address} (is the agent running, with --agent-identifiers=host=${host}?)`,
    );
  }
  if (status === 502 || status === 503 || status === 504) {
    return new TunnelError(
      'AgentCannotDial',
      `the proxy agent for host '${host}' could not connect to the API server in its network (the proxy server answered ${status})`,
    );
  }
  return new TunnelError(
    'ProxyRefused',
    `the tunnel proxy server ${proxy.address} refused a tunnel to host '${host}' (HTTP ${status}; is it in http-connect mode, and does it accept the controller's certificate?)`,
  );
}

/** splitAddress splits `host:port` (IPv6 in brackets) of an operator setting. */
export function splitAddress(address: string): [string, number] {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(address);
  const port = Number(match?.[3]);
  const host = match?.[1] ?? match?.[2];
  if (!host || !(port > 0 && port < 65536)) {
    throw new Error(
      `tunnel proxy address must be host:port (e.g. konnectivity-server:8090), got "${address}"`,
    );
  }
  return [host, port];
}

function codeOf(err: unknown): string {
  if (err !== null && typeof err === 'object' && 'code' in err && typeof err.code === 'string')
    return err.code;
  return err instanceof Error ? err.message : String(err);
}
