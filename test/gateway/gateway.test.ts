/**
 * Planes reached through OpenChoreo's cluster gateway: a local gateway written from its protocol
 * (test/support/gateway.ts) in front of the shared data-plane cluster, a DataPlane with
 * spec.clusterAgent and no credentials, and a controller that knows only the gateway. The gateway
 * answers 501 to every watch, so the controller's caches poll; the tests read and change the data
 * plane directly, never through the code under test.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, mkdtemp, rm } from 'node:fs/promises';
import * as https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { API_VERSION } from '../../src/api/v1alpha1/constants.ts';
import type { KubeObject } from '../../src/api/object.ts';
import { generateProxyPki, type ProxyPki } from '../../testbed/pki.ts';
import { eventually } from '../support/eventually.ts';
import {
  condition,
  configMap,
  deleteRelease,
  environmentObject,
  getRelease,
  isGone,
  releaseObject,
  uniqueName,
  waitReady,
  type Org,
} from '../support/fixtures.ts';
import { MAX_BODY_BYTES, TestGateway } from '../support/gateway.ts';
import { integrationSuite } from '../support/suite.ts';

const FAST = { interval: '2s', progressingInterval: '1s' };
/** GATEWAY_TIMEOUT_MS is the test gateway's request timeout (30 s in the real one). */
const GATEWAY_TIMEOUT_MS = 3_000;

describe('planes reached through the cluster gateway', () => {
  const suite = integrationSuite({ org: false, controller: false });
  let pki: ProxyPki;
  let pkiDir = '';
  let gateway: TestGateway;

  /** gatewayOrg makes an organization whose DataPlane has only a clusterAgent section. */
  const gatewayOrg = async (planeID: string): Promise<Org> => {
    const org: Org = { namespace: uniqueName('org'), environment: 'production', dataPlane: 'dp' };
    await suite.cp.ensureNamespace(org.namespace);
    await suite.cp.create({
      apiVersion: API_VERSION,
      kind: 'DataPlane',
      metadata: { name: org.dataPlane, namespace: org.namespace },
      spec: { planeID, clusterAgent: { clientCA: { value: 'agent CA (read by the gateway only)' } } },
    });
    await suite.cp.create(environmentObject(org.namespace, org.environment, org.dataPlane));
    gateway.connect('dataplane', planeID, suite.dataPlane, [`${org.namespace}/${org.dataPlane}`]);
    return org;
  };

  const liveConfigMap = (namespace: string, name: string) =>
    suite.dp.get<KubeObject & { data?: Record<string, string> }>('v1', 'ConfigMap', namespace, name);

  before(async () => {
    pkiDir = await mkdtemp(join(tmpdir(), 'rc-gateway-'));
    pki = await generateProxyPki(pkiDir);
    gateway = await TestGateway.start(pki, GATEWAY_TIMEOUT_MS);
    await suite.startController([...gateway.controllerArgs('1s'), '--dataplane-timeout=10s']);
  });

  after(async () => {
    await gateway?.stop();
    if (pkiDir) await rm(pkiDir, { recursive: true, force: true });
  });

  test('the test gateway keeps the protocol: mutual TLS, 501 to watches, 413 over 10 MiB, 403 for a plane object it did not authorize', async () => {
    const org = await gatewayOrg(uniqueName('plane'));
    const planeID = [...gateway.agents.keys()].at(-1)?.split('/')[1] ?? '';
    const [ca, cert, key] = await Promise.all([
      readFile(pki.frontendCa),
      readFile(pki.controllerCert),
      readFile(pki.controllerKey),
    ]);
    // Resolves with the status as soon as the gateway answers (it may answer before reading the body).
    const call = (path: string, options: https.RequestOptions = {}, body?: Buffer) =>
      new Promise<number>((resolve, reject) => {
        let answered = false;
        const req = https.request(`${gateway.url}${path}`, { ca, cert, key, ...options }, (res) => {
          answered = true;
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', (err) => {
          if (!answered) reject(err);
        });
        req.end(body);
      });
    const base = `/api/proxy/dataplane/${planeID}/${org.namespace}/${org.dataPlane}/k8s`;
    assert.equal(await call(`${base}/api/v1/namespaces/default`), 200);
    assert.equal(await call(`${base}/api/v1/configmaps?watch=true`), 501);
    assert.equal(
      await call(`/api/proxy/dataplane/${planeID}/${org.namespace}/other/k8s/api/v1/namespaces`),
      403,
    );
    const big = Buffer.alloc(MAX_BODY_BYTES + 1, ' ');
    assert.equal(
      await call(
        `${base}/api/v1/namespaces/default/configmaps`,
        { method: 'POST', headers: { 'content-length': big.length } },
        big,
      ),
      413,
    );
    await assert.rejects(
      new Promise((resolve, reject) => {
        const req = https.request(`${gateway.url}${base}/api/v1/namespaces/default`, { ca }, resolve);
        req.on('error', reject);
        req.end();
      }),
      'a client without a certificate is refused at the handshake',
    );
  });

  test('a Release applies through the gateway, reports status by polling, has drift corrected, prunes, and cleans up', async () => {
    const { cp } = suite;
    const org = await gatewayOrg(uniqueName('plane'));
    const target = uniqueName('gw');
    const name = uniqueName('rel');
    const before = gateway.requests.length;
    await cp.create(
      releaseObject(
        org,
        name,
        [configMap('a', target, 'settings', { v: '1' }), configMap('b', target, 'extra', { v: '1' })],
        FAST,
      ),
    );
    const ready = await waitReady(cp, org, name);
    assert.equal(ready.status?.resources?.[0]?.healthStatus, 'Healthy');
    assert.equal((await liveConfigMap(target, 'settings'))?.data?.['v'], '1');

    // Drift: changed on the data plane behind the controller's back; the next poll sees it.
    await suite.dp.patch('v1', 'ConfigMap', target, 'settings', { data: { v: 'changed' } });
    await eventually(async () => assert.equal((await liveConfigMap(target, 'settings'))?.data?.['v'], '1'), {
      description: 'the drifted field set back through the gateway',
    });

    // Prune: b leaves the spec and is deleted through the gateway.
    const current = await getRelease(cp, org.namespace, name);
    await cp.patch(
      API_VERSION,
      'Release',
      org.namespace,
      name,
      [
        { op: 'test', path: '/metadata/resourceVersion', value: current?.metadata.resourceVersion },
        { op: 'replace', path: '/spec/resources', value: [configMap('a', target, 'settings', { v: '1' })] },
      ],
      { contentType: 'application/json-patch+json' },
    );
    await eventually(async () => assert.ok(isGone(await liveConfigMap(target, 'extra')), 'extra is gone'), {
      description: 'the pruned ConfigMap deleted',
    });

    await deleteRelease(cp, org.namespace, name);
    assert.ok(isGone(await liveConfigMap(target, 'settings')), 'cleanup deleted the object');

    const mine = gateway.requests.slice(before);
    assert.equal(
      mine.filter((r) => r.status === 501).length,
      0,
      'the controller never asked the gateway to watch',
    );
    assert.ok(
      mine.some((r) => r.method === 'PATCH' && r.status < 300),
      'applied with PATCH',
    );
    assert.ok(
      mine.some((r) => r.method === 'DELETE'),
      'deleted through the gateway',
    );
    const ids = mine.filter((r) => r.path.includes('/k8s/')).map((r) => r.requestId ?? '');
    assert.ok(
      ids.every((id) => /^[0-9a-f-]{36}$/.test(id)),
      'every request carries an X-Request-ID',
    );
    assert.equal(new Set(ids).size, ids.length, 'a fresh one per request');
  });

  test('an agent that does not answer, and a gateway that goes away, make the Release unreachable until they are back', async () => {
    const { cp } = suite;
    const planeID = uniqueName('plane');
    const org = await gatewayOrg(planeID);
    const agent = gateway.agents.get(`dataplane/${planeID}`);
    assert.ok(agent, 'the plane has an agent');
    const target = uniqueName('gw');
    const name = uniqueName('rel');
    await cp.create(releaseObject(org, name, [configMap('a', target, 'one', { v: '1' })], FAST));
    await waitReady(cp, org, name);

    // The agent takes requests and never answers: the gateway times them out with 502.
    agent.state = 'blackhole';
    await cp.patch(
      API_VERSION,
      'Release',
      org.namespace,
      name,
      [{ op: 'add', path: '/spec/resources/-', value: configMap('b', target, 'two', { v: '2' }) }],
      { contentType: 'application/json-patch+json' },
    );
    await eventually(
      async () => {
        const r = await getRelease(cp, org.namespace, name);
        assert.equal(
          condition(r, 'ResourcesApplied')?.reason,
          'DataPlaneUnreachable',
          JSON.stringify(r?.status?.conditions),
        );
      },
      { timeoutMs: 60_000, description: 'DataPlaneUnreachable while the agent is silent' },
    );
    agent.state = 'connected';
    await eventually(async () => assert.equal((await liveConfigMap(target, 'two'))?.data?.['v'], '2'), {
      timeoutMs: 60_000,
      description: 'the new object applied once the agent answers again',
    });
    await waitReady(cp, org, name);

    // The gateway itself goes away, and comes back at the same address.
    await gateway.stop();
    await cp.patch(
      API_VERSION,
      'Release',
      org.namespace,
      name,
      [{ op: 'add', path: '/spec/resources/-', value: configMap('c', target, 'three', { v: '3' }) }],
      { contentType: 'application/json-patch+json' },
    );
    await eventually(
      async () => {
        const r = await getRelease(cp, org.namespace, name);
        assert.equal(
          condition(r, 'ResourcesApplied')?.reason,
          'DataPlaneUnreachable',
          JSON.stringify(r?.status?.conditions),
        );
      },
      { timeoutMs: 60_000, description: 'DataPlaneUnreachable while the gateway is down' },
    );
    assert.equal(await liveConfigMap(target, 'three'), undefined);
    await gateway.listen();
    await eventually(async () => assert.equal((await liveConfigMap(target, 'three'))?.data?.['v'], '3'), {
      timeoutMs: 60_000,
      description: 'applied once the gateway is back',
    });
    await waitReady(cp, org, name);
    await deleteRelease(cp, org.namespace, name);
  });

  test('a plane object the gateway does not authorize is reported on the Release, which recovers once it is authorized', async () => {
    const { cp } = suite;
    const org = await gatewayOrg(uniqueName('plane'));
    // The agent was authorized for another plane object: the gateway answers 403.
    const agent = [...gateway.agents.values()].at(-1);
    assert.ok(agent, 'the plane has an agent');
    agent.authorized.clear();
    const name = uniqueName('rel');
    await cp.create(releaseObject(org, name, [configMap('a', uniqueName('gw'), 'x')], FAST));
    await eventually(
      async () => {
        const r = await getRelease(cp, org.namespace, name);
        const applied = condition(r, 'ResourcesApplied');
        assert.equal(applied?.status, 'False', JSON.stringify(r?.status?.conditions));
      },
      { timeoutMs: 30_000, description: 'ResourcesApplied False for a plane the gateway refuses' },
    );
    agent.authorized.add(`${org.namespace}/${org.dataPlane}`);
    await waitReady(cp, org, name);
    await deleteRelease(cp, org.namespace, name);
  });
});
