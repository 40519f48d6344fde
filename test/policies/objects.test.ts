/**
 * Per-object policies on real clusters: `openchoreo.dev/apply: CreateOnly` is created once and
 * never updated; `Observe` is never written nor deleted, only observed (a missing one is reported
 * and noticed when it appears); fields named by `openchoreo.dev/ignore-fields` are not applied, so
 * another field manager owns them and keeps its values; `openchoreo.dev/prune: Disabled` keeps
 * the object (given back) when it leaves the spec and when the Release is deleted.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { API_VERSION, Annotations, Labels } from '../../src/api/v1alpha1/constants.ts';
import type { KubeObject } from '../../src/api/object.ts';
import type { Release, ReleaseResource } from '../../src/api/v1alpha1/schema.ts';
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
import type { TestKube } from '../support/kube.ts';
import type { Org } from '../support/fixtures.ts';

const FAST = { interval: '1s', progressingInterval: '1s' };
type ConfigMap = KubeObject & { data?: Record<string, string> };
type Event = KubeObject & { reason?: string; note?: string; regarding?: { name?: string } };

/** annotated is a ConfigMap resource whose object carries policy annotations. */
function annotated(
  id: string,
  namespace: string,
  name: string,
  annotations: Record<string, string>,
  data: Record<string, string> = { key: 'value' },
): ReleaseResource {
  const resource = configMap(id, namespace, name, data);
  (resource.object as KubeObject).metadata.annotations = annotations;
  return resource;
}

/** respec replaces a Release's resources and waits until the controller has acted on that generation. */
async function respec(cp: TestKube, org: Org, name: string, resources: ReleaseResource[]): Promise<Release> {
  const patched = await cp.patch<Release>(API_VERSION, 'Release', org.namespace, name, {
    spec: { resources },
  });
  return eventually(
    async () => {
      const r = await getRelease(cp, org.namespace, name);
      assert.equal(
        r?.status?.observedGeneration,
        patched.metadata.generation,
        'the new generation is reconciled',
      );
      return r!;
    },
    { description: `Release ${name} generation ${patched.metadata.generation} to be reconciled` },
  );
}

function managersOf(obj: KubeObject | undefined): string[] {
  return (obj?.metadata.managedFields ?? []).map((m) => `${m.manager}/${m.operation}`);
}

describe('per-object policies', () => {
  const suite = integrationSuite();
  const eventsOf = async (name: string) =>
    (await suite.cp.list<Event>('events.k8s.io/v1', 'Event', suite.org.namespace)).filter(
      (e) => e.regarding?.name === name,
    );

  test('CreateOnly is created once, not updated after a spec change, and created again when deleted', async () => {
    const { cp, dp, org } = suite;
    const ns = uniqueName('create-only');
    const name = uniqueName('rel');
    const seed = (v: string) => annotated('seed', ns, 'seed', { [Annotations.apply]: 'CreateOnly' }, { v });
    await cp.create(releaseObject(org, name, [seed('1')], FAST));
    await waitReady(cp, org, name);
    const created = await dp.get<ConfigMap>('v1', 'ConfigMap', ns, 'seed');
    assert.deepEqual(created?.data, { v: '1' });
    assert.equal(
      created?.metadata.annotations?.[Annotations.apply],
      undefined,
      'the policy annotation is not sent',
    );

    const release = await respec(cp, org, name, [seed('2')]);
    assert.equal(condition(release, 'Ready')?.status, 'True');
    const after = await dp.get<ConfigMap>('v1', 'ConfigMap', ns, 'seed');
    assert.deepEqual(after?.data, { v: '1' }, 'not updated');
    assert.equal(after?.metadata.resourceVersion, created?.metadata.resourceVersion, 'not written at all');

    await dp.delete('v1', 'ConfigMap', ns, 'seed');
    await eventually(async () => {
      const again = await dp.get<ConfigMap>('v1', 'ConfigMap', ns, 'seed');
      assert.deepEqual(again?.data, { v: '2' }, 'created again from the current spec');
    });
    await deleteRelease(cp, org.namespace, name);
  });

  test('Observe is never written nor deleted; a missing object is reported, then seen when it appears', async () => {
    const { cp, dp, org } = suite;
    const ns = uniqueName('observe');
    await dp.ensureNamespace(ns);
    await dp.apply(
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'shared', namespace: ns },
        data: { owner: 'platform' },
      },
      'platform',
    );
    const name = uniqueName('rel');
    const observe = { [Annotations.apply]: 'Observe' };
    await cp.create(
      releaseObject(
        org,
        name,
        [
          annotated('shared', ns, 'shared', observe, { owner: 'release' }),
          annotated('later', ns, 'later', observe),
        ],
        FAST,
      ),
    );
    const reported = await eventually(async () => {
      const r = await getRelease(cp, org.namespace, name);
      const later = r?.status?.resources?.find((e) => e.id === 'later');
      assert.equal(later?.healthStatus, 'Unknown');
      assert.equal(
        later?.message,
        `ConfigMap/${ns}/later does not exist; it is only observed (Observe), not created`,
      );
      assert.equal(r?.status?.resources?.find((e) => e.id === 'shared')?.healthStatus, 'Healthy');
      return r;
    });
    assert.deepEqual(reported.status?.resources?.[0]?.policy, { apply: 'Observe' });
    assert.equal(
      await dp.get('v1', 'ConfigMap', ns, 'later'),
      undefined,
      'a missing observed object is not created',
    );

    // It appears: its own watch wakes the Release.
    await dp.apply(
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'later', namespace: ns },
        data: { owner: 'platform' },
      },
      'platform',
    );
    await waitReady(cp, org, name);

    await deleteRelease(cp, org.namespace, name);
    for (const n of ['shared', 'later']) {
      const obj = await dp.get<ConfigMap>('v1', 'ConfigMap', ns, n);
      assert.ok(obj && !obj.metadata.deletionTimestamp, `${n} is not deleted`);
      assert.equal(obj.metadata.labels?.[Labels.managedBy], undefined, `${n} was never labelled`);
      assert.deepEqual(managersOf(obj), ['platform/Apply'], `${n} was never written by the controller`);
    }
    assert.deepEqual((await dp.get<ConfigMap>('v1', 'ConfigMap', ns, 'shared'))?.data, { owner: 'platform' });
  });

  test('ignored fields are not applied: another manager owns them and its values survive our applies', async () => {
    const { cp, dp, org } = suite;
    const ns = uniqueName('ignore');
    const name = uniqueName('rel');
    const scaled = (a: string) =>
      annotated(
        'scaled',
        ns,
        'scaled',
        { [Annotations.ignoreFields]: '/data/replicas' },
        { a, replicas: '1' },
      );
    await cp.create(releaseObject(org, name, [scaled('1')], FAST));
    await waitReady(cp, org, name);
    assert.deepEqual(
      (await dp.get<ConfigMap>('v1', 'ConfigMap', ns, 'scaled'))?.data,
      { a: '1' },
      'replicas not sent',
    );

    await dp.apply(
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'scaled', namespace: ns },
        data: { replicas: '5' },
      },
      'autoscaler',
    );
    await respec(cp, org, name, [scaled('2')]);
    const live = await dp.get<ConfigMap>('v1', 'ConfigMap', ns, 'scaled');
    assert.deepEqual(live?.data, { a: '2', replicas: '5' }, "the other manager's value survives our apply");
    const ours = live?.metadata.managedFields?.find((m) => m.manager === 'release-controller');
    assert.doesNotMatch(JSON.stringify(ours?.fieldsV1), /f:replicas/, 'we do not own the ignored field');
    await deleteRelease(cp, org.namespace, name);
  });

  test('prune: Disabled keeps the object when it leaves the spec and when the Release is deleted', async () => {
    const { cp, dp, org } = suite;
    const ns = uniqueName('retain');
    const name = uniqueName('rel');
    const disabled = { [Annotations.prune]: 'Disabled' };
    await cp.create(
      releaseObject(
        org,
        name,
        [annotated('kept', ns, 'kept', disabled), configMap('other', ns, 'other')],
        FAST,
      ),
    );
    await waitReady(cp, org, name);

    const released = await respec(cp, org, name, [
      configMap('other', ns, 'other'),
      annotated('kept-too', ns, 'kept-too', disabled),
    ]);
    const isGivenBack = async (n: string) => {
      const obj = await dp.get<ConfigMap>('v1', 'ConfigMap', ns, n);
      assert.ok(obj && !obj.metadata.deletionTimestamp, `${n} is kept`);
      assert.equal(obj.metadata.labels?.[Labels.managedBy], undefined, `${n}: our labels are removed`);
      assert.equal(obj.metadata.labels?.[Labels.releaseUid], undefined, `${n}: no Release uid`);
      assert.ok(
        !managersOf(obj).includes('release-controller/Apply'),
        `${n}: our field ownership is removed`,
      );
    };
    await isGivenBack('kept');
    assert.deepEqual(
      released.status?.retained?.map((r) => [r.id, r.kind, r.namespace, r.name, r.reason]),
      [['kept', 'ConfigMap', ns, 'kept', 'annotation openchoreo.dev/prune: Disabled']],
    );
    await eventually(async () => {
      const note = (await eventsOf(name)).find((e) => e.reason === 'Retained')?.note ?? '';
      assert.match(
        note,
        new RegExp(`kept ConfigMap/${ns}/kept \\(annotation openchoreo.dev/prune: Disabled`),
      );
    });

    await deleteRelease(cp, org.namespace, name);
    await isGivenBack('kept-too');
    assert.equal(await dp.get('v1', 'ConfigMap', ns, 'other'), undefined, 'a plain object is deleted');
    const notes = (await eventsOf(name)).filter((e) => e.reason === 'Retained').map((e) => e.note ?? '');
    assert.ok(
      notes.some((n) => n.startsWith(`kept ConfigMap/${ns}/kept-too`) && n.includes('of a deleted Release')),
      `a Retained Event at deletion: ${notes.join(' | ')}`,
    );
  });
});
