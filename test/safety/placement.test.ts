/**
 * Placement: a Release records every data-plane cluster it applied to (status.appliedTo) and never
 * concludes "clean" from a cluster it has not listed. A DataPlane re-pointed at a closed port keeps
 * the finalizer with CleanupFailed until it is back; a Release whose Environment moves to another
 * DataPlane moves its objects and leaves the old cluster clean.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { API_VERSION, FINALIZER } from '../../src/api/v1alpha1/constants.ts';
import { eventually } from '../support/eventually.ts';
import {
  condition,
  configMap,
  createOrg,
  credentialsLabels,
  dataPlaneObject,
  deleteRelease,
  getRelease,
  isGone,
  releaseObject,
  uniqueName,
  waitReady,
} from '../support/fixtures.ts';
import { TestKube } from '../support/kube.ts';
import { integrationSuite } from '../support/suite.ts';

const FAST = { interval: '1s', progressingInterval: '1s' };

describe('placement', () => {
  const suite = integrationSuite();

  test('deleting a Release whose DataPlane now points at a closed port keeps the finalizer until it is back', async () => {
    const { cp, dp, clusters } = suite;
    const org = await createOrg(cp, clusters.dp, { credentials: 'inline' });
    const ns = uniqueName('repoint');
    const name = uniqueName('rel');
    await cp.create(releaseObject(org, name, [configMap('cm', ns, 'settings')], FAST));
    await waitReady(cp, org, name);
    const applied = await getRelease(cp, org.namespace, name);
    assert.equal(applied?.status?.appliedTo?.length, 1, 'the data-plane cluster is recorded');
    assert.equal(applied?.status?.appliedTo?.[0]?.dataPlane, org.dataPlane);

    const setServer = (apiServerURL: string) =>
      cp.patch(API_VERSION, 'DataPlane', org.namespace, org.dataPlane, {
        spec: { kubernetesCluster: { credentials: { apiServerURL } } },
      });
    await setServer('https://127.0.0.1:1');
    await eventually(
      async () =>
        assert.equal(
          condition(await getRelease(cp, org.namespace, name), 'ResourcesApplied')?.reason,
          'DataPlaneUnreachable',
        ),
      { timeoutMs: 60_000, description: 'DataPlaneUnreachable after the re-point' },
    );
    await cp.delete(API_VERSION, 'Release', org.namespace, name);
    await eventually(
      async () =>
        assert.equal(
          condition(await getRelease(cp, org.namespace, name), 'Finalizing')?.reason,
          'CleanupFailed',
        ),
      { timeoutMs: 60_000, description: 'CleanupFailed while the data plane does not answer' },
    );
    await new Promise((r) => setTimeout(r, 15_000));
    const held = await getRelease(cp, org.namespace, name);
    assert.deepEqual(held?.metadata.finalizers, [FINALIZER], 'the finalizer stays');
    assert.match(condition(held, 'Finalizing')?.message ?? '', /127\.0\.0\.1:1|did not answer|ECONNREFUSED/);
    assert.ok(
      await dp.get('v1', 'ConfigMap', ns, 'settings'),
      'the object is still there, not orphaned silently',
    );

    await setServer(clusters.dp.server);
    await eventually(
      async () => assert.equal(await getRelease(cp, org.namespace, name), undefined, 'the Release is gone'),
      { timeoutMs: 90_000, description: 'cleanup once the DataPlane points back' },
    );
    const left = await dp.get('v1', 'ConfigMap', ns, 'settings');
    assert.ok(isGone(left), 'cleaned up');
  });

  test('a Release whose Environment moves to another data-plane cluster moves its objects', async () => {
    const { cp, dp, org, clusters } = suite;
    // The second data-plane cluster is the control-plane cluster itself, reached with its kubeconfig.
    const second = uniqueName('second');
    await cp.create({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: `${second}-kubeconfig`,
        namespace: org.namespace,
        labels: credentialsLabels(clusters.cp.name),
      },
      data: { kubeconfig: (await readFile(clusters.cp.kubeconfigPath)).toString('base64') },
    });
    await cp.create(dataPlaneObject(org.namespace, second, clusters.cp, 'secret'));
    const env = uniqueName('env');
    await cp.create({
      apiVersion: API_VERSION,
      kind: 'Environment',
      metadata: { name: env, namespace: org.namespace },
      spec: { dataPlaneRef: org.dataPlane },
    });
    const ns = uniqueName('move');
    const name = uniqueName('rel');
    const target = { namespace: org.namespace, environment: env };
    await cp.create(releaseObject(target, name, [configMap('cm', ns, 'settings')], FAST));
    await waitReady(cp, target, name);
    assert.ok(await dp.get('v1', 'ConfigMap', ns, 'settings'), 'applied to the first cluster');

    await cp.patch(API_VERSION, 'Environment', org.namespace, env, { spec: { dataPlaneRef: second } });
    const secondKube = new TestKube(clusters.cp);
    await eventually(
      async () => {
        assert.ok(await secondKube.get('v1', 'ConfigMap', ns, 'settings'), 'applied to the second cluster');
        const old = await dp.get('v1', 'ConfigMap', ns, 'settings');
        assert.ok(isGone(old), 'removed from the first cluster');
        const r = await getRelease(cp, org.namespace, name);
        assert.deepEqual(
          r?.status?.appliedTo?.map((p) => p.dataPlane),
          [second],
        );
        assert.equal(condition(r, 'Ready')?.status, 'True');
      },
      { timeoutMs: 60_000, description: 'the objects to move' },
    );

    await deleteRelease(cp, org.namespace, name);
    const moved = await secondKube.get('v1', 'ConfigMap', ns, 'settings');
    assert.ok(isGone(moved), 'cleaned up on the second cluster');
  });
});
