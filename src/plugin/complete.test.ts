import { test } from 'node:test';
import assert from 'node:assert/strict';
import { completions, type Lister } from './complete.ts';

const asked: Array<[string, string | undefined]> = [];
const list: Lister = (what, namespace) => {
  asked.push([what, namespace]);
  return Promise.resolve(what === 'namespaces' ? ['acme', 'default'] : ['shop', 'web', 'worker']);
};

test('completions offers commands, then Release names of the namespace typed, in Cobra form', async () => {
  assert.equal(await completions(['su'], list), 'suspend\n:4\n');
  assert.equal(await completions(['tree', '-n', 'acme', 'w'], list), 'web\nworker\n:4\n');
  assert.deepEqual(asked.at(-1), ['releases', 'acme']);
  assert.equal(await completions(['get', '--namespace=default', ''], list), 'shop\nweb\nworker\n:4\n');
  assert.deepEqual(asked.at(-1), ['releases', 'default']);
  assert.equal(await completions(['tree', 'web', ''], list), ':4\n', 'one name only');
  assert.equal(await completions(['diff', ''], list), ':4\n', 'diff takes a file, not a name');
});

test('completions offers flag values and flags', async () => {
  assert.equal(await completions(['get', '-n', 'a'], list), 'acme\n:4\n');
  assert.equal(await completions(['get', '-o', ''], list), 'json\nyaml\nwide\nname\nsummary-json\n:4\n');
  assert.equal(await completions(['tree', 'web', '-o', ''], list), 'json\nyaml\n:4\n');
  assert.equal(await completions(['diff', '-f', ''], list), ':0\n', 'files for -f');
  assert.equal(await completions(['get', '--w'], list), '--watch\n:4\n');
  assert.equal(await completions(['wait', 'web', '--f'], list), '--for\n:4\n');
});
