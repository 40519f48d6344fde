import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../api/object.ts';
import { diffSnapshot } from './snapshot.ts';

function obj(
  name: string,
  rv: string | undefined,
  uid = `uid-${name}`,
  data?: Record<string, string>,
): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace: 'ns', uid, ...(rv === undefined ? {} : { resourceVersion: rv }) },
    ...(data ? { data } : {}),
  };
}

function snapshot(...objects: KubeObject[]): Map<string, KubeObject> {
  return new Map(objects.map((o) => [`ns/${o.metadata.name}`, o]));
}

function summary(changes: ReturnType<typeof diffSnapshot>): string[] {
  return changes.map(
    (c) =>
      `${c.type} ${c.obj.metadata.name} ${c.obj.metadata.uid}${c.old ? ` (was ${c.old.metadata.resourceVersion ?? '-'})` : ''}`,
  );
}

void describe('diffSnapshot', () => {
  const a1 = obj('a', '1');
  const table: Array<{ name: string; before: KubeObject[]; after: KubeObject[]; want: string[] }> = [
    { name: 'nothing to nothing', before: [], after: [], want: [] },
    {
      name: 'first list: everything added',
      before: [],
      after: [a1, obj('b', '2')],
      want: ['added a uid-a', 'added b uid-b'],
    },
    { name: 'the same object again: nothing', before: [a1], after: [a1], want: [] },
    {
      name: 'an equal copy with the same resourceVersion: nothing',
      before: [a1],
      after: [obj('a', '1')],
      want: [],
    },
    {
      name: 'a new resourceVersion: updated, with the old one',
      before: [a1],
      after: [obj('a', '7')],
      want: ['updated a uid-a (was 1)'],
    },
    {
      name: 'gone from the list: deleted, as last seen',
      before: [a1, obj('b', '2')],
      after: [a1],
      want: ['deleted b uid-b (was 2)'],
    },
    {
      name: 'deleted and created again under the same name: deleted then added',
      before: [a1],
      after: [obj('a', '9', 'uid-a2')],
      want: ['deleted a uid-a (was 1)', 'added a uid-a2'],
    },
    {
      name: 'deletions come before additions',
      before: [a1],
      after: [obj('b', '3')],
      want: ['deleted a uid-a (was 1)', 'added b uid-b'],
    },
    {
      name: 'no resourceVersion: compared by content',
      before: [obj('a', undefined, 'u', { k: '1' })],
      after: [obj('a', undefined, 'u', { k: '2' })],
      want: ['updated a u (was -)'],
    },
    {
      name: 'no resourceVersion and the same content: nothing',
      before: [obj('a', undefined, 'u', { k: '1' })],
      after: [obj('a', undefined, 'u', { k: '1' })],
      want: [],
    },
  ];
  for (const row of table) {
    void test(row.name, () => {
      assert.deepEqual(summary(diffSnapshot(snapshot(...row.before), snapshot(...row.after))), row.want);
    });
  }
});
