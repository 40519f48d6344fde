import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { readBuildInfo, UNKNOWN_COMMIT, versionLine } from './buildinfo.ts';

const ROOT = join(import.meta.dirname, '../..');

test("readBuildInfo reads package.json's version, the checkout's commit and the Node.js release", () => {
  const info = readBuildInfo(ROOT);
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  assert.equal(info.version, pkg.version);
  assert.equal(info.node, process.version);
  // A copy of the sources without .git (an unpacked archive) knows no commit.
  const commit = existsSync(join(ROOT, '.git'))
    ? execFileSync('git', ['-C', ROOT, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).trim().slice(0, 12)
    : UNKNOWN_COMMIT;
  assert.equal(info.commit, commit);
  assert.equal(
    versionLine(info),
    `release-controller ${pkg.version} (commit ${commit}, node ${process.version})`,
  );
});

test('readBuildInfo outside a git checkout (the image) says the commit is unknown', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rc-buildinfo-'));
  try {
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ version: '9.8.7' }));
    assert.deepEqual(readBuildInfo(dir), { version: '9.8.7', commit: UNKNOWN_COMMIT, node: process.version });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
