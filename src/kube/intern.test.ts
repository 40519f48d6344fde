import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { StringInterner, TreeInterner } from './intern.ts';

/** copy makes a string equal to s in a new allocation, as JSON.parse does for every value. */
const copy = (s: string): string => (JSON.parse(JSON.stringify([s])) as string[])[0] ?? '';

describe('StringInterner', () => {
  test('returns the first copy of a value for every later equal value', () => {
    const interner = new StringInterner();
    const first = interner.intern(copy('release-controller'));
    assert.equal(interner.intern(copy('release-controller')), first);
    assert.equal(interner.size, 1);
  });

  test('replaces the string values of a tree in place, keeping values that are unique to an object', () => {
    const interner = new StringInterner();
    const a = JSON.parse(
      '{"metadata":{"uid":"u-1","labels":{"managed-by":"release-controller"}},"spec":{"ports":["http"]}}',
    ) as Record<string, unknown>;
    const b = JSON.parse(
      '{"metadata":{"uid":"u-1","labels":{"managed-by":"release-controller"}},"spec":{"ports":["http"]}}',
    ) as Record<string, unknown>;
    interner.internValues(a);
    interner.internValues(b);
    assert.deepEqual(a, b);
    // managed-by, http: two strings remembered; the uid (a key of UNIQUE_KEYS) is not.
    assert.equal(interner.size, 2);
  });

  test('holds at most two generations of its capacity; a value met again moves to the new one', () => {
    const interner = new StringInterner(3);
    for (let i = 0; i < 10; i++) {
      interner.intern(`name-${i}`);
      // A value every object has (a label value) is met between the unique ones.
      interner.intern('release-controller');
    }
    assert.ok(interner.size <= 6, `size ${interner.size}`);
    // Six more unique names push every generation out twice over; only what was met again is kept.
    for (let i = 10; i < 16; i++) {
      interner.intern(`name-${i}`);
      if (i % 2 === 0) interner.intern('release-controller');
    }
    assert.ok(interner.knows('release-controller'), 'a value met in every generation is kept');
    assert.ok(!interner.knows('name-0'), 'a value met once is forgotten');
    assert.ok(interner.size <= 6, `size ${interner.size}`);
  });

  test('leaves long strings and frozen trees alone', () => {
    const interner = new StringInterner(10, 4);
    interner.intern('a-long-value');
    assert.equal(interner.size, 0);
    const frozen = Object.freeze({ name: 'x' });
    interner.internValues(frozen);
    assert.equal(interner.size, 0);
  });
});

describe('TreeInterner', () => {
  test('shares one frozen copy between equal trees', () => {
    const trees = new TreeInterner();
    const a = trees.intern(JSON.parse('{"f:metadata":{"f:labels":{"f:app":{}}}}') as object);
    const b = trees.intern(JSON.parse('{"f:metadata":{"f:labels":{"f:app":{}}}}') as object);
    assert.equal(a, b);
    assert.ok(Object.isFrozen(a), 'the shared tree is frozen');
    assert.ok(Object.isFrozen((a as Record<string, object>)['f:metadata']), 'and so are its subtrees');
    assert.throws(() => {
      (a as Record<string, unknown>)['f:spec'] = {};
    }, TypeError);
  });

  test('keeps different trees apart, and passes values that are not trees through', () => {
    const trees = new TreeInterner();
    const a = trees.intern({ 'f:data': { 'f:a': {} } });
    const b = trees.intern({ 'f:data': { 'f:b': {} } });
    assert.notEqual(a, b);
    assert.deepEqual(b, { 'f:data': { 'f:b': {} } });
    assert.equal(trees.intern(undefined), undefined);
    assert.equal(trees.size, 2);
  });
});
