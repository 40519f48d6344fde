/**
 * bin/kubectl-release, the launcher, run as a child process from folders shaped like a checkout
 * after `npm ci` (the project's own Node.js in node_modules/node/bin/node) and like an install
 * elsewhere, with package.json's engines.node raised so that this Node.js is "too old".
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';

const BIN = join(import.meta.dirname, '../../bin/kubectl-release');

describe('bin/kubectl-release', () => {
  const dirs: string[] = [];
  after(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  /** layout makes a package folder with the launcher, a package.json and the given files. */
  function layout(pkg: object, files: Record<string, string> = {}): string {
    const dir = mkdtempSync(join(tmpdir(), 'rc-launcher-'));
    dirs.push(dir);
    mkdirSync(join(dir, 'bin'));
    copyFileSync(BIN, join(dir, 'bin', 'kubectl-release'));
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module', ...pkg }));
    for (const [file, text] of Object.entries(files)) {
      mkdirSync(join(dir, file, '..'), { recursive: true });
      writeFileSync(join(dir, file), text);
      if (file.endsWith('/bin/node')) chmodSync(join(dir, file), 0o755);
    }
    return dir;
  }

  const launch = (dir: string, args: string[]) =>
    spawnSync(process.execPath, [join(dir, 'bin', 'kubectl-release'), ...args], { encoding: 'utf8' });

  test("in a checkout it runs on the project's own Node.js, with the same arguments and exit code", () => {
    const dir = layout(
      { engines: { node: '>=999.0' }, devDependencies: { node: '999.0.0' } },
      { 'node_modules/node/bin/node': '#!/bin/sh\necho "own node: $*"\nexit 7\n' },
    );
    const out = launch(dir, ['get', '-A']);
    assert.equal(out.stdout, `own node: ${join(dir, 'bin', 'kubectl-release')} get -A\n`, out.stderr);
    assert.equal(out.status, 7);
  });

  test('installed elsewhere on a Node.js older than engines.node: one line saying what it needs', () => {
    const dir = layout({ engines: { node: '>=999.0' } });
    const out = launch(dir, ['get']);
    assert.equal(
      out.stderr,
      `kubectl-release: needs Node.js 999.0 or newer, but ${process.execPath} is ${process.version}; ` +
        'install Node.js 999.0 or newer and put it first on PATH\n',
    );
    assert.equal(out.stdout, '');
    assert.equal(out.status, 1);
  });

  test('a checkout without npm ci: one line that says npm ci brings the Node.js it needs', () => {
    const dir = layout(
      { engines: { node: '>=999.0' }, devDependencies: { node: '999.0.0' } },
      { 'src/plugin/main.ts': 'export {};\n' },
    );
    const out = launch(dir, ['get']);
    assert.equal(
      out.stderr,
      `kubectl-release: needs Node.js 999.0 or newer, but ${process.execPath} is ${process.version}; ` +
        `run \`npm ci\` in ${dir}: it installs the project's own Node.js 999.0.0, which the plugin then uses\n`,
    );
    assert.equal(out.status, 1);
  });
});
