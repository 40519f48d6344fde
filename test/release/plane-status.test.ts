/**
 * Plane and Environment status on the real clusters (controller/plane/): a DataPlane says whether
 * its cluster answers and why not before any Release uses it, with the cluster's identity, version
 * and how many Releases use it; an Environment says whether its data plane resolves; a DataPlane
 * being deleted names the Releases that hold it, and they say their plane is going away.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { Annotations, API_VERSION, IN_USE_FINALIZER } from '../../src/api/v1alpha1/constants.ts';
import type { Condition, DataPlane, Environment } from '../../src/api/v1alpha1/schema.ts';
import type { KubeObject } from '../../src/api/object.ts';
import { eventually } from '../support/eventually.ts';
import {
  condition,
  configMap,
  createOrg,
  credentialsLabels,
  dataPlaneObject,
  deleteRelease,
  environmentObject,
  getRelease,
  releaseObject,
  uniqueName,
  waitReady,
} from '../support/fixtures.ts';
import { integrationSuite } from '../support/suite.ts';
import type { TestKube } from '../support/kube.ts';

type Event = KubeObject & { reason?: string; note?: string; regarding?: { kind?: string; name?: string } };

const find = (conditions: Condition[] | undefined, type: string) => conditions?.find((c) => c.type === type);

function getPlane(cp: TestKube, namespace: string, name: string): Promise<DataPlane | undefined> {
  return cp.get<DataPlane>(API_VERSION, 'DataPlane', namespace, name);
}

/** kubeconfigSecret is a kubeconfig Secret of a namespace holding `text`. */
function kubeconfigSecret(namespace: string, name: string, text: string): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace, labels: credentialsLabels('test') },
    data: { kubeconfig: Buffer.from(text).toString('base64') },
  };
}

function tokenKubeconfig(server: string): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    `clusters: [{name: c, cluster: {server: "${server}"}}]`,
    'users: [{name: u, user: {token: some-token}}]',
    'contexts: [{name: c, context: {cluster: c, user: u}}]',
    'current-context: c',
    '',
  ].join('\n');
}

/** refusingServer answers every request 401, as an API server does to credentials it does not accept. */
async function refusingServer(): Promise<{ server: Server; url: string }> {
  const server = createServer((_req, res) => {
    res.writeHead(401, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        kind: 'Status',
        apiVersion: 'v1',
        status: 'Failure',
        reason: 'Unauthorized',
        code: 401,
      }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return { server, url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}` };
}

/** closedPort is a loopback port nothing listens on. */
async function closedPort(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  return `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
}

describe('plane status', () => {
  const suite = integrationSuite({ org: false });

  test('DataPlanes that cannot be used say why before any Release uses them', async () => {
    const { cp } = suite;
    const namespace = uniqueName('org');
    await cp.ensureNamespace(namespace);
    const { server, url } = await refusingServer();
    try {
      const planes = {
        garbage: 'this is not a kubeconfig: [',
        refusing: tokenKubeconfig(url),
        silent: tokenKubeconfig(await closedPort()),
      };
      for (const [name, text] of Object.entries(planes)) {
        await cp.create(kubeconfigSecret(namespace, `${name}-kubeconfig`, text));
        await cp.create({
          apiVersion: API_VERSION,
          kind: 'DataPlane',
          metadata: { name, namespace },
          spec: { kubernetesCluster: { name, secretRef: { name: `${name}-kubeconfig` } } },
        });
      }
      const expected = {
        garbage: 'InvalidKubeconfig',
        refusing: 'CredentialsRefused',
        silent: 'Unreachable',
      };
      for (const [name, reason] of Object.entries(expected)) {
        const plane = await eventually(
          async () => {
            const p = await getPlane(cp, namespace, name);
            const ready = find(p?.status?.conditions, 'Ready');
            assert.equal(ready?.status, 'False', JSON.stringify(p?.status));
            assert.equal(ready?.reason, reason, JSON.stringify(p?.status));
            return p!;
          },
          { description: `DataPlane ${namespace}/${name} to be Ready=False ${reason}` },
        );
        assert.equal(plane.status?.releases, 0);
        assert.ok(plane.status?.lastCheckedTime, 'the time of the check');
        assert.equal(plane.status?.clusterID, undefined, 'no identity without an answer');
        assert.doesNotMatch(
          find(plane.status?.conditions, 'Ready')?.message ?? '',
          /some-token/,
          'no secret',
        );
      }
      const refused = find((await getPlane(cp, namespace, 'refusing'))?.status?.conditions, 'Ready');
      assert.match(refused?.message ?? '', /refused the credentials/);
      // A Ready that became False is told by an Event of its reason.
      await eventually(async () => {
        const events = await cp.list<Event>('events.k8s.io/v1', 'Event', namespace);
        assert.ok(
          events.some((e) => e.regarding?.name === 'garbage' && e.reason === 'InvalidKubeconfig'),
          'an Event on DataPlane garbage',
        );
      });
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  test('a DataPlane that answers shows Ready, its cluster, its version and how many Releases use it; so does its Environment', async () => {
    const { cp, dp } = suite;
    const org = await createOrg(cp, suite.dataPlane);
    const kubeSystem = await dp.get('v1', 'Namespace', undefined, 'kube-system');
    const version = await dp.client.request<{ gitVersion: string }>({ method: 'GET', path: '/version' });
    const name = uniqueName('rel');
    await cp.create(releaseObject(org, name, [configMap('cm', org.namespace, uniqueName('cm'))]));
    await waitReady(cp, org, name);
    await eventually(
      async () => {
        const p = await getPlane(cp, org.namespace, org.dataPlane);
        const ready = find(p?.status?.conditions, 'Ready');
        assert.equal(ready?.status, 'True', JSON.stringify(p?.status));
        assert.equal(ready?.reason, 'Reachable');
        assert.equal(p?.status?.clusterID, kubeSystem?.metadata.uid);
        assert.equal(p?.status?.serverVersion, version.gitVersion);
        assert.equal(p?.status?.releases, 1);
      },
      { description: 'the DataPlane to be Ready with one Release' },
    );
    await eventually(async () => {
      const env = await cp.get<Environment>(API_VERSION, 'Environment', org.namespace, org.environment);
      const ready = find(env?.status?.conditions, 'Ready');
      assert.equal(ready?.status, 'True', JSON.stringify(env?.status));
      assert.equal(ready?.reason, 'DataPlaneResolved');
      assert.equal(env?.status?.dataPlane, `DataPlane/${org.dataPlane}`);
      assert.equal(env?.status?.releases, 1);
    });
    await deleteRelease(cp, org.namespace, name);
    await eventually(async () =>
      assert.equal((await getPlane(cp, org.namespace, org.dataPlane))?.status?.releases, 0),
    );
  });

  test('an Environment whose DataPlane does not exist says so, and resolves once it does', async () => {
    const { cp } = suite;
    const namespace = uniqueName('org');
    await cp.ensureNamespace(namespace);
    await cp.create(environmentObject(namespace, 'staging', 'later'));
    const env = () => cp.get<Environment>(API_VERSION, 'Environment', namespace, 'staging');
    await eventually(async () => {
      const ready = find((await env())?.status?.conditions, 'Ready');
      assert.equal(ready?.status, 'False');
      assert.equal(ready?.reason, 'DataPlaneNotFound');
      assert.match(
        ready?.message ?? '',
        new RegExp(`DataPlane ${namespace}/later \\(spec.dataPlaneRef\\) not found`),
      );
    });
    await cp.create(dataPlaneObject(namespace, 'later', suite.dataPlane, 'inline'));
    await eventually(async () => {
      const e = await env();
      assert.equal(
        find(e?.status?.conditions, 'Ready')?.reason,
        'DataPlaneResolved',
        JSON.stringify(e?.status),
      );
      assert.equal(e?.status?.dataPlane, 'DataPlane/later');
    });
  });

  test('a plane and its Environment count the Releases that resolve to them before anything is applied there', async () => {
    const { cp } = suite;
    const namespace = uniqueName('org');
    await cp.ensureNamespace(namespace);
    // Planes that never answer: nothing is applied, so only the Environments lead to them.
    const silentURL = await closedPort();
    const silentPlane = (namespace: string, name: string) => {
      const plane = dataPlaneObject(namespace, name, suite.dataPlane, 'inline') as KubeObject & {
        spec: { kubernetesCluster: { credentials: { apiServerURL: string } } };
      };
      plane.spec.kubernetesCluster.credentials.apiServerURL = silentURL;
      return plane;
    };
    const shared = uniqueName('silent');
    const { spec: planeSpec } = silentPlane('unused', shared);
    await cp.create({
      apiVersion: API_VERSION,
      kind: 'ClusterDataPlane',
      metadata: { name: shared },
      spec: planeSpec,
    });
    try {
      await cp.create(silentPlane(namespace, 'default'));
      const environments = {
        fallback: {},
        shared: { dataPlaneRef: { kind: 'ClusterDataPlane', name: shared } },
      };
      for (const [name, spec] of Object.entries(environments)) {
        await cp.create({
          apiVersion: API_VERSION,
          kind: 'Environment',
          metadata: { name, namespace },
          spec: { ...spec, isProduction: false },
        });
        await cp.create(
          releaseObject({ namespace, environment: name }, `on-${name}`, [configMap('cm', namespace, name)]),
        );
      }
      const counts = async () => ({
        fallback: (await getPlane(cp, namespace, 'default'))?.status?.releases,
        shared: (await cp.get<DataPlane>(API_VERSION, 'ClusterDataPlane', undefined, shared))?.status
          ?.releases,
        environments: await Promise.all(
          Object.keys(environments).map(
            async (name) =>
              (await cp.get<Environment>(API_VERSION, 'Environment', namespace, name))?.status?.releases,
          ),
        ),
      });
      await eventually(
        async () => assert.deepEqual(await counts(), { fallback: 1, shared: 1, environments: [1, 1] }),
        { description: 'each plane and Environment to count its one Release' },
      );
      for (const name of Object.keys(environments)) {
        const release = await getRelease(cp, namespace, `on-${name}`);
        assert.deepEqual(
          release?.status?.appliedTo ?? [],
          [],
          'nothing was applied: only the Environment leads there',
        );
      }
      // A plane that never answered cannot be swept: cleanup is given up on, as an operator would.
      for (const name of Object.keys(environments)) {
        await cp.patch(API_VERSION, 'Release', namespace, `on-${name}`, {
          metadata: { annotations: { [Annotations.deletionPolicy]: 'Orphan' } },
        });
        await deleteRelease(cp, namespace, `on-${name}`);
      }
      await eventually(async () =>
        assert.deepEqual(await counts(), { fallback: 0, shared: 0, environments: [0, 0] }),
      );
    } finally {
      await cp.delete(API_VERSION, 'ClusterDataPlane', undefined, shared);
    }
  });

  test('deleting a DataPlane in use names the Releases that hold it, and they say their plane is going away', async () => {
    const { cp } = suite;
    const org = await createOrg(cp, suite.dataPlane);
    const name = uniqueName('rel');
    await cp.create(releaseObject(org, name, [configMap('cm', org.namespace, uniqueName('cm'))]));
    await waitReady(cp, org, name);
    // In use: the protection controller has put its finalizer on the DataPlane (it runs beside the
    // Release's reconcile, so it may land just after Ready on a busy machine).
    await eventually(async () => {
      const p = await getPlane(cp, org.namespace, org.dataPlane);
      assert.ok(p?.metadata.finalizers?.includes(IN_USE_FINALIZER), JSON.stringify(p?.metadata.finalizers));
    });
    await cp.delete(API_VERSION, 'DataPlane', org.namespace, org.dataPlane);
    await eventually(
      async () => {
        const p = await getPlane(cp, org.namespace, org.dataPlane);
        assert.ok(p?.metadata.deletionTimestamp, 'held by the in-use finalizer');
        const terminating = find(p?.status?.conditions, 'Terminating');
        assert.equal(terminating?.reason, 'InUseByReleases', JSON.stringify(p?.status));
        assert.match(
          terminating?.message ?? '',
          new RegExp(`waits for 1 Release that uses it: ${org.namespace}/${name}`),
        );
      },
      { description: 'the DataPlane to say which Release holds it' },
    );
    await eventually(async () => {
      const events = await cp.list<Event>('events.k8s.io/v1', 'Event', org.namespace);
      const held = events.find((e) => e.regarding?.kind === 'DataPlane' && e.reason === 'DeletionWaiting');
      assert.match(held?.note ?? '', new RegExp(`${org.namespace}/${name}`), 'an Event naming the Release');
      const told = events.find((e) => e.regarding?.name === name && e.reason === 'DataPlaneDeleting');
      assert.ok(told, 'an Event on the Release');
    });
    const release = await getRelease(cp, org.namespace, name);
    const deleting = condition(release, 'PlaneDeleting');
    assert.equal(deleting?.status, 'True');
    assert.match(
      deleting?.message ?? '',
      new RegExp(`DataPlane ${org.namespace}/${org.dataPlane} is being deleted`),
    );
    await deleteRelease(cp, org.namespace, name);
    await eventually(async () =>
      assert.ok((await getPlane(cp, org.namespace, org.dataPlane)) === undefined, 'the DataPlane is gone'),
    );
  });
});
