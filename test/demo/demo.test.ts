/**
 * `npm run demo` end to end, under cluster names of its own (DEMO_PREFIX) so it never touches a
 * user's demo: it exits 0 having reported every lifecycle step, leaves the clusters and the
 * controller running, and `--down` ends them all.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { after, describe, test } from 'node:test';
import { isOurController, recordPath, type ControllerRecord } from '../../demo/controller.ts';
import { attach, list, runRoot } from '../../testbed/cluster.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const PREFIX = `rc-demo-test-${process.pid}`;
const DEMO_TIMEOUT_MS = 5 * 60_000;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** demo runs `npx tsx demo/main.ts ARGS` with pipes (not a terminal), as CI would. */
function demo(args: string[] = []): Promise<Run> {
  return new Promise((res, rej) => {
    const child = spawn('npx', ['tsx', 'demo/main.ts', ...args], {
      cwd: ROOT,
      env: { ...process.env, DEMO_PREFIX: PREFIX },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), DEMO_TIMEOUT_MS);
    child.once('error', rej);
    child.once('close', (code) => {
      clearTimeout(timer);
      res({ code, stdout, stderr });
    });
  });
}

function report(run: Run): string {
  return `exit ${run.code}\n--- stdout\n${run.stdout}\n--- stderr\n${run.stderr}`;
}

describe('npm run demo', { timeout: DEMO_TIMEOUT_MS + 120_000 }, () => {
  let downDone = false;
  after(async () => {
    // A failed run leaves its clusters and controller up for inspection; a test must not.
    if (!downDone) await demo(['--down']);
  });

  let controller: ControllerRecord | undefined;

  test('runs the lifecycle to the end and leaves the clusters and the controller running', async () => {
    const run = await demo();
    assert.equal(run.code, 0, report(run));
    const out = run.stdout;
    for (const expected of [
      /Ready: every resource is applied and Healthy in /,
      /^1\. Scale the Deployment from 3 to 5 replicas/m,
      /✓ rolled out to 5\/5 \(health: [A-Za-z >-]*Healthy\)/,
      /^2\. Delete the Service on the data plane/m,
      /✓ Service re-created \(uid \S+ -> \S+\)/,
      /^3\. Remove the Service/m,
      /✓ Service pruned from the data plane and from status/,
      /service: no longer in status/,
      /^4\. Delete the Release/m,
      /Release acme\/customer-service-prod-release is gone/,
      /✓ the Release is gone and prod-data-plane on the data plane is empty/,
      /npm run demo -- --down/,
    ]) {
      assert.match(out, expected, report(run));
    }
    assert.ok(!out.includes('\x1b['), 'no terminal escape sequences when stdout is not a terminal');
    assert.equal(
      (out.match(/^ {4}\$ kubectl /gm) ?? []).length >= 4,
      true,
      'kubectl equivalents are printed',
    );

    const names = (await list()).filter((c) => c.name.startsWith(`${PREFIX}-`));
    assert.deepEqual(
      names.map((c) => [c.name, c.state]),
      [
        [`${PREFIX}-cp`, 'running'],
        [`${PREFIX}-dp`, 'running'],
      ],
    );
    controller = JSON.parse(readFileSync(recordPath(join(runRoot(), PREFIX)), 'utf8')) as ControllerRecord;
    assert.ok(isOurController(controller.pid, controller.kubeconfig), 'the controller keeps running');
  });

  test('--down stops the controller and both clusters and removes their files', async () => {
    const run = await demo(['--down']);
    downDone = true;
    assert.equal(run.code, 0, report(run));
    assert.equal(await attach(`${PREFIX}-cp`), undefined);
    assert.equal(await attach(`${PREFIX}-dp`), undefined);
    assert.deepEqual(
      (await list()).filter((c) => c.name.startsWith(`${PREFIX}-`)),
      [],
      'no demo cluster is listed',
    );
    if (controller)
      assert.ok(!isOurController(controller.pid, controller.kubeconfig), 'the controller ended');

    const again = await demo(['--down']);
    assert.equal(again.code, 0, report(again));
    assert.match(again.stdout, /Nothing to stop/);
  });

  test('--help explains the demo and how to stop it', async () => {
    const run = await demo(['--help']);
    assert.equal(run.code, 0, report(run));
    assert.match(run.stdout, /--down/);
    const bad = await demo(['--bogus']);
    assert.equal(bad.code, 2, report(bad));
    assert.match(bad.stderr, /unknown argument --bogus/);
  });
});
