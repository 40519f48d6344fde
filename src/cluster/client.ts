/**
 * KubeClient is a lean JSON client for one Kubernetes API server: one pooled undici Agent, a
 * timeout on every request, retries of 429 and 5xx with backoff that honours Retry-After, and
 * streaming watches. It reads and writes objects as plain JSON, so no field of any kind is lost
 * (client-node's generated models drop fields they do not know; see DESIGN.md section 4).
 */
import { Agent, type Dispatcher } from 'undici';
import type { KubeConfig } from '@kubernetes/client-node';
import type { RequestOptions } from 'node:https';
import { isRecord } from '../api/object.ts';

/** DEFAULT_REQUEST_TIMEOUT_MS bounds every non-watch request. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
/** DEFAULT_MAX_RETRIES is how often a 429, 5xx or connection failure is retried. */
export const DEFAULT_MAX_RETRIES = 2;
const RETRY_BASE_MS = 200;
const RETRY_CAP_MS = 5_000;
const AUTH_REFRESH_MS = 60_000;

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
}

/** KubeClient talks JSON to one API server. */
export class KubeClient {
  readonly name: string;
  readonly server: string;
  /** agent carries requests, with a bounded pool; watchAgent carries watches, one connection each. */
  private readonly agent: Agent;
  private readonly watchAgent: Agent;
  private readonly origin: string;
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
    this.origin = url.origin;
    this.basePath = url.pathname.replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.maxRetries = options.maxRetries ?? DEFAULT_MAX_RETRIES;
    this.authorization = options.authorization;
    this.observer = options.observer;
    const connect = {
      ca: options.ca,
      cert: options.cert,
      key: options.key,
      rejectUnauthorized: options.rejectUnauthorized ?? true,
      servername: options.servername,
      timeout: Math.min(this.timeoutMs, 10_000),
    };
    this.agent = new Agent({ connections: options.connections ?? 32, keepAliveTimeout: 30_000, connect });
    // A watch holds its HTTP/1.1 connection for minutes: sharing the request pool would let a few
    // dozen watches starve every request, so watches get a pool of their own without a cap.
    this.watchAgent = new Agent({ keepAliveTimeout: 30_000, connect });
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
    let body: Dispatcher.ResponseData['body'] | undefined;
    try {
      const res = await this.watchAgent.request({
        origin: this.origin,
        path: this.basePath + path + encodeQuery({ ...query, watch: true }),
        method: 'GET',
        headers: await this.headers(undefined),
        signal,
        headersTimeout: this.timeoutMs,
        // A quiet watch sends nothing between bookmarks; the server ends it after timeoutSeconds.
        bodyTimeout: 0,
      });
      code = String(res.statusCode);
      body = res.body;
      if (res.statusCode >= 300) {
        throw toApiError(this.name, 'GET', path, res.statusCode, res.headers, await res.body.text());
      }
      onOpen?.();
      let buffer = '';
      for await (const chunk of res.body) {
        buffer += (chunk as Buffer).toString('utf8');
        let newline: number;
        while ((newline = buffer.indexOf('\n')) >= 0) {
          const line = buffer.slice(0, newline).trim();
          buffer = buffer.slice(newline + 1);
          if (line) onEvent(JSON.parse(line) as WatchEvent<T>);
        }
      }
    } catch (err) {
      body?.destroy();
      if (signal.aborted) return;
      throw isKubeApiError(err) ? err : transportError(this.name, 'GET', path, err);
    } finally {
      this.observer?.('WATCH', code, (performance.now() - started) / 1000);
    }
  }

  /** close releases every pooled connection; in-flight requests fail. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([this.agent.destroy(), this.watchAgent.destroy()]);
  }

  private async once(req: KubeRequest): Promise<string> {
    const started = performance.now();
    const timeout = AbortSignal.timeout(Math.ceil(req.timeoutMs ?? this.timeoutMs));
    const signal = req.signal ? AbortSignal.any([req.signal, timeout]) : timeout;
    let code = '0';
    try {
      const body = req.body === undefined ? undefined : JSON.stringify(req.body);
      const res = await this.agent.request({
        origin: this.origin,
        path: this.basePath + req.path + encodeQuery(req.query),
        method: req.method,
        headers: await this.headers(body === undefined ? undefined : (req.contentType ?? 'application/json')),
        body,
        signal,
      });
      code = String(res.statusCode);
      const text = await res.body.text();
      if (res.statusCode >= 300) {
        throw toApiError(this.name, req.method, req.path, res.statusCode, res.headers, text);
      }
      return text;
    } catch (err) {
      if (isKubeApiError(err)) throw err;
      if (timeout.aborted && !req.signal?.aborted) {
        throw new KubeApiError(
          `${req.method} ${req.path} on ${this.name} timed out after ${req.timeoutMs ?? this.timeoutMs} ms`,
          { statusCode: 0, reason: 'Timeout', cause: err },
        );
      }
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
  const tls: RequestOptions = {};
  await kc.applyToHTTPSOptions(tls);
  return new KubeClient({
    ...options,
    server: options.server ?? cluster.server,
    ca: tls.ca as string | Buffer | undefined,
    cert: tls.cert as string | Buffer | undefined,
    key: tls.key as string | Buffer | undefined,
    rejectUnauthorized: !cluster.skipTLSVerify,
    authorization: async () => {
      const opts: RequestOptions = {};
      await kc.applyToHTTPSOptions(opts);
      const headers = (opts.headers ?? {}) as Record<string, unknown>;
      const value = headers['Authorization'] ?? headers['authorization'];
      return typeof value === 'string' ? value : undefined;
    },
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

/** sleep waits, or rejects early when the signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason as Error);
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason as Error);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
