/**
 * The local web server of `kubectl release ui`: 127.0.0.1 only, every request through the guard
 * of security.ts, the page and its static files from STATIC_DIR, and two server-sent event streams
 * of what the control plane's watches say: `/api/releases` (the Releases page) and
 * `/api/release?namespace=NS&name=NAME` (a Release page). Read-only: it serves GET and nothing else.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino, type Logger } from 'pino';
import type { KubeClient } from '../../kube/client.ts';
import { ReleaseFeed, ReleaseWatch } from './live.ts';
import { checkRequest, newToken, SECURITY_HEADERS, TOKEN_PARAM } from './security.ts';

/** STATIC_DIR holds the page: plain ES modules and CSS, shipped as they are (no build step). */
export const STATIC_DIR = fileURLToPath(new URL('./static/', import.meta.url));

/** NAME_PATTERN is a namespace or Release name (DNS-1123 subdomain), checked before it goes into a field selector. */
const NAME_PATTERN = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

/** KEEPALIVE_MS is how often an idle stream gets a comment line, so proxies and browsers keep it. */
const KEEPALIVE_MS = 20_000;

/** MAX_BUFFERED_BYTES drops a stream whose page stopped reading rather than buffering without end. */
const MAX_BUFFERED_BYTES = 16 * 1024 * 1024;

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** UiOptions configure the server. */
export interface UiOptions {
  client: KubeClient;
  /** namespace is the scope; undefined means every namespace (-A). */
  namespace: string | undefined;
  /** port to listen on; 0 picks a free one. */
  port: number;
  logger?: Logger;
  /** token is for tests; by default a new random one. */
  token?: string;
}

/** UiServer is a running server. */
export interface UiServer {
  /** url is what a person opens: the address with the token. */
  url: string;
  port: number;
  close(): Promise<void>;
}

/** startUi starts watching and serving; the promise resolves once the server listens. */
export async function startUi(options: UiOptions): Promise<UiServer> {
  const logger = options.logger ?? pino({ level: 'silent' });
  const token = options.token ?? newToken();
  const files = loadStatic();
  const feed = new ReleaseFeed(options.client, options.namespace, logger);
  const streams = new Set<() => void>();
  let port = 0;

  const server: Server = createServer((req, res) => {
    const decision = checkRequest(
      {
        method: req.method ?? 'GET',
        host: req.headers.host,
        url: req.url ?? '/',
        cookie: req.headers.cookie,
        fetchSite: header(req, 'sec-fetch-site'),
      },
      { port, token },
    );
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
    if (!decision.allow) {
      if (decision.login) {
        res.writeHead(303, { Location: decision.location, 'Set-Cookie': decision.setCookie }).end();
      } else {
        res
          .writeHead(decision.status, { 'Content-Type': 'text/plain; charset=utf-8' })
          .end(`${decision.message}\n`);
      }
      return;
    }
    const { path, query } = decision;
    if (path === '/api/releases') return releasesStream(req, res);
    if (path === '/api/release') return releaseStream(req, res, query);
    const file = files.get(path === '/' ? '/index.html' : path.replace(/^\/static\//, '/'));
    if (!file || (path !== '/' && !path.startsWith('/static/'))) {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('not found\n');
      return;
    }
    res.writeHead(200, { 'Content-Type': file.type, 'Content-Length': file.body.length });
    res.end(req.method === 'HEAD' ? undefined : file.body);
  });

  /** openStream starts a server-sent event stream; the returned send writes one event. */
  function openStream(req: IncomingMessage, res: ServerResponse, onClose: () => void) {
    res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', Connection: 'keep-alive' });
    res.write(': connected\n\n');
    const keepalive = setInterval(() => res.write(': keepalive\n\n'), KEEPALIVE_MS);
    const close = () => {
      clearInterval(keepalive);
      streams.delete(close);
      onClose();
      res.end();
    };
    streams.add(close);
    req.on('close', close);
    return (event: string, data: unknown) => {
      if (res.writableEnded) return;
      if (res.writableLength > MAX_BUFFERED_BYTES) {
        logger.warn('a page stopped reading its stream; closing it');
        close();
        return;
      }
      res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    };
  }

  function releasesStream(req: IncomingMessage, res: ServerResponse): void {
    const unsubscribe: Array<() => void> = [];
    const abort = new AbortController();
    const send = openStream(req, res, () => {
      abort.abort();
      for (const fn of unsubscribe) fn();
    });
    send('scope', { namespace: feed.namespace ?? null });
    if (feed.problem) send('problem', { message: feed.problem });
    unsubscribe.push(feed.onProblem((message) => send('problem', { message: message ?? null })));
    feed.synced(abort.signal).then(
      () => {
        send('snapshot', { rows: feed.rows() });
        unsubscribe.push(feed.onRows((changes) => send('changes', changes)));
      },
      () => undefined, // the page went away before the first list
    );
  }

  function releaseStream(req: IncomingMessage, res: ServerResponse, query: URLSearchParams): void {
    const namespace = query.get('namespace') ?? '';
    const name = query.get('name') ?? '';
    if (!NAME_PATTERN.test(namespace) || !NAME_PATTERN.test(name)) {
      res
        .writeHead(400, { 'Content-Type': 'text/plain; charset=utf-8' })
        .end('namespace and name must be Kubernetes object names\n');
      return;
    }
    if (feed.namespace !== undefined && namespace !== feed.namespace) {
      res
        .writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' })
        .end(`namespace ${namespace} is outside this view (started with -n ${feed.namespace}; use -A)\n`);
      return;
    }
    let watch: ReleaseWatch | undefined = undefined;
    const send = openStream(req, res, () => void watch?.stop());
    watch = new ReleaseWatch(feed, options.client, namespace, name, logger, (message) =>
      send('release', message),
    );
    watch.start();
  }

  feed.start();
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => {
      void feed.stop();
      reject(new Error(`cannot listen on 127.0.0.1:${options.port}: ${err.message}`, { cause: err }));
    });
    server.listen(options.port, '127.0.0.1', () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/?${TOKEN_PARAM}=${token}`,
    port,
    close: async () => {
      for (const close of [...streams]) close();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
      await feed.stop();
    },
  };
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** loadStatic reads the page's files once: they are small and never change while the server runs. */
function loadStatic(): Map<string, { type: string; body: Buffer }> {
  const files = new Map<string, { type: string; body: Buffer }>();
  for (const entry of readdirSync(STATIC_DIR)) {
    const type = CONTENT_TYPES[extname(entry)];
    if (type) files.set(`/${entry}`, { type, body: readFileSync(join(STATIC_DIR, entry)) });
  }
  return files;
}
