/**
 * RenderedRelease, OpenChoreo's name for a Release today, served by the same engine: through a
 * ClusterDataPlane and through the `default` fallback, with upstream's labels and field manager on
 * every object, namespaces only from the set (upstream creates none on a data plane), the owner's
 * validation, and a Release of the same name beside it.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { API_VERSION, Labels } from '../../src/api/v1alpha1/constants.ts';
import { RENDERED_RELEASE_PROFILE } from '../../src/api/v1alpha1/profile.ts';
import type { KubeObject } from '../../src/api/object.ts';
import type { Release, ReleaseResource } from '../../src/api/v1alpha1/schema.ts';
import { isKubeApiError } from '../../src/kube/client.ts';
import type { TestKube } from '../support/kube.ts';
import { eventually } from '../support/eventually.ts';
import {
  condition,
  configMap,
  dataPlaneObject,
  deleteRelease,
  isGone,
  releaseObject,
  sampleResources,
  uniqueName,
  waitReady,
} from '../support/fixtures.ts';
import { integrationSuite } from '../support/suite.ts';

const KIND = RENDERED_RELEASE_PROFILE.kind;
const LABELS = RENDERED_RELEASE_PROFILE.labels;

/** renderedRelease is a RenderedRelease as OpenChoreo's ReleaseBinding controller writes one. */
function renderedRelease(
  namespace: string,
  name: string,
  resources: ReleaseResource[],
  owner: Record<string, string> = { projectName: 'shop', componentName: 'checkout' },
): KubeObject {
  return {
    apiVersion: API_VERSION,
    kind: KIND,
    metadata: {
      name,
      namespace,
      labels: { 'openchoreo.dev/project': 'shop', 'openchoreo.dev/environment': 'production' },
    },
    spec: { owner, environmentName: 'production', targetPlane: 'dataplane', resources },
  };
}

function namespaceObject(name: string): ReleaseResource {
  return { id: 'namespace', object: { apiVersion: 'v1', kind: 'Namespace', metadata: { name } } };
}

function environment(namespace: string, dataPlaneRef?: unknown): KubeObject {
  return {
    apiVersion: API_VERSION,
    kind: 'Environment',
    metadata: { name: 'production', namespace },
    spec: { ...(dataPlaneRef === undefined ? {} : { dataPlaneRef }), isProduction: true },
  };
}

async function getRendered(cp: TestKube, namespace: string, name: string): Promise<Release | undefined> {
  return cp.get<Release>(API_VERSION, KIND, namespace, name);
}

async function waitRenderedReady(cp: TestKube, namespace: string, name: string): Promise<Release> {
  return eventually(
    async () => {
      const r = await getRendered(cp, namespace, name);
      assert.equal(condition(r, 'Ready')?.status, 'True', JSON.stringify(r?.status?.conditions));
      return r!;
    },
    { description: `RenderedRelease ${namespace}/${name} to be Ready` },
  );
}

async function deleteRendered(cp: TestKube, namespace: string, name: string): Promise<void> {
  await cp.delete(API_VERSION, KIND, namespace, name);
  await eventually(async () => assert.ok((await getRendered(cp, namespace, name)) === undefined, 'gone'), {
    description: `RenderedRelease ${namespace}/${name} to be deleted`,
  });
}

describe('RenderedRelease', () => {
  const suite = integrationSuite({ org: false });

  test("through a ClusterDataPlane: upstream's labels and field manager, no namespace created, cleanup on delete", async () => {
    const { cp, dp } = suite;
    const plane = uniqueName('shared');
    const namespaced = dataPlaneObject('unused', plane, suite.dataPlane, 'inline') as KubeObject & {
      spec: unknown;
    };
    await cp.create({
      apiVersion: API_VERSION,
      kind: 'ClusterDataPlane',
      metadata: { name: plane },
      spec: namespaced.spec,
    });
    try {
      const namespace = uniqueName('org');
      await cp.ensureNamespace(namespace);
      await cp.create(environment(namespace, { kind: 'ClusterDataPlane', name: plane }));
      const target = uniqueName('rr');
      const name = uniqueName('rel');
      // Without the Namespace in the set: upstream creates no namespace on a data plane, so the
      // object cannot be applied, and the condition says so.
      await cp.create(renderedRelease(namespace, name, [configMap('cm', target, 'settings')]));
      await eventually(async () => {
        const applied = condition(await getRendered(cp, namespace, name), 'ResourcesApplied');
        assert.equal(applied?.status, 'False', JSON.stringify(applied));
        assert.match(applied?.message ?? '', new RegExp(target));
      });
      assert.equal(await dp.get('v1', 'Namespace', undefined, target), undefined, 'no namespace created');

      // The Namespace as a resource of the set, as OpenChoreo renders it.
      await cp.patch(API_VERSION, KIND, namespace, name, {
        spec: { resources: [namespaceObject(target), configMap('cm', target, 'settings')] },
      });
      const ready = await waitRenderedReady(cp, namespace, name);
      assert.deepEqual(
        ready.status?.appliedTo?.map((p) => p.dataPlane),
        [`ClusterDataPlane/${plane}`],
      );
      assert.deepEqual(ready.status?.resources?.map((r) => r.id).sort(), ['cm', 'namespace']);
      const cm = await dp.get('v1', 'ConfigMap', target, 'settings');
      assert.ok(cm, 'applied through the ClusterDataPlane');
      assert.deepEqual(
        {
          managedBy: cm.metadata.labels?.[Labels.managedBy],
          id: cm.metadata.labels?.[LABELS.resourceId],
          uid: cm.metadata.labels?.[LABELS.uid],
          name: cm.metadata.labels?.[LABELS.name],
          namespace: cm.metadata.labels?.[LABELS.namespace],
          releaseLabel: cm.metadata.labels?.[Labels.releaseUid],
        },
        {
          managedBy: 'renderedrelease-controller',
          id: 'cm',
          uid: ready.metadata.uid,
          name,
          namespace,
          releaseLabel: undefined,
        },
      );
      assert.deepEqual(
        cm.metadata.managedFields?.filter((m) => m.operation === 'Apply').map((m) => m.manager),
        ['renderedrelease-controller'],
      );

      await deleteRendered(cp, namespace, name);
      assert.ok(isGone(await dp.get('v1', 'ConfigMap', target, 'settings')), 'deleted at cleanup');
    } finally {
      await cp.delete(API_VERSION, 'ClusterDataPlane', undefined, plane);
    }
  });

  test('through the default fallback, beside a Release of the same name', async () => {
    const { cp, dp } = suite;
    const namespace = uniqueName('org');
    await cp.ensureNamespace(namespace);
    await cp.create(environment(namespace));
    await cp.create(dataPlaneObject(namespace, 'default', suite.dataPlane, 'inline'));
    const target = uniqueName('dflt');
    const name = uniqueName('rel');
    // The namespace is the Release's: deleting the RenderedRelease must not take it, nor the
    // Release's object in it (a RenderedRelease's namespaces on a data plane come from its set).
    await cp.create(
      renderedRelease(
        namespace,
        name,
        [configMap('cm', target, 'rendered'), ...(await sampleResources(target))],
        { projectName: 'shop', resourceName: 'orders-db' },
      ),
    );
    await cp.create(
      releaseObject({ namespace, environment: 'production' }, name, [
        namespaceObject(target),
        configMap('cm', target, 'plain'),
      ]),
    );
    const rendered = await waitRenderedReady(cp, namespace, name);
    const plain = await waitReady(cp, { namespace }, name);
    assert.deepEqual(
      rendered.status?.appliedTo?.map((p) => p.dataPlane),
      ['default'],
    );
    const renderedCm = await dp.get('v1', 'ConfigMap', target, 'rendered');
    const plainCm = await dp.get('v1', 'ConfigMap', target, 'plain');
    assert.equal(renderedCm?.metadata.labels?.[LABELS.uid], rendered.metadata.uid);
    assert.equal(plainCm?.metadata.labels?.[Labels.releaseUid], plain.metadata.uid);
    assert.equal(plainCm?.metadata.labels?.[Labels.managedBy], 'release-controller');
    // OpenChoreo's ReleaseBinding reads status.resources[].status through CEL: a faithful copy of
    // each live object's status (nothing here comes near the size budget).
    await eventually(async () => {
      const r = await getRendered(cp, namespace, name);
      const copied =
        r?.status?.resources?.filter((e) => e.kind === 'Deployment' || e.kind === 'Service') ?? [];
      assert.equal(copied.length, 2, JSON.stringify(r?.status?.resources));
      for (const entry of copied) {
        const live = await dp.get<KubeObject & { status?: unknown }>(
          entry.group ? `${entry.group}/${entry.version}` : entry.version,
          entry.kind,
          entry.namespace,
          entry.name,
        );
        assert.ok(live?.status, `${entry.kind} has a status`);
        assert.deepEqual(entry.status, live.status, `${entry.kind} status copied as it is`);
      }
    });

    // Each kind cleans up its own objects only.
    await deleteRendered(cp, namespace, name);
    assert.ok(
      isGone(await dp.get('v1', 'ConfigMap', target, 'rendered')),
      'the RenderedRelease object is deleted',
    );
    assert.ok(!isGone(await dp.get('v1', 'ConfigMap', target, 'plain')), "the Release's object stays");
    assert.equal(
      condition(await cp.get<Release>(API_VERSION, 'Release', namespace, name), 'Ready')?.status,
      'True',
    );
    await deleteRelease(cp, namespace, name);
    assert.ok(isGone(await dp.get('v1', 'ConfigMap', target, 'plain')), "the Release's object is deleted");
  });

  test('to the observability plane: resolved through the data plane, its own finalizer, namespaces created there, cleanup on delete', async () => {
    const { cp, dp } = suite;
    const namespace = uniqueName('org');
    await cp.ensureNamespace(namespace);
    const obs = uniqueName('obs');
    // The DataPlane names a ClusterObservabilityPlane; both reach test clusters (the data plane's
    // own credentials point at the control plane, so an object applied to the wrong plane shows).
    const reach = (
      dataPlaneObject('unused', obs, suite.dataPlane, 'inline') as KubeObject & { spec: unknown }
    ).spec;
    await cp.create({
      apiVersion: API_VERSION,
      kind: 'ClusterObservabilityPlane',
      metadata: { name: obs },
      spec: reach,
    });
    try {
      const dataPlane = dataPlaneObject(namespace, 'default', suite.clusters.cp, 'inline') as KubeObject & {
        spec: Record<string, unknown>;
      };
      dataPlane.spec['observabilityPlaneRef'] = { kind: 'ClusterObservabilityPlane', name: obs };
      await cp.create(dataPlane);
      await cp.create(environment(namespace));
      const target = uniqueName('obsns');
      const name = uniqueName('rel');
      await cp.create({
        ...renderedRelease(namespace, name, [configMap('rule', target, 'alert-rule')]),
        spec: {
          owner: { projectName: 'shop', componentName: 'checkout' },
          environmentName: 'production',
          targetPlane: 'observabilityplane',
          resources: [configMap('rule', target, 'alert-rule')],
        },
      });
      const ready = await waitRenderedReady(cp, namespace, name);
      assert.deepEqual(ready.metadata.finalizers, ['openchoreo.dev/obsplane-cleanup']);
      assert.deepEqual(
        ready.status?.appliedTo?.map((p) => p.dataPlane),
        [`ClusterObservabilityPlane/${obs}`],
      );
      // The namespace was created on the observability plane (upstream does so only there).
      const ns = await dp.get('v1', 'Namespace', undefined, target);
      assert.equal(ns?.metadata.labels?.[Labels.createdBy], 'renderedrelease-controller');
      assert.equal(ns?.metadata.labels?.[LABELS.uid], ready.metadata.uid);
      const rule = await dp.get('v1', 'ConfigMap', target, 'alert-rule');
      assert.equal(rule?.metadata.labels?.[LABELS.resourceId], 'rule');
      assert.equal(
        await suite.cp.get('v1', 'ConfigMap', target, 'alert-rule'),
        undefined,
        'nothing on the data plane itself',
      );

      await deleteRendered(cp, namespace, name);
      assert.ok(isGone(await dp.get('v1', 'ConfigMap', target, 'alert-rule')), 'deleted at cleanup');
      assert.ok(await dp.get('v1', 'Namespace', undefined, target), 'a created namespace is never deleted');
    } finally {
      await cp.delete(API_VERSION, 'ClusterObservabilityPlane', undefined, obs);
    }
  });

  test("an upstream-shaped RenderedRelease applies unchanged; the owner's rules hold", async () => {
    const { cp } = suite;
    const namespace = uniqueName('org');
    await cp.ensureNamespace(namespace);
    const name = uniqueName('rel');
    const upstream: KubeObject = {
      ...renderedRelease(namespace, name, [
        {
          id: 'deployment-checkout',
          object: {
            apiVersion: 'apps/v1',
            kind: 'Deployment',
            metadata: { name: 'checkout', namespace: 'dp-shop-production' },
            spec: {
              selector: { matchLabels: { app: 'checkout' } },
              template: {
                metadata: { labels: { app: 'checkout' } },
                spec: { containers: [{ name: 'main', image: 'registry.local/checkout:1.0' }] },
              },
            },
          },
        },
      ]),
    };
    (upstream['spec'] as Record<string, unknown>)['interval'] = '5m';
    (upstream['spec'] as Record<string, unknown>)['progressingInterval'] = '10s';
    const created = await cp.create(upstream);
    assert.deepEqual((created as KubeObject & { spec?: unknown }).spec, upstream['spec'], 'every field kept');
    // targetPlane defaults to dataplane when absent.
    const defaulted = await cp.create({
      ...renderedRelease(namespace, `${name}-d`, []),
      spec: { owner: { projectName: 'shop' }, environmentName: 'production' },
    });
    assert.equal(
      (defaulted as KubeObject & { spec: { targetPlane?: string } }).spec.targetPlane,
      'dataplane',
    );

    const rejected = async (obj: KubeObject | (() => Promise<unknown>), pattern: RegExp) => {
      try {
        await (typeof obj === 'function' ? obj() : cp.create(obj));
      } catch (err) {
        assert.ok(isKubeApiError(err), String(err));
        assert.match(err.message, pattern);
        return;
      }
      assert.fail('the API server accepted it');
    };
    await rejected(
      renderedRelease(namespace, `${name}-both`, [], {
        projectName: 'shop',
        componentName: 'a',
        resourceName: 'b',
      }),
      /at most one of spec.owner.componentName and spec.owner.resourceName/,
    );
    await rejected(
      {
        ...renderedRelease(namespace, `${name}-plane`, []),
        spec: { owner: { projectName: 'shop' }, environmentName: 'production', targetPlane: 'controlplane' },
      },
      /targetPlane/,
    );
    await rejected(
      () =>
        cp.patch(API_VERSION, KIND, namespace, name, {
          spec: { owner: { projectName: 'other', componentName: 'checkout' } },
        }),
      /spec.owner is immutable/,
    );
    // No Environment here: the controller says so, and deleting it is not held by a finalizer
    // that has nothing to clean up.
    await eventually(async () =>
      assert.equal(
        condition(await getRendered(cp, namespace, name), 'ResourcesApplied')?.reason,
        'EnvironmentNotFound',
      ),
    );
    await deleteRendered(cp, namespace, name);
    await deleteRendered(cp, namespace, `${name}-d`);
  });
});
