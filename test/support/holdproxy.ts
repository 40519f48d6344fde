/**
 * ApplyHoldingProxy: a plain-HTTP proxy on 127.0.0.1 in front of a real data-plane cluster that
 * passes every request through (with the cluster's admin credentials), but, while `holding` is
 * set, holds every server-side apply without answering. A test uses it to stop the controller at
 * one exact point, right before the first object is written, and kill it there; nothing in the
 * controller knows about it (no hook in the product).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Cluster } from '../../testbed/cluster.ts';
import { API_VERSION } from '../../src/api/v1alpha1/constants.ts';
import { credentialsLabels, environmentObject, uniqueName, type Org } from './fixtures.ts';
import type { TestKube } from './kube.ts';

const APPLY = 'application/apply-patch+yaml';

/** ApplyHoldingProxy is a running proxy. */
export class ApplyHoldingProxy {
  /** holding makes every server-side apply wait, unanswered, until release(). */
  holding = true;
  /** held counts the applies held so far. */
  held = 0;
  private readonly waiting: ServerResponse[] = [];
  private readonly server: Server = createServer((req, res) => this.handle(req, res));
  #url = '';

  private constructor(private readonly upstream: Cluster) {}

  /** start listens on a free port of 127.0.0.1. */
  static async start(upstream: Cluster): Promise<ApplyHoldingProxy> {
    const self = new ApplyHoldingProxy(upstream);
    await new Promise<void>((resolve) => self.server.listen(0, '127.0.0.1', resolve));
    const address = self.server.address();
    self.#url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    return self;
  }

  /** release stops holding: the held applies are cut (their client is gone), later ones pass. */
  release(): void {
    this.holding = false;
    for (const res of this.waiting.splice(0)) res.destroy();
  }

  /** close ends every connection and the server. */
  async close(): Promise<void> {
    this.release();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** createOrg creates an organization whose DataPlane (kubeconfig Secret) reaches the cluster through this proxy. */
  async createOrg(cp: TestKube): Promise<Org> {
    const namespace = uniqueName('held');
    const kubeconfig = [
      'apiVersion: v1',
      'kind: Config',
      `clusters: [{name: held, cluster: {server: "${this.#url}"}}]`,
      'users: [{name: held, user: {token: held-token}}]',
      'contexts: [{name: held, context: {cluster: held, user: held}}]',
      'current-context: held',
      '',
    ].join('\n');
    await cp.ensureNamespace(namespace);
    await cp.create({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'dp-kubeconfig', namespace, labels: credentialsLabels(this.upstream.name) },
      data: { kubeconfig: Buffer.from(kubeconfig).toString('base64') },
    });
    await cp.create({
      apiVersion: API_VERSION,
      kind: 'DataPlane',
      metadata: { name: 'dp', namespace },
      spec: { kubernetesCluster: { name: this.upstream.name, secretRef: { name: 'dp-kubeconfig' } } },
    });
    await cp.create(environmentObject(namespace, 'production', 'dp'));
    return { namespace, environment: 'production', dataPlane: 'dp' };
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    if (this.holding && req.method === 'PATCH' && req.headers['content-type'] === APPLY) {
      this.held++;
      req.resume();
      this.waiting.push(res);
      return;
    }
    const target = new URL(req.url ?? '/', this.upstream.server);
    const headers = { ...req.headers, host: target.host };
    delete headers['authorization'];
    const upstream = httpsRequest(
      {
        hostname: target.hostname,
        port: target.port,
        path: target.pathname + target.search,
        method: req.method,
        headers,
        ca: Buffer.from(this.upstream.caData, 'base64'),
        cert: Buffer.from(this.upstream.certData, 'base64'),
        key: Buffer.from(this.upstream.keyData, 'base64'),
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    res.on('close', () => upstream.destroy());
    req.pipe(upstream);
  }
}
