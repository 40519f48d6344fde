/**
 * KubeClient is a lean JSON client for one Kubernetes API server: Node's own keep-alive HTTP(S)
 * agents (a bounded pool for requests, another for watches), a timeout on every request, retries
 * of 429 and 5xx with backoff that honours Retry-After, and streaming watches. Everything a server
 * sends is bounded: a response body and a watch event line have a size cap (the response is
 * destroyed at the cap, nothing is buffered past it), and a watch has a deadline and, when it
 * asked for bookmarks, an idle deadline, so a silent connection is noticed. It reads and writes
 * objects as plain JSON, so no field of any kind is lost (client-node's generated models drop
 * fields they do not know). It uses node:http rather than an HTTP library:
 * loading undici alone cost the process about 17 MiB of resident memory (docs/performance.md).
 */
import { randomUUID } from 'node:crypto';
import type * as http from 'node:http';
import * as https from 'node:https';
import type { Duplex, Readable } from 'node:stream';
import * as tls from 'node:tls';
import type { LookupFunction } from 'node:net';
import type { KubeConfig } from '@kubernetes/client-node';
import { isRecord } from '../api/object.ts';
import { oneLine } from '../api/text.ts';
import { impersonationHeaders, type Impersonation } from './impersonation.ts';
import { NotHttp2Error, SessionPool, type StreamAnswer } from './multiplex.ts';
import { sleep } from './sleep.ts';

// Not an ES import: the ES module facade of node:http reads every export, and its lazy WebSocket,
// CloseEvent and MessageEvent load Node's bundled undici (about 0.7 MiB of source and 10 MiB of
// RSS) that this client never uses (docs/performance.md, "Idle process").
const plainHttp = process.getBuiltinModule('node:http');

/** DEFAULT_REQUEST_TIMEOUT_MS bounds every non-watch request. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
/** DEFAULT_MAX_RETRIES is how often a 429, 5xx or connection failure is retried. */
export const DEFAULT_MAX_RETRIES = 2;
const RETRY_BASE_MS = 200;
const RETRY_CAP_MS = 5_000;
const AUTH_REFRESH_MS = 60_000;
/** IDLE_CONNECTION_MS is how long a pooled keep-alive connection may stay unused. */
const IDLE_CONNECTION_MS = 30_000;
const MIB = 1024 * 1024;
/**
 * DEFAULT_MAX_RESPONSE_BYTES caps one response body (64 MiB). The largest legitimate answers are
 * discovery documents and list pages (a page is re-requested smaller by the informer); V8 cannot
 * hold a string of more than about 512 MiB at all, and the chart's memory limit is 512 MiB.
 */
export const DEFAULT_MAX_RESPONSE_BYTES = 64 * MIB;
/** DEFAULT_MAX_WATCH_EVENT_BYTES caps one watch event line (16 MiB; etcd stores objects of at most 1.5 MiB). */
export const DEFAULT_MAX_WATCH_EVENT_BYTES = 16 * MIB;
/**
 * DEFAULT_WATCH_IDLE_TIMEOUT_MS ends a watch that asked for bookmarks and received no byte for
 * this long. The API server sends a bookmark about every minute, so two and a half minutes of
 * silence means the connection is gone (a network partition leaves a socket open and quiet).
 */
export const DEFAULT_WATCH_IDLE_TIMEOUT_MS = 150_000;
/**
 * WATCH_DEADLINE_SLACK_MS is added to a watch's `timeoutSeconds` for its client-side deadline:
 * the server ends the stream after timeoutSeconds, so a stream still open well after that is dead.
 */
export const WATCH_DEADLINE_SLACK_MS = 30_000;
/**
 * TCP_KEEPALIVE_MS is the idle time before the kernel probes a connection: without it a silent
 * peer is found only by the deadlines (Linux's default is two hours).
 */
const TCP_KEEPALIVE_MS = 30_000;

/** LimitReasons are the KubeApiError reasons of a bound the client or the informer enforced. */
export const LimitReasons = {
  /** responseTooLarge: a response body or a watch event line exceeded its cap. */
  responseTooLarge: 'ResponseTooLarge',
  /** listBudgetExceeded: a paged list exceeded its page, byte or time budget. */
  listBudgetExceeded: 'ListBudgetExceeded',
  /** watchTimeout: a watch stayed silent past its idle deadline or open past its deadline. */
  watchTimeout: 'WatchTimeout',
  /** watchConnections: a server allows too few HTTP/2 streams per connection, or the watch connections are at their cap. */
  watchConnections: 'WatchConnectionLimit',
  /** cacheBudgetExceeded: the watch caches of a data plane (or its organization) outgrew their budget. */
  cacheBudgetExceeded: 'CacheBudgetExceeded',
} as const;

/**
 * INVALID_REQUEST is the reason of a request that could not be built (Node refused its path or a
 * header): it never reached the server, so it is neither "unreachable" nor worth a retry.
 */
export const INVALID_REQUEST = 'InvalidRequest';

/** REQUEST_CONSTRUCTION_CODES are Node's error codes for a request it refuses to build. */
const REQUEST_CONSTRUCTION_CODES = new Set([
  'ERR_UNESCAPED_CHARACTERS',
  'ERR_INVALID_HTTP_TOKEN',
  'ERR_INVALID_CHAR',
  'ERR_HTTP_INVALID_HEADER_VALUE',
  'ERR_INVALID_URL',
  'ERR_INVALID_ARG_VALUE',
  'ERR_INVALID_ARG_TYPE',
]);

/** ClientLimits bound what a KubeClient accepts from its server. */
export interface ClientLimits {
  /** maxResponseBytes caps one response body. */
  maxResponseBytes: number;
  /** maxWatchEventBytes caps one watch event (one line of the stream). */
  maxWatchEventBytes: number;
  /** watchIdleTimeoutMs ends a watch with bookmarks that received no byte for this long. */
  watchIdleTimeoutMs: number;
  /** watchDeadlineSlackMs is added to a watch's timeoutSeconds for its deadline. */
  watchDeadlineSlackMs: number;
  /** minStreamsPerConnection refuses an HTTP/2 server that allows fewer concurrent streams per connection. */
  minStreamsPerConnection: number;
  /** maxWatchConnections caps the connections carrying watches (HTTP/2 connections, or HTTP/1.1 watches). */
  maxWatchConnections: number;
  /** settings names what raises each limit (a flag), for error messages; the layers above know it. */
  settings?: Partial<
    Record<
      | 'maxResponseBytes'
      | 'maxWatchEventBytes'
      | 'watchIdleTimeoutMs'
      | 'minStreamsPerConnection'
      | 'maxWatchConnections',
      string
    >
  >;
}

/** DEFAULT_MIN_STREAMS_PER_CONNECTION is the fewest HTTP/2 streams per connection a server must allow. */
export const DEFAULT_MIN_STREAMS_PER_CONNECTION = 10;
/** DEFAULT_MAX_WATCH_CONNECTIONS caps the watch connections of one client. */
export const DEFAULT_MAX_WATCH_CONNECTIONS = 64;

/** formatBytes renders a size for messages: `64 MiB`, `1.5 KiB` or `900 bytes`. */
export function formatBytes(bytes: number): string {
  for (const [unit, size] of [
    ['GiB', 1024 * MIB],
    ['MiB', MIB],
    ['KiB', 1024],
  ] as const) {
    if (bytes >= size) return `${Number((bytes / size).toFixed(1))} ${unit}`;
  }
  return `${bytes} bytes`;
}

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
  /**
   * discardBody says nobody reads the answer (a DELETE's): it is read off the wire within the
   * size limit, never parsed, and request() returns undefined.
   */
  discardBody?: boolean;
}

/**
 * Answer is the outcome of attempt(): the parsed body of a success, or only the status code of a
 * failure the caller expects (a 404 of a read, a 409 of a create), which is a value, not an error.
 */
export type Answer<T> = { ok: true; body: T } | { ok: false; statusCode: number };

/** SizedBody is a parsed response body with the number of bytes it took on the wire. */
export interface SizedBody<T> {
  body: T;
  bytes: number;
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
  /**
   * isUnreachable tells whether the API server could not be reached or did not answer in time: no
   * answer at all, or a 502, 503 or 504 that is not a Kubernetes Status, which comes from a proxy in
   * front of the API server (OpenChoreo's cluster gateway when no agent is connected or its request
   * timed out, a load balancer) rather than from the API server itself. A request that could not
   * even be built (INVALID_REQUEST) never left this process: it says nothing about the server.
   */
  get isUnreachable(): boolean {
    if (this.statusCode === 0) return this.reason !== INVALID_REQUEST;
    return PROXY_FAILURES.has(this.statusCode) && this.reason === `HTTP${this.statusCode}`;
  }
  /** isLimitExceeded tells whether a size, list or cache budget was exceeded: the same request fails the same way. */
  get isLimitExceeded(): boolean {
    return (
      this.reason === LimitReasons.responseTooLarge ||
      this.reason === LimitReasons.listBudgetExceeded ||
      this.reason === LimitReasons.cacheBudgetExceeded ||
      this.reason === LimitReasons.watchConnections
    );
  }
  /**
   * isRetryable tells whether the same request may succeed later. A request that timed out is not:
   * it already waited its whole deadline, and a server that is silent for that long (a black hole,
   * a partition) would make every retry cost the same again, one worker held for (retries + 1)
   * deadlines per request. The caller's own backoff (the workqueue) tries again later.
   */
  get isRetryable(): boolean {
    if (
      this.isLimitExceeded ||
      this.reason === 'Timeout' ||
      this.reason === 'InvalidAnswer' ||
      this.reason === INVALID_REQUEST
    ) {
      return false;
    }
    return this.statusCode === 0 || this.statusCode === 429 || this.statusCode >= 500;
  }
}

/** PROXY_FAILURES are the status codes with which a proxy says it could not reach the server behind it. */
const PROXY_FAILURES = new Set([502, 503, 504]);

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
  /** limits bound bodies, watch lines and silent watches; each defaults to its DEFAULT_ constant. */
  limits?: Partial<ClientLimits>;
  /**
   * lookup resolves host names for this client's sockets (dataplane/endpoint.ts refuses addresses
   * the operator's policy does not allow, at connect time).
   */
  lookup?: LookupFunction;
  /**
   * onUnreachable is told the detail of every request that could not reach the server (the
   * connection error code, the deadline), which the error itself does not carry: error messages
   * reach tenants, and a code such as ECONNREFUSED against ETIMEDOUT would let them scan ports.
   */
  onUnreachable?: (detail: UnreachableDetail) => void;
  /** impersonate makes every request act as this identity (kubeconfig `as`, `as-groups`, ...). */
  impersonate?: Impersonation;
  /**
   * http2 carries every watch as a stream of one shared HTTP/2 connection (multiplex.ts) when the
   * server offers it (default true); false keeps an HTTP/1.1 connection per watch.
   */
  http2?: boolean;
  /**
   * requestIds sends a fresh `X-Request-ID` with every request, so a proxy that logs it (OpenChoreo's
   * cluster gateway and agent do) can be correlated with the request.
   */
  requestIds?: boolean;
}

/** UnreachableDetail is what the operator's log gets of a request that could not reach the server. */
export interface UnreachableDetail {
  method: string;
  path: string;
  /** code is the connection error code (ECONNREFUSED, ETIMEDOUT, ...) or the client's reason (Timeout). */
  code: string;
  message: string;
}

/** KubeClient talks JSON to one API server. */
export class KubeClient {
  readonly name: string;
  readonly server: string;
  /** agent carries requests, with a bounded pool; watchAgent carries watches, one connection each. */
  private readonly agent: http.Agent;
  private readonly watchAgent: http.Agent;
  /** http1Watches counts the watches open on HTTP/1.1 connections (one connection each). */
  private http1Watches = 0;
  /** streams carries watches over HTTP/2; undefined for http:// or once the server chose HTTP/1.1. */
  private streams: SessionPool | undefined;
  private readonly send: typeof http.request;
  private readonly hostname: string;
  private readonly port: string;
  private readonly basePath: string;
  private readonly timeoutMs: number;
  private readonly maxRetries: number;
  private readonly authorization: (() => Promise<string | undefined>) | undefined;
  private readonly onUnreachable: ((detail: UnreachableDetail) => void) | undefined;
  private readonly impersonate: Record<string, string | string[]>;
  private readonly requestIds: boolean;
  private observer: RequestObserver | undefined;
  private closed = false;
  /** limits are what this client accepts from its server. */
  readonly limits: ClientLimits;

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
    this.onUnreachable = options.onUnreachable;
    this.impersonate = options.impersonate ? impersonationHeaders(options.impersonate) : {};
    this.requestIds = options.requestIds ?? false;
    this.observer = options.observer;
    this.limits = {
      maxResponseBytes: options.limits?.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES,
      maxWatchEventBytes: options.limits?.maxWatchEventBytes ?? DEFAULT_MAX_WATCH_EVENT_BYTES,
      watchIdleTimeoutMs: options.limits?.watchIdleTimeoutMs ?? DEFAULT_WATCH_IDLE_TIMEOUT_MS,
      watchDeadlineSlackMs: options.limits?.watchDeadlineSlackMs ?? WATCH_DEADLINE_SLACK_MS,
      minStreamsPerConnection: options.limits?.minStreamsPerConnection ?? DEFAULT_MIN_STREAMS_PER_CONNECTION,
      maxWatchConnections: options.limits?.maxWatchConnections ?? DEFAULT_MAX_WATCH_CONNECTIONS,
      settings: options.limits?.settings,
    };
    const secure = url.protocol === 'https:';
    if (!secure && url.protocol !== 'http:') {
      throw new Error(
        `API server URL of ${options.name} must be https:// or http://, got "${options.server}"`,
      );
    }
    const tlsOptions: tls.ConnectionOptions = secure
      ? {
          ...sharedSecureContext(options),
          rejectUnauthorized: options.rejectUnauthorized ?? true,
          ...(options.servername ? { servername: options.servername } : {}),
        }
      : {};
    const agentOptions: https.AgentOptions = {
      keepAlive: true,
      // An idle pooled connection is closed after this long.
      timeout: IDLE_CONNECTION_MS,
      scheduling: 'lifo',
      ...tlsOptions,
      ...(options.lookup ? { lookup: options.lookup } : {}),
    };
    const pool = (extra: https.AgentOptions): http.Agent => {
      const agent = secure
        ? new https.Agent({ ...agentOptions, ...extra })
        : new plainHttp.Agent({ ...agentOptions, ...extra });
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
    this.send = secure ? https.request : plainHttp.request;
    this.agent = pool({ maxSockets: options.connections ?? 32 });
    // A watch holds its HTTP/1.1 connection for minutes: sharing the request pool would let a few
    // dozen watches starve every request, so watches get a pool of their own without a cap.
    this.watchAgent = pool({});
    if (secure && options.http2 !== false) {
      const connectOptions = {
        ...tlsOptions,
        ...(options.lookup ? { lookup: options.lookup } : {}),
        host: this.hostname,
        port: Number(this.port) || 443,
        ALPNProtocols: ['h2', 'http/1.1'],
      };
      this.streams = new SessionPool({
        authority: `https://${url.host}`,
        connect: () => secureConnection(connectOptions, options.connect, this.timeoutMs),
        idleMs: IDLE_CONNECTION_MS,
        timeoutMs: this.timeoutMs,
        minStreams: this.limits.minStreamsPerConnection,
        maxSessions: this.limits.maxWatchConnections,
        limitError: (message, setting) =>
          this.watchLimit(
            message,
            this.limits.settings?.[
              setting === 'minStreams' ? 'minStreamsPerConnection' : 'maxWatchConnections'
            ],
          ),
      });
    }
  }

  /** watchLimit is the error of a watch refused by a connection limit, naming what raises it. */
  private watchLimit(message: string, setting: string | undefined): KubeApiError {
    return new KubeApiError(`watch on ${this.name}: ${message}${hint(setting)}`, {
      statusCode: 0,
      reason: LimitReasons.watchConnections,
    });
  }

  /** setObserver installs the request observer (metrics) after construction. */
  setObserver(observer: RequestObserver | undefined): void {
    this.observer = observer;
  }

  /** request sends one request and returns the parsed JSON body; it throws KubeApiError. */
  async request<T = unknown>(req: KubeRequest): Promise<T> {
    return (await this.requestSized<T>(req)).body;
  }

  /** requestSized is request that also tells how many bytes the body took (list budgets count them). */
  async requestSized<T = unknown>(req: KubeRequest): Promise<SizedBody<T>> {
    const { text, bytes } = await this.read(req);
    if (req.discardBody) return { body: undefined as T, bytes };
    return { body: parseAnswer<T>(text, () => `${req.method} ${req.path} on ${this.name}`), bytes };
  }

  /**
   * attempt sends one request whose `expected` failure codes are answers the caller planned for
   * (a 404 of a read, a 409 of a create): they come back as `{ ok: false, statusCode }`, with no
   * KubeApiError built (no stack trace) and their Status body not parsed. Every other failure is
   * thrown as by request().
   */
  async attempt<T = unknown>(req: KubeRequest, expected: readonly number[]): Promise<Answer<T>> {
    const answer = await this.read(req, expected);
    if ('expected' in answer) return { ok: false, statusCode: answer.expected };
    if (req.discardBody) return { ok: true, body: undefined as T };
    return { ok: true, body: parseAnswer<T>(answer.text, () => `${req.method} ${req.path} on ${this.name}`) };
  }

  /** text sends one request and returns the body as text (for /metrics); it throws KubeApiError. */
  async text(req: KubeRequest): Promise<string> {
    return (await this.read(req)).text;
  }

  private async read(req: KubeRequest): Promise<{ text: string; bytes: number }>;
  private async read(
    req: KubeRequest,
    expected: readonly number[],
  ): Promise<{ text: string; bytes: number } | { expected: number }>;
  private async read(
    req: KubeRequest,
    expected: readonly number[] = [],
  ): Promise<{ text: string; bytes: number } | { expected: number }> {
    const retries = req.retries ?? this.maxRetries;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.once(req, expected);
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
   * for every event in order, with the bytes of its line (caches count them). A stream open longer than its `timeoutSeconds` plus
   * WATCH_DEADLINE_SLACK_MS, or silent for the idle timeout while it asked for bookmarks, fails
   * with reason WatchTimeout; an event line over the cap fails with ResponseTooLarge.
   */
  async watch<T>(
    path: string,
    query: Record<string, string | number | boolean | undefined>,
    onEvent: (event: WatchEvent<T>, bytes: number) => void,
    signal: AbortSignal,
    onOpen?: () => void,
  ): Promise<void> {
    const started = performance.now();
    let code = '0';
    let res: StreamAnswer | undefined;
    try {
      res = await this.openWatch(path + encodeQuery({ ...query, watch: true }), signal);
      code = String(res.statusCode);
      if (res.statusCode >= 300) {
        const { text } = await readBody(res.body, res.headers, this.bodyLimit('GET', path));
        throw toApiError(this.name, 'GET', path, res.statusCode, res.headers, text);
      }
      onOpen?.();
      await this.readEvents(res.body, path, query, onEvent);
    } catch (err) {
      res?.body.destroy();
      if (signal.aborted) return;
      throw this.failure('GET', path, err);
    } finally {
      this.observer?.('WATCH', code, (performance.now() - started) / 1000);
    }
  }

  /**
   * openWatch sends a watch request and resolves once the server answered: on a stream of a shared
   * HTTP/2 connection when the server speaks it, else on an HTTP/1.1 connection of its own. The
   * server must answer within the request timeout; the body has deadlines of its own.
   */
  private async openWatch(pathAndQuery: string, signal: AbortSignal): Promise<StreamAnswer> {
    const message = `GET ${pathAndQuery.split('?')[0]} on ${this.name} got no answer within ${this.timeoutMs} ms`;
    const headers = await this.headers(undefined);
    const streams = this.streams;
    if (streams) {
      try {
        return await streams.get({
          path: this.basePath + pathAndQuery,
          headers,
          signal,
          deadline: {
            ms: this.timeoutMs,
            error: () => new KubeApiError(message, { statusCode: 0, reason: 'Timeout' }),
          },
        });
      } catch (err) {
        if (!(err instanceof NotHttp2Error)) throw err;
        // Remembered for the life of the client: the server (or a proxy before it) chose HTTP/1.1.
        streams.close();
        if (this.streams === streams) this.streams = undefined;
      }
    }
    // Each HTTP/1.1 watch holds a connection of its own: as many as HTTP/2 connections are allowed.
    const { maxWatchConnections, settings } = this.limits;
    if (this.http1Watches >= maxWatchConnections) {
      throw this.watchLimit(
        `${this.http1Watches} watches already hold an HTTP/1.1 connection each, the most allowed`,
        settings?.maxWatchConnections,
      );
    }
    this.http1Watches++;
    let res: http.IncomingMessage;
    try {
      res = await this.exchange(this.watchAgent, {
        method: 'GET',
        path: pathAndQuery,
        headers,
        signal,
        deadline: { ms: this.timeoutMs, until: 'answer', message },
      });
    } catch (err) {
      this.http1Watches--;
      throw err;
    }
    res.once('close', () => this.http1Watches--);
    return { statusCode: res.statusCode ?? 0, headers: res.headers, body: res };
  }

  /**
   * readEvents splits a watch body into lines as bytes (a newline byte never occurs inside a
   * UTF-8 character), so a line is measured exactly and never held past its cap.
   */
  private async readEvents<T>(
    res: Readable,
    path: string,
    query: Record<string, string | number | boolean | undefined>,
    onEvent: (event: WatchEvent<T>, bytes: number) => void,
  ): Promise<void> {
    const { maxWatchEventBytes, watchIdleTimeoutMs, watchDeadlineSlackMs, settings } = this.limits;
    const timeoutSeconds = Number(query['timeoutSeconds']);
    const cut = (message: string) => () =>
      res.destroy(
        new KubeApiError(`GET ${path} on ${this.name}: ${message}`, {
          statusCode: 0,
          reason: LimitReasons.watchTimeout,
        }),
      );
    // Without bookmarks a quiet collection may rightly send nothing until timeoutSeconds.
    const idle =
      query['allowWatchBookmarks'] === true
        ? setTimeout(
            cut(
              `watch received nothing (not even a bookmark) for ${watchIdleTimeoutMs / 1000} s${hint(settings?.watchIdleTimeoutMs)}`,
            ),
            watchIdleTimeoutMs,
          )
        : undefined;
    const deadlineMs = timeoutSeconds > 0 ? timeoutSeconds * 1000 + watchDeadlineSlackMs : undefined;
    const deadline =
      deadlineMs === undefined
        ? undefined
        : setTimeout(
            cut(
              `watch still open ${deadlineMs / 1000} s after it started, past its timeoutSeconds of ${timeoutSeconds}`,
            ),
            deadlineMs,
          );
    const tooLong = () =>
      new KubeApiError(
        `GET ${path} on ${this.name}: a watch event is larger than the limit of ${formatBytes(maxWatchEventBytes)}${hint(settings?.maxWatchEventBytes)}`,
        { statusCode: 0, reason: LimitReasons.responseTooLarge },
      );
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    try {
      for await (const chunk of res as AsyncIterable<Buffer>) {
        idle?.refresh();
        let start = 0;
        let newline: number;
        while ((newline = chunk.indexOf(0x0a, start)) >= 0) {
          const piece = chunk.subarray(start, newline);
          if (pendingBytes + piece.length > maxWatchEventBytes) throw tooLong();
          const line = pendingBytes > 0 ? Buffer.concat([...pending, piece]) : piece;
          pending = [];
          pendingBytes = 0;
          start = newline + 1;
          const text = line.toString('utf8').trim();
          if (text)
            onEvent(
              parseAnswer<WatchEvent<T>>(text, () => `a watch event of GET ${path} on ${this.name}`),
              line.length,
            );
        }
        if (start < chunk.length) {
          pendingBytes += chunk.length - start;
          if (pendingBytes > maxWatchEventBytes) throw tooLong();
          // A copy: a stream may reuse a chunk's memory once its handler returned.
          pending.push(Buffer.from(chunk.subarray(start)));
        }
      }
    } finally {
      clearTimeout(idle);
      clearTimeout(deadline);
    }
  }

  /** bodyLimit is the cap of one response body, with the error that names it. */
  private bodyLimit(method: string, path: string): BodyLimit {
    const { maxResponseBytes, settings } = this.limits;
    return {
      bytes: maxResponseBytes,
      error: (declared) =>
        new KubeApiError(
          `${method} ${path} on ${this.name}: the response body ${declared === undefined ? 'is' : `declares ${formatBytes(declared)},`} larger than the limit of ${formatBytes(maxResponseBytes)}${hint(settings?.maxResponseBytes)}`,
          { statusCode: 0, reason: LimitReasons.responseTooLarge },
        ),
    };
  }

  /**
   * failure turns what a request threw into the KubeApiError callers see. An answer of the server
   * (a Status) and a limit we enforced pass as they are; a request that never got an answer (a
   * connection error, the deadline) becomes one generic message, its detail going to
   * onUnreachable (the operator's log) only.
   */
  private failure(method: string, path: string, err: unknown): KubeApiError {
    if (isKubeApiError(err) && !(err.statusCode === 0 && err.reason === 'Timeout')) return err;
    const code = errorCode(err) ?? (isKubeApiError(err) ? err.reason : 'Unreachable');
    // Node refused to build the request (a character HTTP does not allow): no byte was sent, so
    // this is no news about the server and must not mark it down.
    if (REQUEST_CONSTRUCTION_CODES.has(code)) {
      return new KubeApiError(
        `${method} ${path} on ${this.name}: the request could not be built (${code}): a path segment, query or header holds characters HTTP does not allow`,
        { statusCode: 0, reason: INVALID_REQUEST, cause: err },
      );
    }
    this.onUnreachable?.({ method, path, code, message: err instanceof Error ? err.message : String(err) });
    return transportError(this.name, method, path, err, code);
  }

  /** close releases every pooled connection; in-flight requests fail. */
  async close(): Promise<void> {
    this.closed = true;
    this.agent.destroy();
    this.watchAgent.destroy();
    this.streams?.close();
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
      headers: http.OutgoingHttpHeaders;
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
      // A pooled agent sets TCP keep-alive only when a socket is first returned to the pool,
      // which a watch never is.
      req.once('socket', (socket) => socket.setKeepAlive(true, TCP_KEEPALIVE_MS));
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

  private async once(
    req: KubeRequest,
    expected: readonly number[],
  ): Promise<{ text: string; bytes: number } | { expected: number }> {
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
      const answer = await readBody(res, res.headers, this.bodyLimit(req.method, req.path));
      if (expected.includes(statusCode)) return { expected: statusCode };
      if (statusCode >= 300) {
        throw toApiError(this.name, req.method, req.path, statusCode, res.headers, answer.text);
      }
      return answer;
    } catch (err) {
      throw this.failure(req.method, req.path, err);
    } finally {
      this.observer?.(req.method, code, (performance.now() - started) / 1000);
    }
  }

  private authCache: { value: string | undefined; at: number } | undefined;

  private async headers(contentType: string | undefined): Promise<http.OutgoingHttpHeaders> {
    const headers: http.OutgoingHttpHeaders = {
      accept: 'application/json',
      'user-agent': 'release-controller',
      ...this.impersonate,
    };
    if (contentType) headers['content-type'] = contentType;
    if (this.requestIds) headers['x-request-id'] = randomUUID();
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

/** BodyLimit is the cap of one response body and the error that reports it. */
interface BodyLimit {
  bytes: number;
  error: (declared: number | undefined) => KubeApiError;
}

/** hint tells which setting raises a limit, when the layer above named one. */
function hint(setting: string | undefined): string {
  return setting ? ` (${setting} raises it)` : '';
}

/**
 * readBody reads a whole response body as UTF-8 text, refusing a body larger than the limit: by
 * its content-length before reading, or at the first chunk past the cap, destroying the response
 * so that nothing more is read. Events rather than async iteration: this runs for every response,
 * and an iterator costs a promise per chunk.
 */
function readBody(
  res: Readable,
  headers: http.IncomingHttpHeaders,
  limit: BodyLimit,
): Promise<{ text: string; bytes: number }> {
  return new Promise((resolve, reject) => {
    const declared = Number(headers['content-length']);
    if (declared > limit.bytes) {
      const err = limit.error(declared);
      res.destroy(err);
      reject(err);
      return;
    }
    let chunks: Buffer[] = [];
    let bytes = 0;
    let ended = false;
    res.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes > limit.bytes) {
        chunks = [];
        const err = limit.error(undefined);
        res.destroy(err);
        reject(err);
        return;
      }
      chunks.push(chunk);
    });
    res.once('end', () => {
      ended = true;
      resolve({ text: Buffer.concat(chunks, bytes).toString('utf8'), bytes });
    });
    res.once('error', reject);
    res.once('close', () => {
      if (!ended) reject(new Error('the connection closed before the response ended'));
    });
  });
}

/**
 * sharedSecureContext parses the CA, certificate and key once, into one TLS context for every
 * connection: without it each connection parses them into a context of its own (about 40 KiB of
 * memory per connection). Material that does not parse is passed as it is, so that it fails at
 * connect time with the same error as before, reported where connection errors are.
 */
function sharedSecureContext(
  options: Pick<KubeClientOptions, 'ca' | 'cert' | 'key'>,
): Pick<tls.ConnectionOptions, 'secureContext' | 'ca' | 'cert' | 'key'> {
  const material = { ca: options.ca, cert: options.cert, key: options.key };
  try {
    return { secureContext: tls.createSecureContext(material) };
  } catch {
    return material;
  }
}

/**
 * secureConnection opens a TLS connection (directly, or through `connect`: a tunnel) and resolves
 * once the handshake is done, so that the protocol ALPN chose is known; TCP keep-alive is on.
 */
function secureConnection(
  options: tls.ConnectionOptions & { host: string; port: number },
  connect: Connector | undefined,
  timeoutMs: number,
): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    const fail = (socket: Duplex | undefined, err: Error) => {
      socket?.destroy();
      reject(err);
    };
    const timer = setTimeout(
      () =>
        reject(new Error(`connecting to ${options.host}:${options.port} took longer than ${timeoutMs} ms`)),
      timeoutMs,
    );
    const ready = (socket: Duplex) => {
      const done = () => {
        clearTimeout(timer);
        socket.off('error', failed);
        resolve(socket);
      };
      const failed = (err: Error) => {
        clearTimeout(timer);
        fail(socket, err);
      };
      socket.once('error', failed);
      const tlsSocket = socket as tls.TLSSocket;
      tlsSocket.setKeepAlive?.(true, TCP_KEEPALIVE_MS);
      if (tlsSocket.alpnProtocol !== undefined && !tlsSocket.connecting) done();
      else socket.once('secureConnect', done);
    };
    if (connect) {
      connect(options).then(ready, (err: unknown) => {
        clearTimeout(timer);
        fail(undefined, err instanceof Error ? err : new Error(String(err)));
      });
    } else {
      ready(tls.connect(options));
    }
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
    typeof status?.['message'] === 'string'
      ? oneLine(status['message'], MAX_STATUS_MESSAGE)
      : text
        ? `HTTP ${statusCode}, not a Kubernetes Status: "${oneLine(text, MAX_BODY_EXCERPT)}"`
        : `HTTP ${statusCode}`;
  // A reason is a CamelCase word (metav1.StatusReason); anything else a server sends is not one.
  const sent = status?.['reason'];
  const reason = typeof sent === 'string' && /^[A-Za-z]{1,64}$/.test(sent) ? sent : `HTTP${statusCode}`;
  const details = isRecord(status?.['details']) ? status['details'] : undefined;
  return new KubeApiError(`${method} ${path} on ${cluster}: ${message}`, {
    statusCode,
    reason,
    details,
    retryAfterSeconds,
  });
}

/** UNREACHABLE is what a tenant sees of any connection failure: the same words for every cause. */
export const UNREACHABLE =
  "cannot reach the API server, or it did not answer in time (the controller's log has the connection error)";

/**
 * transportError is the error of a request that got no answer. Its message is the same for a
 * refused, reset, unroutable or silent connection, so that a tenant's server URL cannot be used to
 * tell open, closed and filtered ports apart; the exceptions are words written for the tenant: the
 * endpoint policy's refusal, a Connector's own error (a tunnel names the hop that failed), and a
 * failed TLS handshake (the tenant's CA or server name is wrong).
 */
function transportError(
  cluster: string,
  method: string,
  path: string,
  err: unknown,
  code: string,
): KubeApiError {
  let what = UNREACHABLE;
  if (
    code === ENDPOINT_REFUSED ||
    (errorCode(err) === undefined && !isKubeApiError(err) && err instanceof Error)
  ) {
    what = (err as Error).message;
  } else if (/CERT|SSL|TLS|SELF_SIGNED|VERIFY|ISSUER/.test(code)) {
    what =
      "the TLS handshake failed: the server's certificate is not trusted by the DataPlane's CA, has expired, or does not name the server (check the CA data and tls-server-name)";
  }
  return new KubeApiError(`${method} ${path} on ${cluster}: ${what}`, { statusCode: 0, reason: code });
}

/**
 * parseAnswer parses a JSON answer. A body that is not JSON is an error that says so without
 * quoting it: JSON.parse's own message quotes the text, which a hostile server chooses.
 */
function parseAnswer<T>(text: string, what: () => string): T {
  if (!text) return undefined as T;
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new KubeApiError(`${what()}: the answer is not JSON (${text.length} characters)`, {
      statusCode: 0,
      reason: 'InvalidAnswer',
    });
  }
}

/** MAX_STATUS_MESSAGE bounds the message of a server's Status that an error carries. */
const MAX_STATUS_MESSAGE = 2048;
/** MAX_BODY_EXCERPT bounds what an error quotes of a body that is not a Status (an HTML page, say). */
const MAX_BODY_EXCERPT = 200;

/** ENDPOINT_REFUSED is the code of a connection the endpoint policy refused (dataplane/endpoint.ts). */
export const ENDPOINT_REFUSED = 'ERR_ENDPOINT_REFUSED';

function errorCode(err: unknown): string | undefined {
  return isRecord(err) && typeof err['code'] === 'string' ? err['code'] : undefined;
}
