/**
 * A controller restart on real clusters: the new process recognises the objects the data plane
 * still holds as it applied them (status.resources[].applied, checked against each live object's
 * uid and our field set) and sends no apply for them; an object someone changed while no
 * controller ran is applied again, and only that one.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../src/api/object.ts';
import type { ReleaseResource } from '../../src/api/v1alpha1/schema.ts';
import { metricValue } from '../support/controller.ts';
import { eventually } from '../support/eventually.ts';
import {
  configMap,
  deleteRelease,
  getRelease,
  releaseObject,
  uniqueName,
  waitReady,
} from '../support/fixtures.ts';
import { integrationSuite } from '../support/suite.ts';

type ConfigMap = KubeObject & { data?: Record<string, string> };

/** resources are four objects of different kinds, two with fields the API server defaults. */
function resources(ns: string, name: string): ReleaseResource[] {
  return [
    configMap('config', ns, `${name}-config`, { key: name }),
    {
      id: 'service-account',
      object: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace: ns } },
    },
    {
      id: 'service',
      object: {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name, namespace: ns },
        spec: { clusterIP: 'None', selector: { app: name }, ports: [{ port: 80, targetPort: 8080 }] },
      },
    },
    {
      id: 'role',
      object: {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'Role',
        metadata: { name, namespace: ns },
        rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get'] }],
      },
    },
  ];
}

describe('restart', () => {
  const suite = integrationSuite();

  test('a new process applies only what changed while no controller ran', async () => {
    const { cp, dp, org } = suite;
    const ns = uniqueName('restart');
    const names = [uniqueName('rel'), uniqueName('rel'), uniqueName('rel')];
    for (const name of names) await cp.create(releaseObject(org, name, resources(ns, name)));
    for (const name of names) await waitReady(cp, org, name);
    for (const name of names) {
      const tokens = (await getRelease(cp, org.namespace, name))?.status?.resources?.map((r) => r.applied);
      assert.equal(tokens?.filter((t) => t !== undefined).length, 4, `${name}: every object has its token`);
    }

    await suite.controller.kill();
    const edited = `${names[0]}-config`;
    await dp.apply(
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: edited, namespace: ns },
        data: { key: 'edited' },
      },
      'kubectl-edit',
    );
    const namespacePosts = async () =>
      metricValue(await dp.metrics(), 'apiserver_request_total', { verb: 'POST', resource: 'namespaces' });
    const postsBefore = await namespacePosts();
    const controller = await suite.restartController();

    const dataPlane = `${org.namespace}/${org.dataPlane}`;
    const count = async (result: string) =>
      metricValue(await controller.metrics(), 'release_controller_applies_total', {
        data_plane: dataPlane,
        result,
      });
    await eventually(async () => {
      const cm = await dp.get<ConfigMap>('v1', 'ConfigMap', ns, edited);
      assert.equal(cm?.data?.['key'], names[0], 'the edit made while no controller ran is corrected');
      assert.ok((await count('unchanged')) >= 11, 'the other eleven objects were verified');
    });
    // Every object was verified at least once (a Release may be reconciled twice as its caches fill).
    assert.equal(await count('applied'), 1, 'one apply: the edited ConfigMap');
    assert.equal(
      await namespacePosts(),
      postsBefore,
      'no namespace created again: the objects cached in it prove it exists',
    );

    for (const name of names) await deleteRelease(cp, org.namespace, name);
  });
});
