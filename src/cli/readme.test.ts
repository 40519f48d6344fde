import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { envName, FLAGS } from './flags.ts';

test('the README documents every flag with its environment variable and default', () => {
  const readme = readFileSync(join(import.meta.dirname, '../../README.md'), 'utf8');
  for (const flag of FLAGS) {
    const row = readme.split('\n').find((line) => line.startsWith(`| \`--${flag.name}\` |`));
    assert.ok(row, `README has a row for --${flag.name}`);
    assert.ok(row.includes(`\`${envName(flag.name)}\``), `README names ${envName(flag.name)}`);
    if (flag.default !== '' && flag.name !== 'leader-election-namespace') {
      assert.ok(
        row.includes(`\`${flag.default}\``),
        `README gives the default of --${flag.name} (${flag.default})`,
      );
    }
  }
});
