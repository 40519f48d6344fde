/**
 * Fairness: a data plane that accepts connections and never answers holds at most its share of the
 * workers (--max-concurrent-reconciles-per-dataplane, half of the 4 by default), and so do all the
 * DataPlanes of one organization together; each of its
 * Releases stops at the first unanswered request; a Release on a healthy data plane converges
 * meanwhile, and the silent one's Releases say DataPlaneUnreachable.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { API_VERSION } from '../../src/api/v1alpha1/constants.ts';
import type { ReleaseResource } from '../../src/api/v1alpha1/schema.ts';
import { generatePki } from '../../testbed/pki.ts';
import { metricValue } from '../support/controller.ts';
import { eventually } from '../support/eventually.ts';
import {
  condition,
  configMap,
  deleteRelease,
  environmentObject,
  getRelease,
  releaseObject,
  uniqueName,
  waitReady,
} from '../support/fixtures.ts';
import { integrationSuite } from '../support/suite.ts';

/**
 * SilentApiServer is a data plane that told the controller which cluster it is and then went
 * silent, as in a network partition: it answers the read of namespace kube-system (so the Release
 * is placed on it) and accepts every other request without ever answering. That is the case where
 * each object of a Release used to wait for its own discovery timeouts.
 */
class SilentApiServer {
  private server: Server | undefined;
  private readonly held = new Set<ServerResponse>();
  url = '';
  /** requests counts the requests that were never answered. */
  requests = 0;

  async start(cert: string, key: string): Promise<void> {
    this.server = createServer({ cert, key }, (req, res) => {
      if (req.method === 'GET' && req.url === '/api/v1/namespaces/kube-system') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(
          JSON.stringify({
            apiVersion: 'v1',
            kind: 'Namespace',
            metadata: { name: 'kube-system', uid: 'silent-cluster' },
          }),
        );
        return;
      }
      this.requests++;
      this.held.add(res);
      res.on('close', () => this.held.delete(res));
    });
    await new Promise<void>((r) => this.server?.listen(0, '127.0.0.1', r));
    const address = this.server.address();
    this.url = `https://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}

const SILENT_RELEASES = 6;
const ITEMS_PER_RELEASE = 20;

describe('fairness', () => {
  const suite = integrationSuite();
  const silent = new SilentApiServer();
  let pkiDir = '';
  let credentials: { caCert: string; clientCert: string; clientKey: string } | undefined;

  before(async () => {
    pkiDir = await mkdtemp(join(tmpdir(), 'rc-silent-'));
    const pki = await generatePki(pkiDir);
    const [cert, key, ca, clientCert, clientKey] = await Promise.all(
      [pki.apiserverCert, pki.apiserverKey, pki.caCert, pki.adminCert, pki.adminKey].map((f) =>
        readFile(f, 'utf8'),
      ),
    );
    await silent.start(cert ?? '', key ?? '');
    const b64 = (s: string | undefined) => Buffer.from(s ?? '').toString('base64');
    credentials = { caCert: b64(ca), clientCert: b64(clientCert), clientKey: b64(clientKey) };
  });
  after(async () => {
    await silent.stop();
    if (pkiDir) await rm(pkiDir, { recursive: true, force: true });
  });

  test('Releases on a silent data plane do not hold up a Release on a healthy one', async () => {
    const { cp, controller, org } = suite;
    const ns = uniqueName('org');
    await cp.ensureNamespace(ns);
    await cp.create({
      apiVersion: API_VERSION,
      kind: 'DataPlane',
      metadata: { name: 'silent', namespace: ns },
      spec: {
        kubernetesCluster: { name: 'silent', credentials: { apiServerURL: silent.url, ...credentials } },
      },
    });
    await cp.create(environmentObject(ns, 'production', 'silent'));
    const silentOrg = { namespace: ns, environment: 'production' };
    const names = Array.from({ length: SILENT_RELEASES }, () => uniqueName('silent'));
    const target = uniqueName('apps');
    const items = (prefix: string): ReleaseResource[] =>
      Array.from({ length: ITEMS_PER_RELEASE }, (_, i) => configMap(`c${i}`, target, `${prefix}-${i}`));
    try {
      for (const name of names) {
        // Orphan: at the end they go without waiting for a data plane that never answers.
        await cp.create(
          releaseObject(silentOrg, name, items(name), {
            annotations: { 'openchoreo.dev/deletion-policy': 'Orphan' },
          }),
        );
      }
      // The silent data plane is being worked on before the healthy Release arrives.
      await eventually(
        async () =>
          metricValue(await controller.metrics(), 'controller_runtime_active_workers', {
            controller: 'release',
          }) >= 2,
        { description: 'workers busy with the silent data plane' },
      );

      const healthy = uniqueName('healthy');
      await cp.create(releaseObject(org, healthy, [configMap('a', uniqueName('fair'), 'a')]));
      await waitReady(cp, org, healthy);

      for (const name of names) {
        await eventually(
          async () => {
            const r = await getRelease(cp, ns, name);
            const applied = condition(r, 'ResourcesApplied');
            assert.equal(applied?.reason, 'DataPlaneUnreachable', JSON.stringify(r?.status?.conditions));
            assert.equal(condition(r, 'Ready')?.status, 'False');
            assert.match(applied?.message ?? '', /not tried/, 'the pass stopped at the first silence');
          },
          { timeoutMs: 90_000, description: `Release ${ns}/${name} to say DataPlaneUnreachable` },
        );
      }
      const text = await controller.metrics();
      assert.ok(
        metricValue(text, 'release_controller_dataplane_deferred_total', { data_plane: `${ns}/silent` }) >= 1,
        'Releases over the silent data plane share were put back, not run',
      );
      for (const name of names) await deleteRelease(cp, ns, name);
    } finally {
      // On failure too, without waiting: a cleanup error must not hide why the test failed.
      for (const name of names) await cp.delete(API_VERSION, 'Release', ns, name).catch(() => undefined);
    }
  });

  test("one organization's silent DataPlanes together hold at most its share of the workers", async () => {
    const { cp, controller, org } = suite;
    const ns = uniqueName('org');
    await cp.ensureNamespace(ns);
    const names: string[] = [];
    try {
      for (const dp of ['silent-a', 'silent-b', 'silent-c']) {
        await cp.create({
          apiVersion: API_VERSION,
          kind: 'DataPlane',
          metadata: { name: dp, namespace: ns },
          spec: {
            kubernetesCluster: { name: dp, credentials: { apiServerURL: silent.url, ...credentials } },
          },
        });
        await cp.create(environmentObject(ns, `env-${dp}`, dp));
        for (let i = 0; i < 2; i++) {
          const name = uniqueName(dp);
          names.push(name);
          await cp.create(
            releaseObject(
              { namespace: ns, environment: `env-${dp}` },
              name,
              [configMap('c', uniqueName('apps'), 'c')],
              {
                annotations: { 'openchoreo.dev/deletion-policy': 'Orphan' },
              },
            ),
          );
        }
      }
      // Each DataPlane's share is 2 of the 4 workers; the organization's is 2 as well, so three
      // silent DataPlanes never hold more than 2 reconciles together (each would allow 2: 6).
      let most = 0;
      for (let i = 0; i < 40; i++) {
        const text = await controller.metrics();
        const held = ['silent-a', 'silent-b', 'silent-c']
          .map((dp) =>
            metricValue(text, 'release_controller_dataplane_reconciles', { data_plane: `${ns}/${dp}` }),
          )
          .reduce((a, b) => a + b, 0);
        most = Math.max(most, held);
        await new Promise((r) => setTimeout(r, 200));
      }
      assert.ok(most >= 1, 'the silent organization was being worked on');
      assert.ok(most <= 2, `at most the organization's share of the workers held its DataPlanes: ${most}`);
      const healthy = uniqueName('healthy');
      await cp.create(releaseObject(org, healthy, [configMap('a', uniqueName('fair'), 'a')]));
      await waitReady(cp, org, healthy);
      for (const name of names) await deleteRelease(cp, ns, name);
    } finally {
      for (const name of names) await cp.delete(API_VERSION, 'Release', ns, name).catch(() => undefined);
    }
  });
});
