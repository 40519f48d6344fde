import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { KubeObject } from '../../api/object.ts';
import { IN_USE_FINALIZER, TenancyKeys } from '../../api/v1alpha1/constants.ts';
import type { DataPlane, Environment, Release } from '../../api/v1alpha1/schema.ts';
import {
  coveredByOthers,
  dependenciesOf,
  protectionChanges,
  protectionInputsChanged,
  reconcileProtection,
  type ProtectionChange,
  type ProtectionLookup,
  type ProtectionStore,
} from './protection.ts';
import { SINGLE_TENANT } from './tenancy.ts';

const env = (name: string, dataPlaneRef: string, finalizers?: string[]): Environment => ({
  apiVersion: 'openchoreo.dev/v1alpha1',
  kind: 'Environment',
  metadata: { name, namespace: 'acme', resourceVersion: '1', ...(finalizers && { finalizers }) },
  spec: { dataPlaneRef },
});
const dataPlane = (name: string, secret?: string, finalizers?: string[]): DataPlane => ({
  apiVersion: 'openchoreo.dev/v1alpha1',
  kind: 'DataPlane',
  metadata: { name, namespace: 'acme', resourceVersion: '1', ...(finalizers && { finalizers }) },
  spec: {
    kubernetesCluster: secret
      ? { name, secretRef: { name: secret } }
      : { name, credentials: { apiServerURL: 'https://x', caCert: 'a', clientCert: 'b', clientKey: 'c' } },
  },
});
const release = (name: string, environmentName: string, appliedTo: string[] = []): Release => ({
  apiVersion: 'openchoreo.dev/v1alpha1',
  kind: 'Release',
  metadata: { name, namespace: 'acme', uid: `uid-${name}` },
  spec: { owner: { projectName: 'shop', componentName: name }, environmentName },
  status: { appliedTo: appliedTo.map((dp) => ({ dataPlane: dp, cluster: `c-${dp}` })) },
});
const secret = (name: string, finalizers?: string[]): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name, namespace: 'acme', resourceVersion: '1', ...(finalizers && { finalizers }) },
});

function lookupOf(envs: Environment[], dps: DataPlane[]): ProtectionLookup {
  return {
    environment: (ns, name) => envs.find((e) => e.metadata.namespace === ns && e.metadata.name === name),
    dataPlane: (ns, name) => dps.find((d) => d.metadata.namespace === ns && d.metadata.name === name),
  };
}

void describe('dependenciesOf', () => {
  void test('the Environment, its DataPlane and that DataPlane’s kubeconfig Secret', () => {
    const lookup = lookupOf([env('prod', 'dp')], [dataPlane('dp', 'dp-kubeconfig')]);
    assert.deepEqual(dependenciesOf(release('web', 'prod'), lookup), [
      'Environment/prod',
      'DataPlane/dp',
      'Secret/dp-kubeconfig',
    ]);
  });
  void test('every DataPlane the Release still has objects on, even after its Environment moved or went', () => {
    const lookup = lookupOf([], [dataPlane('old', 'old-kubeconfig'), dataPlane('inline')]);
    assert.deepEqual(dependenciesOf(release('web', 'gone', ['old', 'inline']), lookup), [
      'Environment/gone',
      'DataPlane/inline',
      'DataPlane/old',
      'Secret/old-kubeconfig',
    ]);
  });
});

void describe('coveredByOthers', () => {
  const lookup = lookupOf([env('prod', 'dp'), env('test', 'dp')], [dataPlane('dp', 'dp-kubeconfig')]);
  const elsewhere = (r: Release): Release => ({ ...r, metadata: { ...r.metadata, namespace: 'other' } });

  void test('a Release whose dependencies another Release of its namespace shares changes nothing', () => {
    const web = release('web', 'prod');
    assert.equal(coveredByOthers(web, [web, release('api', 'prod')], lookup), true);
  });
  void test('the last Release of its dependencies, or one with a dependency of its own, changes what is needed', () => {
    const web = release('web', 'prod');
    assert.equal(coveredByOthers(web, [web], lookup), false, 'only itself');
    assert.equal(
      coveredByOthers(web, [release('api', 'test')], lookup),
      false,
      'Environment/prod is its own',
    );
    assert.equal(
      coveredByOthers(web, [elsewhere(release('api', 'prod'))], lookup),
      false,
      'another namespace',
    );
    assert.equal(
      coveredByOthers(release('web', 'prod', ['old']), [release('api', 'prod')], lookup),
      false,
      'it still has objects on DataPlane old',
    );
  });
  void test('dependencies shared among several other Releases together cover it', () => {
    const both = release('both', 'prod', ['old']);
    assert.equal(coveredByOthers(both, [release('a', 'prod'), release('b', 'test', ['old'])], lookup), true);
  });
});

void describe('protectionInputsChanged', () => {
  void test('a status write changes nothing protection reads; spec, finalizers and deletion do', () => {
    const before = env('prod', 'dp');
    const counted = { ...before, status: { releases: 3 } } as Environment;
    assert.equal(protectionInputsChanged(before, counted), false, 'status only');
    assert.equal(protectionInputsChanged(before, env('prod', 'other')), true, 'another DataPlane named');
    assert.equal(protectionInputsChanged(before, env('prod', 'dp', [IN_USE_FINALIZER])), true, 'finalizers');
    const deleting = {
      ...before,
      metadata: { ...before.metadata, deletionTimestamp: '2026-12-07T10:00:00Z' },
    };
    assert.equal(protectionInputsChanged(before, deleting), true, 'deletion');
  });
});

void describe('protectionChanges', () => {
  void test('adds the finalizer where needed, removes it where not, and leaves other finalizers alone', () => {
    const changes = protectionChanges(
      [
        { kind: 'Environment', object: env('prod', 'dp') },
        { kind: 'Environment', object: env('old', 'dp', ['other.io/keep', IN_USE_FINALIZER]) },
        { kind: 'DataPlane', object: dataPlane('dp', undefined, [IN_USE_FINALIZER]) },
      ],
      new Set(['Environment/prod', 'DataPlane/dp']),
    );
    assert.deepEqual(
      changes.map((c) => `${c.protect ? '+' : '-'}${c.kind}/${c.object.metadata.name}`),
      ['+Environment/prod', '-Environment/old'],
    );
  });
  void test('no finalizer is added to an object already being deleted', () => {
    const deleting = {
      ...env('prod', 'dp'),
      metadata: { ...env('prod', 'dp').metadata, deletionTimestamp: 'now' },
    };
    assert.deepEqual(
      protectionChanges([{ kind: 'Environment', object: deleting }], new Set(['Environment/prod'])),
      [],
    );
  });
  void test('outside single-tenant mode, only Secrets the operator marked as credentials are protected', () => {
    const marked = secret('marked');
    marked.metadata.labels = { [TenancyKeys.dataPlaneCredentials]: 'east' };
    const objects = [
      { kind: 'Secret' as const, object: marked },
      { kind: 'Secret' as const, object: secret('unmarked') },
      // Protected before the upgrade to tenancy: the finalizer comes off.
      { kind: 'Secret' as const, object: secret('was-protected', [IN_USE_FINALIZER]) },
      { kind: 'Environment' as const, object: env('prod', 'dp') },
    ];
    const needed = new Set(['Secret/marked', 'Secret/unmarked', 'Secret/was-protected', 'Environment/prod']);
    const show = (changes: ProtectionChange[]) =>
      changes.map((c) => `${c.protect ? '+' : '-'}${c.kind}/${c.object.metadata.name}`);
    assert.deepEqual(show(protectionChanges(objects, needed, { mode: 'default', organization: 'acme' })), [
      '+Secret/marked',
      '-Secret/was-protected',
      '+Environment/prod',
    ]);
    assert.deepEqual(show(protectionChanges(objects, needed, SINGLE_TENANT)), [
      '+Secret/marked',
      '+Secret/unmarked',
      '+Environment/prod',
    ]);
  });
});

class MemoryStore implements ProtectionStore {
  readonly changes: string[] = [];
  constructor(
    private readonly labelled: KubeObject[],
    private readonly all: KubeObject[],
  ) {}
  protectedSecrets(): Promise<KubeObject[]> {
    return Promise.resolve(this.labelled);
  }
  secret(_ns: string, name: string): Promise<KubeObject | undefined> {
    return Promise.resolve(this.all.find((s) => s.metadata.name === name));
  }
  setProtection(c: ProtectionChange): Promise<void> {
    this.changes.push(`${c.protect ? '+' : '-'}${c.kind}/${c.object.metadata.name}`);
    return Promise.resolve();
  }
}

void describe('reconcileProtection', () => {
  const envs = [env('prod', 'dp', [IN_USE_FINALIZER]), env('staging', 'dp', [IN_USE_FINALIZER])];
  const dps = [dataPlane('dp', 'new-kubeconfig', [IN_USE_FINALIZER])];
  const run = (releases: Release[], store: MemoryStore) =>
    reconcileProtection({
      namespace: 'acme',
      releases,
      environments: envs,
      dataPlanes: dps,
      lookup: lookupOf(envs, dps),
      store,
      signal: AbortSignal.timeout(1000),
    });

  void test('protects the Secret a DataPlane names now and lets go of the one it named before', async () => {
    const oldSecret = secret('old-kubeconfig', [IN_USE_FINALIZER]);
    const store = new MemoryStore([oldSecret], [oldSecret, secret('new-kubeconfig')]);
    await run([release('web', 'prod')], store);
    assert.deepEqual(store.changes.sort(), [
      '+Secret/new-kubeconfig',
      '-Environment/staging',
      '-Secret/old-kubeconfig',
    ]);
  });

  void test('once the last Release of the namespace is gone, every finalizer comes off', async () => {
    const store = new MemoryStore([secret('new-kubeconfig', [IN_USE_FINALIZER])], []);
    await run([], store);
    assert.deepEqual(store.changes.sort(), [
      '-DataPlane/dp',
      '-Environment/prod',
      '-Environment/staging',
      '-Secret/new-kubeconfig',
    ]);
  });

  void test('Releases of other namespaces do not count', async () => {
    const other = { ...release('web', 'prod'), metadata: { name: 'web', namespace: 'other', uid: 'u' } };
    const store = new MemoryStore([], []);
    await run([other], store);
    assert.deepEqual(store.changes.sort(), ['-DataPlane/dp', '-Environment/prod', '-Environment/staging']);
  });
});
