import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { KubeObject } from '../../api/object.ts';
import { Annotations, CONTROLLER_NAME, Labels } from '../../api/v1alpha1/constants.ts';
import type { ResourceStatus } from '../../api/v1alpha1/schema.ts';
import { servedKind } from '../../../test/support/fakedataplane.ts';
import type { ItemOutcome } from './apply.ts';
import type { DesiredObject } from './desired.ts';
import { adoptedRemoval, Inventory, pendingRemovalsOf, provenance, settlePending } from './inventory.ts';
import { recreateRule } from './policy.ts';

const RELEASE_UID = 'uid-web';
const CONFIGMAP = servedKind({ group: '', version: 'v1', kind: 'ConfigMap' }, 'configmaps');

function object(
  uid: string,
  labels: Record<string, string> = {},
  managers = ['release-controller'],
): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: 'settings',
      namespace: 'apps',
      uid,
      labels,
      managedFields: managers.map((manager) => ({ manager, operation: 'Apply', apiVersion: 'v1' })),
    },
  };
}

const item: DesiredObject = {
  ok: true,
  id: 'settings',
  index: 0,
  group: '',
  version: 'v1',
  kind: 'ConfigMap',
  name: 'settings',
  namespace: 'apps',
  object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings', namespace: 'apps' } },
  hash: 'h',
};

const ours = { [Labels.managedBy]: CONTROLLER_NAME, [Labels.releaseUid]: RELEASE_UID };

function entry(uid: string, extra: Partial<ResourceStatus> = {}): ResourceStatus {
  return {
    id: 'settings',
    group: '',
    version: 'v1',
    kind: 'ConfigMap',
    name: 'settings',
    namespace: 'apps',
    healthStatus: 'Healthy',
    uid,
    origin: 'Created',
    removal: 'Delete',
    ...extra,
  };
}

void describe('provenance', () => {
  const outcome = (o: Partial<ItemOutcome>): ItemOutcome => ({ item, state: 'applied', ...o });
  const cases: Array<{ name: string; o: ItemOutcome; prev?: ResourceStatus; want: unknown }> = [
    {
      name: 'an object this pass created, with only our field manager, is Created',
      o: outcome({ live: object('u1', ours), created: true }),
      want: { uid: 'u1', origin: 'Created', removal: 'Delete' },
    },
    {
      name: 'a "created" answer that carries another manager is not proof of creation: Found',
      o: outcome({ live: object('u1', ours, ['release-controller', 'helm']), created: true }),
      want: { uid: 'u1', origin: 'Found', removal: 'GiveBack' },
    },
    {
      name: 'an adoption of this very uid is Adopted, as the Release asked',
      o: outcome({ live: object('u2', ours), adopted: { uid: 'u2', removal: 'Delete' } }),
      want: { uid: 'u2', origin: 'Adopted', removal: 'Delete' },
    },
    {
      name: 'the same object keeps its record, whatever its labels say now',
      o: outcome({ live: object('u1', {}) }),
      prev: entry('u1', { origin: 'Adopted', removal: 'GiveBack' }),
      want: { uid: 'u1', origin: 'Adopted', removal: 'GiveBack' },
    },
    {
      name: 'an unrecorded object with our labels is Found',
      o: outcome({ live: object('u3', ours) }),
      want: { uid: 'u3', origin: 'Found', removal: 'GiveBack' },
    },
    {
      name: 'an object that is not ours (observed) is not recorded',
      o: outcome({ live: object('u4', {}) }),
      want: undefined,
    },
    {
      name: 'a failed apply keeps the earlier record',
      o: outcome({ state: 'failed', live: object('u5', ours) }),
      prev: entry('u1'),
      want: { uid: 'u1', origin: 'Created', removal: 'Delete' },
    },
    {
      name: "an earlier version's token that does not name this object proves nothing: Found",
      o: outcome({ live: object('u6', ours), applied: 'aaaa.fields' }),
      prev: { ...entry(''), uid: undefined, origin: undefined, removal: undefined, applied: 'bbbb.fields' },
      want: { uid: 'u6', origin: 'Found', removal: 'GiveBack' },
    },
    {
      name: "an earlier version's token that names this object: Created",
      o: outcome({ live: object('u6', ours), applied: 'aaaa.fields2' }),
      prev: { ...entry(''), uid: undefined, origin: undefined, removal: undefined, applied: 'aaaa.fields' },
      want: { uid: 'u6', origin: 'Created', removal: 'Delete' },
    },
  ];
  for (const c of cases) {
    void test(c.name, () => assert.deepEqual(provenance(c.o, c.prev, RELEASE_UID), c.want));
  }
  void test('an object recorded under another id, or pending removal, keeps its record', () => {
    const known = Inventory.of({
      pendingRemovals: [
        {
          group: '',
          version: 'v1',
          kind: 'ConfigMap',
          name: 'settings',
          uid: 'u7',
          origin: 'Adopted',
          removal: 'Delete',
        },
      ],
    });
    assert.deepEqual(provenance(outcome({ live: object('u7', ours) }), undefined, RELEASE_UID, known), {
      uid: 'u7',
      origin: 'Adopted',
      removal: 'Delete',
    });
  });
});

void describe('Inventory', () => {
  void test('proves objects by uid alone: labels and annotations on the live object count for nothing', () => {
    const inventory = Inventory.of({ resources: [entry('u1')] });
    const forged = object('u9', ours);
    forged.metadata.annotations = { [Annotations.adopted]: 'true', [Annotations.adopt]: 'delete' };
    assert.ok(inventory.proofOf(object('u1')), 'the recorded uid is proven');
    assert.equal(inventory.proofOf(forged), undefined);
    const terminating = object('u8', ours);
    terminating.metadata.deletionTimestamp = '2026-12-03T10:00:00Z';
    const { proven, unproven } = inventory.split([
      { object: object('u1'), info: CONFIGMAP },
      { object: forged, info: CONFIGMAP },
      { object: terminating, info: CONFIGMAP },
    ]);
    assert.deepEqual(
      [proven.map((m) => m.object.metadata.uid), unproven.map((m) => m.object.metadata.uid)],
      [['u1'], ['u9']],
    );
  });

  void test('pending removals keep what the spec no longer records, until verified gone', () => {
    const previous = {
      resources: [entry('old'), entry('kept', { id: 'kept' })],
      pendingRemovals: [
        {
          group: '',
          version: 'v1',
          kind: 'ConfigMap',
          name: 'x',
          uid: 'older',
          origin: 'Created' as const,
          removal: 'Delete' as const,
        },
      ],
    };
    const pending = pendingRemovalsOf(previous, [entry('kept', { id: 'kept' }), entry('new')]);
    assert.deepEqual(
      pending.map((e) => e.uid),
      ['older', 'old'],
    );
    const watched = () => true;
    assert.deepEqual(
      settlePending(pending, undefined, watched)?.map((e) => e.uid),
      ['older', 'old'],
      'no picture: all stay',
    );
    assert.deepEqual(
      settlePending(pending, new Set(['old']), watched)?.map((e) => e.uid),
      ['old'],
    );
    assert.equal(settlePending(pending, new Set(), watched), undefined);
    assert.deepEqual(
      settlePending(pending, new Set(), () => false)?.map((e) => e.uid),
      ['older', 'old'],
      'a kind not watched proves nothing gone',
    );
  });

  void test('an adopted Namespace is always given back', () => {
    assert.equal(adoptedRemoval({ group: '', kind: 'Namespace' }, true), 'GiveBack');
    assert.equal(adoptedRemoval({ group: '', kind: 'ConfigMap' }, true), 'Delete');
    assert.equal(adoptedRemoval({ group: '', kind: 'ConfigMap' }, false), 'GiveBack');
  });
});

void describe('recreateRule', () => {
  const asking: DesiredObject = {
    ...item,
    object: {
      ...item.object,
      metadata: { ...item.object.metadata, annotations: { [Annotations.recreateOnImmutable]: 'true' } },
    },
  };
  void test('recreates only an object the Release may delete', () => {
    assert.equal(recreateRule(asking, { uid: 'u', origin: 'Created', removal: 'Delete' }).allowed, true);
    for (const proof of [
      undefined,
      { uid: 'u', origin: 'Found' as const, removal: 'GiveBack' as const },
      { uid: 'u', origin: 'Adopted' as const, removal: 'GiveBack' as const },
    ]) {
      const rule = recreateRule(asking, proof);
      assert.equal(rule.allowed, false);
      assert.match(rule.hint, /never deletes an object it cannot prove is the Release's to delete/);
    }
  });
});
