/**
 * In-use protection: an Environment, DataPlane and kubeconfig Secret a Release resolves through
 * carry the finalizer openchoreo.dev/in-use-by-releases, so deleting a whole organization namespace
 * on the control plane ends with the data plane cleaned and the namespace gone, without human help.
 * The control plane here is a full cluster of this file's own: only a full cluster runs the
 * namespace controller that empties a deleted namespace.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { API_VERSION, IN_USE_FINALIZER } from '../../src/api/v1alpha1/constants.ts';
import type { Cluster } from '../../testbed/cluster.ts';
import { downOwnClusters, ownCluster, testClusters } from '../support/clusters.ts';
import { startTestController, type ControllerProcess } from '../support/controller.ts';
import { eventually } from '../support/eventually.ts';
import {
  configMap,
  createOrg,
  getRelease,
  installCRDs,
  isGone,
  releaseObject,
  uniqueName,
  waitReady,
  type Org,
} from '../support/fixtures.ts';
import { TestKube } from '../support/kube.ts';

const FAST = { interval: '1s', progressingInterval: '1s' };

describe('in-use protection', () => {
  let controlPlane: Cluster;
  let cp: TestKube;
  let dp: TestKube;
  let controller: ControllerProcess;

  before(async () => {
    const clusters = await testClusters();
    controlPlane = await ownCluster('rc-protect-cp', true);
    cp = new TestKube(controlPlane);
    dp = new TestKube(clusters.dp);
    await installCRDs(cp);
    controller = await startTestController({ kubeconfig: controlPlane.kubeconfigPath });
  });
  after(async () => {
    await controller?.kill();
    await cp?.close();
    await dp?.close();
    await downOwnClusters();
  });

  const finalizersOf = async (org: Org) => ({
    environment: (await cp.get(API_VERSION, 'Environment', org.namespace, org.environment))?.metadata
      .finalizers,
    dataPlane: (await cp.get(API_VERSION, 'DataPlane', org.namespace, org.dataPlane))?.metadata.finalizers,
    secret: (await cp.get('v1', 'Secret', org.namespace, `${org.dataPlane}-kubeconfig`))?.metadata.finalizers,
  });

  test('kubectl delete namespace <org> ends with the data plane empty and the namespace gone', async () => {
    const org = await createOrg(cp, (await testClusters()).dp);
    const appNs = uniqueName('org-apps');
    const name = uniqueName('rel');
    await cp.create(releaseObject(org, name, [configMap('cm', appNs, 'settings')], FAST));
    await waitReady(cp, org, name);
    await eventually(
      async () =>
        assert.deepEqual(await finalizersOf(org), {
          environment: [IN_USE_FINALIZER],
          dataPlane: [IN_USE_FINALIZER],
          secret: [IN_USE_FINALIZER],
        }),
      { timeoutMs: 30_000, description: 'the in-use finalizer on the Environment, DataPlane and Secret' },
    );

    await cp.delete('v1', 'Namespace', undefined, org.namespace);
    await eventually(
      async () => assert.ok(isGone(await dp.get('v1', 'ConfigMap', appNs, 'settings')), 'data plane cleaned'),
      { timeoutMs: 120_000, description: 'the Release cleaned its data-plane objects' },
    );
    await eventually(
      async () =>
        assert.equal(await cp.get('v1', 'Namespace', undefined, org.namespace), undefined, 'namespace gone'),
      { timeoutMs: 180_000, description: 'the organization namespace to be gone' },
    );
  });

  test('an Environment deleted while a Release uses it stays, Terminating, until the Release is gone', async () => {
    const org = await createOrg(cp, (await testClusters()).dp);
    const appNs = uniqueName('env-apps');
    const name = uniqueName('rel');
    await cp.create(releaseObject(org, name, [configMap('cm', appNs, 'settings')], FAST));
    await waitReady(cp, org, name);
    await eventually(
      async () => assert.deepEqual((await finalizersOf(org)).environment, [IN_USE_FINALIZER]),
      { timeoutMs: 30_000, description: 'the in-use finalizer on the Environment' },
    );
    await cp.delete(API_VERSION, 'Environment', org.namespace, org.environment);
    const env = await cp.get(API_VERSION, 'Environment', org.namespace, org.environment);
    assert.ok(env?.metadata.deletionTimestamp, 'the Environment is Terminating, not gone');
    await cp.delete(API_VERSION, 'Release', org.namespace, name);
    await eventually(
      async () => assert.equal(await getRelease(cp, org.namespace, name), undefined, 'the Release is gone'),
      { timeoutMs: 60_000, description: 'the Release cleaned up through its Terminating Environment' },
    );
    assert.ok(isGone(await dp.get('v1', 'ConfigMap', appNs, 'settings')), 'data plane cleaned');
    await eventually(
      async () =>
        assert.equal(
          await cp.get(API_VERSION, 'Environment', org.namespace, org.environment),
          undefined,
          'the Environment is gone once nothing uses it',
        ),
      { timeoutMs: 30_000, description: 'the in-use finalizer to come off' },
    );
    // The protection controller takes each in-use finalizer off in its own pass.
    await eventually(
      async () => {
        const { dataPlane, secret } = await finalizersOf(org);
        assert.deepEqual(
          [dataPlane, secret],
          [undefined, undefined],
          'nothing else holds the DataPlane or Secret',
        );
      },
      { timeoutMs: 30_000, description: 'the in-use finalizers on the DataPlane and Secret to come off' },
    );
  });
});
