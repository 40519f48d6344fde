/**
 * TestGateway: a local stand-in for OpenChoreo's cluster gateway, written from the protocol the
 * controller relies on (shared notes of the real program), in front of real test-bed clusters:
 * - HTTPS with mutual TLS: a client certificate chaining to the gateway's client CA is required;
 * - `/api/proxy/{planeType}/{planeID}/{crNamespace}/{crName}/{target}/{Kubernetes path}`, split on
 *   the decoded path; fewer than six segments or `..` answer 400, a target other than k8s 403, a
 *   plane object the plane's agent was not authorized for 403 (text/plain), a plane without a
 *   connected agent 502 at once;
 * - 501 to a raw query with `watch=true` and to any Upgrade header; 413 to a declared
 *   Content-Length over 10 MiB;
 * - requests forwarded with the agent's own identity (the cluster's admin certificate; the
 *   caller's Authorization is dropped), answers buffered and passed through unchanged; a request
 *   that gets no answer within the timeout (30 s, shorter for tests) answers 502;
 * - `GET /api/v1/planes/{planeType}/{planeID}/status` answers `{"connected": bool}`.
 * An agent can be disconnected (502) or black-holed (its requests hang until the timeout), and the
 * whole gateway stopped and started again at the same address.
 */
import { readFile } from 'node:fs/promises';
import * as https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Cluster } from '../../testbed/cluster.ts';
import type { ProxyPki } from '../../testbed/pki.ts';

/** MAX_BODY_BYTES is the gateway's limit on a declared request body. */
export const MAX_BODY_BYTES = 10 * 1024 * 1024;

/** GatewayAgent is the agent of one plane: which cluster it reaches and which plane objects it serves. */
export interface GatewayAgent {
  cluster: Cluster;
  /** authorized are `crNamespace/crName` keys the agent was authorized for when it connected. */
  authorized: Set<string>;
  /** state: connected, disconnected (502 at once) or black-holed (no answer until the timeout). */
  state: 'connected' | 'disconnected' | 'blackhole';
}

/** GatewayRequest is one request the gateway received, for assertions. */
export interface GatewayRequest {
  method: string;
  path: string;
  status: number;
  /** requestId is the caller's X-Request-ID. */
  requestId?: string;
}

/** TestGateway is a running gateway. */
export class TestGateway {
  readonly agents = new Map<string, GatewayAgent>();
  readonly requests: GatewayRequest[] = [];
  private server: https.Server | undefined;
  private port = 0;

  private constructor(
    private readonly pki: ProxyPki,
    private readonly timeoutMs: number,
  ) {}

  /** start listens on a free port of 127.0.0.1. */
  static async start(pki: ProxyPki, timeoutMs = 30_000): Promise<TestGateway> {
    const gateway = new TestGateway(pki, timeoutMs);
    await gateway.listen();
    return gateway;
  }

  /** url is the gateway's address. */
  get url(): string {
    return `https://127.0.0.1:${this.port}`;
  }

  /** controllerArgs are the controller's flags for this gateway. */
  controllerArgs(pollInterval: string): string[] {
    return [
      `--cluster-gateway-url=${this.url}`,
      `--cluster-gateway-ca-file=${this.pki.frontendCa}`,
      `--cluster-gateway-cert-file=${this.pki.controllerCert}`,
      `--cluster-gateway-key-file=${this.pki.controllerKey}`,
      `--cluster-gateway-poll-interval=${pollInterval}`,
    ];
  }

  /** connect registers (or replaces) the agent of a plane. */
  connect(planeType: string, planeID: string, cluster: Cluster, authorized: string[]): GatewayAgent {
    const agent: GatewayAgent = { cluster, authorized: new Set(authorized), state: 'connected' };
    this.agents.set(`${planeType}/${planeID}`, agent);
    return agent;
  }

  /** stop closes the listener and every connection; the port is kept for `listen`. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** listen starts serving (again, on the same port after `stop`). */
  async listen(): Promise<void> {
    const [ca, cert, key] = await Promise.all([
      readFile(this.pki.frontendCa),
      readFile(this.pki.frontendCert),
      readFile(this.pki.frontendKey),
    ]);
    const server = https.createServer(
      { ca, cert, key, requestCert: true, rejectUnauthorized: true },
      (req, res) => this.handle(req, res),
    );
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  private answer(req: IncomingMessage, res: ServerResponse, status: number, text: string): void {
    this.requests.push({ method: req.method ?? '', path: req.url ?? '', status, ...idOf(req) });
    res.writeHead(status, { 'content-type': 'text/plain' }).end(text ? `${text}\n` : '');
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const raw = req.url ?? '/';
    const query = raw.includes('?') ? raw.slice(raw.indexOf('?') + 1) : '';
    const path = decodeURIComponent(raw.split('?')[0] ?? '/');
    const status = /^\/api\/v1\/planes\/([^/]+)\/([^/]+)\/status$/.exec(path);
    if (status && req.method === 'GET') {
      const agent = this.agents.get(`${status[1]}/${status[2]}`);
      this.requests.push({ method: 'GET', path: raw, status: 200 });
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ connected: agent?.state === 'connected' }));
      return;
    }
    if (!['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'].includes(req.method ?? '')) {
      this.answer(req, res, 405, 'method not allowed');
      return;
    }
    const segments = path.split('/').filter(Boolean);
    if (segments[0] !== 'api' || segments[1] !== 'proxy' || segments.length < 8) {
      this.answer(req, res, 400, 'invalid proxy path');
      return;
    }
    if (segments.includes('..')) {
      this.answer(req, res, 400, 'invalid path');
      return;
    }
    if (/(^|&)watch=true(&|$)/.test(query) || req.headers.upgrade) {
      this.answer(req, res, 501, 'watch requests are not supported through the gateway');
      return;
    }
    if (Number(req.headers['content-length'] ?? 0) > MAX_BODY_BYTES) {
      this.answer(req, res, 413, 'request body too large');
      return;
    }
    const [, , planeType, planeID, crNamespace, crName, target, ...rest] = segments;
    if (target !== 'k8s') {
      this.answer(req, res, 403, 'target not allowed');
      return;
    }
    const agent = this.agents.get(`${planeType}/${planeID}`);
    if (!agent || agent.state === 'disconnected') {
      this.answer(req, res, 502, `no agent connected for ${planeType}/${planeID}`);
      return;
    }
    if (!agent.authorized.has(`${crNamespace}/${crName}`)) {
      this.answer(req, res, 403, `not authorized for ${crNamespace}/${crName}`);
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on(
      'end',
      () =>
        void this.forward(
          req,
          res,
          agent,
          `/${rest.join('/')}${query ? `?${query}` : ''}`,
          Buffer.concat(chunks),
        ),
    );
  }

  private async forward(
    req: IncomingMessage,
    res: ServerResponse,
    agent: GatewayAgent,
    kubePath: string,
    body: Buffer,
  ): Promise<void> {
    const timer = setTimeout(() => {
      if (!res.headersSent) this.answer(req, res, 502, 'HTTP tunnel request timeout');
    }, this.timeoutMs);
    if (agent.state === 'blackhole') return;
    const { cluster } = agent;
    const url = new URL(cluster.server);
    const headers = { ...req.headers };
    delete headers.authorization;
    delete headers.host;
    headers['content-length'] = String(body.length);
    try {
      const answer = await new Promise<{ status: number; headers: Record<string, string>; body: Buffer }>(
        (resolve, reject) => {
          const upstream = https.request(
            {
              host: url.hostname,
              port: url.port,
              method: req.method,
              path: kubePath,
              headers,
              ca: Buffer.from(cluster.caData, 'base64'),
              cert: Buffer.from(cluster.certData, 'base64'),
              key: Buffer.from(cluster.keyData, 'base64'),
            },
            (r) => {
              const parts: Buffer[] = [];
              r.on('data', (c: Buffer) => parts.push(c));
              r.on('end', () => {
                const out: Record<string, string> = {};
                for (const name of ['content-type', 'audit-id']) {
                  const v = r.headers[name];
                  if (typeof v === 'string') out[name] = v;
                }
                resolve({ status: r.statusCode ?? 502, headers: out, body: Buffer.concat(parts) });
              });
              r.on('error', reject);
            },
          );
          upstream.on('error', reject);
          upstream.end(body);
        },
      );
      clearTimeout(timer);
      if (res.headersSent || res.destroyed) return;
      this.requests.push({
        method: req.method ?? '',
        path: req.url ?? '',
        status: answer.status,
        ...idOf(req),
      });
      res.writeHead(answer.status, answer.headers).end(answer.body);
    } catch {
      clearTimeout(timer);
      // The agent answers an empty body when it cannot reach its API server.
      if (!res.headersSent && !res.destroyed) {
        this.requests.push({ method: req.method ?? '', path: req.url ?? '', status: 502 });
        res.writeHead(502).end();
      }
    }
  }
}

function idOf(req: IncomingMessage): { requestId?: string } {
  const id = req.headers['x-request-id'];
  return typeof id === 'string' ? { requestId: id } : {};
}
