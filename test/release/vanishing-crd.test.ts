/**
 * A CRD that disappears while its kind is watched (found deploying Argo CD's and cert-manager's
 * manifests as Releases): the Release holding the CRD and custom resources of it is deleted while
 * another Release still lists custom resources of that kind. The watch of the kind then gets 404s;
 * it must end and the kind count as having no objects, so that the cleanup and pruning of every
 * other Release of the data plane go on, without a restart; and the kind is watched again once the
 * CRD is back.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../src/api/object.ts';
import type { ReleaseResource } from '../../src/api/v1alpha1/schema.ts';
import { API_VERSION } from '../../src/api/v1alpha1/constants.ts';
import { eventually } from '../support/eventually.ts';
import {
  condition,
  configMap,
  deleteRelease,
  getRelease,
  isGone,
  releaseObject,
  uniqueName,
  waitReady,
} from '../support/fixtures.ts';
import { integrationSuite } from '../support/suite.ts';

const FAST = { interval: '2s', progressingInterval: '1s' };
const CRD_API = 'apiextensions.k8s.io/v1';

describe('a CRD that disappears while its kind is watched', () => {
  const suite = integrationSuite();

  test('other Releases of the data plane are still deleted and pruned, and the kind is watched again when it returns', async () => {
    const { cp, dp, org, controller } = suite;
    const group = `${uniqueName('vanish')}.example.com`;
    const ns = uniqueName('vanish');
    const crd: KubeObject = {
      apiVersion: CRD_API,
      kind: 'CustomResourceDefinition',
      metadata: { name: `widgets.${group}` },
      spec: {
        group,
        scope: 'Namespaced',
        names: { plural: 'widgets', singular: 'widget', kind: 'Widget', listKind: 'WidgetList' },
        versions: [
          {
            name: 'v1',
            served: true,
            storage: true,
            schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
          },
        ],
      },
    };
    const widget = (id: string): ReleaseResource => ({
      id,
      object: {
        apiVersion: `${group}/v1`,
        kind: 'Widget',
        metadata: { name: id, namespace: ns },
        spec: { a: 1 },
      },
    });
    // The platform holds the CRD and a Widget; another Release lists a Widget of its own.
    const platform = uniqueName('platform');
    await cp.create(releaseObject(org, platform, [{ id: 'crd', object: crd }, widget('w-platform')], FAST));
    await waitReady(cp, org, platform);
    const user = uniqueName('widget-user');
    await cp.create(releaseObject(org, user, [widget('w-user')], FAST));
    await waitReady(cp, org, user);
    const unrelated = uniqueName('unrelated');
    await cp.create(releaseObject(org, unrelated, [configMap('u', ns, 'unrelated')], FAST));
    const pruned = uniqueName('pruned');
    await cp.create(
      releaseObject(org, pruned, [configMap('keep', ns, 'keep'), configMap('stale', ns, 'stale')], FAST),
    );
    await waitReady(cp, org, unrelated);
    await waitReady(cp, org, pruned);

    // The platform goes, with its CRD: every Widget goes with it, and the Widget watch gets 404s.
    await deleteRelease(cp, org.namespace, platform, 60_000);
    await eventually(
      async () =>
        assert.ok(
          isGone(await dp.get(CRD_API, 'CustomResourceDefinition', undefined, `widgets.${group}`)),
          'the CRD is gone',
        ),
      {
        timeoutMs: 60_000,
        description: 'the CRD to be deleted',
      },
    );
    // The API server ends the watches of a deleted CRD a moment later; from then on its list is a 404.
    await eventually(
      () =>
        assert.ok(
          controller
            .logTail(100_000)
            .split('\n')
            .some((l) => l.includes(`${group}/v1/widgets`) && /404/.test(l)),
          'the Widget watch got its 404',
        ),
      { timeoutMs: 60_000, description: 'the watch of Widget to meet the deleted CRD' },
    );
    await eventually(
      async () => {
        const r = await getRelease(cp, org.namespace, user);
        assert.match(
          r?.status?.resources?.find((e) => e.id === 'w-user')?.message ?? '',
          /does not serve Widget/,
        );
      },
      { timeoutMs: 60_000, description: 'the Widget user to report its kind not served' },
    );

    // An unrelated Release of the same data plane is deleted, and another one is pruned.
    await deleteRelease(cp, org.namespace, unrelated, 60_000);
    assert.ok(isGone(await dp.get('v1', 'ConfigMap', ns, 'unrelated')), 'the unrelated ConfigMap is deleted');
    await cp.patch(API_VERSION, 'Release', org.namespace, pruned, {
      spec: { resources: [configMap('keep', ns, 'keep')] },
    });
    await eventually(
      async () => assert.ok(isGone(await dp.get('v1', 'ConfigMap', ns, 'stale')), 'stale is pruned'),
      {
        timeoutMs: 60_000,
        description: 'the stale ConfigMap to be pruned',
      },
    );
    await waitReady(cp, org, pruned);

    // The CRD comes back: the Widget user's object is applied and watched again.
    await dp.apply(crd);
    await eventually(
      async () => {
        const r = await getRelease(cp, org.namespace, user);
        assert.equal(condition(r, 'Ready')?.status, 'True', JSON.stringify(r?.status?.conditions));
        assert.ok(await dp.get(`${group}/v1`, 'Widget', ns, 'w-user'), 'the Widget is applied again');
      },
      { timeoutMs: 60_000, description: 'the Widget user to be Ready again' },
    );
    await dp.delete(`${group}/v1`, 'Widget', ns, 'w-user');
    await eventually(
      async () => assert.ok(await dp.get(`${group}/v1`, 'Widget', ns, 'w-user'), 'recreated'),
      {
        timeoutMs: 60_000,
        description: 'the watch of Widget to see the deletion and the Release to apply it again',
      },
    );
    assert.ok(controller.running, 'all of it without a restart');
    await deleteRelease(cp, org.namespace, user, 60_000);
    await deleteRelease(cp, org.namespace, pruned, 60_000);
    await dp.delete(CRD_API, 'CustomResourceDefinition', undefined, `widgets.${group}`);
  });
});
