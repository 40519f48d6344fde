import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { nodeVersionProblem, requirementOf } from './node-version.ts';

const ROOT = join(import.meta.dirname, '..');
const read = (file: string): string => readFileSync(join(ROOT, file), 'utf8');

test('nodeVersionProblem refuses a Node.js older than engines.node in one line, and accepts newer ones', () => {
  const requirement = { engines: '>=22.12', own: '24.21.0' };
  const cases: [string, boolean][] = [
    ['v20.20.2', false],
    ['v22.11.9', false],
    ['v22.12.0', true],
    ['v22.23.3', true],
    ['v24.21.0', true],
    ['v25.0.0', true],
  ];
  for (const [version, ok] of cases) {
    const problem = nodeVersionProblem('demo/main.ts', version, '/usr/bin/node', requirement, true);
    assert.equal(problem === undefined, ok, `${version}: ${problem}`);
    if (problem !== undefined) {
      assert.ok(!problem.includes('\n'), `one line: ${problem}`);
      assert.ok(problem.startsWith('demo/main.ts: needs Node.js 22.12 or newer'), problem);
      assert.ok(problem.includes(`/usr/bin/node is ${version}`), problem);
      assert.ok(problem.includes('Node.js 24.21.0 that `npm ci` installs'), problem);
    }
  }
  assert.equal(
    nodeVersionProblem('x', 'v22.12.0', 'node', { engines: '>=22.12.1' }, false) !== undefined,
    true,
  );
  assert.equal(nodeVersionProblem('x', 'v22.12.1', 'node', { engines: '>=22.12.1' }, false), undefined);
  assert.equal(
    nodeVersionProblem('x', 'v1.0.0', 'node', { engines: '^22' }, false),
    undefined,
    'unknown form',
  );
});

test('nodeVersionProblem tells an install without sources to install a Node.js, not to run npm ci', () => {
  const problem = nodeVersionProblem(
    'dist/main.js',
    'v20.20.2',
    '/usr/bin/node',
    { engines: '>=22.12' },
    false,
  );
  assert.equal(
    problem,
    'dist/main.js: needs Node.js 22.12 or newer, but /usr/bin/node is v20.20.2; install Node.js 22.12 or newer and put it first on PATH',
  );
});

test("the project's own Node.js is one version everywhere: package.json, install-node.sh, the Dockerfile", () => {
  const requirement = requirementOf(read('package.json'));
  assert.ok(requirement?.own, 'package.json has an exact `node` development dependency');
  assert.match(requirement.own, /^\d+\.\d+\.\d+$/, 'exact version (npm ci must install one known binary)');
  assert.equal(nodeVersionProblem('x', `v${requirement.own}`, 'node', requirement, true), undefined);
  const pkg = JSON.parse(read('package.json')) as { allowScripts?: Record<string, boolean> };
  assert.equal(pkg.allowScripts?.['node'], true, "allowScripts approves the node package's install script");
  assert.match(read('scripts/install-node.sh'), new RegExp(`^NODE_VERSION=${requirement.own}$`, 'm'));
  assert.match(read('Dockerfile'), new RegExp(`^ARG NODE_IMAGE=node:${requirement.own}-`, 'm'));
});
