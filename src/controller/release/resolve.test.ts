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
  planeOfKey,
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

test('resolveTarget: a RenderedRelease bound for the observability plane goes through its data plane to that plane', async () => {
  const rendered = {
    ...release,
    kind: 'RenderedRelease',
    spec: { ...release.spec, targetPlane: 'observabilityplane' },
  } as Release;
  const obs = plane('ObservabilityPlane', 'default', 'acme');
  const clusterObs = plane('ClusterObservabilityPlane', 'shared-obs');
  const clusterObsDefault = plane('ClusterObservabilityPlane', 'default');
  const named = plane('DataPlane', 'dp', 'acme', {
    clusterAgent: { clientCA: { value: 'ca' } },
    observabilityPlaneRef: { kind: 'ClusterObservabilityPlane', name: 'shared-obs' },
  });
  const unnamed = plane('DataPlane', 'dp', 'acme');
  const table: Array<[string, DataPlane, DataPlane[], DataPlane[], string]> = [
    ['the DataPlane names it', named, [obs], [clusterObs], 'ClusterObservabilityPlane/shared-obs'],
    ['the namespace default first', unnamed, [obs], [clusterObsDefault], 'ObservabilityPlane/acme/default'],
    ['then the cluster default', unnamed, [], [clusterObsDefault], 'ClusterObservabilityPlane/default'],
  ];
  for (const [what, dataPlane, namespaced, cluster, key] of table) {
    const cp: ControlPlaneReader = {
      ...reader(env('dp'), [dataPlane], []),
      observabilityPlane: (ns, name) =>
        namespaced.find((p) => p.metadata.namespace === ns && p.metadata.name === name),
      clusterObservabilityPlane: (name) => cluster.find((p) => p.metadata.name === name),
    };
    const got = await resolveTarget(rendered, cp, connect);
    assert.ok(!isResolveFailure(got), `${what}: ${JSON.stringify(got)}`);
    assert.equal(got.dataPlane.key, key, what);
  }
  // None: the failure names the data plane and what to set.
  const none = await resolveTarget(
    rendered,
    { ...reader(env('dp'), [unnamed], []), observabilityPlane: () => undefined },
    connect,
  );
  assert.ok(isResolveFailure(none), 'no observability plane is a failure');
  assert.match(
    none.message,
    /DataPlane acme\/dp names no observability plane \(spec.observabilityPlaneRef\)/,
  );
  // A named plane that does not exist.
  const missing = await resolveTarget(rendered, reader(env('dp'), [named], []), connect);
  assert.ok(isResolveFailure(missing), 'a named plane that does not exist is a failure');
  assert.match(
    missing.message,
    /ClusterObservabilityPlane shared-obs \(spec.observabilityPlaneRef of DataPlane acme\/dp\) not found/,
  );
});

test('plane references of every kind read back, and pool keys give their reference and namespace', () => {
  for (const ref of [
    { kind: 'DataPlane', name: 'dp' },
    { kind: 'ClusterDataPlane', name: 'shared' },
    { kind: 'ObservabilityPlane', name: 'default' },
    { kind: 'ClusterObservabilityPlane', name: 'obs' },
  ] as const)
    assert.deepEqual(parseRefString(refString(ref)), ref);
  assert.deepEqual(planeOfKey('acme/dp'), { ref: { kind: 'DataPlane', name: 'dp' }, namespace: 'acme' });
  assert.deepEqual(planeOfKey('ClusterDataPlane/shared'), {
    ref: { kind: 'ClusterDataPlane', name: 'shared' },
  });
  assert.deepEqual(planeOfKey('ObservabilityPlane/acme/default'), {
    ref: { kind: 'ObservabilityPlane', name: 'default' },
    namespace: 'acme',
  });
  assert.deepEqual(planeOfKey('ClusterObservabilityPlane/obs'), {
    ref: { kind: 'ClusterObservabilityPlane', name: 'obs' },
  });
});
