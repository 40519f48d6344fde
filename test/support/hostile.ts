/**
 * HostileDataPlane: a local HTTP server on 127.0.0.1 that poses as a data-plane API server and
 * misbehaves on purpose, for the integration tests and the benchmark of bounded input:
 * - `huge-body` answers every request with a body of `bodyBytes` (with a matching content-length
 *   or, streamed, without one), written only as fast as the client reads it;
 * - `endless-list` answers just enough of the API for a Release of ConfigMaps to get to listing
 *   them (the kube-system Namespace, discovery of `v1`), and then answers every list page with one
 *   more page of ConfigMaps and another `continue`, forever;
 * - `flood-watch` answers that same API correctly (applies are kept and listed), and then every
 *   label-selected watch of ConfigMaps streams ADDED events of distinct ConfigMaps of
 *   `objectBytes` each, forever (as fast as the client reads), carrying the watch's label
 *   (`matching`) or not (a server that ignores the selector);
 * - `observed` serves, besides, `objects` unlabelled ConfigMaps `observed-<i>` in namespace
 *   `default`, to be observed, and ignores label selectors in lists (as a server may).
 * With `http2Streams` the server speaks HTTPS and HTTP/2 and allows that many concurrent streams
 * per connection. It counts what it sent (requests, watches open at once per path, TLS
 * connections), so a test can tell what the controller did.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import * as http2 from 'node:http2';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { selfSigned } from '../../src/kube/selfsigned.ts';
import { parseLabelSelector } from '../../src/kube/selector.ts';
import type { TestKube } from './kube.ts';
import { credentialsLabels, environmentObject, uniqueName, type Org } from './fixtures.ts';
import { API_VERSION } from '../../src/api/v1alpha1/constants.ts';

/** HostileMode chooses how the server misbehaves. */
export type HostileMode =
  | { kind: 'huge-body'; bodyBytes: number; contentLength: boolean }
  | { kind: 'endless-list'; itemBytes: number }
  | { kind: 'flood-watch'; objectBytes: number; matching: boolean; maxEvents?: number }
  | { kind: 'observed'; objects: number };

/** HostileOptions choose the transport: HTTP/1.1 (default), or HTTPS with HTTP/2 and a stream limit. */
export interface HostileOptions {
  http2Streams?: number;
}

/** HostileStats is what the server sent. */
export interface HostileStats {
  requests: number;
  listPages: number;
  /** largestResponse is the most bytes written into one response before it ended or was cut. */
  largestResponse: number;
  /** watchEvents counts the events the flooding watches sent. */
  watchEvents: number;
  /** watches counts the watch requests per path; openWatches those open now; maxOpenWatches the most open at once. */
  watches: Map<string, number>;
  openWatches: Map<string, number>;
  maxOpenWatches: Map<string, number>;
  /** connections counts the TCP (or TLS) connections accepted; h2Connections those that chose HTTP/2. */
  connections: number;
  h2Connections: number;
}

const CHUNK = Buffer.alloc(64 * 1024, ' ');

/** HostileDataPlane is a running misbehaving server. */
export class HostileDataPlane {
  readonly stats: HostileStats = {
    requests: 0,
    listPages: 0,
    largestResponse: 0,
    watchEvents: 0,
    watches: new Map(),
    openWatches: new Map(),
    maxOpenWatches: new Map(),
    connections: 0,
    h2Connections: 0,
  };
  private readonly server: Server | http2.Http2SecureServer;
  private readonly sockets = new Set<Socket>();
  /** applied are the ConfigMaps applied to this server, by namespace/name, listed back as the API would. */
  private readonly applied = new Map<string, Record<string, unknown>>();
  /** namespaces are the Namespaces created on this server, by name. */
  private readonly namespaces = new Map<string, Record<string, unknown>>();
  private readonly dir: string | undefined;
  private readonly ca: string | undefined;
  #url = '';

  private constructor(
    private readonly mode: HostileMode,
    options: HostileOptions,
  ) {
    const handler = (req: IncomingMessage, res: ServerResponse) => this.handle(req, res);
    if (options.http2Streams !== undefined) {
      this.dir = mkdtempSync(join(tmpdir(), 'hostile-'));
      const pki = selfSigned(this.dir, 'hostile');
      this.ca = readFileSync(pki.cert, 'utf8');
      this.server = http2.createSecureServer(
        {
          cert: readFileSync(pki.cert),
          key: readFileSync(pki.key),
          allowHTTP1: true,
          settings: { maxConcurrentStreams: options.http2Streams },
        },
        handler as unknown as (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void,
      );
    } else {
      this.server = createServer(handler);
    }
    this.server.on('secureConnection', (s: { alpnProtocol?: string | false }) => {
      if (s.alpnProtocol === 'h2') this.stats.h2Connections++;
    });
    this.server.on('connection', (s: Socket) => {
      this.stats.connections++;
      this.sockets.add(s);
      s.once('close', () => this.sockets.delete(s));
    });
  }

  /** url is the server's address, `http://127.0.0.1:<port>` (`https://` with HTTP/2). */
  get url(): string {
    return this.#url;
  }

  /** start listens on a free port of 127.0.0.1. */
  static async start(mode: HostileMode, options: HostileOptions = {}): Promise<HostileDataPlane> {
    const self = new HostileDataPlane(mode, options);
    await new Promise<void>((resolve) => self.server.listen(0, '127.0.0.1', resolve));
    const address = self.server.address();
    const scheme = self.ca ? 'https' : 'http';
    self.#url = `${scheme}://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    return self;
  }

  /** close ends every connection and the server. */
  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
  }

  /** maxOpenWatchesOf is the most watches of one path that were open at once. */
  maxOpenWatchesOf(path: string): number {
    return this.stats.maxOpenWatches.get(path) ?? 0;
  }

  /** kubeconfig is a kubeconfig that reaches this server with a (meaningless) token. */
  kubeconfig(): string {
    return [
      'apiVersion: v1',
      'kind: Config',
      'clusters: [{name: hostile, cluster: {server: "' +
        this.url +
        '"' +
        (this.ca ? `, certificate-authority-data: ${Buffer.from(this.ca).toString('base64')}` : '') +
        '}}]',
      'users: [{name: hostile, user: {token: hostile-token}}]',
      'contexts: [{name: hostile, context: {cluster: hostile, user: hostile}}]',
      'current-context: hostile',
      '',
    ].join('\n');
  }

  /** createOrg creates an organization namespace whose DataPlane (kubeconfig Secret) points at this server. */
  async createOrg(cp: TestKube, prefix = 'hostile'): Promise<Org> {
    const namespace = uniqueName(prefix);
    await cp.ensureNamespace(namespace);
    await cp.create({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'dp-kubeconfig', namespace, labels: credentialsLabels('hostile') },
      data: { kubeconfig: Buffer.from(this.kubeconfig()).toString('base64') },
    });
    await cp.create({
      apiVersion: API_VERSION,
      kind: 'DataPlane',
      metadata: { name: 'dp', namespace },
      spec: { kubernetesCluster: { name: 'hostile', secretRef: { name: 'dp-kubeconfig' } } },
    });
    await cp.create(environmentObject(namespace, 'production', 'dp'));
    return { namespace, environment: 'production', dataPlane: 'dp' };
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    this.stats.requests++;
    if (this.mode.kind === 'huge-body') {
      req.resume();
      const { bodyBytes, contentLength } = this.mode;
      res.writeHead(200, {
        'content-type': 'application/json',
        ...(contentLength ? { 'content-length': String(bodyBytes) } : {}),
      });
      this.flood(res, bodyBytes);
      return;
    }
    const url = new URL(req.url ?? '/', this.url);
    const json = (code: number, body: unknown): void => {
      res.writeHead(code, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    if (this.mode.kind === 'flood-watch' || this.mode.kind === 'observed') {
      if (this.serveApi(req, res, url, json)) return;
    }
    const namespace = /^\/api\/v1\/namespaces\/([^/]+)$/.exec(url.pathname)?.[1];
    if (namespace && req.method === 'GET') {
      json(200, {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: namespace, uid: `00000000-0000-0000-0000-${namespace}`, resourceVersion: '1' },
      });
      return;
    }
    // Every namespace exists here (as the read above says): a create is told so, as a real server would.
    if (req.method === 'POST' && url.pathname === '/api/v1/namespaces') {
      req.resume();
      json(409, { apiVersion: 'v1', kind: 'Status', status: 'Failure', reason: 'AlreadyExists', code: 409 });
      return;
    }
    // Applies succeed (the body echoed back), so the Release gets as far as reading its cache.
    if (req.method === 'PATCH') {
      let text = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (text += c));
      req.on('end', () => {
        const obj = JSON.parse(text) as { metadata?: Record<string, unknown> };
        json(200, { ...obj, metadata: { ...obj.metadata, uid: 'hostile-object', resourceVersion: '1' } });
      });
      return;
    }
    if (url.pathname === '/api/v1') {
      json(200, {
        kind: 'APIResourceList',
        groupVersion: 'v1',
        resources: [
          {
            name: 'configmaps',
            namespaced: true,
            kind: 'ConfigMap',
            verbs: ['get', 'list', 'watch', 'patch'],
          },
          {
            name: 'namespaces',
            namespaced: false,
            kind: 'Namespace',
            verbs: ['get', 'list', 'watch', 'patch'],
          },
        ],
      });
      return;
    }
    if (
      req.method === 'GET' &&
      url.searchParams.get('watch') !== 'true' &&
      /\/(configmaps|namespaces)$/.test(url.pathname)
    ) {
      const page = this.stats.listPages++;
      const kind = url.pathname.endsWith('configmaps') ? 'ConfigMap' : 'Namespace';
      json(200, {
        apiVersion: 'v1',
        kind: `${kind}List`,
        metadata: { resourceVersion: '1', continue: `page-${page + 1}` },
        items: [
          {
            metadata: {
              name: `endless-${page}`,
              namespace: kind === 'ConfigMap' ? 'default' : undefined,
              resourceVersion: '1',
            },
            data: { fill: 'x'.repeat(this.mode.kind === 'endless-list' ? this.mode.itemBytes : 0) },
          },
        ],
      });
      return;
    }
    json(404, {
      kind: 'Status',
      apiVersion: 'v1',
      status: 'Failure',
      reason: 'NotFound',
      code: 404,
      message: 'not found',
    });
  }

  /**
   * serveApi answers what the flood-watch and observed modes answer beyond the shared handling of
   * namespaces, discovery and 404s: applies kept and listed back, lists, and watches (counted; the
   * flooding ones flood). It returns false for what the shared handling answers.
   */
  private serveApi(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    json: (code: number, body: unknown) => void,
  ): boolean {
    // Namespaces other than the two every cluster has exist once created (the controller creates
    // an organization's own namespaces, sealed, under the default tenancy).
    const namespaceName = /^\/api\/v1\/namespaces\/([^/]+)$/.exec(url.pathname)?.[1];
    if (req.method === 'GET' && namespaceName && !['kube-system', 'default'].includes(namespaceName)) {
      const created = this.namespaces.get(namespaceName);
      if (created) json(200, created);
      else json(404, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404 });
      return true;
    }
    if (req.method === 'POST' && url.pathname === '/api/v1/namespaces') {
      let text = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (text += c));
      req.on('end', () => {
        const obj = JSON.parse(text) as { metadata?: { name?: string } };
        const name = obj.metadata?.name ?? '';
        const stored = { ...obj, metadata: { ...obj.metadata, uid: `ns-${name}`, resourceVersion: '2' } };
        this.namespaces.set(name, stored);
        json(201, stored);
      });
      return true;
    }
    const configMaps = /^\/api\/v1\/(?:namespaces\/([^/]+)\/)?configmaps(?:\/([^/]+))?$/.exec(url.pathname);
    if (req.method === 'PATCH' && configMaps?.[1] && configMaps[2]) {
      const [, namespace, name] = configMaps;
      let text = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (text += c));
      req.on('end', () => {
        const obj = JSON.parse(text) as { metadata?: Record<string, unknown> };
        const stored = {
          ...obj,
          metadata: { ...obj.metadata, uid: `uid-${namespace}-${name}`, resourceVersion: '2' },
        };
        this.applied.set(`${namespace}/${name}`, stored);
        json(200, stored);
      });
      return true;
    }
    if (req.method !== 'GET') return false;
    const watch = url.searchParams.get('watch') === 'true';
    const collection = /\/(configmaps|namespaces)$/.exec(url.pathname)?.[1];
    if (!collection) return false;
    if (!watch) {
      const namespace = configMaps?.[1];
      const items =
        collection === 'namespaces'
          ? []
          : [
              ...[...this.applied.values()].filter(
                (o) => !namespace || (o.metadata as { namespace?: string }).namespace === namespace,
              ),
              ...(this.mode.kind === 'observed' && (!namespace || namespace === 'default')
                ? Array.from({ length: this.mode.objects }, (_, i) => ({
                    metadata: {
                      name: `observed-${i}`,
                      namespace: 'default',
                      resourceVersion: '1',
                      uid: `observed-${i}`,
                    },
                    data: { index: String(i) },
                  }))
                : []),
            ];
      json(200, {
        apiVersion: 'v1',
        kind: collection === 'namespaces' ? 'NamespaceList' : 'ConfigMapList',
        metadata: { resourceVersion: '2' },
        items,
      });
      return true;
    }
    const path = url.pathname;
    const count = (map: Map<string, number>, delta: number) => map.set(path, (map.get(path) ?? 0) + delta);
    count(this.stats.watches, 1);
    count(this.stats.openWatches, 1);
    this.stats.maxOpenWatches.set(
      path,
      Math.max(this.stats.maxOpenWatches.get(path) ?? 0, this.stats.openWatches.get(path) ?? 0),
    );
    res.once('close', () => count(this.stats.openWatches, -1));
    res.writeHead(200, { 'content-type': 'application/json' });
    // The answer's headers go out now: the client is waiting for them to call the watch open.
    res.write('');
    if (
      this.mode.kind === 'flood-watch' &&
      collection === 'configmaps' &&
      url.searchParams.has('labelSelector')
    ) {
      this.floodEvents(
        res,
        this.mode.objectBytes,
        this.mode.matching ? selectedLabels(url.searchParams.get('labelSelector') ?? '') : { flood: 'true' },
        this.mode.maxEvents,
      );
    }
    return true;
  }

  /** floodEvents writes ADDED events of distinct ConfigMaps as fast as the client reads them, until it goes away. */
  private floodEvents(
    res: ServerResponse,
    objectBytes: number,
    labels: Record<string, string>,
    maxEvents = Infinity,
  ): void {
    let closed = false;
    res.once('close', () => (closed = true));
    const fill = 'x'.repeat(objectBytes);
    const pump = () => {
      while (!closed && this.stats.watchEvents < maxEvents) {
        const i = this.stats.watchEvents++;
        const object = {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: {
            name: `flood-${i}`,
            namespace: 'default',
            uid: `flood-${i}`,
            resourceVersion: String(10 + i),
            labels,
          },
          data: { fill },
        };
        if (!res.write(`${JSON.stringify({ type: 'ADDED', object })}\n`)) {
          res.once('drain', pump);
          return;
        }
      }
    };
    pump();
  }

  /** flood writes `total` bytes as fast as the client reads them, and stops when it goes away. */
  private flood(res: ServerResponse, total: number): void {
    let sent = 0;
    let closed = false;
    const record = () => {
      this.stats.largestResponse = Math.max(this.stats.largestResponse, sent);
    };
    res.once('close', () => {
      closed = true;
      record();
    });
    const pump = () => {
      while (!closed && sent < total) {
        const chunk = total - sent >= CHUNK.length ? CHUNK : CHUNK.subarray(0, total - sent);
        sent += chunk.length;
        if (!res.write(chunk)) {
          res.once('drain', pump);
          return;
        }
      }
      if (!closed) res.end();
    };
    pump();
  }
}

/**
 * selectedLabels are labels that meet a label selector's equality and set terms (the first value
 * of a set), so that a flooding server's objects are exactly what the watch asked for, whatever
 * selector the controller sends (an organization's, say).
 */
function selectedLabels(selector: string): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const req of parseLabelSelector(selector) ?? []) {
    if (req.op === 'in' && req.values[0] !== undefined) labels[req.key] = req.values[0];
  }
  return labels;
}
