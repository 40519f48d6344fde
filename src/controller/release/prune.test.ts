import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { KubeObject } from '../../api/object.ts';
import { Annotations, CONTROLLER_NAME, Labels } from '../../api/v1alpha1/constants.ts';
import type { ResourceInfo } from '../../kube/discovery.ts';
import type { DesiredObject, InvalidObject } from './desired.ts';
import type { ManagedObject } from '../../dataplane/port.ts';
import { pruneRelease, staleObjects } from './prune.ts';
import { pino } from 'pino';
import { ApplyMemory } from '../../ssa/memory.ts';
import { GIVE_BACK, giveBackOf } from './policy.ts';
import { Inventory } from './inventory.ts';
import { giveBackPatch } from '../../ssa/delete.ts';
import type { ItemOutcome, ItemState } from './apply.ts';
import { FakeDataPlane, servedKind } from '../../../test/support/fakedataplane.ts';

const RELEASE_UID = '5f0c8a3e-2b1d-4c7a-9e6f-1a2b3c4d5e6f';

const INFO = {
  deployment: servedKind({ group: 'apps', version: 'v1', kind: 'Deployment' }, 'deployments'),
  configMap: servedKind({ group: '', version: 'v1', kind: 'ConfigMap' }, 'configmaps'),
  secret: servedKind({ group: '', version: 'v1', kind: 'Secret' }, 'secrets'),
  namespace: servedKind({ group: '', version: 'v1', kind: 'Namespace' }, 'namespaces', false),
  clusterRole: servedKind(
    { group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'ClusterRole' },
    'clusterroles',
    false,
  ),
  hpaV2: servedKind(
    { group: 'autoscaling', version: 'v2', kind: 'HorizontalPodAutoscaler' },
    'horizontalpodautoscalers',
  ),
  hpaV1: servedKind(
    { group: 'autoscaling', version: 'v1', kind: 'HorizontalPodAutoscaler' },
    'horizontalpodautoscalers',
  ),
} satisfies Record<string, ResourceInfo>;

/** live builds a managed object as the data plane's watch cache holds it. */
function live(
  info: ResourceInfo,
  id: string,
  name: string,
  namespace?: string,
  annotations?: Record<string, string>,
): ManagedObject {
  const object: KubeObject = {
    apiVersion: info.group === '' ? info.version : `${info.group}/${info.version}`,
    kind: info.kind,
    metadata: {
      name,
      ...(namespace === undefined ? {} : { namespace }),
      uid: `uid-${info.kind}-${namespace ?? ''}-${name}`,
      resourceVersion: '1001',
      labels: {
        [Labels.managedBy]: CONTROLLER_NAME,
        [Labels.resourceId]: id,
        [Labels.releaseUid]: RELEASE_UID,
        [Labels.releaseName]: 'customer-service-prod-release',
        [Labels.releaseNamespace]: 'acme',
      },
      ...(annotations ? { annotations } : {}),
    },
  };
  return { object, info };
}

/** wants builds the outcome of a spec item as the apply step reports it. */
function wants(
  id: string,
  apiVersion: string,
  kind: string,
  name: string,
  namespace: string,
  state: ItemState = 'applied',
): ItemOutcome {
  const slash = apiVersion.indexOf('/');
  const [group, version] =
    slash < 0 ? ['', apiVersion] : [apiVersion.slice(0, slash), apiVersion.slice(slash + 1)];
  const item: DesiredObject = {
    ok: true,
    id,
    index: 0,
    group,
    version,
    kind,
    name,
    namespace,
    object: { apiVersion, kind, metadata: namespace ? { name, namespace } : { name } },
    hash: `hash-${id}`,
  };
  return {
    item,
    state,
    namespaced: namespace !== '',
    ...(state === 'applied' ? {} : { message: `resource "${id}": ${state}` }),
  };
}

function invalidOutcome(id: string): ItemOutcome {
  const item: InvalidObject = {
    ok: false,
    id,
    index: 0,
    group: '',
    version: 'v1',
    kind: 'ConfigMap',
    name: '',
    namespace: '',
    message: `resource "${id}": ConfigMap has no metadata.name`,
  };
  return { item, state: 'invalid', message: item.message };
}

function names(objects: ManagedObject[]): string[] {
  return objects.map((m) => `${m.info.kind}/${m.object.metadata.namespace ?? ''}/${m.object.metadata.name}`);
}

describe('staleObjects', () => {
  const web = live(INFO.deployment, 'deployment', 'customer-service', 'prod');
  const settings = live(INFO.configMap, 'config', 'settings', 'prod');
  const ns = live(INFO.namespace, 'namespace', 'prod');
  const role = live(INFO.clusterRole, 'role', 'customer-service-reader');

  const cases: Array<{ name: string; managed: ManagedObject[]; outcomes: ItemOutcome[]; stale: string[] }> = [
    {
      name: 'nothing is stale when every object is still wanted as it is',
      managed: [web, settings, ns, role],
      outcomes: [
        wants('deployment', 'apps/v1', 'Deployment', 'customer-service', 'prod'),
        wants('config', 'v1', 'ConfigMap', 'settings', 'prod'),
        wants('namespace', 'v1', 'Namespace', 'prod', ''),
        wants('role', 'rbac.authorization.k8s.io/v1', 'ClusterRole', 'customer-service-reader', ''),
      ],
      stale: [],
    },
    {
      name: 'an id removed from the spec is stale',
      managed: [web, settings],
      outcomes: [wants('deployment', 'apps/v1', 'Deployment', 'customer-service', 'prod')],
      stale: ['ConfigMap/prod/settings'],
    },
    {
      name: 'an empty spec makes every object stale',
      managed: [web, settings, role],
      outcomes: [],
      stale: [
        'Deployment/prod/customer-service',
        'ConfigMap/prod/settings',
        'ClusterRole//customer-service-reader',
      ],
    },
    {
      name: 'a renamed object leaves the old name stale',
      managed: [settings],
      outcomes: [wants('config', 'v1', 'ConfigMap', 'settings-v2', 'prod')],
      stale: ['ConfigMap/prod/settings'],
    },
    {
      name: 'an object moved to another namespace leaves the old one stale',
      managed: [settings],
      outcomes: [wants('config', 'v1', 'ConfigMap', 'settings', 'staging')],
      stale: ['ConfigMap/prod/settings'],
    },
    {
      name: 'an id that changed kind leaves the old kind stale',
      managed: [settings],
      outcomes: [wants('config', 'v1', 'Secret', 'settings', 'prod')],
      stale: ['ConfigMap/prod/settings'],
    },
    {
      name: 'during a rename, the new object of the id is kept and the old one pruned',
      managed: [settings, live(INFO.configMap, 'config', 'settings-v2', 'prod')],
      outcomes: [wants('config', 'v1', 'ConfigMap', 'settings-v2', 'prod')],
      stale: ['ConfigMap/prod/settings'],
    },
    {
      name: 'a cluster-scoped object is matched without a namespace',
      managed: [role],
      outcomes: [wants('role', 'rbac.authorization.k8s.io/v1', 'ClusterRole', 'customer-service-reader', '')],
      stale: [],
    },
    {
      name: 'an object found under another version of the same group and kind is the same object',
      managed: [live(INFO.hpaV1, 'hpa', 'customer-service', 'prod')],
      outcomes: [wants('hpa', 'autoscaling/v2', 'HorizontalPodAutoscaler', 'customer-service', 'prod')],
      stale: [],
    },
    {
      name: 'the same kind name in another group is another object',
      managed: [live(INFO.deployment, 'deployment', 'customer-service', 'prod')],
      outcomes: [wants('deployment', 'example.com/v1', 'Deployment', 'customer-service', 'prod')],
      stale: ['Deployment/prod/customer-service'],
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      assert.deepEqual(names(staleObjects(c.managed, c.outcomes)), c.stale);
    });
  }

  for (const state of ['failed', 'conflict', 'waiting', 'recreating'] as const) {
    test(`the objects of an id that is ${state} in this reconcile are kept`, () => {
      // The id now asks for a renamed object that did not apply: the old one must stay.
      const outcomes = [wants('config', 'v1', 'ConfigMap', 'settings-v2', 'prod', state)];
      assert.deepEqual(names(staleObjects([settings], outcomes)), []);
    });
  }

  test('the objects of an id that is invalid in this reconcile are kept', () => {
    assert.deepEqual(names(staleObjects([settings, web], [invalidOutcome('config')])), [
      'Deployment/prod/customer-service',
    ]);
  });

  test('adopted objects no longer wanted are stale too: the inventory, never the live object, says how they go', () => {
    const adopted = live(INFO.namespace, 'namespace', 'shared', undefined, { [Annotations.adopt]: 'delete' });
    const stale = staleObjects([adopted, ns], []);
    assert.deepEqual(names(stale), ['Namespace//shared', 'Namespace//prod']);
    const inventory = new Inventory([
      { uid: adopted.object.metadata.uid, origin: 'Adopted', removal: 'GiveBack' },
      { uid: ns.object.metadata.uid, origin: 'Created', removal: 'Delete' },
    ]);
    assert.deepEqual(
      stale.map((m) => giveBackOf(inventory)(m)),
      [GIVE_BACK, undefined],
    );
  });

  test('does not modify its inputs', () => {
    const managed = [web, settings];
    const outcomes = [wants('deployment', 'apps/v1', 'Deployment', 'customer-service', 'prod')];
    const before = structuredClone({ managed, outcomes });
    staleObjects(managed, outcomes);
    assert.deepEqual({ managed, outcomes }, before);
  });
});

describe('giving an adopted object back', () => {
  test('removes every label of ours, the adopted mark and a long Release name, and keeps other managers', () => {
    const m = live(INFO.configMap, 'cm', 'settings', 'apps', {
      [Annotations.adopted]: 'true',
      [Labels.releaseName]: 'a-release-name-longer-than-sixty-three-characters-for-the-label-value',
      team: 'payments',
    });
    m.object.metadata.managedFields = [
      { manager: 'helm', operation: 'Update', apiVersion: 'v1' },
      { manager: 'release-controller', operation: 'Apply', apiVersion: 'v1' },
    ];
    const ops = giveBackPatch(m.object, GIVE_BACK);
    assert.deepEqual(
      ops.filter((o) => o.op === 'remove').map((o) => o.path),
      [
        '/metadata/labels/openchoreo.dev~1managed-by',
        '/metadata/labels/openchoreo.dev~1release-resource-id',
        '/metadata/labels/openchoreo.dev~1release-uid',
        '/metadata/labels/openchoreo.dev~1release-name',
        '/metadata/labels/openchoreo.dev~1release-namespace',
        '/metadata/annotations/openchoreo.dev~1adopted',
        '/metadata/annotations/openchoreo.dev~1release-name',
      ],
    );
    assert.deepEqual(ops.at(-1), {
      op: 'add',
      path: '/metadata/managedFields',
      value: [{ manager: 'helm', operation: 'Update', apiVersion: 'v1' }],
    });
  });
});

describe('pruneRelease', () => {
  test('removes only what the inventory proves, as it recorded; a labelled object it does not record is left and returned', async () => {
    const dataPlane = new FakeDataPlane('acme/dp', [INFO.configMap]);
    await dataPlane.cache(INFO.configMap);
    const created = dataPlane.put(INFO.configMap, live(INFO.configMap, 'created', 'created', 'apps').object);
    const adopted = dataPlane.put(
      INFO.configMap,
      live(INFO.configMap, 'adopted', 'adopted', 'apps', { [Annotations.adopt]: 'delete' }).object,
    );
    const forged = dataPlane.put(INFO.configMap, live(INFO.configMap, 'forged', 'forged', 'apps').object);
    const inventory = new Inventory([
      { uid: created.metadata.uid, origin: 'Created', removal: 'Delete' },
      { uid: adopted.metadata.uid, origin: 'Adopted', removal: 'GiveBack' },
    ]);
    const result = await pruneRelease(
      {
        key: 'acme/web',
        releaseUid: RELEASE_UID,
        dataPlane,
        memory: new ApplyMemory(),
        logger: pino({ level: 'silent' }),
        signal: new AbortController().signal,
        inventory,
      },
      [],
    );
    assert.deepEqual(
      [names(result.pruned), names(result.givenBack), names(result.notProven)],
      [['ConfigMap/apps/created'], ['ConfigMap/apps/adopted'], ['ConfigMap/apps/forged']],
    );
    assert.equal(dataPlane.get(INFO.configMap, 'apps', 'created'), undefined);
    assert.ok(dataPlane.get(INFO.configMap, 'apps', 'adopted'), 'given back, despite its live adopt: delete');
    assert.equal(
      dataPlane.get(INFO.configMap, 'apps', 'forged')?.metadata.labels?.[Labels.releaseUid],
      RELEASE_UID,
      'the forged object is not touched',
    );
    assert.deepEqual(
      [...(result.present ?? [])].sort(),
      [created.metadata.uid, adopted.metadata.uid, forged.metadata.uid].sort(),
    );
  });
});

describe('recorded objects outside the watches (recorded.ts)', () => {
  /** outsideObject is one of the Release's objects the watch does not show (no managed-by, as a shard key would). */
  const outsideObject = (name: string): KubeObject => {
    const { object } = live(INFO.configMap, name, name, 'apps');
    delete object.metadata.labels?.[Labels.managedBy];
    return object;
  };
  const context = (dataPlane: FakeDataPlane, inventory: Inventory) => ({
    key: 'acme/web',
    releaseUid: RELEASE_UID,
    dataPlane,
    memory: new ApplyMemory(),
    logger: pino({ level: 'silent' }),
    signal: new AbortController().signal,
    inventory,
  });
  const entry = (object: KubeObject, removal: 'Delete' | 'GiveBack' = 'Delete') => ({
    group: '',
    version: 'v1',
    kind: 'ConfigMap',
    namespace: 'apps',
    name: object.metadata.name ?? '',
    uid: object.metadata.uid ?? '',
    origin: 'Created' as const,
    removal,
  });

  test('a recorded stale object the cache does not show is read by name and pruned; one proven gone is read once', async () => {
    const dataPlane = new FakeDataPlane('acme/dp', [INFO.configMap]);
    await dataPlane.cache(INFO.configMap);
    const stale = dataPlane.put(INFO.configMap, outsideObject('stale'));
    const gone = outsideObject('gone');
    gone.metadata.uid = 'uid-gone';
    const replaced = dataPlane.put(INFO.configMap, outsideObject('replaced'));
    const unlabelled = dataPlane.put(INFO.configMap, {
      ...outsideObject('given'),
      metadata: { name: 'given', namespace: 'apps' },
    });
    const inventory = new Inventory([
      entry(stale),
      entry(gone),
      { ...entry(replaced), uid: 'uid-of-an-older-object' },
      entry(unlabelled),
    ]);
    const result = await pruneRelease(context(dataPlane, inventory), []);
    assert.deepEqual(names(result.pruned), ['ConfigMap/apps/stale']);
    assert.equal(dataPlane.get(INFO.configMap, 'apps', 'stale'), undefined);
    assert.ok(dataPlane.get(INFO.configMap, 'apps', 'replaced'), 'another uid at the name is not ours');
    assert.ok(
      dataPlane.get(INFO.configMap, 'apps', 'given'),
      'an object without our uid label is not ours any more',
    );
    assert.deepEqual([...(result.present ?? [])], [stale.metadata.uid], 'what was read counts as present');

    // The next pass: the deleted object outside the view is read until gone; what was proven gone is not read again.
    dataPlane.requests.length = 0;
    await pruneRelease(context(dataPlane, inventory), []);
    assert.deepEqual(
      dataPlane.requests
        .filter((r) => r.verb === 'read')
        .map((r) => r.name)
        .sort(),
      ['given', 'stale'],
    );
  });

  test('a recorded object at a name this pass applied is not read: the apply answered for that name', async () => {
    const dataPlane = new FakeDataPlane('acme/dp', [INFO.configMap]);
    await dataPlane.cache(INFO.configMap);
    const object = dataPlane.put(INFO.configMap, outsideObject('settings'));
    const outcome = wants('settings', 'v1', 'ConfigMap', 'settings', 'apps');
    outcome.live = object;
    const result = await pruneRelease(context(dataPlane, new Inventory([entry(object)])), [outcome]);
    assert.deepEqual(result.pruned, []);
    assert.deepEqual(
      dataPlane.requests.filter((r) => r.verb === 'read'),
      [],
    );
  });
});
