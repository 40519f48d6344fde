/**
 * Watch-driven reconciles: changes on the data plane reach the Release without waiting for a
 * timer (intervals are 1h here), drift is corrected, and a watch broken by a restart of the
 * data-plane API server recovers.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Labels } from '../../src/api/v1alpha1/constants.ts';
import type { KubeObject } from '../../src/api/object.ts';
import type { Cluster } from '../../testbed/cluster.ts';
import { ownCluster } from '../support/clusters.ts';
import { metricValue } from '../support/controller.ts';
import { eventually } from '../support/eventually.ts';
import {
  condition,
  configMap,
  createOrg,
  getRelease,
  releaseObject,
  uniqueName,
  waitReady,
} from '../support/fixtures.ts';
import { TestKube } from '../support/kube.ts';
import { integrationSuite } from '../support/suite.ts';

const HOUR = { interval: '1h', progressingInterval: '1h' };

describe('watch-driven reconciles', () => {
  const suite = integrationSuite();
  // A data plane of this file's own, whose API server a test restarts; `after` ends it with the suite.
  let ownDp: Cluster;
  before(async () => {
    ownDp = await ownCluster('rc-watch-dp');
  });

  test('a status change on the data plane reaches the Release status without a timer', async () => {
    const { cp, dp, org } = suite;
    const target = uniqueName('lb');
    const name = uniqueName('rel');
    const service: KubeObject = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web', namespace: target },
      spec: { type: 'LoadBalancer', selector: { app: 'web' }, ports: [{ port: 80 }] },
    };
    await cp.create(releaseObject(org, name, [{ id: 'svc', object: service }], HOUR));
    await eventually(async () => {
      const r = await getRelease(cp, org.namespace, name);
      assert.equal(r?.status?.resources?.[0]?.healthStatus, 'Progressing');
      assert.equal(condition(r, 'Ready')?.reason, 'Progressing');
    });
    await dp.patch(
      'v1',
      'Service',
      target,
      'web',
      { status: { loadBalancer: { ingress: [{ ip: '192.0.2.10' }] } } },
      { subresource: 'status' },
    );
    await eventually(
      async () => {
        const r = await getRelease(cp, org.namespace, name);
        assert.equal(r?.status?.resources?.[0]?.healthStatus, 'Healthy');
        assert.deepEqual((r?.status?.resources?.[0]?.status as { loadBalancer?: unknown })?.loadBalancer, {
          ingress: [{ ip: '192.0.2.10', ipMode: 'VIP' }],
        });
        assert.equal(condition(r, 'Ready')?.status, 'True');
      },
      { timeoutMs: 10_000, description: 'the new Service status in the Release (intervals are 1h)' },
    );
  });

  test('deleting or editing an applied object on the data plane is corrected', async () => {
    const { cp, dp, org } = suite;
    const target = uniqueName('drift');
    const name = uniqueName('rel');
    await cp.create(releaseObject(org, name, [configMap('cm', target, 'settings', { mode: 'safe' })], HOUR));
    await eventually(async () =>
      assert.ok(await dp.get('v1', 'ConfigMap', target, 'settings'), 'the ConfigMap is applied'),
    );

    await dp.delete('v1', 'ConfigMap', target, 'settings');
    await eventually(
      async () =>
        assert.ok(
          await dp.get('v1', 'ConfigMap', target, 'settings'),
          'expected await dp.get("v1", "ConfigMap", target, "settings")',
        ),
      {
        timeoutMs: 10_000,
        description: 'the deleted ConfigMap to come back',
      },
    );

    // kubectl edit takes the field from our manager; the controller takes it back.
    await dp.patch('v1', 'ConfigMap', target, 'settings', { data: { mode: 'unsafe' } });
    await eventually(
      async () => {
        const cm = await dp.get<KubeObject & { data?: Record<string, string> }>(
          'v1',
          'ConfigMap',
          target,
          'settings',
        );
        assert.equal(cm?.data?.['mode'], 'safe');
      },
      { timeoutMs: 10_000, description: 'the edited field to be corrected' },
    );

    // Removing our label hides the object from our watch: the controller sees it as missing and re-applies.
    await dp.patch('v1', 'ConfigMap', target, 'settings', {
      metadata: { labels: { [Labels.managedBy]: null } },
    });
    await eventually(
      async () => {
        const cm = await dp.get('v1', 'ConfigMap', target, 'settings');
        assert.equal(cm?.metadata.labels?.[Labels.managedBy], 'release-controller');
      },
      { timeoutMs: 10_000, description: 'the removed tracking label to be restored' },
    );
  });

  test('a watch broken by a restart of the data-plane API server recovers', async () => {
    const { cp } = suite;
    const ownOrg = await createOrg(cp, ownDp, { dataPlane: 'own' });
    const target = uniqueName('restart');
    const name = uniqueName('rel');
    await cp.create(releaseObject(ownOrg, name, [configMap('cm', target, 'settings')], HOUR));
    const kube = new TestKube(ownDp);
    try {
      await eventually(async () =>
        assert.ok(await kube.get('v1', 'ConfigMap', target, 'settings'), 'the ConfigMap is applied'),
      );
      await ownDp.stop();
      await ownDp.start();
      await kube.delete('v1', 'ConfigMap', target, 'settings');
      await eventually(
        async () =>
          assert.ok(
            await kube.get('v1', 'ConfigMap', target, 'settings'),
            'expected await kube.get("v1", "ConfigMap", target, "settings")',
          ),
        {
          timeoutMs: 45_000,
          description:
            'the ConfigMap deleted after the restart to come back through the re-established watch',
        },
      );
    } finally {
      await kube.close();
    }
  });

  test('a reconcile that finds nothing changed sends no write request', async () => {
    const { cp, org, controller } = suite;
    const target = uniqueName('quiet');
    const name = uniqueName('rel');
    const key = `${org.namespace}/${name}`;
    await cp.create(
      releaseObject(org, name, [configMap('a', target, 'a'), configMap('b', target, 'b')], {
        interval: '300ms',
        progressingInterval: '300ms',
      }),
    );
    await waitReady(cp, org, name);
    const linesOfRelease = () => controller.logLines().filter((l) => l['release'] === key);
    const reconciles = () => linesOfRelease().filter((l) => l['msg'] === 'reconciled').length;
    // Every write the controller makes for a Release is logged with its key: applies, prunes,
    // namespaces it creates, status writes. Events are counted on the API server.
    const WRITES = new Set(['applied', 'pruned', 'created namespace on the data plane', 'status written']);
    const writesOfRelease = () => linesOfRelease().filter((l) => WRITES.has(String(l['msg'])));
    const eventsOfRelease = async () =>
      (
        await cp.list<KubeObject & { regarding?: { name?: string }; series?: { count?: number } }>(
          'events.k8s.io/v1',
          'Event',
          org.namespace,
        )
      )
        .filter((e) => e.regarding?.name === name)
        .map((e) => `${e.metadata.name}:${e.series?.count ?? 1}`)
        .sort();
    // Other Releases of this file share the control plane; this Release's data plane requests are
    // counted apart (the counter is labelled by data plane).
    const dataPlaneWrites = async () => {
      const text = await controller.metrics();
      return ['PATCH', 'POST', 'PUT', 'DELETE'].reduce(
        (sum, verb) =>
          sum +
          metricValue(text, 'release_controller_api_requests_total', {
            cluster: `${org.namespace}/${org.dataPlane}`,
            verb,
          }),
        0,
      );
    };
    assert.ok(writesOfRelease().length > 0, 'the writes of the first reconciles are seen in the log');
    // Let the first reconciles after our own writes settle, then count.
    await eventually(() => reconciles() >= 3, { timeoutMs: 10_000 });
    const writesBefore = writesOfRelease().length;
    const eventsBefore = await eventsOfRelease();
    const dpBefore = await dataPlaneWrites();
    const reconcilesBefore = reconciles();
    await eventually(() => reconciles() >= reconcilesBefore + 5, {
      timeoutMs: 15_000,
      description: 'five timed reconciles',
    });
    assert.deepEqual(
      writesOfRelease().slice(writesBefore),
      [],
      'timed reconciles of an unchanged Release wrote to a cluster',
    );
    assert.deepEqual(
      await eventsOfRelease(),
      eventsBefore,
      'timed reconciles of an unchanged Release sent Events',
    );
    assert.equal(await dataPlaneWrites(), dpBefore, 'timed reconciles sent write requests to the data plane');
  });
});
