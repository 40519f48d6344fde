import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { jsonEqual } from './object.ts';

describe('jsonEqual', () => {
  test('does not depend on key order, at any depth', () => {
    const a = {
      kind: 'Service',
      metadata: { name: 'web', labels: { b: '2', a: '1' } },
      spec: { ports: [80] },
    };
    const b = {
      spec: { ports: [80] },
      metadata: { labels: { a: '1', b: '2' }, name: 'web' },
      kind: 'Service',
    };
    assert.equal(jsonEqual(a, b), true);
  });

  test('sees a changed, added or removed value at any depth', () => {
    const a = { status: { replicas: 2, conditions: [{ type: 'Available', status: 'True' }] } };
    assert.equal(
      jsonEqual(a, { status: { replicas: 3, conditions: [{ type: 'Available', status: 'True' }] } }),
      false,
    );
    assert.equal(
      jsonEqual(a, { status: { replicas: 2, conditions: [{ type: 'Available', status: 'False' }] } }),
      false,
    );
    assert.equal(
      jsonEqual(a, {
        status: { replicas: 2, ready: 2, conditions: [{ type: 'Available', status: 'True' }] },
      }),
      false,
    );
    assert.equal(jsonEqual(a, { status: { replicas: 2 } }), false);
  });

  test('keeps array order and length, and treats undefined values as absent', () => {
    assert.equal(jsonEqual([1, 2], [2, 1]), false);
    assert.equal(jsonEqual([1, 2], [1, 2, 3]), false);
    assert.equal(jsonEqual({ a: 1, b: undefined }, { a: 1 }), true);
    assert.equal(jsonEqual({ a: 1 }, { a: 1, b: undefined }), true);
    assert.equal(jsonEqual({ a: undefined }, { b: undefined }), true);
  });

  test('tells scalars, null, arrays and objects apart', () => {
    assert.equal(jsonEqual('1', 1), false);
    assert.equal(jsonEqual(null, {}), false);
    assert.equal(jsonEqual({}, null), false);
    assert.equal(jsonEqual([], {}), false);
    assert.equal(jsonEqual({}, []), false);
    assert.equal(jsonEqual(undefined, null), false);
    assert.equal(jsonEqual(3.5, 3.5), true);
    assert.equal(jsonEqual('x"y', 'x"y'), true);
  });
});
