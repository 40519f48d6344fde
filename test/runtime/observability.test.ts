/**
 * Observability: /metrics exposes controller-runtime's and our metrics with sensible values, the
 * probes answer, and Events on the Release are aggregated rather than one per reconcile.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { API_VERSION } from '../../src/api/v1alpha1/constants.ts';
import type { KubeObject } from '../../src/api/object.ts';
import { readBuildInfo } from '../../src/runtime/buildinfo.ts';
import { metricValue } from '../support/controller.ts';
import { eventually } from '../support/eventually.ts';
import {
  configMap,
  createOrg,
  deleteRelease,
  releaseObject,
  uniqueName,
  waitReady,
} from '../support/fixtures.ts';
import { integrationSuite } from '../support/suite.ts';

type Event = KubeObject & {
  reason?: string;
  type?: string;
  note?: string;
  regarding?: { name?: string };
  series?: { count?: number };
};

describe('observability', () => {
  const suite = integrationSuite();

  const eventsOf = async (name: string) =>
    (await suite.cp.list<Event>('events.k8s.io/v1', 'Event', suite.org.namespace)).filter(
      (e) => e.regarding?.name === name,
    );

  test('/metrics, /healthz and /readyz', async () => {
    const { cp, org, controller } = suite;
    const ns = uniqueName('obs');
    const name = uniqueName('rel');
    await cp.create(releaseObject(org, name, [configMap('a', ns, 'a'), configMap('b', ns, 'b')]));
    await waitReady(cp, org, name);
    const text = await eventually(async () => {
      const t = await controller.metrics();
      assert.ok(
        metricValue(t, 'release_controller_releases', { ready: 'True' }) >= 1,
        'a Ready Release is counted',
      );
      return t;
    });
    const dataPlane = `${org.namespace}/${org.dataPlane}`;
    assert.ok(
      metricValue(text, 'controller_runtime_reconcile_total', { controller: 'release' }) >= 1,
      'reconciles are counted',
    );
    assert.equal(
      metricValue(text, 'controller_runtime_max_concurrent_reconciles', { controller: 'release' }),
      4,
    );
    assert.ok(
      metricValue(text, 'controller_runtime_reconcile_time_seconds_count', { controller: 'release' }) >= 1,
      'reconcile time observed',
    );
    assert.ok(metricValue(text, 'workqueue_adds_total', { name: 'release' }) >= 1, 'queue adds counted');
    const build = readBuildInfo();
    assert.equal(
      metricValue(text, 'release_controller_build_info', {
        version: build.version,
        commit: build.commit,
        node: process.version,
      }),
      1,
      'the build is exported with its version, commit and Node.js release',
    );
    assert.ok(text.includes('workqueue_depth{'), 'queue depth exported');
    assert.ok(text.includes('workqueue_queue_duration_seconds_bucket{'), 'queue latency exported');
    assert.ok(
      metricValue(text, 'release_controller_resources', { health: 'Healthy' }) >= 2,
      'healthy resources counted',
    );
    assert.equal(
      metricValue(text, 'release_controller_applies_total', {
        data_plane: dataPlane,
        kind: 'ConfigMap',
        result: 'applied',
      }) >= 2,
      true,
    );
    assert.ok(
      metricValue(text, 'release_controller_api_requests_total', {
        cluster: dataPlane,
        verb: 'PATCH',
      }) >= 2,
      'data-plane applies counted (201 when created, 200 when updated)',
    );
    assert.ok(
      metricValue(text, 'release_controller_api_requests_total', {
        cluster: 'control-plane',
        verb: 'PATCH',
      }) >= 1,
      'status writes counted',
    );
    assert.ok(
      text.includes('release_controller_api_request_duration_seconds_bucket{'),
      'request latency exported',
    );
    assert.ok(
      metricValue(text, 'process_resident_memory_bytes') > 10 * 1024 * 1024,
      'process metrics exported',
    );

    for (const path of ['/healthz', '/readyz']) {
      const res = await fetch(`http://127.0.0.1:${controller.probePort}${path}?verbose`);
      assert.equal(res.status, 200, path);
      assert.match(await res.text(), /ok/);
    }
  });

  test('Events: a failure that waits for the Release to change is told once; prunes and health changes are recorded', async () => {
    const { cp, org, controller } = suite;
    const ns = uniqueName('ev');
    const name = uniqueName('rel');
    const bad = { id: 'bad', object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { namespace: ns } } };
    // An invalid object waits for the Release to change (requeued at `interval`, not
    // progressingInterval): a short interval makes the reconciles repeat.
    await cp.create(
      releaseObject(org, name, [configMap('a', ns, 'a'), bad], {
        interval: '300ms',
        progressingInterval: '300ms',
      }),
    );
    const ofRelease = (msg: string) =>
      controller.logLines().filter((l) => l['msg'] === msg && l['release'] === `${org.namespace}/${name}`);
    await eventually(() => ofRelease('reconciled').length >= 10, {
      description: 'ten reconciles of the invalid Release',
    });
    const invalid = (await eventsOf(name)).filter((e) => e.reason === 'InvalidResource');
    assert.equal(invalid.length, 1, 'one Event for the failure');
    assert.equal(invalid[0]?.type, 'Warning');
    assert.match(invalid[0]?.note ?? '', /resource "bad": ConfigMap has no metadata.name/);
    assert.equal(
      ofRelease('event recorded').filter((l) => l['reason'] === 'InvalidResource').length,
      1,
      'recorded once in ten reconciles (like a TerminalError), neither per reconcile nor again for Ready',
    );
    const errors = controller
      .logLines()
      .filter((l) => l['msg'] === 'Reconciler error' && l['key'] === `${org.namespace}/${name}`);
    assert.equal(errors.length, 0, 'no error line: nothing to retry');

    await cp.patch(API_VERSION, 'Release', org.namespace, name, {
      spec: { resources: [configMap('c', ns, 'c')] },
    });
    await eventually(async () => {
      const events = await eventsOf(name);
      assert.ok(
        events.some((e) => e.reason === 'Pruned' && /deleted ConfigMap\/.*\/a/.test(e.note ?? '')),
        'a Pruned Event names the object',
      );
      assert.ok(
        events.some((e) => e.reason === 'Ready' && e.type === 'Normal'),
        'a Ready Event on the transition',
      );
    });
  });

  test('a deleted DataPlane takes its connection, its watches and every metric series naming it', async () => {
    const { cp, controller, dataPlane: dpCluster } = suite;
    const orgs = [await createOrg(cp, dpCluster), await createOrg(cp, dpCluster, { credentials: 'inline' })];
    const keys = orgs.map((o) => `${o.namespace}/${o.dataPlane}`);
    const names: string[] = [];
    for (const org of orgs) {
      const name = uniqueName('rel');
      await cp.create(releaseObject(org, name, [configMap('a', uniqueName('gone'), 'a')]));
      await waitReady(cp, org, name);
      names.push(name);
    }
    const before = await eventually(async () => {
      const t = await controller.metrics();
      for (const key of keys) {
        assert.ok(
          metricValue(t, 'release_controller_dataplane_watches', { data_plane: key }) >= 1,
          `${key} has a watch`,
        );
        assert.ok(
          metricValue(t, 'release_controller_applies_total', { data_plane: key, result: 'applied' }) >= 1,
          `${key} has apply series`,
        );
        assert.ok(
          metricValue(t, 'release_controller_api_requests_total', { cluster: key }) >= 1,
          `${key} has request series`,
        );
      }
      return t;
    });
    const connections = metricValue(before, 'release_controller_dataplane_connections');
    assert.ok(connections >= 2, `both DataPlanes are connected (${connections} connections)`);

    for (const [i, org] of orgs.entries()) {
      await deleteRelease(cp, org.namespace, names[i] ?? '');
      await cp.delete(API_VERSION, 'DataPlane', org.namespace, org.dataPlane);
    }
    await eventually(
      async () => {
        const t = await controller.metrics();
        for (const key of keys) {
          const left = t.split('\n').filter((l) => l.includes(`"${key}"`));
          assert.deepEqual(left, [], `no series names the deleted DataPlane ${key}`);
        }
        const now = metricValue(t, 'release_controller_dataplane_connections');
        assert.ok(now <= connections - 2, `both connections closed (${connections} -> ${now})`);
      },
      { description: 'the deleted DataPlanes to leave no connection, watch or series behind' },
    );
  });
});
