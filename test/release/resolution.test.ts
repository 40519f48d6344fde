/**
 * How a Release finds its data plane: Environment and DataPlane lookups with clear conditions when
 * either is missing, both credential forms, and the timed requeue switch.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Labels } from '../../src/api/v1alpha1/constants.ts';
import { eventually } from '../support/eventually.ts';
import {
  condition,
  configMap,
  createOrg,
  credentialsLabels,
  dataPlaneObject,
  environmentObject,
  getRelease,
  releaseObject,
  uniqueName,
  waitReady,
} from '../support/fixtures.ts';
import { integrationSuite } from '../support/suite.ts';

describe('Release resolution', () => {
  const suite = integrationSuite({ org: false });

  test('a missing Environment, then a missing DataPlane, are reported and recovered from', async () => {
    const { clusters, cp, dp } = suite;
    const namespace = uniqueName('org');
    await cp.ensureNamespace(namespace);
    const target = uniqueName('res');
    const org = { namespace, environment: 'staging' };
    const name = uniqueName('rel');
    await cp.create(releaseObject(org, name, [configMap('cm', target, 'settings')]));

    await eventually(async () => {
      const applied = condition(await getRelease(cp, namespace, name), 'ResourcesApplied');
      assert.equal(applied?.status, 'False');
      assert.equal(applied?.reason, 'EnvironmentNotFound');
      assert.match(applied?.message ?? '', new RegExp(`Environment ${namespace}/staging`));
    });

    await cp.create(environmentObject(namespace, 'staging', 'edge'));
    await eventually(async () => {
      const applied = condition(await getRelease(cp, namespace, name), 'ResourcesApplied');
      assert.equal(applied?.reason, 'DataPlaneNotFound');
      assert.match(applied?.message ?? '', new RegExp(`DataPlane ${namespace}/edge`));
    });

    await cp.create(dataPlaneObject(namespace, 'edge', clusters.dp, 'inline'));
    await eventually(async () => {
      const r = await getRelease(cp, namespace, name);
      assert.equal(condition(r, 'ResourcesApplied')?.status, 'True');
      assert.equal(condition(r, 'Ready')?.status, 'True');
    });
    assert.ok(await dp.get('v1', 'ConfigMap', target, 'settings'), 'inline credentials reach the data plane');
  });

  test('a DataPlane in another namespace is never used', async () => {
    const { clusters, cp } = suite;
    const home = await createOrg(cp, clusters.dp);
    const other = uniqueName('org');
    await cp.ensureNamespace(other);
    // The Environment names a DataPlane that exists only in the first organization.
    await cp.create(environmentObject(other, 'production', home.dataPlane));
    const name = uniqueName('rel');
    await cp.create(
      releaseObject({ namespace: other, environment: 'production' }, name, [
        configMap('cm', uniqueName('x'), 'c'),
      ]),
    );
    await eventually(async () => {
      assert.equal(
        condition(await getRelease(cp, other, name), 'ResourcesApplied')?.reason,
        'DataPlaneNotFound',
      );
    });
  });

  test('a kubeconfig Secret that is missing or unsafe is reported without its contents', async () => {
    const { clusters, cp, dp } = suite;
    const namespace = uniqueName('org');
    await cp.ensureNamespace(namespace);
    await cp.create(dataPlaneObject(namespace, 'dp', clusters.dp, 'secret'));
    await cp.create(environmentObject(namespace, 'production', 'dp'));
    const name = uniqueName('rel');
    const target = uniqueName('sec');
    await cp.create(
      releaseObject({ namespace, environment: 'production' }, name, [configMap('cm', target, 'c')]),
    );
    await eventually(async () => {
      const applied = condition(await getRelease(cp, namespace, name), 'ResourcesApplied');
      assert.equal(applied?.reason, 'DataPlaneInvalid');
      assert.match(applied?.message ?? '', /Secret .*dp-kubeconfig.* does not exist/);
    });

    const unsafe =
      'apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]\nusers: [{name: u, user: {exec: {command: /bin/sh, apiVersion: client.authentication.k8s.io/v1}}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n';
    await cp.create({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'dp-kubeconfig', namespace, labels: credentialsLabels('unsafe') },
      data: { kubeconfig: Buffer.from(unsafe).toString('base64') },
    });
    await eventually(async () => {
      const applied = condition(await getRelease(cp, namespace, name), 'ResourcesApplied');
      assert.equal(applied?.reason, 'DataPlaneInvalid');
      assert.match(applied?.message ?? '', /exec or auth-provider/);
    });

    // Fixing the Secret is noticed through its watch; the Release recovers without a restart.
    const { readFile } = await import('node:fs/promises');
    const good = await readFile(clusters.dp.kubeconfigPath);
    await cp.patch('v1', 'Secret', namespace, 'dp-kubeconfig', {
      data: { kubeconfig: good.toString('base64') },
    });
    await waitReady(cp, { namespace }, name);
    assert.ok(
      await dp.get('v1', 'ConfigMap', target, 'c'),
      'expected await dp.get("v1", "ConfigMap", target, "c")',
    );
  });

  test('interval 0s stops timed requeues; a short interval keeps reconciling', async () => {
    const { clusters, cp, dp, controller } = suite;
    const org = await createOrg(cp, clusters.dp);
    const quiet = uniqueName('quiet');
    const busy = uniqueName('busy');
    const target = uniqueName('iv');
    await cp.create(
      releaseObject(org, quiet, [configMap('cm', target, 'quiet')], {
        interval: '0s',
        progressingInterval: '0s',
      }),
    );
    await cp.create(
      releaseObject(org, busy, [configMap('cm', target, 'busy')], {
        interval: '500ms',
        progressingInterval: '500ms',
      }),
    );
    for (const n of [quiet, busy]) await waitReady(cp, org, n);
    const reconciles = (n: string) =>
      controller
        .logLines()
        .filter((l) => l['msg'] === 'reconciled' && l['release'] === `${org.namespace}/${n}`).length;
    const quietBefore = reconciles(quiet);
    const busyBefore = reconciles(busy);
    await eventually(() => reconciles(busy) >= busyBefore + 4, {
      timeoutMs: 10_000,
      description: 'timed requeues of the busy Release',
    });
    assert.equal(reconciles(quiet), quietBefore, 'the Release with interval 0s was not reconciled again');
    const cm = await dp.get('v1', 'ConfigMap', target, 'quiet');
    assert.equal(cm?.metadata.labels?.[Labels.releaseName], quiet);
  });
});
