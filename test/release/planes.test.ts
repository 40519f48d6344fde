/**
 * Planes as OpenChoreo has them now: an Environment naming a ClusterDataPlane ({kind, name}), the
 * `default` fallback (the namespace's DataPlane first, then the ClusterDataPlane), and upstream's
 * plane objects, which apply unchanged.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { API_VERSION } from '../../src/api/v1alpha1/constants.ts';
import type { DataPlane, Environment } from '../../src/api/v1alpha1/schema.ts';
import type { KubeObject } from '../../src/api/object.ts';
import type { Cluster } from '../../testbed/cluster.ts';
import { eventually } from '../support/eventually.ts';
import {
  condition,
  configMap,
  dataPlaneObject,
  deleteRelease,
  getRelease,
  isGone,
  releaseObject,
  uniqueName,
  waitReady,
} from '../support/fixtures.ts';
import { integrationSuite } from '../support/suite.ts';

/** clusterDataPlane is a ClusterDataPlane reaching a test cluster with inline credentials. */
function clusterDataPlane(name: string, dp: Cluster): KubeObject {
  const namespaced = dataPlaneObject('unused', name, dp, 'inline') as KubeObject & { spec: unknown };
  return {
    apiVersion: API_VERSION,
    kind: 'ClusterDataPlane',
    metadata: { name },
    spec: namespaced.spec,
  };
}

function environment(namespace: string, dataPlaneRef?: unknown): KubeObject {
  return {
    apiVersion: API_VERSION,
    kind: 'Environment',
    metadata: { name: 'production', namespace },
    spec: { ...(dataPlaneRef === undefined ? {} : { dataPlaneRef }), isProduction: true },
  };
}

describe('planes', () => {
  const suite = integrationSuite({ org: false });

  test('a Release reaches a ClusterDataPlane named by its Environment, records it, and cleans up there', async () => {
    const { cp, dp } = suite;
    const plane = uniqueName('shared');
    await cp.create(clusterDataPlane(plane, suite.dataPlane));
    try {
      const namespace = uniqueName('org');
      await cp.ensureNamespace(namespace);
      await cp.create(environment(namespace, { kind: 'ClusterDataPlane', name: plane }));
      const target = uniqueName('cdp');
      const name = uniqueName('rel');
      await cp.create(
        releaseObject({ namespace, environment: 'production' }, name, [configMap('cm', target, 'settings')]),
      );
      const ready = await waitReady(cp, { namespace }, name);
      assert.deepEqual(
        ready.status?.appliedTo?.map((p) => p.dataPlane),
        [`ClusterDataPlane/${plane}`],
      );
      assert.ok(await dp.get('v1', 'ConfigMap', target, 'settings'), 'applied through the ClusterDataPlane');
      await eventually(async () => {
        const shared = await cp.get<DataPlane>(API_VERSION, 'ClusterDataPlane', undefined, plane);
        assert.equal(shared?.status?.releases, 1, 'the ClusterDataPlane counts the Release');
        const env = await cp.get<Environment>(API_VERSION, 'Environment', namespace, 'production');
        assert.equal(env?.status?.releases, 1, 'so does its Environment');
      });
      await deleteRelease(cp, namespace, name);
      await eventually(async () => {
        const shared = await cp.get<DataPlane>(API_VERSION, 'ClusterDataPlane', undefined, plane);
        assert.equal(shared?.status?.releases, 0, 'and stops counting it once it is gone');
      });
      assert.ok(isGone(await dp.get('v1', 'ConfigMap', target, 'settings')), 'deleted at cleanup');
    } finally {
      await cp.delete(API_VERSION, 'ClusterDataPlane', undefined, plane);
    }
  });

  test('an Environment without dataPlaneRef uses the DataPlane default of its namespace, then the ClusterDataPlane default', async () => {
    const { cp, dp } = suite;
    const namespace = uniqueName('org');
    await cp.ensureNamespace(namespace);
    await cp.create(environment(namespace));
    const target = uniqueName('dflt');
    const name = uniqueName('rel');
    await cp.create(
      releaseObject({ namespace, environment: 'production' }, name, [configMap('cm', target, 'one')]),
    );
    await eventually(async () => {
      const applied = condition(await getRelease(cp, namespace, name), 'ResourcesApplied');
      assert.equal(applied?.reason, 'DataPlaneNotFound');
      assert.match(
        applied?.message ?? '',
        /names no data plane .* DataPlane .*\/default nor a ClusterDataPlane default/,
      );
    });

    // The cluster-wide default, then the namespace's own, which wins.
    await cp.create(clusterDataPlane('default', suite.dataPlane));
    try {
      const first = await waitReady(cp, { namespace }, name);
      assert.deepEqual(
        first.status?.appliedTo?.map((p) => p.dataPlane),
        ['ClusterDataPlane/default'],
      );
      await eventually(async () => {
        const fallback = await cp.get<DataPlane>(API_VERSION, 'ClusterDataPlane', undefined, 'default');
        assert.equal(fallback?.status?.releases, 1, 'the fallback ClusterDataPlane counts the Release');
      });
      await cp.create(dataPlaneObject(namespace, 'default', suite.dataPlane, 'inline'));
      await eventually(async () => {
        const r = await getRelease(cp, namespace, name);
        assert.equal(condition(r, 'Ready')?.status, 'True');
        // The same cluster through another plane object: recorded under the namespace's DataPlane.
        assert.ok(
          r?.status?.appliedTo?.some((p) => p.dataPlane === 'default'),
          JSON.stringify(r?.status?.appliedTo),
        );
      });
      assert.ok(await dp.get('v1', 'ConfigMap', target, 'one'), 'applied');
      await eventually(async () => {
        const own = await cp.get<DataPlane>(API_VERSION, 'DataPlane', namespace, 'default');
        assert.equal(own?.status?.releases, 1, "the namespace's default DataPlane counts the Release");
      });
      await deleteRelease(cp, namespace, name);
    } finally {
      await cp.delete(API_VERSION, 'ClusterDataPlane', undefined, 'default');
    }
  });

  test("upstream's plane and Environment objects apply unchanged", async () => {
    const { cp } = suite;
    const namespace = uniqueName('org');
    await cp.ensureNamespace(namespace);
    const agent = { clientCA: { secretRef: { name: 'agent-ca', key: 'ca.crt' } } };
    const cop = uniqueName('obs');
    const cdp = uniqueName('cdp');
    const objects: KubeObject[] = [
      {
        apiVersion: API_VERSION,
        kind: 'ClusterObservabilityPlane',
        metadata: { name: cop },
        spec: {
          planeID: 'obs-1',
          clusterAgent: agent,
          observerURL: 'http://observer.openchoreo-observability-plane:8080',
        },
      },
      {
        apiVersion: API_VERSION,
        kind: 'ObservabilityPlane',
        metadata: { name: 'default', namespace },
        spec: { clusterAgent: agent, observerURL: 'http://observer:8080' },
      },
      {
        apiVersion: API_VERSION,
        kind: 'ClusterDataPlane',
        metadata: { name: cdp },
        spec: {
          planeID: 'shared-dp',
          clusterAgent: { clientCA: { value: '-----BEGIN CERTIFICATE-----' } },
          observabilityPlaneRef: { kind: 'ClusterObservabilityPlane', name: cop },
        },
      },
      {
        apiVersion: API_VERSION,
        kind: 'DataPlane',
        metadata: { name: 'default', namespace },
        spec: {
          planeID: 'prod-cluster',
          clusterAgent: agent,
          gateway: {
            ingress: {
              external: {
                name: 'gateway-default',
                namespace: 'openchoreo-data-plane',
                http: { listenerName: 'http', port: 19080, host: 'openchoreoapis.localhost' },
              },
            },
          },
          imagePullSecretRefs: ['registry'],
          secretStoreRef: { name: 'default' },
          observabilityPlaneRef: { kind: 'ObservabilityPlane', name: 'default' },
        },
      },
      environment(namespace, { kind: 'ClusterDataPlane', name: cdp }),
    ];
    try {
      for (const obj of objects) {
        const created = await cp.create(obj);
        const spec = (created as KubeObject & { spec?: unknown }).spec;
        assert.deepEqual(spec, (obj as KubeObject & { spec?: unknown }).spec, `${obj.kind} kept every field`);
      }
    } finally {
      await cp.delete(API_VERSION, 'ClusterDataPlane', undefined, cdp);
      await cp.delete(API_VERSION, 'ClusterObservabilityPlane', undefined, cop);
    }
  });
});
