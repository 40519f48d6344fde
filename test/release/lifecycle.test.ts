/**
 * The Release lifecycle on a real control plane and data plane: apply, status, labels, namespaces,
 * edit, prune, kind/name changes, deletion with cleanup.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { API_VERSION, FINALIZER, Labels } from '../../src/api/v1alpha1/constants.ts';
import type { KubeObject } from '../../src/api/object.ts';
import { eventually } from '../support/eventually.ts';
import {
  condition,
  configMap,
  getRelease,
  releaseObject,
  sampleResources,
  uniqueName,
} from '../support/fixtures.ts';
import { integrationSuite } from '../support/suite.ts';

describe('Release lifecycle', () => {
  const suite = integrationSuite({ credentials: 'secret' });

  test('the sample Release is applied, labelled and reported in status', async () => {
    const { cp, dp, org } = suite;
    const target = uniqueName('prod-data-plane');
    const release = releaseObject(org, uniqueName('customer-service'), await sampleResources(target));
    const created = await cp.create(release);

    const status = await eventually(
      async () => {
        const r = await getRelease(cp, org.namespace, release.metadata.name);
        assert.equal(condition(r, 'ResourcesApplied')?.status, 'True', JSON.stringify(r?.status?.conditions));
        assert.equal(r?.status?.resources?.length, 2);
        return r.status;
      },
      { description: 'the Release status to list both resources' },
    );
    const [deployment, service] = status.resources!;
    assert.deepEqual(
      {
        id: deployment!.id,
        group: deployment!.group,
        version: deployment!.version,
        kind: deployment!.kind,
        name: deployment!.name,
        namespace: deployment!.namespace,
      },
      {
        id: 'deployment',
        group: 'apps',
        version: 'v1',
        kind: 'Deployment',
        name: 'customer-service',
        namespace: target,
      },
    );
    assert.deepEqual(
      {
        id: service!.id,
        group: service!.group,
        version: service!.version,
        kind: service!.kind,
        name: service!.name,
        namespace: service!.namespace,
      },
      {
        id: 'service',
        group: '',
        version: 'v1',
        kind: 'Service',
        name: 'customer-service',
        namespace: target,
      },
    );
    assert.equal(service!.healthStatus, 'Healthy');
    assert.ok(
      ['Progressing', 'Healthy', 'Degraded'].includes(deployment!.healthStatus),
      'expected ["Progressing", "Healthy", "Degraded"].includes(deployment!.healthStatus)',
    );
    assert.ok(deployment!.lastObservedTime, 'expected deployment!.lastObservedTime');
    assert.ok(service!.status !== undefined, 'the live status of the Service is copied');

    const live = await dp.get('apps/v1', 'Deployment', target, 'customer-service');
    assert.deepEqual(
      Object.fromEntries(
        Object.entries(live!.metadata.labels ?? {}).filter(([k]) => k.startsWith('openchoreo.dev/')),
      ),
      {
        [Labels.managedBy]: 'release-controller',
        [Labels.resourceId]: 'deployment',
        [Labels.releaseUid]: created.metadata.uid,
        [Labels.releaseName]: release.metadata.name,
        [Labels.releaseNamespace]: org.namespace,
      },
    );
    const fresh = await getRelease(cp, org.namespace, release.metadata.name);
    assert.ok(
      fresh?.metadata.finalizers?.includes(FINALIZER),
      'expected fresh?.metadata.finalizers?.includes(FINALIZER)',
    );

    const ns = await dp.get('v1', 'Namespace', undefined, target);
    assert.equal(ns?.metadata.labels?.[Labels.createdBy], 'release-controller');
    assert.equal(ns?.metadata.labels?.[Labels.environment], org.environment);
    assert.equal(ns?.metadata.labels?.[Labels.project], 'my-project');

    // Deleting the Release removes its objects, then the finalizer; the namespace stays.
    await cp.delete(API_VERSION, 'Release', org.namespace, release.metadata.name);
    await eventually(async () => (await getRelease(cp, org.namespace, release.metadata.name)) === undefined, {
      description: 'the Release to be gone',
    });
    const left = await dp.list('apps/v1', 'Deployment', target);
    assert.ok(
      left.every((d) => d.metadata.deletionTimestamp),
      'every Deployment is gone or terminating',
    );
    assert.equal((await dp.list('v1', 'Service', target)).length, 0);
    assert.ok(await dp.get('v1', 'Namespace', undefined, target), 'the namespace survives the Release');
  });

  test('edits reach the data plane; removed ids and changed kinds or names are pruned', async () => {
    const { cp, dp, org } = suite;
    const target = uniqueName('edit');
    const name = uniqueName('rel');
    await cp.create(
      releaseObject(org, name, [
        configMap('a', target, 'cm-a'),
        configMap('b', target, 'cm-b'),
        configMap('c', target, 'cm-c'),
      ]),
    );
    await eventually(
      async () =>
        (await dp.list('v1', 'ConfigMap', target, `${Labels.managedBy}=release-controller`)).length === 3,
      {
        description: 'three ConfigMaps applied',
      },
    );

    // Edit a, drop b, rename c, and turn c into a Secret under id d.
    await cp.patch(API_VERSION, 'Release', org.namespace, name, {
      spec: {
        resources: [
          configMap('a', target, 'cm-a', { key: 'changed' }),
          configMap('c', target, 'cm-c-renamed'),
          {
            id: 'd',
            object: {
              apiVersion: 'v1',
              kind: 'Secret',
              metadata: { name: 'cm-a', namespace: target },
              stringData: { s: 'x' },
            },
          },
        ],
      },
    });
    await eventually(
      async () => {
        const cms = await dp.list('v1', 'ConfigMap', target, `${Labels.managedBy}=release-controller`);
        assert.deepEqual(cms.map((c) => c.metadata.name).sort(), ['cm-a', 'cm-c-renamed']);
        assert.equal(
          cms.find((c) => c.metadata.name === 'cm-a')?.['data'] &&
            (cms.find((c) => c.metadata.name === 'cm-a') as KubeObject & { data: Record<string, string> })
              .data['key'],
          'changed',
        );
        assert.ok(
          await dp.get('v1', 'Secret', target, 'cm-a'),
          'expected await dp.get("v1", "Secret", target, "cm-a")',
        );
      },
      { description: 'the edit, the prune and the rename on the data plane' },
    );
    const r = await eventually(async () => {
      const rel = await getRelease(cp, org.namespace, name);
      assert.deepEqual(
        rel?.status?.resources?.map((x) => `${x.id}:${x.kind}/${x.name}`),
        ['a:ConfigMap/cm-a', 'c:ConfigMap/cm-c-renamed', 'd:Secret/cm-a'],
      );
      return rel;
    });
    assert.equal(condition(r, 'Ready')?.status, 'True');
  });
});
