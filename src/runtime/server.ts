/**
 * The operational HTTP endpoints, laid out as kubebuilder projects do: Prometheus metrics on
 * `--metrics-bind-address` (`/metrics`) and probes on `--health-probe-bind-address` (`/healthz`,
 * `/readyz`). Probes follow controller-runtime's `healthz` handler: named checks, `ok` when all
 * pass, otherwise 500 with one `[+]`/`[-]` line per check (also on success with `?verbose`),
 * `?exclude=NAME` to skip a check and `/healthz/NAME` for one. Failure reasons are logged, not
 * served, as controller-runtime withholds them from an unauthenticated endpoint.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';

// Not an ES import, for the reason in kube/client.ts (the facade of node:http loads undici).
const { createServer } = process.getBuiltinModule('node:http');

/** DEFAULT_METRICS_BIND_ADDRESS is kubebuilder's default for `--metrics-bind-address`. */
export const DEFAULT_METRICS_BIND_ADDRESS = ':8080';
/** DEFAULT_HEALTH_PROBE_BIND_ADDRESS is kubebuilder's default for `--health-probe-bind-address`. */
export const DEFAULT_HEALTH_PROBE_BIND_ADDRESS = ':8081';
/** DISABLED_BIND_ADDRESS turns an endpoint off, as in controller-runtime. */
export const DISABLED_BIND_ADDRESS = '0';
/**
 * DEFAULT_CHECK_TIMEOUT_MS fails a check that has not answered in time; the kubelet's default
 * probe timeout is 1 s, so a slower answer is a failure anyway.
 */
export const DEFAULT_CHECK_TIMEOUT_MS = 1_000;
/** DEFAULT_CLOSE_TIMEOUT_MS is how long close() waits for requests in progress before cutting connections. */
export const DEFAULT_CLOSE_TIMEOUT_MS = 5_000;

/** Check passes by returning and fails by throwing (or rejecting). */
export type Check = () => void | Promise<void>;

/** BindAddress is a parsed bind address; host undefined means every interface. */
export interface BindAddress {
  host: string | undefined;
  port: number;
}

/**
 * parseBindAddress parses `host:port`, `:port` or `[ipv6]:port`, and returns undefined for `0`
 * (disabled). It throws on anything else, so a typo in a flag stops the process at start-up.
 */
export function parseBindAddress(address: string): BindAddress | undefined {
  if (address === DISABLED_BIND_ADDRESS) return undefined;
  const match = /^(.*):(\d{1,5})$/.exec(address);
  const port = Number(match?.[2]);
  if (!match || port > 65_535) {
    throw new Error(`invalid bind address "${address}": want host:port, :port, or 0 to disable`);
  }
  const host = match[1] ?? '';
  if (host === '') return { host: undefined, port };
  return { host: host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host, port };
}

/** EndpointServerOptions configures an EndpointServer. */
export interface EndpointServerOptions {
  registry: Registry;
  logger: Logger;
  /** metricsBindAddress defaults to DEFAULT_METRICS_BIND_ADDRESS; `0` disables /metrics. */
  metricsBindAddress?: string;
  /** healthProbeBindAddress defaults to DEFAULT_HEALTH_PROBE_BIND_ADDRESS; `0` disables the probes. */
  healthProbeBindAddress?: string;
  checkTimeoutMs?: number;
}

type ProbeKind = 'healthz' | 'readyz';

/**
 * EndpointServer serves /metrics, /healthz and /readyz; when both bind addresses are equal one
 * listener serves all three.
 */
export class EndpointServer {
  private readonly registry: Registry;
  private readonly logger: Logger;
  private readonly checkTimeoutMs: number;
  private readonly metricsBind: BindAddress | undefined;
  private readonly probeBind: BindAddress | undefined;
  private readonly checks: Record<ProbeKind, Map<string, Check>> = { healthz: new Map(), readyz: new Map() };
  private metricsServer: Server | undefined;
  private probeServer: Server | undefined;

  constructor(options: EndpointServerOptions) {
    this.registry = options.registry;
    this.logger = options.logger;
    this.checkTimeoutMs = options.checkTimeoutMs ?? DEFAULT_CHECK_TIMEOUT_MS;
    this.metricsBind = parseBindAddress(options.metricsBindAddress ?? DEFAULT_METRICS_BIND_ADDRESS);
    this.probeBind = parseBindAddress(options.healthProbeBindAddress ?? DEFAULT_HEALTH_PROBE_BIND_ADDRESS);
  }

  /** addHealthCheck adds a liveness check: failing it gets the container restarted. */
  addHealthCheck(name: string, check: Check): void {
    this.addCheck('healthz', name, check);
  }

  /** addReadyCheck adds a readiness check: failing it takes the pod out of Service endpoints. */
  addReadyCheck(name: string, check: Check): void {
    this.addCheck('readyz', name, check);
  }

  /** start listens on the enabled addresses and resolves once they are bound. */
  async start(): Promise<void> {
    const shared =
      this.metricsBind !== undefined &&
      this.probeBind !== undefined &&
      this.metricsBind.port !== 0 &&
      this.metricsBind.host === this.probeBind.host &&
      this.metricsBind.port === this.probeBind.port;
    if (this.metricsBind) {
      this.metricsServer = await this.listen(this.metricsBind, { metrics: true, probes: shared });
      this.logger.info({ address: this.metricsServer.address() }, 'serving metrics');
    }
    if (this.probeBind && !shared) {
      this.probeServer = await this.listen(this.probeBind, { metrics: false, probes: true });
      this.logger.info({ address: this.probeServer.address() }, 'serving health probes');
    }
  }

  /** metricsAddress is the bound metrics address, once started and unless disabled. */
  metricsAddress(): AddressInfo | undefined {
    return addressOf(this.metricsServer);
  }

  /** probeAddress is the bound probe address, once started and unless disabled. */
  probeAddress(): AddressInfo | undefined {
    return addressOf(this.probeServer ?? (this.probeBind ? this.metricsServer : undefined));
  }

  /** close stops accepting connections and resolves once open ones end, cutting them after timeoutMs. */
  async close(timeoutMs: number = DEFAULT_CLOSE_TIMEOUT_MS): Promise<void> {
    const servers = [this.metricsServer, this.probeServer].filter((s): s is Server => s !== undefined);
    this.metricsServer = undefined;
    this.probeServer = undefined;
    await Promise.all(servers.map((server) => closeServer(server, timeoutMs)));
  }

  private addCheck(kind: ProbeKind, name: string, check: Check): void {
    if (!/^[A-Za-z0-9][-A-Za-z0-9_.]*$/.test(name)) throw new Error(`invalid ${kind} check name "${name}"`);
    if (this.checks[kind].has(name)) throw new Error(`${kind} check "${name}" is already registered`);
    this.checks[kind].set(name, check);
  }

  private listen(bind: BindAddress, routes: { metrics: boolean; probes: boolean }): Promise<Server> {
    const server = createServer((req, res) => {
      this.handle(req, res, routes).catch((err: unknown) => {
        this.logger.error({ err, path: req.url }, 'endpoint request failed');
        if (!res.headersSent) reply(res, 500, 'internal server error\n');
        else res.destroy();
      });
    });
    return new Promise((resolve, reject) => {
      const onError = (err: Error) =>
        reject(new Error(`cannot listen on ${bind.host ?? ''}:${bind.port}: ${err.message}`, { cause: err }));
      server.once('error', onError);
      server.listen(bind.port, bind.host, () => {
        server.off('error', onError);
        server.on('error', (err) => this.logger.error({ err }, 'endpoint server error'));
        resolve(server);
      });
    });
  }

  private async handle(
    req: IncomingMessage,
    res: ServerResponse,
    routes: { metrics: boolean; probes: boolean },
  ): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      reply(res, 405, 'method not allowed\n');
      return;
    }
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (routes.metrics && url.pathname === '/metrics') {
      const body = await this.registry.metrics();
      reply(res, 200, body, this.registry.contentType);
      return;
    }
    const probe = routes.probes ? /^\/(healthz|readyz)(?:\/([^/]+))?\/?$/.exec(url.pathname) : null;
    if (probe) {
      await this.serveProbe(res, probe[1] as ProbeKind, probe[2], url.searchParams);
      return;
    }
    reply(res, 404, '404 page not found\n');
  }

  private async serveProbe(
    res: ServerResponse,
    kind: ProbeKind,
    only: string | undefined,
    params: URLSearchParams,
  ): Promise<void> {
    const registered = this.checks[kind];
    if (only !== undefined) {
      const check = registered.get(only);
      if (!check) {
        reply(res, 404, '404 page not found\n');
        return;
      }
      const err = await this.run(check);
      if (err === undefined) reply(res, 200, 'ok');
      else {
        this.logger.info({ check: only, kind, err }, `${kind} check failed`);
        reply(res, 500, `internal server error: reason withheld\n`);
      }
      return;
    }
    const excluded = new Set(params.getAll('exclude'));
    const verbose = params.has('verbose');
    const names = [...registered.keys()];
    const results = await Promise.all(
      names.map(async (name) => ({
        name,
        excluded: excluded.has(name),
        err: excluded.has(name) ? undefined : await this.run(registered.get(name) as Check),
      })),
    );
    const failing = results.filter((r) => r.err !== undefined);
    const lines = results
      .map((r) =>
        r.excluded
          ? `[+]${r.name} excluded: ok`
          : r.err
            ? `[-]${r.name} failed: reason withheld`
            : `[+]${r.name} ok`,
      )
      .join('\n');
    if (failing.length > 0) {
      this.logger.info(
        { kind, failing: Object.fromEntries(failing.map((r) => [r.name, r.err?.message])) },
        `${kind} check failed`,
      );
      reply(res, 500, `${lines}\n${kind} check failed\n`);
      return;
    }
    if (!verbose) {
      reply(res, 200, 'ok');
      return;
    }
    reply(res, 200, `${lines ? `${lines}\n` : ''}${kind} check passed\n`);
  }

  /** run returns undefined when check passes, else the error (a timeout counts as one). */
  private async run(check: Check): Promise<Error | undefined> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no answer within ${this.checkTimeoutMs} ms`)),
        this.checkTimeoutMs,
      );
    });
    try {
      await Promise.race([Promise.resolve().then(check), timeout]);
      return undefined;
    } catch (err) {
      return err instanceof Error ? err : new Error(String(err));
    } finally {
      clearTimeout(timer);
    }
  }
}

function reply(
  res: ServerResponse,
  status: number,
  body: string,
  contentType = 'text/plain; charset=utf-8',
): void {
  res.statusCode = status;
  res.setHeader('content-type', contentType);
  res.setHeader('x-content-type-options', 'nosniff');
  res.setHeader('content-length', Buffer.byteLength(body));
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

function addressOf(server: Server | undefined): AddressInfo | undefined {
  const address = server?.address();
  return address !== null && typeof address === 'object' ? address : undefined;
}

async function closeServer(server: Server, timeoutMs: number): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const timer = setTimeout(() => server.closeAllConnections(), timeoutMs);
  try {
    await closed;
  } finally {
    clearTimeout(timer);
  }
}
