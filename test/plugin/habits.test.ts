/**
 * kubectl's habits in `kubectl release` on the test bed (issue 31, item 7): the real executable
 * through kubectl on PATH against Releases the controller applied: get NAME, -o yaml|json|name|wide,
 * -l, -w on get and tree, wait with progress, reconcile, suspend and resume (the controller holds
 * a suspended Release: nothing written or pruned, drift reported), version, completion through
 * kubectl's plugin completion, one-line usage errors, one not-found answer, a stale status marked,
 * and KUBECTL_EXTERNAL_DIFF.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parse, stringify } from 'yaml';
import { Annotations, API_VERSION } from '../../src/api/v1alpha1/constants.ts';
import type { Release } from '../../src/api/v1alpha1/schema.ts';
import { eventually } from '../support/eventually.ts';
import {
  condition,
  configMap,
  getRelease,
  releaseObject,
  uniqueName,
  waitReady,
} from '../support/fixtures.ts';
import { integrationSuite } from '../support/suite.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const BIN = join(ROOT, 'bin', 'kubectl-release');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

describe('kubectl release: kubectl habits, suspend, resume, reconcile', () => {
  const suite = integrationSuite({ credentials: 'secret' });
  let env: Record<string, string>;
  let namespace: string;
  let target: string;
  let release: Release;

  /** run runs a program with PATH holding the plugin's folder, node's and the test bed's kubectl. */
  const run = (file: string, args: string[], extra: Record<string, string> = {}): Promise<Run> =>
    new Promise((res) => {
      execFile(
        file,
        args,
        { env: { ...env, ...extra }, timeout: 120_000, maxBuffer: 16 * 1024 * 1024 },
        (err, stdout, stderr) =>
          res({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
      );
    });
  const plugin = (args: string[], extra: Record<string, string> = {}) => run(BIN, args, extra);
  const kubectl = (args: string[]) => run(join(suite.clusters.cp.binDir, 'kubectl'), args);

  /** follow starts a long-running plugin command and collects its output until stopped. */
  const follow = (args: string[]) => {
    const child: ChildProcess = spawn(BIN, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out = { text: '' };
    child.stdout?.on('data', (chunk: Buffer) => (out.text += chunk.toString('utf8')));
    const exited = new Promise<void>((res) => child.on('exit', () => res()));
    return {
      out,
      stop: async () => {
        child.kill('SIGTERM');
        await exited;
      },
    };
  };

  /** keyOf reads `data.key` of a ConfigMap on the data plane. */
  const keyOf = async (name: string) =>
    ((await suite.dp.get('v1', 'ConfigMap', target, name))?.['data'] as Record<string, string> | undefined)?.[
      'key'
    ];

  before(async () => {
    const { cp, dp, org } = suite;
    namespace = org.namespace;
    env = {};
    for (const [k, v] of Object.entries(process.env))
      if (v !== undefined && !['KUBECONFIG', 'NO_COLOR', 'FORCE_COLOR', 'KUBECTL_EXTERNAL_DIFF'].includes(k))
        env[k] = v;
    env['PATH'] = [
      join(ROOT, 'bin'),
      dirname(process.execPath),
      suite.clusters.cp.binDir,
      process.env['PATH'] ?? '',
    ].join(':');
    env['HOME'] = mkdtempSync(join(tmpdir(), 'rc-habits-home-'));
    env['KUBECONFIG'] = suite.clusters.cp.kubeconfigPath;
    target = uniqueName('habits-dp');
    await dp.ensureNamespace(target);
    release = releaseObject(org, uniqueName('shop'), [
      configMap('cfg', target, 'cfg'),
      configMap('old', target, 'old'),
    ]);
    release.metadata.labels = { tier: 'front' };
    await cp.create(release);
    await waitReady(cp, org, release.metadata.name);
  });

  after(async () => {
    await suite.dp.delete('v1', 'Namespace', undefined, target);
  });

  test('get NAME, -o yaml|json (the API object), -o name, -o wide, -l, and -o summary-json', async () => {
    const name = release.metadata.name;
    const one = await run(join(suite.clusters.cp.binDir, 'kubectl'), [
      'release',
      'get',
      name,
      '-n',
      namespace,
    ]);
    assert.equal(one.code, 0, one.stderr);
    assert.match(
      one.stdout,
      new RegExp(
        `^NAME +READY +REASON +RESOURCES +DRIFTED +AGE\\n${name} +True +Ready +2 Healthy +0 +\\d+[smh]`,
      ),
    );
    const yaml = parse((await plugin(['get', name, '-n', namespace, '-o', 'yaml'])).stdout) as Release;
    assert.deepEqual([yaml.apiVersion, yaml.kind, yaml.metadata.name], [API_VERSION, 'Release', name]);
    assert.equal(
      (yaml.metadata as Record<string, unknown>)['managedFields'],
      undefined,
      'managedFields left out, as kubectl does',
    );
    assert.equal(condition(yaml, 'Ready')?.status, 'True');
    const list = JSON.parse((await plugin(['get', '-n', namespace, '-o', 'json'])).stdout) as {
      kind: string;
      items: Release[];
    };
    assert.equal(list.kind, 'List');
    assert.ok(
      list.items.some((r) => r.metadata.name === name),
      'the Release is in the List',
    );
    const names = await plugin(['get', '-n', namespace, '-o', 'name', '-l', 'tier=front']);
    assert.equal(names.stdout, `release.openchoreo.dev/${name}\n`);
    const none = await plugin(['get', '-n', namespace, '-l', 'tier=back']);
    assert.equal(none.code, 0);
    assert.match(none.stderr, /No Releases found/);
    const wide = await plugin(['get', name, '-n', namespace, '-o', 'wide']);
    assert.match(wide.stdout, /ENVIRONMENT +GENERATION +MODE\n/);
    assert.match(wide.stdout, new RegExp(`${suite.org.environment} +1/1 +-\\n$`));
    const summary = JSON.parse(
      (await plugin(['get', name, '-n', namespace, '-o', 'summary-json'])).stdout,
    ) as Array<{
      resources: Record<string, number>;
    }>;
    assert.deepEqual(summary[0]?.resources, { Healthy: 2 });
  });

  test('usage errors are one line with a hint; a missing Release is the same answer in every command', async () => {
    const bad = await plugin(['get', '-o', 'table']);
    assert.equal(bad.code, 2);
    assert.equal(
      bad.stderr,
      "error: get -o table is not supported (one of json, yaml, wide, name, summary-json)\nSee 'kubectl release --help' for usage.\n",
    );
    const expected = `error: Release ${namespace}/nope not found (\`kubectl release get -n ${namespace}\` lists the Releases there)\n`;
    for (const argv of [
      ['get', 'nope'],
      ['tree', 'nope'],
      ['events', 'nope'],
      ['wait', 'nope'],
      ['reconcile', 'nope'],
      ['suspend', 'nope'],
      ['resume', 'nope'],
    ]) {
      const r = await plugin([...argv, '-n', namespace]);
      assert.deepEqual([r.code, r.stderr], [1, expected], argv.join(' '));
    }
  });

  test('version, and completion through kubectl (kubectl_complete-release on PATH)', async () => {
    const version = await plugin(['version']);
    assert.match(version.stdout, /^kubectl-release \d+\.\d+\.\d+ \(commit \w+, node v\d+\.\d+\.\d+\)\n$/);
    const commands = await kubectl(['__complete', 'release', 'su']);
    assert.equal(commands.code, 0, commands.stderr);
    assert.match(commands.stdout, /^suspend\n:4\n/);
    const names = await kubectl(['__complete', 'release', 'tree', '-n', namespace, '']);
    assert.match(names.stdout, new RegExp(`^${release.metadata.name}\\n:4\\n`), names.stdout);
  });

  test('suspend holds the Release (nothing written or pruned, drift reported, Suspended); get -w and tree -w follow it; resume applies', async () => {
    const { cp, dp } = suite;
    const name = release.metadata.name;
    const watchGet = follow(['get', '-n', namespace, '-w']);
    const watchTree = follow(['tree', name, '-n', namespace, '-w']);
    try {
      await eventually(() => assert.match(watchTree.out.text, /Ready=True/), {
        description: 'tree -w prints the tree',
      });
      const suspended = await plugin(['suspend', name, '-n', namespace]);
      assert.equal(suspended.code, 0, suspended.stderr);
      assert.match(suspended.stdout, new RegExp(`^release.openchoreo.dev/${name} suspended`));
      const again = await plugin(['suspend', name, '-n', namespace]);
      assert.match(again.stdout, /already suspended \(no change\)/);
      // A spec change and a drift while suspended: neither is applied, the old object is not pruned.
      const edited = await getRelease(cp, namespace, name);
      await cp.patch(API_VERSION, 'Release', namespace, name, {
        spec: {
          resources: [configMap('cfg', target, 'cfg', { key: 'changed' }), configMap('new', target, 'new')],
        },
      });
      await dp.patch('v1', 'ConfigMap', target, 'cfg', { data: { key: 'edited-by-hand' } });
      const held = await eventually(
        async () => {
          const r = await getRelease(cp, namespace, name);
          assert.equal(condition(r, 'Ready')?.reason, 'Suspended');
          assert.ok(
            (r?.status?.observedGeneration ?? 0) > (edited?.metadata.generation ?? 0),
            'the edit is observed',
          );
          return r;
        },
        { description: 'the Release says Suspended for its new spec' },
      );
      assert.match(condition(held, 'Ready')?.message ?? '', /nothing is written or pruned on the data plane/);
      assert.deepEqual(
        held?.status?.resources?.map((r) => [r.id, r.plan?.action]),
        [
          ['cfg', 'Update'],
          ['new', 'Create'],
        ],
        'what resume would do, the hand edit included, is reported',
      );
      assert.equal(await keyOf('cfg'), 'edited-by-hand', 'drift not corrected');
      assert.equal(await dp.get('v1', 'ConfigMap', target, 'new'), undefined, 'nothing created');
      assert.notEqual(await dp.get('v1', 'ConfigMap', target, 'old'), undefined, 'nothing pruned');
      await eventually(() => assert.match(watchGet.out.text, new RegExp(`\\n${name} +False +Suspended `)), {
        description: 'get -w prints the changed row',
      });
      await eventually(() => assert.match(watchTree.out.text, /\n\nRESOURCE .*\n.*Ready=False +Suspended/), {
        description: 'tree -w prints the tree again',
      });
      assert.equal(watchGet.out.text.match(/^NAME /gm)?.length, 1, `one header:\n${watchGet.out.text}`);

      const resumed = await plugin(['resume', name, '-n', namespace]);
      assert.equal(resumed.stdout, `release.openchoreo.dev/${name} resumed\n`);
      const wait = await plugin(['wait', name, '-n', namespace, '--timeout=60s']);
      assert.equal(wait.code, 0, wait.stderr);
      assert.equal(wait.stdout, `release.openchoreo.dev/${name} condition met\n`);
      assert.match(wait.stderr, /^release\/\S+: Ready=/, 'progress on stderr');
      assert.equal(await keyOf('cfg'), 'changed');
      assert.notEqual(await dp.get('v1', 'ConfigMap', target, 'new'), undefined, 'created on resume');
      await eventually(async () => assert.equal(await dp.get('v1', 'ConfigMap', target, 'old'), undefined), {
        description: 'pruned on resume',
      });
    } finally {
      await watchGet.stop();
      await watchTree.stop();
    }
  });

  test('wait prints progress until the condition holds for the current spec; it times out naming what it waited for', async () => {
    const { cp, org } = suite;
    const name = uniqueName('slow');
    await cp.create(
      releaseObject(org, name, [configMap('cfg', target, `${name}-cfg`)], {
        annotations: { [Annotations.applyMode]: 'DryRun' },
      }),
    );
    const timedOut = await plugin(['wait', name, '-n', namespace, '--timeout=3s']);
    assert.equal(timedOut.code, 1);
    assert.match(
      timedOut.stderr,
      /error: timed out waiting for Ready=True on release\/\S+ \(last: Ready=False Previewed: dry run/,
    );
    const previewed = await plugin(['wait', name, '-n', namespace, '--for=condition=Ready=false']);
    assert.equal(previewed.code, 0, previewed.stderr);
    assert.match(previewed.stderr, /Ready=False Previewed:/);
  });

  test('reconcile asks for a pass and waits for the controller to handle it', async () => {
    const name = release.metadata.name;
    const r = await plugin(['reconcile', name, '-n', namespace]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trimEnd().split('\n');
    assert.match(
      lines[0] ?? '',
      new RegExp(
        `^release.openchoreo.dev/${name} reconcile requested \\(openchoreo.dev/reconcile-requested-at: \\S+Z\\)$`,
      ),
    );
    assert.match(lines[1] ?? '', new RegExp(`^release.openchoreo.dev/${name} reconciled: Ready=True`));
    const stored = await getRelease(suite.cp, namespace, name);
    assert.equal(
      stored?.status?.lastHandledReconcileAt,
      stored?.metadata.annotations?.[Annotations.reconcileRequestedAt],
    );
  });

  test('get marks a status written for an older generation as stale', async () => {
    const { cp, org } = suite;
    const name = uniqueName('stale');
    await cp.create(releaseObject(org, name, [configMap('cfg', target, `${name}-cfg`)], { interval: '1h' }));
    const ready = await waitReady(cp, org, name);
    // The controller does not wake for status writes: the status stays one generation behind.
    await cp.patch(
      API_VERSION,
      'Release',
      namespace,
      name,
      { status: { observedGeneration: (ready.metadata.generation ?? 1) - 1 } },
      { subresource: 'status' },
    );
    const r = await plugin(['get', name, '-n', namespace]);
    assert.match(r.stdout, new RegExp(`\\n${name} +True +Ready \\(stale\\) `));
    assert.match(r.stderr, /^\(stale\): the status is of an older generation of the spec/);
  });

  test('diff honours KUBECTL_EXTERNAL_DIFF: the program gets a folder of live objects and one of the result', async () => {
    const edited: Release = structuredClone(
      await getRelease(suite.cp, namespace, release.metadata.name),
    ) as Release;
    edited.spec.resources = [
      configMap('cfg', target, 'cfg', { key: 'external' }),
      ...(edited.spec.resources ?? []).slice(1),
    ];
    const file = join(mkdtempSync(join(tmpdir(), 'rc-habits-')), 'release.yaml');
    writeFileSync(file, stringify({ ...edited, status: undefined }));
    const r = await plugin(['diff', '-f', file], { KUBECTL_EXTERNAL_DIFF: 'diff -u -N' });
    assert.equal(r.code, 1, `exit code 1 means differences:\n${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, new RegExp(`^--- \\S*LIVE-\\w+/v1\\.ConfigMap\\.${target}\\.cfg`, 'm'));
    assert.match(r.stdout, new RegExp(`^\\+\\+\\+ \\S*MERGED-\\w+/v1\\.ConfigMap\\.${target}\\.cfg`, 'm'));
    assert.match(r.stdout, /^- {2}key: changed\n\+ {2}key: external$/m);
  });
});
