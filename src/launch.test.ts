import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..');
const read = (file: string): string => readFileSync(join(ROOT, file), 'utf8');

// The node flags that size V8's heap (docs/performance.md, "Node flags") are part of the product:
// the Dockerfile's ENTRYPOINT is their one source, the bench reads them from there
// (bench/controller.ts), and every other way to run the controller must pass the same ones.
function entrypointFlags(): string[] {
  const line = /^ENTRYPOINT\s+(\[.*\])\s*$/m.exec(read('Dockerfile'))?.[1];
  assert.ok(line, 'the Dockerfile has an ENTRYPOINT in exec form');
  const argv = JSON.parse(line) as string[];
  assert.equal(argv[0], 'node');
  return argv.slice(1).filter((arg) => arg.startsWith('-'));
}

test('npm start runs the controller with the node flags of the image', () => {
  const flags = entrypointFlags();
  assert.ok(flags.length > 0, 'the ENTRYPOINT names its node flags');
  const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string> };
  assert.equal(pkg.scripts['start'], `node ${flags.join(' ')} --import tsx src/main.ts`);
});

test("the chart runs the image's ENTRYPOINT (it sets args, never command)", () => {
  const deployment = read('charts/release-controller/templates/deployment.yaml');
  assert.match(deployment, /^\s+args:$/m);
  assert.doesNotMatch(deployment, /^\s+command:/m);
  assert.doesNotMatch(deployment, /NODE_OPTIONS/);
});

test('the docs quote the ENTRYPOINT as it is', () => {
  const quoted = `node ${entrypointFlags().join(' ')} dist/main.js`;
  for (const doc of ['docs/deploy.md', 'README.md']) {
    // Markdown wraps lines inside a code span; compare with every run of white space as one space.
    assert.ok(read(doc).replace(/\s+/g, ' ').includes(quoted), `${doc} quotes \`${quoted}\``);
  }
});
