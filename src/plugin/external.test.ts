import { test } from 'node:test';
import assert from 'node:assert/strict';
import { externalFiles, fileName, splitCommand } from './external.ts';
import type { DiffEntry } from './diffview.ts';

const cm = (name: string, data: Record<string, string>) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: 'apps', resourceVersion: '7' },
  data,
});
const ref = (name: string, kind = 'ConfigMap', group = '') => ({
  group,
  version: 'v1',
  kind,
  namespace: 'apps',
  name,
});

test('fileName names files as kubectl diff does, and keeps a name from leaving its folder', () => {
  assert.equal(fileName(ref('web')), 'v1.ConfigMap.apps.web');
  assert.equal(fileName({ ...ref('web', 'Deployment', 'apps') }), 'apps.v1.Deployment.apps.web');
  assert.equal(fileName({ group: '', version: 'v1', kind: 'Namespace', name: '../x' }), 'v1.Namespace..__x');
});

test('externalFiles: both sides per object, an empty file where there is none, Secrets masked, failures left out', () => {
  const entries: DiffEntry[] = [
    {
      ref: ref('changed'),
      action: 'change',
      live: cm('changed', { a: '1' }),
      after: cm('changed', { a: '2' }),
    },
    { ref: ref('new'), action: 'create', after: cm('new', { b: '1' }) },
    { ref: ref('old'), action: 'prune', live: cm('old', {}) },
    { ref: ref('bad'), action: 'error', note: 'refused' },
    {
      ref: ref('token', 'Secret'),
      action: 'change',
      live: { ...cm('token', {}), kind: 'Secret', data: { key: 'b2xk' } },
      after: { ...cm('token', {}), kind: 'Secret', data: { key: 'bmV3' } },
    },
  ];
  const files = externalFiles(entries);
  assert.deepEqual(
    [...files.live.keys()],
    ['v1.ConfigMap.apps.changed', 'v1.ConfigMap.apps.new', 'v1.ConfigMap.apps.old', 'v1.Secret.apps.token'],
  );
  assert.match(files.live.get('v1.ConfigMap.apps.changed') ?? '', /a: "1"/);
  assert.match(files.merged.get('v1.ConfigMap.apps.changed') ?? '', /a: "2"/);
  assert.ok(
    !(files.live.get('v1.ConfigMap.apps.changed') ?? '').includes('resourceVersion'),
    'server fields are left out',
  );
  assert.equal(files.live.get('v1.ConfigMap.apps.new'), '');
  assert.equal(files.merged.get('v1.ConfigMap.apps.old'), '');
  assert.match(files.live.get('v1.Secret.apps.token') ?? '', /key: "\*\*\* \(before\)"/);
  assert.match(files.merged.get('v1.Secret.apps.token') ?? '', /key: "\*\*\* \(after\)"/);
  assert.ok(![...files.merged.values()].some((t) => t.includes('bmV3')), 'no Secret value');
});

test('splitCommand splits on spaces as kubectl does', () => {
  assert.deepEqual(splitCommand('diff -u  -N'), ['diff', '-u', '-N']);
});
