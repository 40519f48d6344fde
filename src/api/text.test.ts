import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { jsonStringBytes, listWithMore, plural, truncateJson, withoutControls } from './text.ts';

describe('plural and listWithMore', () => {
  test('count nouns and bound lists', () => {
    assert.equal(plural(1, 'object'), '1 object');
    assert.equal(plural(3, 'object'), '3 objects');
    assert.equal(listWithMore(['a', 'b', 'c', 'd', 'e'], 3), 'a; b; c; and 2 more');
    assert.equal(listWithMore(['a', 'b'], 3), 'a; b');
  });
});

describe('jsonStringBytes', () => {
  const cases: Array<[string, string, number]> = [
    ['empty', '', 2],
    ['ASCII', 'abc', 5],
    ['quote and backslash', '"\\', 6],
    ['newline, return, tab', '\n\r\t', 8],
    ['other control characters are \\u00XX', '\u0001\b\f', 2 + 18],
    ['Go escapes <, > and & for HTML', 'a<b>&', 2 + 2 + 18],
    ['two-byte UTF-8', 'é', 4],
    ['three-byte UTF-8', '状', 5],
    ['a surrogate pair is one four-byte character', '😀', 6],
    ['U+2028 and U+2029 are escaped', '\u2028\u2029', 2 + 12],
    ['a lone surrogate is sent as U+FFFD', '\ud800x', 2 + 3 + 1],
  ];
  for (const [name, text, bytes] of cases) {
    test(name, () => assert.equal(jsonStringBytes(text), bytes));
  }

  test('agrees with JSON.stringify where Go and JavaScript escape alike', () => {
    const text = 'resource "cm": ConfigMap/shop/cm: \\ 状態 😀 é\n\tdone';
    assert.equal(jsonStringBytes(text), Buffer.byteLength(JSON.stringify(text)));
  });
});

describe('truncateJson', () => {
  test('text that fits is returned as it is', () => {
    assert.equal(truncateJson('short', 7), 'short');
    assert.equal(truncateJson('', 2), '');
  });

  const cases: Array<[string, string, number]> = [
    ['ASCII', 'x'.repeat(1500), 200],
    ['escaped characters weigh six bytes', '<&>'.repeat(500), 200],
    ['multi-byte characters', '状態'.repeat(500), 200],
    ['surrogate pairs are never split', '😀'.repeat(500), 201],
    ['a tight limit', 'y'.repeat(100), 50],
  ];
  for (const [name, text, max] of cases) {
    test(`cuts to the limit and says how much was cut: ${name}`, () => {
      const cut = truncateJson(text, max);
      assert.ok(jsonStringBytes(cut) <= max, `${jsonStringBytes(cut)} bytes > ${max}`);
      const m = /^([^]*)… \(truncated: (\d+) more characters\)$/u.exec(cut);
      assert.ok(m, `ends with the note: ${cut}`);
      const head = m[1] ?? '';
      assert.ok(text.startsWith(head), 'the head is the start of the text');
      assert.equal([...head].length + Number(m[2]), [...text].length, 'kept + cut = all characters');
      assert.ok(jsonStringBytes(cut) > max - 8, 'no more is cut than needed');
      assert.doesNotMatch(head, /[\ud800-\udbff]$/, 'no half of a surrogate pair is left');
    });
  }

  test('when not even the note fits, nothing is left', () => {
    assert.equal(truncateJson('x'.repeat(100), 10), '');
  });
});

void test('withoutControls turns every run of C0 and C1 controls into one space and leaves other text alone', () => {
  assert.equal(withoutControls('ok\u001b]0;pwned\u0007 \u001b[2Jdone\u009b31m'), 'ok ]0;pwned   [2Jdone 31m');
  assert.equal(withoutControls('line\r\nforged'), 'line forged');
  assert.equal(withoutControls('plain ünïcode – text'), 'plain ünïcode – text');
});
