import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { printNames, printObjects } from './output.ts';

const release = (name: string) => ({
  apiVersion: 'openchoreo.dev/v1alpha1',
  kind: 'Release',
  metadata: { name, namespace: 'acme', managedFields: [{ manager: 'kubectl' }] },
  spec: { environmentName: 'prod' },
});

test('printObjects prints one named Release as itself, without managedFields', () => {
  const json = JSON.parse(printObjects([release('web')], 'json', true)) as ReturnType<typeof release>;
  assert.equal(json.kind, 'Release');
  assert.equal(json.metadata.name, 'web');
  assert.ok(!('managedFields' in json.metadata), 'no managedFields');
  assert.deepEqual(
    parse(printObjects([release('web')], 'yaml', true)),
    JSON.parse(printObjects([release('web')], 'json', true)),
  );
});

test('printObjects prints a listing as a v1 List, as kubectl does', () => {
  const list = parse(printObjects([release('a'), release('b')], 'yaml', false)) as {
    apiVersion: string;
    kind: string;
    items: Array<ReturnType<typeof release>>;
  };
  assert.deepEqual([list.apiVersion, list.kind], ['v1', 'List']);
  assert.deepEqual(
    list.items.map((i) => i.metadata.name),
    ['a', 'b'],
  );
  assert.ok(
    list.items.every((i) => !('managedFields' in i.metadata)),
    'no managedFields',
  );
  assert.deepEqual((JSON.parse(printObjects([], 'json', false)) as { items: unknown[] }).items, []);
});

test('printNames prints resource.group/name, one a line', () => {
  assert.equal(
    printNames([release('a'), release('b')]),
    'release.openchoreo.dev/a\nrelease.openchoreo.dev/b\n',
  );
});
