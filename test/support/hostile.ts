/**
 * HostileDataPlane: a local HTTP server on 127.0.0.1 that poses as a data-plane API server and
 * misbehaves on purpose, for the integration tests and the benchmark of bounded input:
 * - `huge-body` answers every request with a body of `bodyBytes` (with a matching content-length
 *   or, streamed, without one), written only as fast as the client reads it;
 * - `endless-list` answers just enough of the API for a Release of ConfigMaps to get to listing
 *   them (the kube-system Namespace, discovery of `v1`), and then answers every list page with one
 *   more page of ConfigMaps and another `continue`, forever.
 * It counts what it sent, so a test can tell that the controller stopped reading.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { TestKube } from './kube.ts';
import { credentialsLabels, environmentObject, uniqueName, type Org } from './fixtures.ts';
import { API_VERSION } from '../../src/api/v1alpha1/constants.ts';

/** HostileMode chooses how the server misbehaves. */
export type HostileMode =
  | { kind: 'huge-body'; bodyBytes: number; contentLength: boolean }
  | { kind: 'endless-list'; itemBytes: number };

/** HostileStats is what the server sent. */
export interface HostileStats {
  requests: number;
  listPages: number;
  /** largestResponse is the most bytes written into one response before it ended or was cut. */
  largestResponse: number;
}

const CHUNK = Buffer.alloc(64 * 1024, ' ');

/** HostileDataPlane is a running misbehaving server. */
export class HostileDataPlane {
  readonly stats: HostileStats = { requests: 0, listPages: 0, largestResponse: 0 };
  private readonly server: Server = createServer((req, res) => this.handle(req, res));
  #url = '';

  private constructor(private readonly mode: HostileMode) {}

  /** url is the server's address, `http://127.0.0.1:<port>`. */
  get url(): string {
    return this.#url;
  }

  /** start listens on a free port of 127.0.0.1. */
  static async start(mode: HostileMode): Promise<HostileDataPlane> {
    const self = new HostileDataPlane(mode);
    await new Promise<void>((resolve) => self.server.listen(0, '127.0.0.1', resolve));
    const address = self.server.address();
    self.#url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    return self;
  }

  /** close ends every connection and the server. */
  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** kubeconfig is a kubeconfig that reaches this server with a (meaningless) token. */
  kubeconfig(): string {
    return [
      'apiVersion: v1',
      'kind: Config',
      'clusters: [{name: hostile, cluster: {server: "' + this.url + '"}}]',
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
    const namespace = /^\/api\/v1\/namespaces\/([^/]+)$/.exec(url.pathname)?.[1];
    if (namespace && req.method === 'GET') {
      json(200, {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: namespace, uid: `00000000-0000-0000-0000-${namespace}`, resourceVersion: '1' },
      });
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
            data: { fill: 'x'.repeat(this.mode.itemBytes) },
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
