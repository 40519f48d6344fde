/**
 * Data planes that accept no inbound connections, reached through apiserver-network-proxy: two
 * isolated clusters (each in a network namespace of its own, which nothing on the host can connect
 * into), a proxy server on the host and one agent inside each cluster's namespace, dialling out.
 * The controller reaches both through the one proxy server; the tests read and change the data
 * planes with kubectl run inside their namespaces, never through the code under test.
 *
 * Needs root and iproute2 (`ip netns`): where they are missing the suite fails with that message.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { API_VERSION, Labels } from '../../src/api/v1alpha1/constants.ts';
import type { KubeObject } from '../../src/api/object.ts';
import { isKubeApiError } from '../../src/kube/client.ts';
import { kubectl, type Cluster } from '../../testbed/cluster.ts';
import { startTunnelProxy, type TunnelAgent, type TunnelProxy } from '../../testbed/konnectivity.ts';
import { checkIsolationSupport } from '../../testbed/netns.ts';
import { ownCluster } from '../support/clusters.ts';
import { metricValue, type ControllerProcess } from '../support/controller.ts';
import { eventually } from '../support/eventually.ts';
import {
  condition,
  configMap,
  credentialsLabels,
  dataPlaneObject,
  environmentObject,
  getRelease,
  type Org,
  releaseObject,
  uniqueName,
  waitReady,
} from '../support/fixtures.ts';
import { TestKube } from '../support/kube.ts';
import { integrationSuite } from '../support/suite.ts';

const HOUR = { interval: '1h', progressingInterval: '1h' };
const FAST = { interval: '1s', progressingInterval: '1s' };
const MANAGED = `${Labels.managedBy}=release-controller`;

/** IsolatedPlane is one isolated data-plane cluster with its agent and the organization using it. */
interface IsolatedPlane {
  cluster: Cluster;
  agent: TunnelAgent;
  org: Org;
}

describe('data planes behind a tunnel', () => {
  const suite = integrationSuite({ org: false, controller: false });
  let proxy: TunnelProxy;
  let proxyDir = '';
  let controller: ControllerProcess;
  let a: IsolatedPlane;
  let b: IsolatedPlane;

  /** onPlane runs kubectl inside the data plane's network namespace (the test's own way in). */
  const onPlane = (plane: IsolatedPlane, args: string[]) => kubectl(plane.cluster, args);
  const configMapsOn = async (plane: IsolatedPlane, namespace: string): Promise<string[]> => {
    const out = await onPlane(plane, ['get', 'configmaps', '-n', namespace, '-l', MANAGED, '-o', 'json']);
    return (JSON.parse(out) as { items: KubeObject[] }).items.map((c) => c.metadata.name ?? '').sort();
  };

  /** tunnelledOrg makes an organization whose DataPlane reaches `cluster` through the tunnel. */
  const tunnelledOrg = async (cluster: Cluster, credentials: 'secret' | 'inline'): Promise<Org> => {
    const { cp } = suite;
    const host = cluster.isolation?.tunnelHost ?? '';
    const org: Org = { namespace: uniqueName('org'), environment: 'production', dataPlane: 'dp' };
    await cp.ensureNamespace(org.namespace);
    if (credentials === 'secret') {
      await cp.create({
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: {
          name: 'dp-kubeconfig',
          namespace: org.namespace,
          labels: credentialsLabels(cluster.name),
        },
        data: { kubeconfig: (await readFile(cluster.kubeconfigPath)).toString('base64') },
      });
    }
    const dataPlane = dataPlaneObject(org.namespace, org.dataPlane, cluster, credentials) as KubeObject & {
      spec: { kubernetesCluster: Record<string, unknown> };
    };
    dataPlane.spec.kubernetesCluster['tunnel'] = { host };
    await cp.create(dataPlane);
    await cp.create(environmentObject(org.namespace, org.environment, org.dataPlane));
    return org;
  };

  before(async () => {
    // Fails (never skips) where network namespaces cannot be made, saying what is needed.
    await checkIsolationSupport();
    const [clusterA, clusterB] = await Promise.all([
      ownCluster('rc-tun-a', false, true),
      ownCluster('rc-tun-b', false, true),
    ]);
    proxyDir = await mkdtemp(join(tmpdir(), 'rc-tunnel-proxy-'));
    proxy = await startTunnelProxy(proxyDir);
    const [agentA, agentB] = await Promise.all([proxy.startAgent(clusterA), proxy.startAgent(clusterB)]);
    controller = await suite.startController(proxy.controllerArgs());
    a = { cluster: clusterA, agent: agentA, org: await tunnelledOrg(clusterA, 'inline') };
    b = { cluster: clusterB, agent: agentB, org: await tunnelledOrg(clusterB, 'secret') };
  });

  after(async () => {
    await proxy?.stop();
    if (proxyDir) await rm(proxyDir, { recursive: true, force: true });
  });

  test('an isolated data plane cannot be reached directly, by the test or by the controller', async () => {
    const direct = new TestKube(a.cluster);
    try {
      await assert.rejects(
        direct.client.request({ method: 'GET', path: '/api/v1/namespaces/default' }),
        (err: unknown) => isKubeApiError(err) && err.isUnreachable,
        'a direct request to the isolated API server must fail',
      );
    } finally {
      await direct.close();
    }
    // The same cluster without the tunnel: the controller cannot reach it either.
    const { cp } = suite;
    const org: Org = { namespace: uniqueName('org'), environment: 'production', dataPlane: 'direct' };
    await cp.ensureNamespace(org.namespace);
    await cp.create(dataPlaneObject(org.namespace, org.dataPlane, a.cluster, 'inline'));
    await cp.create(environmentObject(org.namespace, org.environment, org.dataPlane));
    const name = uniqueName('rel');
    await cp.create(releaseObject(org, name, [configMap('cm', uniqueName('ns'), 'direct', { a: '1' })]));
    await eventually(
      async () => {
        const r = await getRelease(cp, org.namespace, name);
        assert.equal(condition(r, 'ResourcesApplied')?.reason, 'DataPlaneUnreachable');
      },
      { timeoutMs: 30_000, description: 'DataPlaneUnreachable for the direct DataPlane' },
    );
  });

  test('a Release applies through the tunnel, shows live health, follows data-plane changes by watch, and cleans up', async () => {
    const { cp } = suite;
    const target = uniqueName('web');
    const name = uniqueName('rel');
    const service: KubeObject = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web', namespace: target },
      spec: { type: 'LoadBalancer', selector: { app: 'web' }, ports: [{ port: 80 }] },
    };
    await cp.create(
      releaseObject(
        a.org,
        name,
        [{ id: 'svc', object: service }, configMap('cm', target, 'settings', { v: '1' })],
        HOUR,
      ),
    );
    await eventually(
      async () => {
        const r = await getRelease(cp, a.org.namespace, name);
        assert.equal(condition(r, 'ResourcesApplied')?.status, 'True', JSON.stringify(r?.status?.conditions));
        assert.equal(r?.status?.resources?.[0]?.healthStatus, 'Progressing');
        assert.equal(condition(r, 'Ready')?.reason, 'Progressing');
      },
      { timeoutMs: 30_000, description: 'the Release applied through the tunnel, its Service Progressing' },
    );
    assert.deepEqual(
      await configMapsOn(a, target),
      ['settings'],
      'the ConfigMap is on the isolated data plane',
    );

    // Intervals are 1h: only the watch through the tunnel can bring this change to the Release.
    await onPlane(a, [
      'patch',
      'service',
      'web',
      '-n',
      target,
      '--subresource=status',
      '--type=merge',
      '-p',
      JSON.stringify({ status: { loadBalancer: { ingress: [{ ip: '192.0.2.20' }] } } }),
    ]);
    await eventually(
      async () => {
        const r = await getRelease(cp, a.org.namespace, name);
        assert.equal(r?.status?.resources?.[0]?.healthStatus, 'Healthy');
        assert.equal(condition(r, 'Ready')?.status, 'True');
      },
      {
        timeoutMs: 10_000,
        description: 'the Service status reaching the Release by watch (intervals are 1h)',
      },
    );

    // The controller's request metrics count the tunnelled data plane like any other.
    const metrics = await controller.metrics();
    assert.ok(
      metricValue(metrics, 'release_controller_api_requests_total', {
        cluster: `${a.org.namespace}/${a.org.dataPlane}`,
        code: '200',
      }) > 0,
      'requests to the tunnelled data plane are counted',
    );

    await cp.delete(API_VERSION, 'Release', a.org.namespace, name);
    await eventually(
      async () => {
        assert.equal(await getRelease(cp, a.org.namespace, name), undefined, 'the Release is gone');
        assert.deepEqual(await configMapsOn(a, target), []);
        const services = await onPlane(a, ['get', 'services', '-n', target, '-l', MANAGED, '-o', 'name']);
        assert.equal(services.trim(), '', 'the Service is deleted');
      },
      { timeoutMs: 30_000, description: 'cleanup through the tunnel' },
    );
  });

  test('the agent stopped mid-way: unreachable and nothing pruned, then recovery; the other data plane is unaffected', async () => {
    const { cp } = suite;
    const ns = uniqueName('keep');
    const name = uniqueName('rel');
    const other = uniqueName('rel');
    const two = [configMap('one', ns, 'one', { v: '1' }), configMap('two', ns, 'two', { v: '2' })];
    await cp.create(releaseObject(a.org, name, two, FAST));
    await cp.create(releaseObject(b.org, other, [configMap('b', ns, 'on-b', { v: 'b' })], FAST));
    await waitReady(cp, a.org, name);
    await waitReady(cp, b.org, other);

    await a.agent.stop();
    try {
      // Dropping an id while the data plane is away must prune nothing.
      await cp.patch(API_VERSION, 'Release', a.org.namespace, name, { spec: { resources: two.slice(0, 1) } });
      await eventually(
        async () => {
          const r = await getRelease(cp, a.org.namespace, name);
          const applied = condition(r, 'ResourcesApplied');
          assert.equal(applied?.reason, 'DataPlaneUnreachable');
          assert.match(applied?.message ?? '', new RegExp(`no proxy agent for host '${a.agent.host}'`));
        },
        { timeoutMs: 60_000, description: 'DataPlaneUnreachable naming the missing agent' },
      );
      assert.deepEqual(await configMapsOn(a, ns), ['one', 'two'], 'nothing pruned while the agent is away');
      const r = await getRelease(cp, b.org.namespace, other);
      assert.equal(condition(r, 'Ready')?.status, 'True', 'the other data plane stays Ready');
    } finally {
      await a.agent.start();
    }
    await eventually(
      async () => {
        const r = await getRelease(cp, a.org.namespace, name);
        assert.equal(condition(r, 'Ready')?.status, 'True');
        assert.equal(r?.status?.observedGeneration, r?.metadata.generation);
        assert.deepEqual(await configMapsOn(a, ns), ['one'], 'the dropped id is pruned after recovery');
      },
      { timeoutMs: 60_000, description: 'recovery once the agent is back' },
    );
  });

  test('two isolated data planes through one proxy server: each Release lands on its own cluster', async () => {
    const { cp } = suite;
    const ns = uniqueName('two');
    const [onA, onB] = [uniqueName('rel'), uniqueName('rel')];
    await cp.create(releaseObject(a.org, onA, [configMap('cm', ns, 'from-a', { at: 'a' })]));
    await cp.create(releaseObject(b.org, onB, [configMap('cm', ns, 'from-b', { at: 'b' })]));
    await waitReady(cp, a.org, onA);
    await waitReady(cp, b.org, onB);
    assert.deepEqual(await configMapsOn(a, ns), ['from-a']);
    assert.deepEqual(await configMapsOn(b, ns), ['from-b']);
    const placements = await Promise.all([
      getRelease(cp, a.org.namespace, onA),
      getRelease(cp, b.org.namespace, onB),
    ]);
    const clusters = placements.map((r) => r?.status?.appliedTo?.[0]?.cluster);
    assert.ok(
      clusters[0] && clusters[1] && clusters[0] !== clusters[1],
      `two clusters: ${clusters.join(', ')}`,
    );
  });
});
