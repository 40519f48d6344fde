/**
 * Drift on real clusters: a field we own changed by another field manager, or our object deleted.
 * `openchoreo.dev/drift: Correct` (the default) applies it again with a `DriftCorrected` Event and
 * the counter `release_controller_drift_corrections_total`; `Report` writes nothing and reports
 * the fields and who changed them in `status.resources[].drift`, Ready `Drifted`, a
 * `DriftDetected` Event and the gauge `release_controller_drifted_resources`; switching back to
 * Correct corrects at once. Fields named by `openchoreo.dev/ignore-fields` are never drift.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { API_VERSION, Annotations } from '../../src/api/v1alpha1/constants.ts';
import type { KubeObject } from '../../src/api/object.ts';
import type { ReleaseResource } from '../../src/api/v1alpha1/schema.ts';
import { metricValue } from '../support/controller.ts';
import { eventually } from '../support/eventually.ts';
import {
  condition,
  configMap,
  deleteRelease,
  getRelease,
  releaseObject,
  uniqueName,
  waitReady,
} from '../support/fixtures.ts';
import { integrationSuite } from '../support/suite.ts';

const FAST = { interval: '1s', progressingInterval: '1s' };
type ConfigMap = KubeObject & { data?: Record<string, string> };
type Event = KubeObject & { reason?: string; note?: string; regarding?: { name?: string } };

describe('drift', () => {
  const suite = integrationSuite();
  const eventsOf = async (name: string, reason: string) =>
    (await suite.cp.list<Event>('events.k8s.io/v1', 'Event', suite.org.namespace))
      .filter((e) => e.regarding?.name === name && e.reason === reason)
      .map((e) => e.note ?? '');
  /** editAs changes a ConfigMap's data as another field manager (server-side apply with force). */
  const editAs = (manager: string, ns: string, name: string, data: Record<string, string>) =>
    suite.dp.apply({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns }, data }, manager);
  const metric = async (name: string, labels: Record<string, string> = {}) =>
    metricValue(await suite.controller.metrics(), name, labels);

  test('Correct: an edit by another manager and a deletion are corrected, with Events and the counter', async () => {
    const { cp, dp, org } = suite;
    const ns = uniqueName('correct');
    const name = uniqueName('rel');
    await cp.create(
      releaseObject(
        org,
        name,
        [configMap('settings', ns, 'settings', { a: '1' }), configMap('other', ns, 'other')],
        FAST,
      ),
    );
    await waitReady(cp, org, name);
    const labels = { data_plane: `${org.namespace}/${org.dataPlane}`, kind: 'ConfigMap' };
    const before = await metric('release_controller_drift_corrections_total', labels);

    await editAs('kubectl-edit', ns, 'settings', { a: 'edited' });
    await eventually(async () => {
      assert.deepEqual(
        (await dp.get<ConfigMap>('v1', 'ConfigMap', ns, 'settings'))?.data,
        { a: '1' },
        'reverted',
      );
      assert.deepEqual(await eventsOf(name, 'DriftCorrected'), [
        `ConfigMap/${ns}/settings applied again: /data/a changed or removed by another field manager`,
      ]);
    });
    await dp.delete('v1', 'ConfigMap', ns, 'other');
    await eventually(async () => {
      assert.ok(await dp.get('v1', 'ConfigMap', ns, 'other'), 'created again');
      const notes = await eventsOf(name, 'DriftCorrected');
      assert.ok(
        notes.includes(
          `ConfigMap/${ns}/other created again: it was deleted (or stripped of our labels) by someone else`,
        ),
        notes.join(' | '),
      );
    });
    assert.equal(await metric('release_controller_drift_corrections_total', labels), before + 2);
    await deleteRelease(cp, org.namespace, name);
  });

  test('Report: nothing is written, the drift is in status, Ready, an Event and the gauge; Correct then corrects', async () => {
    const { cp, dp, org } = suite;
    const ns = uniqueName('report');
    const name = uniqueName('rel');
    await cp.create(
      releaseObject(
        org,
        name,
        [configMap('settings', ns, 'settings', { a: '1' }), configMap('other', ns, 'other')],
        {
          ...FAST,
          annotations: { [Annotations.drift]: 'Report' },
        },
      ),
    );
    await waitReady(cp, org, name);
    // Releases other files left on the shared control plane may report drift of their own.
    const base = await metric('release_controller_drifted_resources');

    await editAs('kubectl-edit', ns, 'settings', { a: 'edited' });
    await dp.delete('v1', 'ConfigMap', ns, 'other');
    const drifted = await eventually(async () => {
      const r = await getRelease(cp, org.namespace, name);
      const [settings, other] = r?.status?.resources ?? [];
      assert.deepEqual(settings?.drift, { fields: [{ path: '/data/a', manager: 'kubectl-edit' }] });
      assert.deepEqual(other?.drift, { fields: [], deleted: true });
      return r!;
    });
    const ready = condition(drifted, 'Ready');
    assert.equal(ready?.status, 'False');
    assert.equal(ready?.reason, 'Drifted');
    assert.match(ready?.message ?? '', /2 of 2 resources drifted and not corrected/);
    assert.deepEqual(
      (await dp.get<ConfigMap>('v1', 'ConfigMap', ns, 'settings'))?.data,
      { a: 'edited' },
      'not written',
    );
    assert.equal(await dp.get('v1', 'ConfigMap', ns, 'other'), undefined, 'not created again');
    await eventually(async () => {
      const notes = await eventsOf(name, 'DriftDetected');
      assert.ok(
        notes.includes(
          `ConfigMap/${ns}/settings drifted: /data/a (now kubectl-edit's); not corrected (openchoreo.dev/drift: Report)`,
        ),
        notes.join(' | '),
      );
      assert.equal(await metric('release_controller_drifted_resources'), base + 2);
    });
    assert.deepEqual(await eventsOf(name, 'DriftCorrected'), [], 'nothing corrected');

    await cp.patch(API_VERSION, 'Release', org.namespace, name, {
      metadata: { annotations: { [Annotations.drift]: 'Correct' } },
    });
    await waitReady(cp, org, name);
    assert.deepEqual((await dp.get<ConfigMap>('v1', 'ConfigMap', ns, 'settings'))?.data, { a: '1' });
    assert.ok(await dp.get('v1', 'ConfigMap', ns, 'other'), 'created again');
    await eventually(async () => assert.equal(await metric('release_controller_drifted_resources'), base));
    await deleteRelease(cp, org.namespace, name);
  });

  test('fields named by ignore-fields belong to another manager and are never drift', async () => {
    const { cp, dp, org } = suite;
    const ns = uniqueName('ignored');
    const name = uniqueName('rel');
    const scaled: ReleaseResource = configMap('scaled', ns, 'scaled', { a: '1', replicas: '1' });
    (scaled.object as KubeObject).metadata.annotations = { [Annotations.ignoreFields]: '/data/replicas' };
    await cp.create(
      releaseObject(org, name, [scaled], { ...FAST, annotations: { [Annotations.drift]: 'Report' } }),
    );
    await waitReady(cp, org, name);

    await editAs('autoscaler', ns, 'scaled', { replicas: '5' });
    await editAs('kubectl-edit', ns, 'scaled', { a: 'edited' });
    // The drift reported after both edits names the field we own, never the ignored one.
    await eventually(async () => {
      const r = await getRelease(cp, org.namespace, name);
      assert.deepEqual(r?.status?.resources?.[0]?.drift, {
        fields: [{ path: '/data/a', manager: 'kubectl-edit' }],
      });
    });

    await cp.patch(API_VERSION, 'Release', org.namespace, name, {
      metadata: { annotations: { [Annotations.drift]: 'Correct' } },
    });
    await waitReady(cp, org, name);
    assert.deepEqual(
      (await dp.get<ConfigMap>('v1', 'ConfigMap', ns, 'scaled'))?.data,
      { a: '1', replicas: '5' },
      "our field corrected, the autoscaler's kept",
    );
    const notes = await eventsOf(name, 'DriftCorrected');
    assert.ok(notes.length > 0 && notes.every((n) => !n.includes('replicas')), notes.join(' | '));
    await deleteRelease(cp, org.namespace, name);
  });
});
