import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../api/object.ts';
import type { ItemOutcome } from '../controller/release/apply.ts';
import type { DesiredObject } from '../controller/release/desired.ts';
import type { ResourceInfo } from '../kube/discovery.ts';
import { entriesOfRemovals, entryOfOutcome } from './changes.ts';

const object: KubeObject = {
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'cfg', namespace: 'shop' },
};
const item: DesiredObject = {
  ok: true,
  id: 'cfg',
  index: 0,
  group: '',
  version: 'v1',
  kind: 'ConfigMap',
  name: 'cfg',
  namespace: 'shop',
  object,
  hash: 'h',
};
const ref = { group: '', version: 'v1', kind: 'ConfigMap', name: 'cfg', namespace: 'shop' };
const live: KubeObject = { ...object, metadata: { ...object.metadata, uid: 'u1' } };
const answer: KubeObject = { ...live, data: { key: 'new' } };

test("entryOfOutcome says the controller's plan: create, change, unchanged, refusals and failures", () => {
  const planned = (o: Partial<ItemOutcome>): ItemOutcome => ({
    item,
    state: 'applied',
    namespaced: true,
    ...o,
  });
  assert.deepEqual(entryOfOutcome(planned({ plan: { action: 'Create' } }), answer), {
    id: 'cfg',
    ref,
    action: 'create',
    after: answer,
  });
  assert.deepEqual(
    entryOfOutcome(planned({ live, plan: { action: 'Update', fields: ['/data/key'] } }), answer),
    {
      id: 'cfg',
      ref,
      live,
      action: 'change',
      after: answer,
    },
  );
  assert.equal(entryOfOutcome(planned({ live, plan: { action: 'Unchanged' } }), answer).action, 'unchanged');
  // A missing namespace: nothing to dry-run against, so the object as sent.
  const missing = entryOfOutcome(
    planned({ plan: { action: 'Create', message: 'namespace shop does not exist yet' } }),
    undefined,
  );
  assert.equal(missing.action, 'create');
  assert.equal(missing.after, object);
  assert.match(missing.note ?? '', /^namespace shop does not exist yet; shown as sent, not dry-run$/);
  // The guard's refusal, in the controller's words, without the id the line names already.
  const refused = entryOfOutcome(
    planned({
      live,
      state: 'invalid',
      plan: { action: 'Error', message: 'not taken over' },
      message:
        'resource "cfg": resource "cfg": ConfigMap shop/cfg belongs to Release shop/other; not taken over',
    }),
    undefined,
  );
  assert.equal(refused.action, 'error');
  assert.equal(refused.note, 'ConfigMap shop/cfg belongs to Release shop/other; not taken over');
  const denied = entryOfOutcome(
    planned({ state: 'notAllowed', message: 'resource "cfg": not allowed' }),
    undefined,
  );
  assert.deepEqual([denied.action, denied.note], ['skip', 'not allowed']);
  const waiting = entryOfOutcome(planned({ state: 'waiting', message: 'waiting for CRD' }), undefined);
  assert.equal(waiting.action, 'skip');
  const observed = entryOfOutcome(
    { item: { ...item, policy: { apply: 'Observe' } }, state: 'applied', plan: { action: 'Unchanged' } },
    undefined,
  );
  assert.deepEqual(
    [observed.action, observed.note],
    ['skip', 'openchoreo.dev/apply: Observe: never written, only observed'],
  );
  const invalid = entryOfOutcome(
    {
      item: { ...item, ok: false, message: 'resource "cfg": object has no metadata.name' },
      state: 'invalid',
    },
    undefined,
  );
  assert.deepEqual([invalid.action, invalid.note], ['error', 'object has no metadata.name']);
});

test('entriesOfRemovals: deleted objects are pruned; given back, retained and unproven ones are retained, saying why', () => {
  const info: ResourceInfo = {
    group: '',
    version: 'v1',
    kind: 'ConfigMap',
    resource: 'configmaps',
    namespaced: true,
    verbs: [],
  };
  const stale = (name: string) => ({
    info,
    object: {
      ...object,
      metadata: {
        name,
        namespace: 'shop',
        labels: {
          'openchoreo.dev/managed-by': 'release-controller',
          'openchoreo.dev/release-resource-id': name,
        },
      },
    },
  });
  const entries = entriesOfRemovals({
    deleted: [stale('a')],
    givenBack: [stale('b')],
    retained: [{ ...stale('c'), reason: 'annotation openchoreo.dev/prune: Disabled' }],
    notOwned: [stale('d')],
  });
  assert.deepEqual(
    entries.map((e) => [e.id, e.ref.name, e.action]),
    [
      ['a', 'a', 'prune'],
      ['b', 'b', 'retain'],
      ['c', 'c', 'retain'],
      ['d', 'd', 'retain'],
    ],
  );
  assert.match(entries[1]?.note ?? '', /given back/);
  assert.equal(entries[2]?.note, 'annotation openchoreo.dev/prune: Disabled');
  assert.match(entries[3]?.note ?? '', /not in the Release's inventory/);
  assert.deepEqual(entriesOfRemovals(undefined), [], 'an incomplete picture prunes nothing');
});
