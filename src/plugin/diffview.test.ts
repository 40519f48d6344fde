import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  cleanForDiff,
  countActions,
  hasDifferences,
  maskSecrets,
  objectYaml,
  renderDiff,
  type DiffEntry,
} from './diffview.ts';
import { palette, stripAnsi } from './style.ts';

const live = {
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: {
    name: 'cfg',
    namespace: 'shop',
    uid: 'u',
    resourceVersion: '41',
    generation: 1,
    creationTimestamp: '2026-05-01T00:00:00Z',
    managedFields: [{ manager: 'release-controller', operation: 'Apply' }],
    labels: { a: 'b' },
  },
  data: { key: 'value', other: 'same' },
};
const after = {
  ...live,
  metadata: { ...live.metadata, resourceVersion: '42', managedFields: [{ manager: 'x' }] },
  data: { other: 'same', key: 'changed' },
};
const ref = { group: '', version: 'v1', kind: 'ConfigMap', namespace: 'shop', name: 'cfg' };

test('cleanForDiff drops what every write rewrites; objectYaml sorts keys', () => {
  assert.deepEqual(cleanForDiff(live), {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'cfg', namespace: 'shop', labels: { a: 'b' } },
    data: { key: 'value', other: 'same' },
  });
  assert.equal(
    objectYaml({ kind: 'K', apiVersion: 'v1', metadata: { name: 'n', resourceVersion: '1' } }),
    'apiVersion: v1\nkind: K\nmetadata:\n  name: n\n',
  );
  assert.equal(objectYaml(undefined), '');
});

test('renderDiff: a unified diff per created, changed and pruned object, a line for the others, and a summary', () => {
  const entries: DiffEntry[] = [
    { id: 'cfg', ref, action: 'change', live, after },
    { id: 'same', ref: { ...ref, name: 'same' }, action: 'unchanged', live, after: live },
    {
      id: 'new',
      ref: { ...ref, name: 'new' },
      action: 'create',
      after: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'new' } },
    },
    {
      id: 'old',
      ref: { ...ref, name: 'old' },
      action: 'prune',
      live: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'old' } },
    },
    { id: 'bad', ref: { ...ref, name: 'bad' }, action: 'error', note: 'Invalid: data.x: must be a string' },
    { id: 'kept', ref: { ...ref, name: 'kept' }, action: 'retain', note: 'openchoreo.dev/prune: Disabled' },
  ];
  const text = renderDiff('acme/web', entries, palette(false));
  assert.equal(
    text,
    [
      'ConfigMap shop/cfg (id cfg): changed',
      '--- live/v1/ConfigMap/shop/cfg',
      '+++ release/v1/ConfigMap/shop/cfg',
      '@@ -1,6 +1,6 @@',
      ' apiVersion: v1',
      ' data:',
      '-  key: value',
      '+  key: changed',
      '   other: same',
      ' kind: ConfigMap',
      ' metadata:',
      'ConfigMap shop/new (id new): created',
      '--- /dev/null',
      '+++ release/v1/ConfigMap/shop/new',
      '@@ -0,0 +1,4 @@',
      '+apiVersion: v1',
      '+kind: ConfigMap',
      '+metadata:',
      '+  name: new',
      'ConfigMap shop/old (id old): pruned',
      '--- live/v1/ConfigMap/shop/old',
      '+++ /dev/null',
      '@@ -1,4 +0,0 @@',
      '-apiVersion: v1',
      '-kind: ConfigMap',
      '-metadata:',
      '-  name: old',
      'ConfigMap shop/bad (id bad): would fail: Invalid: data.x: must be a string',
      'ConfigMap shop/kept (id kept): retained (not pruned): openchoreo.dev/prune: Disabled',
      'Release acme/web: 1 to create, 1 to change, 1 unchanged, 1 to prune, 1 retained, 1 failing',
      '',
    ].join('\n'),
  );
  const coloured = renderDiff('acme/web', entries, palette(true));
  assert.ok(coloured.includes('\u001b[32m+  key: changed\u001b[0m'), 'added lines are green');
  assert.ok(coloured.includes('\u001b[31m-  key: value\u001b[0m'), 'removed lines are red');
  assert.ok(coloured.includes('\u001b[36m@@ -1,6 +1,6 @@\u001b[0m'), 'hunk headers are cyan');
  assert.equal(stripAnsi(coloured), text);
  assert.deepEqual(countActions(entries), {
    create: 1,
    change: 1,
    unchanged: 1,
    prune: 1,
    retain: 1,
    skip: 0,
    error: 1,
  });
  assert.equal(hasDifferences(entries), true);
  assert.equal(
    hasDifferences([entries[1]!, entries[5]!]),
    false,
    'unchanged and retained are no differences',
  );
});

void test('maskSecrets hides Secret values as kubectl diff does, marking the keys that change', () => {
  const ref = { group: '', version: 'v1', kind: 'Secret', namespace: 'apps', name: 's' };
  const secret = (data: Record<string, string>) => ({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 's', namespace: 'apps' },
    data,
  });
  const masked = maskSecrets({
    ref,
    action: 'change',
    live: secret({ same: 'c2FtZQ==', changed: 'b2xk', gone: 'eA==' }),
    after: secret({ same: 'c2FtZQ==', changed: 'bmV3', added: 'eQ==' }),
  });
  assert.deepEqual((masked.live as { data: unknown }).data, {
    same: '***',
    changed: '*** (before)',
    gone: '***',
  });
  assert.deepEqual((masked.after as { data: unknown }).data, {
    same: '***',
    changed: '*** (after)',
    added: '***',
  });
  const text = renderDiff('apps/r', [masked], palette(false));
  for (const value of ['c2FtZQ==', 'b2xk', 'bmV3', 'eA==', 'eQ=='])
    assert.ok(!text.includes(value), `${value} is hidden`);
  assert.match(text, /-\s+changed: "\*\*\* \(before\)"/);
  assert.match(text, /\+\s+changed: "\*\*\* \(after\)"/);
  const cm = { ref: { ...ref, kind: 'ConfigMap' }, action: 'change' as const, live: secret({ a: 'b' }) };
  assert.equal(maskSecrets(cm), cm, 'other kinds are left alone');
});
