import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DataPlane, Environment, Release } from '../../api/v1alpha1/schema.ts';
import type { DataPlanePort } from '../../dataplane/port.ts';
import { planeKey } from '../../dataplane/transport.ts';
import {
  currentRef,
  declaredRef,
  isResolveFailure,
  parseRefString,
  refString,
  resolveTarget,
  type ControlPlaneReader,
} from './resolve.ts';

const env = (dataPlaneRef: unknown): Environment =>
  ({
    apiVersion: 'openchoreo.dev/v1alpha1',
    kind: 'Environment',
    metadata: { name: 'prod', namespace: 'acme' },
    spec: dataPlaneRef === undefined ? {} : { dataPlaneRef },
  }) as Environment;

const plane = (
  kind: string,
  name: string,
  namespace?: string,
  spec: DataPlane['spec'] = { clusterAgent: { clientCA: { value: 'ca' } } },
): DataPlane => ({
  apiVersion: 'openchoreo.dev/v1alpha1',
  kind,
  metadata: { name, ...(namespace ? { namespace } : {}) },
  spec,
});

const release: Release = {
  apiVersion: 'openchoreo.dev/v1alpha1',
  kind: 'Release',
  metadata: { name: 'r', namespace: 'acme', uid: 'u' },
  spec: { owner: { projectName: 'p', componentName: 'c' }, environmentName: 'prod' },
};

function reader(
  environment: Environment | undefined,
  dataPlanes: DataPlane[],
  clusterDataPlanes: DataPlane[],
): ControlPlaneReader {
  return {
    environment: () => environment,
    dataPlane: (ns, name) => dataPlanes.find((d) => d.metadata.namespace === ns && d.metadata.name === name),
    clusterDataPlane: (name) => clusterDataPlanes.find((d) => d.metadata.name === name),
    secret: () => Promise.resolve(undefined),
  };
}

const connect = (dp: DataPlane) => Promise.resolve({ key: planeKey(dp) } as DataPlanePort);

test('declaredRef reads both forms of spec.dataPlaneRef and refuses anything else, naming the field', () => {
  assert.deepEqual(declaredRef(env('dp')), { kind: 'DataPlane', name: 'dp' });
  assert.deepEqual(declaredRef(env({ kind: 'ClusterDataPlane', name: 'shared' })), {
    kind: 'ClusterDataPlane',
    name: 'shared',
  });
  assert.equal(declaredRef(env(undefined)), undefined);
  assert.equal(declaredRef(env('')), undefined);
  for (const bad of [{ kind: 'Other', name: 'x' }, { kind: 'DataPlane' }, 7, ['dp']]) {
    const got = declaredRef(env(bad));
    assert.ok(
      got && 'invalid' in got && /spec.dataPlaneRef of Environment acme\/prod/.test(got.invalid),
      JSON.stringify(bad),
    );
  }
});

test('resolveTarget: which plane each Environment reaches, with the default fallback namespaced first', async () => {
  const dp = plane('DataPlane', 'dp', 'acme');
  const nsDefault = plane('DataPlane', 'default', 'acme');
  const shared = plane('ClusterDataPlane', 'shared');
  const clusterDefault = plane('ClusterDataPlane', 'default');
  const table: Array<[string, Environment, DataPlane[], DataPlane[], string]> = [
    ['earlier string form', env('dp'), [dp], [], 'acme/dp'],
    ['object form, DataPlane', env({ kind: 'DataPlane', name: 'dp' }), [dp], [shared], 'acme/dp'],
    [
      'object form, ClusterDataPlane',
      env({ kind: 'ClusterDataPlane', name: 'shared' }),
      [dp],
      [shared],
      'ClusterDataPlane/shared',
    ],
    ['absent: the namespace default first', env(undefined), [nsDefault], [clusterDefault], 'acme/default'],
    ['absent: then the cluster default', env(undefined), [dp], [clusterDefault], 'ClusterDataPlane/default'],
    [
      'absent and no default',
      env(undefined),
      [dp],
      [shared],
      'DataPlaneNotFound: Environment acme/prod names no data plane',
    ],
    [
      'ClusterDataPlane missing',
      env({ kind: 'ClusterDataPlane', name: 'gone' }),
      [],
      [],
      'DataPlaneNotFound: ClusterDataPlane gone',
    ],
    [
      'a DataPlane of another namespace is not found',
      env('dp'),
      [plane('DataPlane', 'dp', 'other')],
      [],
      'DataPlaneNotFound: DataPlane acme/dp',
    ],
    [
      'a ClusterDataPlane cannot name a Secret',
      env({ kind: 'ClusterDataPlane', name: 'shared' }),
      [],
      [
        plane('ClusterDataPlane', 'shared', undefined, {
          kubernetesCluster: { name: 'c', secretRef: { name: 's' } },
        }),
      ],
      'DataPlaneInvalid: ClusterDataPlane shared: spec.kubernetesCluster.secretRef cannot be used',
    ],
  ];
  for (const [name, environment, dataPlanes, clusterDataPlanes, want] of table) {
    const got = await resolveTarget(release, reader(environment, dataPlanes, clusterDataPlanes), connect);
    const text = isResolveFailure(got) ? `${got.reason}: ${got.message}` : got.dataPlane.key;
    assert.ok(text.startsWith(want), `${name}: got ${text}`);
  }
});

test('currentRef and the appliedTo reference round-trip', () => {
  const cp = reader(undefined, [], [plane('ClusterDataPlane', 'default')]);
  const ref = currentRef(env(undefined), cp);
  assert.deepEqual(ref, { kind: 'ClusterDataPlane', name: 'default' });
  assert.ok(ref, 'resolved');
  assert.equal(refString(ref), 'ClusterDataPlane/default');
  assert.deepEqual(parseRefString(refString(ref)), ref);
  assert.deepEqual(parseRefString('dp'), { kind: 'DataPlane', name: 'dp' });
});
