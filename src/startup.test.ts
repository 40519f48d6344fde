import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const SRC = import.meta.dirname;

// Packages an idle controller does not need, each a few MiB of RSS once loaded (docs/performance.md,
// "Idle process"): schemas (typebox, used only to generate CRDs), the YAML parser (loaded with the
// first kubeconfig), the HealthRule engines (loaded in their worker with the first HealthRule).
const LAZY = ['typebox', 'yaml', 'wasmoon', '@marcbachmann/cel-js', '@kubernetes/client-node'];

test("the controller's start-up modules load none of the packages it needs only later", () => {
  // Every module src/main.ts imports (main.ts itself would start the controller).
  const imports = [
    ...readFileSync(join(SRC, 'main.ts'), 'utf8').matchAll(/^import (?!type )[^;]*'(\.[^']+)';$/gm),
  ].map((m) => pathToFileURL(join(SRC, m[1]!)).href);
  assert.ok(imports.length > 10, `main.ts imports: ${imports.join(', ')}`);
  const script = `
    import { registerHooks } from 'node:module';
    const loaded = [];
    registerHooks({ load(url, context, next) { loaded.push(url); return next(url, context); } });
    for (const url of ${JSON.stringify(imports)}) await import(url);
    const undici = process.moduleLoadList.filter((m) => m.includes('undici'));
    process.stdout.write(JSON.stringify({ loaded, undici }));
  `;
  const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: join(SRC, '..'),
    encoding: 'utf8',
  });
  assert.equal(run.status, 0, run.stderr);
  const { loaded, undici } = JSON.parse(run.stdout) as { loaded: string[]; undici: string[] };
  // Node's bundled undici: an ES import of node:http loads it (kube/client.ts).
  assert.deepEqual(undici, [], "Node's undici is loaded at start");
  for (const pkg of LAZY) {
    const hits = loaded.filter((url) => url.includes(`/node_modules/${pkg}/`));
    assert.deepEqual(hits.slice(0, 3), [], `${pkg} is loaded at start`);
  }
  assert.ok(
    loaded.some((url) => url.includes('/node_modules/prom-client/')),
    'the hook saw the packages that are loaded at start',
  );
});
