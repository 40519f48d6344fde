import { test } from 'node:test';
import assert from 'node:assert/strict';
import { diffLines, splitLines, unifiedDiff, type Edit } from './unified.ts';

/** apply replays an edit script: the kept and removed lines must give a, the kept and added b. */
function replay(edits: Edit[]): { a: string[]; b: string[] } {
  return {
    a: edits.filter((e) => e.op !== '+').map((e) => e.line),
    b: edits.filter((e) => e.op !== '-').map((e) => e.line),
  };
}

test('diffLines finds a shortest edit script', () => {
  const cases: Array<[string, string, number]> = [
    ['', '', 0],
    ['abc', 'abc', 0],
    ['', 'abc', 3],
    ['abc', '', 3],
    ['abcabba', 'cbabac', 5], // Myers' paper: D = 5
    ['abcdef', 'abxdef', 2],
    ['aaaa', 'aaba', 2],
  ];
  for (const [a, b, distance] of cases) {
    const edits = diffLines([...a], [...b]);
    assert.deepEqual(replay(edits), { a: [...a], b: [...b] }, `${a} -> ${b} replays`);
    assert.equal(edits.filter((e) => e.op !== ' ').length, distance, `${a} -> ${b} takes ${distance} edits`);
  }
});

test('diffLines is correct on random inputs, and falls back to remove-all/add-all past its bound', () => {
  let seed = 7;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let i = 0; i < 200; i++) {
    const a = Array.from({ length: Math.floor(random() * 30) }, () => 'xyz'[Math.floor(random() * 3)] ?? '');
    const b = Array.from({ length: Math.floor(random() * 30) }, () => 'xyz'[Math.floor(random() * 3)] ?? '');
    assert.deepEqual(replay(diffLines(a, b)), { a, b }, `random case ${i}`);
  }
  const bounded = diffLines(['h', 'a', 'b', 'c', 't'], ['h', 'x', 'y', 'z', 't'], 2);
  assert.deepEqual(
    bounded.map((e) => `${e.op}${e.line}`),
    [' h', '-a', '-b', '-c', '+x', '+y', '+z', ' t'],
  );
});

test('unifiedDiff prints diff -u hunks with three lines of context', () => {
  const a = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '10', '11', '12'].join('\n') + '\n';
  const b = ['1', '2', '3', '4', 'five', '6', '7', '8', '9', '10', '11', '12', '13'].join('\n') + '\n';
  assert.equal(
    unifiedDiff(a, b, { from: 'live/x', to: 'release/x' }),
    [
      '--- live/x',
      '+++ release/x',
      '@@ -2,7 +2,7 @@',
      ' 2',
      ' 3',
      ' 4',
      '-5',
      '+five',
      ' 6',
      ' 7',
      ' 8',
      '@@ -10,3 +10,4 @@',
      ' 10',
      ' 11',
      ' 12',
      '+13',
      '',
    ].join('\n'),
  );
});

test('unifiedDiff: equal texts give nothing, a new text is one hunk from -0,0, close changes share a hunk', () => {
  assert.equal(unifiedDiff('a\nb\n', 'a\nb\n', { from: 'a', to: 'b' }), '');
  assert.equal(
    unifiedDiff('', 'x\ny\n', { from: '/dev/null', to: 'b' }),
    '--- /dev/null\n+++ b\n@@ -0,0 +1,2 @@\n+x\n+y\n',
  );
  assert.equal(
    unifiedDiff('x\n', '', { from: 'a', to: '/dev/null' }),
    '--- a\n+++ /dev/null\n@@ -1 +0,0 @@\n-x\n',
  );
  const a = 'a\nb\nc\nd\ne\nf\ng\nh\n';
  const b = 'A\nb\nc\nd\ne\nf\ng\nH\n';
  assert.equal(
    unifiedDiff(a, b, { from: 'a', to: 'b' }).match(/^@@/gm)?.length,
    1,
    'six lines apart: one hunk',
  );
  assert.deepEqual(splitLines('a\nb'), ['a', 'b']);
  assert.deepEqual(splitLines(''), []);
});
