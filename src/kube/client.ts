/**
 * KubeClient is a lean JSON client for one Kubernetes API server: Node's own keep-alive HTTP(S)
 * agents (a bounded pool for requests, another for watches), a timeout on every request, retries
 * of 429 and 5xx with backoff that honours Retry-After, and streaming watches. It reads and writes
 * objects as plain JSON, so no field of any kind is lost (client-node's generated models drop
 * fields they do not know). It uses node:http rather than an HTTP library:
 * loading undici alone cost the process about 17 MiB of resident memory (docs/performance.md).
 */
import * as http from 'node:http';
import * as https from 'node:https';
import type { Duplex } from 'node:stream';
import type * as tls from 'node:tls';
import type { KubeConfig } from '@kubernetes/client-node';
import { isRecord } from '../api/object.ts';
import { sleep } from './sleep.ts';

/** DEFAULT_REQUEST_TIMEOUT_MS bounds every non-watch request. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
/** DEFAULT_MAX_RETRIES is how often a 429, 5xx or connection failure is retried. */
export const DEFAULT_MAX_RETRIES = 2;
const RETRY_BASE_MS = 200;
const RETRY_CAP_MS = 5_000;
const AUTH_REFRESH_MS = 60_000;
/** IDLE_CONNECTION_MS is how long a pooled keep-alive connection may stay unused. */
const IDLE_CONNECTION_MS = 30_000;

/** HttpMethod lists the verbs the client sends. */
export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** KubeRequest is one API request. */
export interface KubeRequest {
  method: HttpMethod;
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  /** contentType of the body; JSON by default, `application/apply-patch+yaml` for server-side apply. */
  contentType?: string;
  timeoutMs?: number;
  signal?: AbortSignal;
  /** retries overrides DEFAULT_MAX_RETRIES; 0 sends the request once. */
  retries?: number;
}

/** RequestObserver is told about every finished request (metrics). */
export type RequestObserver = (verb: string, code: string, seconds: number) => void;

/** WatchEvent is one event of a watch stream. */
export interface WatchEvent<T = unknown> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T;
}

/** KubeApiError is a failed API request, with the API server's Status when it sent one. */
export class KubeApiError extends Error {
  /** statusCode is the HTTP status; 0 when no response arrived (connection refused, timeout). */
  readonly statusCode: number;
  /** reason is the Status reason (`NotFound`, `Conflict`, `Invalid`, ...) or a transport reason. */
  readonly reason: string;
  /** details is the Status details (causes name the invalid fields). */
  readonly details: Record<string, unknown> | undefined;
  /** retryAfterSeconds is the server's Retry-After, when given. */
  readonly retryAfterSeconds: number | undefined;

  constructor(
    message: string,
    init: {
      statusCode: number;
      reason: string;
      details?: Record<string, unknown>;
      retryAfterSeconds?: number;
      cause?: unknown;
    },
  ) {
    super(message, { cause: init.cause });
    this.name = 'KubeApiError';
    this.statusCode = init.statusCode;
    this.reason = init.reason;
    this.details = init.details;
    this.retryAfterSeconds = init.retryAfterSeconds;
  }

  /** isNotFound tells whether the object or kind does not exist. */
  get isNotFound(): boolean {
    return this.statusCode === 404;
  }
  /** isConflict tells whether the request lost a race (409). */
  get isConflict(): boolean {
    return this.statusCode === 409;
  }
  /** isGone tells whether a watch's resourceVersion is too old (410). */
  get isGone(): boolean {
    return this.statusCode === 410;
  }
  /** isUnreachable tells whether the API server could not be reached or did not answer in time. */
  get isUnreachable(): boolean {
    return this.statusCode === 0;
  }
  /** isRetryable tells whether the same request may succeed later. */
  get isRetryable(): boolean {
    return this.statusCode === 0 || this.statusCode === 429 || this.statusCode >= 500;
  }
}

/** isKubeApiError narrows an unknown error. */
export function isKubeApiError(err: unknown): err is KubeApiError {
  return err instanceof KubeApiError;
}

/**
 * Connector opens the byte stream to the API server in place of a direct TCP (and TLS) connection,
 * e.g. through a tunnel. It receives the options Node's agent would connect with (host, port and
 * the TLS settings of the client) and resolves with a socket ready for HTTP, TLS included.
 */
export type Connector = (options: tls.ConnectionOptions & { host: string; port: number }) => Promise<Duplex>;

/** KubeClientOptions configures a KubeClient. */
export interface KubeClientOptions {
  /** name identifies the cluster in errors and metrics. */
  name: string;
  server: string;
  ca?: string | Buffer;
  cert?: string | Buffer;
  key?: string | Buffer;
  rejectUnauthorized?: boolean;
  /** servername overrides the TLS server name (kubeconfig tls-server-name). */
  servername?: string;
  /** authorization returns the current Authorization header value (tokens rotate). */
  authorization?: () => Promise<string | undefined>;
  timeoutMs?: number;
  maxRetries?: number;
  observer?: RequestObserver;
  /** connections caps the pooled connections per origin. */
  connections?: number;
  /** connect replaces the direct connection (dataplane/tunnel.ts); timeouts, retries and metrics stay. */
  connect?: Connector;
}

/** KubeClient talks JSON to one API server. */
export class KubeClient {
  readonly name: string;
  readonly server: string;
  /** agent carries requests, with a bounded pool; watchAgent carries watches, one connection each. */
  private readonly agent: http.Agent;
  private readonly watchAgent: http.Agent;
  private readonly send: typeof http.request;
  private readonly hostname: string;
  private readonly port: string;
  private readonly basePath: string;
  private readonly timeoutMs: number;
  private readonly maxRetries: number;
  private readonly authorization: (() => Promise<string | undefined>) | undefined;
  private observer: RequestObserver | undefined;
  private closed = false;

  constructor(options: KubeClientOptions) {
    this.name = options.name;
    this.server = options.server;
    const url = new URL(options.server);
    this.hostname = url.hostname.replace(/^\[(.*)\]$/, '$1');
    this.port = url.port;
    this.basePath = url.pathname.replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.maxRetries = options.maxRetries ?? DEFAULT_MAX_RETRIES;
    this.authorization = options.authorization;
    this.observer = options.observer;
    const secure = url.protocol === 'https:';
    if (!secure && url.protocol !== 'http:') {
      throw new Error(
        `API server URL of ${options.name} must be https:// or http://, got "${options.server}"`,
      );
    }
    const agentOptions: https.AgentOptions = {
      keepAlive: true,
      // An idle pooled connection is closed after this long.
      timeout: IDLE_CONNECTION_MS,
      scheduling: 'lifo',
      ca: options.ca,
      cert: options.cert,
      key: options.key,
      rejectUnauthorized: options.rejectUnauthorized ?? true,
      ...(options.servername ? { servername: options.servername } : {}),
    };
    const pool = (extra: https.AgentOptions): http.Agent => {
      const agent = secure
        ? new https.Agent({ ...agentOptions, ...extra })
        : new http.Agent({ ...agentOptions, ...extra });
      // The pool reaches one server with one TLS identity, so every connection is interchangeable.
      // Node keys a pool by a name that concatenates the CA, certificate and key of each request
      // (kilobytes per request); one constant name is exact here.
      agent.getName = () => 'server';
      const connect = options.connect;
      if (connect) {
        // Node's agent accepts a socket passed to the callback later; a failure fails the request.
        agent.createConnection = (opts, done) => {
          connect(opts as Parameters<Connector>[0]).then(
            (socket) => done?.(null, socket),
            (err: unknown) => done?.(err instanceof Error ? err : new Error(String(err)), undefined as never),
          );
          return undefined;
        };
      }
      return agent;
    };
    this.send = secure ? https.request : http.request;
    this.agent = pool({ maxSockets: options.connections ?? 32 });
    // A watch holds its HTTP/1.1 connection for minutes: sharing the request pool would let a few
    // dozen watches starve every request, so watches get a pool of their own without a cap.
    this.watchAgent = pool({});
  }

  /** setObserver installs the request observer (metrics) after construction. */
  setObserver(observer: RequestObserver | undefined): void {
    this.observer = observer;
  }

  /** request sends one request and returns the parsed JSON body; it throws KubeApiError. */
  async request<T = unknown>(req: KubeRequest): Promise<T> {
    const text = await this.text(req);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /** text sends one request and returns the body as text (for /metrics); it throws KubeApiError. */
  async text(req: KubeRequest): Promise<string> {
    const retries = req.retries ?? this.maxRetries;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.once(req);
      } catch (err) {
        if (
          !isKubeApiError(err) ||
          !err.isRetryable ||
          attempt >= retries ||
          req.signal?.aborted ||
          this.closed
        ) {
          throw err;
        }
        const backoff = Math.min(RETRY_CAP_MS, RETRY_BASE_MS * 2 ** attempt) * (0.5 + Math.random() / 2);
        const wait =
          err.retryAfterSeconds !== undefined ? Math.min(err.retryAfterSeconds * 1000, 30_000) : backoff;
        await sleep(wait, req.signal);
      }
    }
  }

  /**
   * watch streams watch events of a collection until the server ends the stream, the signal
   * aborts, or an error occurs; `onOpen` runs once the server accepted the watch, and `onEvent`
   * for every event in order.
   */
  async watch<T>(
    path: string,
    query: Record<string, string | number | boolean | undefined>,
    onEvent: (event: WatchEvent<T>) => void,
    signal: AbortSignal,
    onOpen?: () => void,
  ): Promise<void> {
    const started = performance.now();
    let code = '0';
    let res: http.IncomingMessage | undefined;
    try {
      // The server must answer within the request timeout; after that a quiet watch may stay
      // silent between bookmarks until the server ends it after timeoutSeconds.
      res = await this.exchange(this.watchAgent, {
        method: 'GET',
        path: path + encodeQuery({ ...query, watch: true }),
        headers: await this.headers(undefined),
        signal,
        deadline: {
          ms: this.timeoutMs,
          until: 'answer',
          message: `GET ${path} on ${this.name} got no answer within ${this.timeoutMs} ms`,
        },
      });
      code = String(res.statusCode);
      if (res.statusCode === undefined || res.statusCode >= 300) {
        throw toApiError(this.name, 'GET', path, res.statusCode ?? 0, res.headers, await readText(res));
      }
      onOpen?.();
      res.setEncoding('utf8');
      let buffer = '';
      for await (const chunk of res) {
        buffer += chunk as string;
        let newline: number;
        while ((newline = buffer.indexOf('\n')) >= 0) {
          const line = buffer.slice(0, newline).trim();
          buffer = buffer.slice(newline + 1);
          if (line) onEvent(JSON.parse(line) as WatchEvent<T>);
        }
      }
    } catch (err) {
      res?.destroy();
      if (signal.aborted) return;
      throw isKubeApiError(err) ? err : transportError(this.name, 'GET', path, err);
    } finally {
      this.observer?.('WATCH', code, (performance.now() - started) / 1000);
    }
  }

  /** close releases every pooled connection; in-flight requests fail. */
  async close(): Promise<void> {
    this.closed = true;
    this.agent.destroy();
    this.watchAgent.destroy();
    return Promise.resolve();
  }

  /**
   * exchange sends one HTTP request through an agent and resolves with the response once its
   * headers arrived; the caller reads the body. `signal` aborts the request at any point. The
   * deadline fails the request with a Timeout error after `ms`, either until the headers arrived
   * (a watch, whose body is endless) or until the body is read to its end.
   */
  private exchange(
    agent: http.Agent,
    init: {
      method: HttpMethod;
      path: string;
      headers: Record<string, string>;
      body?: string;
      signal?: AbortSignal;
      deadline: { ms: number; until: 'answer' | 'end'; message: string };
    },
  ): Promise<http.IncomingMessage> {
    return new Promise((resolve, reject) => {
      const headers =
        init.body === undefined
          ? init.headers
          : { ...init.headers, 'content-length': String(Buffer.byteLength(init.body)) };
      const req = this.send({
        agent,
        hostname: this.hostname,
        port: this.port,
        method: init.method,
        path: this.basePath + init.path,
        headers,
      });
      const abort = () => {
        const reason: unknown = init.signal?.reason;
        req.destroy(reason instanceof Error ? reason : new Error('request aborted'));
      };
      let response: http.IncomingMessage | undefined;
      const timer = setTimeout(() => {
        const err = new KubeApiError(init.deadline.message, { statusCode: 0, reason: 'Timeout' });
        // The reader of the body sees this error rather than a bare connection reset.
        response?.destroy(err);
        req.destroy(err);
      }, init.deadline.ms);
      const settle = () => {
        clearTimeout(timer);
        init.signal?.removeEventListener('abort', abort);
      };
      req.once('response', (res) => {
        response = res;
        if (init.deadline.until === 'answer') clearTimeout(timer);
        res.once('close', settle);
        resolve(res);
      });
      // 'on', not 'once': a connection can fail twice (reset while the body streams, then close).
      req.on('error', (err) => {
        settle();
        reject(err);
      });
      if (init.signal?.aborted) {
        abort();
        return;
      }
      init.signal?.addEventListener('abort', abort, { once: true });
      req.end(init.body);
    });
  }

  private async once(req: KubeRequest): Promise<string> {
    const started = performance.now();
    const timeoutMs = Math.ceil(req.timeoutMs ?? this.timeoutMs);
    let code = '0';
    try {
      const body = req.body === undefined ? undefined : JSON.stringify(req.body);
      const res = await this.exchange(this.agent, {
        method: req.method,
        path: req.path + encodeQuery(req.query),
        headers: await this.headers(body === undefined ? undefined : (req.contentType ?? 'application/json')),
        body,
        signal: req.signal,
        deadline: {
          ms: timeoutMs,
          until: 'end',
          message: `${req.method} ${req.path} on ${this.name} timed out after ${timeoutMs} ms`,
        },
      });
      const statusCode = res.statusCode ?? 0;
      code = String(statusCode);
      const text = await readText(res);
      if (statusCode >= 300) {
        throw toApiError(this.name, req.method, req.path, statusCode, res.headers, text);
      }
      return text;
    } catch (err) {
      if (isKubeApiError(err)) throw err;
      throw transportError(this.name, req.method, req.path, err);
    } finally {
      this.observer?.(req.method, code, (performance.now() - started) / 1000);
    }
  }

  private authCache: { value: string | undefined; at: number } | undefined;

  private async headers(contentType: string | undefined): Promise<Record<string, string>> {
    const headers: Record<string, string> = {
      accept: 'application/json',
      'user-agent': 'release-controller',
    };
    if (contentType) headers['content-type'] = contentType;
    if (this.authorization) {
      if (!this.authCache || performance.now() - this.authCache.at > AUTH_REFRESH_MS) {
        this.authCache = { value: await this.authorization(), at: performance.now() };
      }
      if (this.authCache.value) headers['authorization'] = this.authCache.value;
    }
    return headers;
  }
}

/**
 * clientFromKubeConfig builds a KubeClient from a loaded client-node KubeConfig (current context).
 * Used only for kubeconfigs with credential plugins; see kubeconfig.ts.
 */
export async function clientFromKubeConfig(
  kc: KubeConfig,
  options: Omit<KubeClientOptions, 'server'> & { server?: string },
): Promise<KubeClient> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) {
    throw new Error(`kubeconfig for ${options.name} has no current cluster: set current-context`);
  }
  const tls: https.RequestOptions = {};
  await kc.applyToHTTPSOptions(tls);
  return new KubeClient({
    ...options,
    server: options.server ?? cluster.server,
    ca: tls.ca as string | Buffer | undefined,
    cert: tls.cert as string | Buffer | undefined,
    key: tls.key as string | Buffer | undefined,
    rejectUnauthorized: !cluster.skipTLSVerify,
    authorization: async () => {
      const opts: https.RequestOptions = {};
      await kc.applyToHTTPSOptions(opts);
      const headers = (opts.headers ?? {}) as Record<string, unknown>;
      const value = headers['Authorization'] ?? headers['authorization'];
      return typeof value === 'string' ? value : undefined;
    },
  });
}

/**
 * readText reads a whole response body as UTF-8 text. Events rather than async iteration: this
 * runs for every response, and an iterator costs a promise per chunk.
 */
function readText(res: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    res.setEncoding('utf8');
    let text = '';
    let ended = false;
    res.on('data', (chunk: string) => (text += chunk));
    res.once('end', () => {
      ended = true;
      resolve(text);
    });
    res.once('error', reject);
    res.once('close', () => {
      if (!ended) reject(new Error('the connection closed before the response ended'));
    });
  });
}

function encodeQuery(query: KubeRequest['query']): string {
  if (!query) return '';
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined) params.set(k, String(v));
  const text = params.toString();
  return text ? `?${text}` : '';
}

function toApiError(
  cluster: string,
  method: string,
  path: string,
  statusCode: number,
  headers: Record<string, string | string[] | undefined>,
  text: string,
): KubeApiError {
  let status: Record<string, unknown> | undefined;
  try {
    const parsed: unknown = JSON.parse(text);
    if (isRecord(parsed)) status = parsed;
  } catch {
    status = undefined;
  }
  const retryAfter = headers['retry-after'];
  const retryAfterSeconds =
    typeof retryAfter === 'string' && /^\d+$/.test(retryAfter) ? Number(retryAfter) : undefined;
  const message =
    typeof status?.['message'] === 'string' ? status['message'] : text.slice(0, 300) || `HTTP ${statusCode}`;
  const reason = typeof status?.['reason'] === 'string' ? status['reason'] : `HTTP${statusCode}`;
  const details = isRecord(status?.['details']) ? status['details'] : undefined;
  return new KubeApiError(`${method} ${path} on ${cluster}: ${message}`, {
    statusCode,
    reason,
    details,
    retryAfterSeconds,
  });
}

function transportError(cluster: string, method: string, path: string, err: unknown): KubeApiError {
  const code = isRecord(err) && typeof err['code'] === 'string' ? err['code'] : undefined;
  const detail = err instanceof Error ? err.message : String(err);
  return new KubeApiError(
    `${method} ${path} on ${cluster}: cannot reach the API server (${code ?? detail})`,
    {
      statusCode: 0,
      reason: code ?? 'Unreachable',
      cause: err,
    },
  );
}
