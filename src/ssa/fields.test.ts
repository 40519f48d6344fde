import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { changedFields, missingFields, owningManager, parsePointer, removeFields } from './fields.ts';

const segments = (pointers: string[]) =>
  pointers.map((p) => {
    const s = parsePointer(p);
    assert.ok(Array.isArray(s), `${p} parses`);
    return s;
  });

void describe('parsePointer', () => {
  void test('splits and unescapes, and says what is wrong with a bad pointer', () => {
    assert.deepEqual(parsePointer('/metadata/annotations/example.com~1x'), [
      'metadata',
      'annotations',
      'example.com/x',
    ]);
    assert.deepEqual(parsePointer('/a~0b'), ['a~b']);
    assert.equal(
      parsePointer('spec/replicas'),
      '"spec/replicas" is not a JSON pointer (it must start with "/")',
    );
    assert.equal(parsePointer('/spec//x'), '"/spec//x" has an empty segment');
    assert.equal(parsePointer('/'), '"/" has an empty segment');
    assert.equal(parsePointer('/a~2'), '"/a~2" has an invalid escape (only ~0 and ~1)');
  });
});

void describe('removeFields', () => {
  const deployment = {
    metadata: { name: 'web', annotations: { keep: '1', 'example.com/x': '2' } },
    spec: {
      replicas: 3,
      template: { spec: { containers: [{ name: 'a', image: 'a:1', resources: { cpu: 1 } }, { name: 'b' }] } },
    },
  };

  void test('removes map keys and fields inside list items, copying only what it changes', () => {
    const out = removeFields(
      deployment,
      segments([
        '/spec/replicas',
        '/metadata/annotations/example.com~1x',
        '/spec/template/spec/containers/0/resources',
      ]),
    );
    assert.deepEqual(out, {
      metadata: { name: 'web', annotations: { keep: '1' } },
      spec: { template: { spec: { containers: [{ name: 'a', image: 'a:1' }, { name: 'b' }] } } },
    });
    assert.equal(deployment.spec.replicas, 3, 'the input is not changed');
    assert.equal(out.metadata, out.metadata);
  });

  void test('a pointer ending on an index drops the element; several indices of one list at once', () => {
    const out = removeFields({ l: [0, 1, 2, 3] }, segments(['/l/1', '/l/3']));
    assert.deepEqual(out, { l: [0, 2] });
  });

  void test('pointers that do not exist change nothing', () => {
    const out = removeFields(
      deployment,
      segments(['/spec/paused', '/spec/replicas/x', '/spec/template/spec/containers/9']),
    );
    assert.deepEqual(out, deployment);
  });
});

void describe('missingFields and owningManager', () => {
  const ours = {
    'f:metadata': { 'f:labels': { '.': {}, 'f:app': {}, 'f:tier': {} } },
    'f:spec': {
      'f:replicas': {},
      'f:template': {
        'f:spec': { 'f:containers': { 'k:{"name":"main"}': { '.': {}, 'f:image': {}, 'f:name': {} } } },
      },
    },
  };

  void test('lists the missing leaves, also under a map gone as a whole, keyed list items by their keys', () => {
    const now = {
      'f:metadata': { 'f:labels': { '.': {}, 'f:app': {} } },
      'f:spec': {
        'f:template': { 'f:spec': { 'f:containers': { 'k:{"name":"main"}': { '.': {}, 'f:name': {} } } } },
      },
    };
    assert.deepEqual(missingFields(ours, now), [
      '/metadata/labels/tier',
      '/spec/replicas',
      '/spec/template/spec/containers/[name=main]/image',
    ]);
    assert.deepEqual(missingFields(ours, ours), []);
    assert.deepEqual(missingFields(ours, { 'f:spec': ours['f:spec'] }), [
      '/metadata/labels/app',
      '/metadata/labels/tier',
    ]);
    assert.deepEqual(missingFields(ours, {}, 1), ['/metadata/labels/app']);
  });

  void test('names the manager that now holds a missing field, or none when it was removed', () => {
    const others = [
      { manager: 'kubectl-edit', fields: { 'f:spec': { 'f:replicas': {} } } },
      {
        manager: 'mutator',
        fields: {
          'f:spec': {
            'f:template': { 'f:spec': { 'f:containers': { 'k:{"name":"main"}': { 'f:image': {} } } } },
          },
        },
      },
    ];
    assert.equal(owningManager('/spec/replicas', others, ours), 'kubectl-edit');
    assert.equal(owningManager('/spec/template/spec/containers/[name=main]/image', others, ours), 'mutator');
    assert.equal(owningManager('/metadata/labels/tier', others, ours), undefined);
  });
});

void describe('changedFields', () => {
  void test('lists changed, added and removed values, not server bookkeeping or status', () => {
    const live = {
      metadata: { name: 'a', resourceVersion: '1', generation: 1, labels: { x: '1' } },
      data: { a: '1', b: '2' },
      list: [1, 2],
      status: { phase: 'Active' },
    };
    const after = {
      metadata: { name: 'a', resourceVersion: '2', generation: 2, labels: { x: '1', y: '2' } },
      data: { a: '9' },
      list: [1, 2, 3],
      status: { phase: 'Other' },
    };
    assert.deepEqual(changedFields(after, live), ['/metadata/labels/y', '/data/a', '/data/b', '/list']);
    assert.deepEqual(changedFields(live, live), []);
  });
});
