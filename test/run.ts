/**
 * Integration test runner: starts the shared control-plane (plain) and data-plane (full) clusters
 * once, runs every test/**\/*.test.ts file one after another against them, and ends the clusters.
 * Files that need a cluster of their own (fault tests) start it themselves.
 *
 *   npm run test:integration [-- FILE...]
 */
import '../src/node-version.ts'; // first: on a too-old Node.js, one line saying what to do
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { up } from '../testbed/cluster.ts';

const ROOT = resolve(import.meta.dirname, '..');

function testFiles(dir: string): string[] {
  return readdirSync(dir)
    .flatMap((entry) => {
      const path = join(dir, entry);
      if (statSync(path).isDirectory()) return testFiles(path);
      return entry.endsWith('.test.ts') ? [path] : [];
    })
    .sort();
}

const files = process.argv.slice(2).length > 0 ? process.argv.slice(2) : testFiles(join(ROOT, 'test'));
const log = (line: string) => process.stderr.write(`${line}\n`);
const started = performance.now();
log(`integration: starting the shared test clusters (control plane: plain, data plane: full)`);
const [cp, dp] = await Promise.all([
  up(`rc-test-cp-${process.pid}`, { log }),
  up(`rc-test-dp-${process.pid}`, { full: true, log }),
]);
log(
  `integration: clusters ready in ${((performance.now() - started) / 1000).toFixed(1)}s; running ${files.length} files`,
);

let code: number;
try {
  code = await new Promise<number>((res) => {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '--test',
        '--test-reporter=spec',
        '--test-concurrency=1',
        ...files.map((f) => relative(ROOT, f)),
      ],
      { cwd: ROOT, stdio: 'inherit', env: { ...process.env, RC_TEST_CP: cp.name, RC_TEST_DP: dp.name } },
    );
    child.on('exit', (c, signal) => res(c ?? (signal ? 1 : 0)));
  });
} finally {
  await Promise.all([cp.down(), dp.down()]);
}
log(`integration: done in ${((performance.now() - started) / 1000).toFixed(1)}s`);
process.exit(code);
