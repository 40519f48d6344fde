/**
 * Watches over HTTP/2: every watch of a client shares one TLS connection as a stream of its own,
 * as client-go does, instead of holding an HTTP/1.1 connection each. A TLS connection costs the
 * process about 110 KiB of memory however little flows through it, and a data plane has a watch
 * per kind in use (five or more), so with many data planes the idle connections were most of the
 * memory per data plane. Streams per connection are capped (the server's own limit, and
 * MAX_STREAMS_PER_SESSION), more connections are opened past the cap, up to `maxSessions`. A
 * server that allows fewer than `minStreams` streams per connection (one, say) is refused rather
 * than given a TLS connection per watch: that is what HTTP/2 was to save, and a hostile server
 * could make every watch cost a connection.
 *
 * A server that does not offer HTTP/2 (ALPN picks http/1.1, or a plain http:// URL) is remembered
 * and its watches use HTTP/1.1, as before; so does every watch when the operator turns HTTP/2 off.
 */
import * as http2 from 'node:http2';
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';

/** MAX_STREAMS_PER_SESSION caps the watches one connection carries (servers allow 100 to 1000). */
export const MAX_STREAMS_PER_SESSION = 100;

/** StreamAnswer is the answer to a request on a stream: status, headers and the body to read. */
export interface StreamAnswer {
  statusCode: number;
  headers: IncomingHttpHeaders;
  body: Readable;
}

/** StreamRequest is one GET sent on a stream. */
export interface StreamRequest {
  path: string;
  headers: OutgoingHttpHeaders;
  signal?: AbortSignal;
  /** deadline fails the request when no answer (headers) came within `ms`. */
  deadline: { ms: number; error: () => Error };
}

/** SessionPoolOptions configure a SessionPool. */
export interface SessionPoolOptions {
  /** authority is the server's origin, `https://host:port`. */
  authority: string;
  /** connect opens a TLS connection that offers `h2` by ALPN, resolved once it is established. */
  connect: () => Promise<Duplex>;
  /** idleMs closes a connection that carried no stream for this long. */
  idleMs: number;
  /** timeoutMs bounds the wait for the server's first SETTINGS frame on a new connection. */
  timeoutMs: number;
  /** onSessions is told the number of open connections whenever it changes (metrics). */
  onSessions?: (open: number) => void;
  /** minStreams refuses a server that allows fewer concurrent streams per connection (default 1). */
  minStreams?: number;
  /** maxSessions caps the connections (default unlimited). */
  maxSessions?: number;
  /** limitError builds the error of a refused server or of a full pool, naming what raises it. */
  limitError?: (message: string, setting: 'minStreams' | 'maxSessions') => Error;
}

interface Session {
  session: http2.ClientHttp2Session;
  streams: number;
  idle?: ReturnType<typeof setTimeout>;
}

/** NotHttp2Error says that the server answered the TLS handshake without HTTP/2. */
export class NotHttp2Error extends Error {}

/** SessionPool holds the HTTP/2 connections of one client and opens streams on them. */
export class SessionPool {
  private readonly sessions = new Set<Session>();
  private opening: Promise<Session> | undefined;
  private closed = false;
  /** refused is why the server is not used (too few streams), remembered for the pool's life. */
  private refused: Error | undefined;

  constructor(private readonly options: SessionPoolOptions) {}

  /**
   * get sends a GET on a stream and resolves once the answer's headers arrived; the caller reads
   * (and destroys) the body. Throws NotHttp2Error when the server does not speak HTTP/2.
   */
  async get(req: StreamRequest): Promise<StreamAnswer> {
    const entry = await this.reserve();
    return new Promise<StreamAnswer>((resolve, reject) => {
      let stream: http2.ClientHttp2Stream;
      try {
        stream = entry.session.request({ ':method': 'GET', ':path': req.path, ...req.headers });
      } catch (err) {
        this.finished(entry);
        reject(err instanceof Error ? err : new Error(String(err)));
        return;
      }
      stream.once('close', () => this.finished(entry));
      const abort = () => {
        const reason: unknown = req.signal?.reason;
        stream.destroy(reason instanceof Error ? reason : new Error('request aborted'));
      };
      const timer = setTimeout(() => {
        const err = req.deadline.error();
        stream.destroy(err);
        reject(err);
      }, req.deadline.ms);
      const settle = () => {
        clearTimeout(timer);
        req.signal?.removeEventListener('abort', abort);
      };
      stream.once('response', (headers) => {
        clearTimeout(timer);
        stream.once('close', settle);
        const { ':status': status, ...rest } = headers;
        resolve({ statusCode: Number(status), headers: rest, body: stream });
      });
      stream.on('error', (err: Error) => {
        settle();
        reject(err);
      });
      if (req.signal?.aborted) {
        abort();
        return;
      }
      req.signal?.addEventListener('abort', abort, { once: true });
    });
  }

  /** size is the number of open connections. */
  get size(): number {
    return this.sessions.size;
  }

  /** close ends every connection; open streams fail. */
  close(): void {
    this.closed = true;
    for (const entry of this.sessions) {
      clearTimeout(entry.idle);
      entry.session.destroy();
    }
    this.sessions.clear();
    this.options.onSessions?.(0);
  }

  /**
   * reserve returns a connection with room for one more stream and counts that stream on it,
   * opening a connection when none has room. The count is taken at once (no await between the
   * check and it), so a burst of watches never puts more streams on a connection than it takes:
   * a stream over the server's limit would wait, unanswered, for another to end.
   */
  private async reserve(): Promise<Session> {
    for (;;) {
      if (this.refused) throw this.refused;
      for (const entry of this.sessions) {
        if (!entry.session.closed && !entry.session.destroyed && entry.streams < limitOf(entry.session)) {
          this.opened(entry);
          return entry;
        }
      }
      const { maxSessions } = this.options;
      if (maxSessions !== undefined && this.sessions.size >= maxSessions && !this.opening) {
        const streams = [...this.sessions].reduce((n, e) => n + e.streams, 0);
        throw this.limitError(
          `${this.sessions.size} HTTP/2 connections already carry ${streams} watches, the most allowed`,
          'maxSessions',
        );
      }
      // One connection is opened at a time: a burst of watches at start-up shares it.
      this.opening ??= this.open().finally(() => (this.opening = undefined));
      await this.opening;
    }
  }

  private async open(): Promise<Session> {
    if (this.closed) throw new Error('the client is closed');
    const socket = await this.options.connect();
    const protocol = (socket as Partial<TLSSocket>).alpnProtocol;
    if (protocol !== 'h2') {
      socket.destroy();
      throw new NotHttp2Error(`the server chose ${protocol || 'no protocol'} over HTTP/2`);
    }
    const session = http2.connect(this.options.authority, { createConnection: () => socket });
    const entry: Session = { session, streams: 0 };
    const forget = () => {
      clearTimeout(entry.idle);
      if (this.sessions.delete(entry)) this.options.onSessions?.(this.sessions.size);
    };
    // A connection that fails or is told to go away takes no new streams; its open streams end
    // with an error their readers handle (a watch is started again).
    session.on('error', forget);
    session.once('close', forget);
    session.once('goaway', forget);
    // The server's limit on streams is known from its first SETTINGS frame.
    await new Promise<void>((resolve, reject) => {
      const failed = (err?: Error) => {
        clearTimeout(timer);
        session.destroy();
        reject(err ?? new Error('the HTTP/2 connection closed before the server sent its settings'));
      };
      const timer = setTimeout(
        () => failed(new Error(`the server sent no HTTP/2 settings within ${this.options.timeoutMs} ms`)),
        this.options.timeoutMs,
      );
      session.once('remoteSettings', () => {
        clearTimeout(timer);
        session.off('error', failed).off('close', failed);
        resolve();
      });
      session.once('error', failed).once('close', failed);
    });
    if (this.closed) {
      session.destroy();
      throw new Error('the client is closed');
    }
    const allowed = session.remoteSettings.maxConcurrentStreams;
    const floor = this.options.minStreams ?? 1;
    if (allowed !== undefined && allowed < floor) {
      session.destroy();
      this.refused = this.limitError(
        `the server allows ${allowed} concurrent HTTP/2 stream${allowed === 1 ? '' : 's'} per connection, fewer than ${floor}: its watches would each cost a TLS connection`,
        'minStreams',
      );
      throw this.refused;
    }
    this.sessions.add(entry);
    this.options.onSessions?.(this.sessions.size);
    return entry;
  }

  private limitError(message: string, setting: 'minStreams' | 'maxSessions'): Error {
    return this.options.limitError?.(message, setting) ?? new Error(message);
  }

  private opened(entry: Session): void {
    entry.streams++;
    clearTimeout(entry.idle);
    entry.idle = undefined;
  }

  private finished(entry: Session): void {
    entry.streams--;
    if (entry.streams > 0) return;
    entry.idle = setTimeout(() => {
      if (entry.streams === 0) entry.session.close();
    }, this.options.idleMs);
    entry.idle.unref();
  }
}

/** limitOf is how many streams a connection may carry: the server's limit, at most our cap. */
function limitOf(session: http2.ClientHttp2Session): number {
  const server = session.remoteSettings.maxConcurrentStreams;
  return Math.min(MAX_STREAMS_PER_SESSION, server && server > 0 ? server : MAX_STREAMS_PER_SESSION);
}
