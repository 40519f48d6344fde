/**
 * `kubectl release` facing a hostile data plane and tenant, with the real executable on PATH:
 * terminal escapes in a data plane's condition message reach neither the Release nor the terminal
 * (`tree`, `events`); `diff` masks Secret values as `kubectl diff` does, refuses a DataPlane whose
 * server the controller's default endpoint policy refuses, and refuses a tunnelled DataPlane.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { stringify } from 'yaml';
import type { KubeObject } from '../../src/api/object.ts';
import type { Release } from '../../src/api/v1alpha1/schema.ts';
import { eventually } from '../support/eventually.ts';
import {
  dataPlaneObject,
  environmentObject,
  getRelease,
  releaseObject,
  uniqueName,
  waitReady,
} from '../support/fixtures.ts';
import { integrationSuite } from '../support/suite.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const BIN = join(ROOT, 'bin', 'kubectl-release');
/** HOSTILE is a condition message that retitles the window, clears the screen and rings the bell. */
const HOSTILE = 'disk \u001b]0;pwned\u0007full\u001b[2J\u009b31m now\r\nforged line';
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;

/** run runs the plugin with PATH holding its folder, node's and the test bed's kubectl. */
function run(
  args: string[],
  path: string[],
  stdin = '',
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((res) => {
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) {
      if (v !== undefined && k !== 'KUBECONFIG' && k !== 'NO_COLOR' && k !== 'FORCE_COLOR') env[k] = v;
    }
    env['PATH'] = [...path, process.env['PATH'] ?? ''].join(':');
    env['HOME'] = mkdtempSync(join(tmpdir(), 'rc-plugin-home-'));
    const child = execFile(
      BIN,
      args,
      { env, timeout: 120_000, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) =>
        res({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
    child.stdin?.end(stdin);
  });
}

describe('kubectl release against hostile input', () => {
  const suite = integrationSuite({ credentials: 'secret' });
  const plugin = (args: string[], stdin = '') =>
    run(
      [...args, `--kubeconfig=${suite.clusters.cp.kubeconfigPath}`],
      [join(ROOT, 'bin'), dirname(process.execPath), suite.clusters.cp.binDir],
      stdin,
    );

  test('escape sequences in a data plane condition message reach neither the Release nor tree and events', async (t) => {
    const { cp, dp, org } = suite;
    const group = `${uniqueName('esc')}.example.com`;
    const target = uniqueName('esc');
    await dp.ensureNamespace(target);
    const crd: KubeObject = {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: `gadgets.${group}` },
      spec: {
        group,
        scope: 'Namespaced',
        names: { plural: 'gadgets', singular: 'gadget', kind: 'Gadget', listKind: 'GadgetList' },
        versions: [
          {
            name: 'v1',
            served: true,
            storage: true,
            subresources: { status: {} },
            schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
          },
        ],
      },
    };
    await dp.apply(crd);
    t.after(() =>
      dp.delete('apiextensions.k8s.io/v1', 'CustomResourceDefinition', undefined, `gadgets.${group}`),
    );
    const name = uniqueName('escapes');
    await cp.create(
      releaseObject(
        org,
        name,
        [
          {
            id: 'gadget',
            object: {
              apiVersion: `${group}/v1`,
              kind: 'Gadget',
              metadata: { name: 'g', namespace: target },
              spec: {},
            },
          },
        ],
        { interval: '2s', progressingInterval: '1s' },
      ),
    );
    await eventually(
      async () => assert.ok(await dp.get(`${group}/v1`, 'Gadget', target, 'g'), 'the Gadget is applied'),
      {
        timeoutMs: 60_000,
        description: 'the Gadget to be applied',
      },
    );
    await dp.patch(
      `${group}/v1`,
      'Gadget',
      target,
      'g',
      { status: { conditions: [{ type: 'Ready', status: 'False', reason: 'DiskFull', message: HOSTILE }] } },
      { subresource: 'status' },
    );
    const release = await eventually(
      async () => {
        const r = await getRelease(cp, org.namespace, name);
        const entry = r?.status?.resources?.find((e) => e.id === 'gadget');
        assert.match(entry?.message ?? '', /pwned/, 'the message is reported');
        return r!;
      },
      { timeoutMs: 60_000, description: 'the hostile message to be reported' },
    );
    // The messages are text for people; the verbatim copy of the object's own status
    // (resources[].status) is data, escaped by every JSON or YAML rendering of it.
    const messages = [
      ...(release.status?.conditions ?? []).map((c) => c.message),
      ...(release.status?.resources ?? []).map((e) => `${e.healthReason ?? ''} ${e.message ?? ''}`),
    ];
    assert.doesNotMatch(messages.join('\n'), CONTROL, 'no control character in a message');

    const tree = await plugin(['tree', name, '-n', org.namespace]);
    assert.equal(tree.code, 0, tree.stderr);
    assert.match(tree.stdout, /disk \]0;pwned full \[2J 31m now forged line/);
    assert.doesNotMatch(tree.stdout, CONTROL, 'no control character reaches the terminal');

    const events = await eventually(
      async () => {
        const e = await plugin(['events', name, '-n', org.namespace]);
        assert.equal(e.code, 0, e.stderr);
        assert.match(e.stdout, /pwned/, 'an Event carries the message');
        return e;
      },
      { timeoutMs: 60_000, description: 'an Event with the message' },
    );
    assert.doesNotMatch(events.stdout, CONTROL, 'no control character reaches the terminal');
    await cp.delete('openchoreo.dev/v1alpha1', 'Release', org.namespace, name);
  });

  test('diff masks Secret values as kubectl diff does, naming the keys that change', async () => {
    const { cp, dp, org } = suite;
    const target = uniqueName('secret');
    await dp.ensureNamespace(target);
    const secret = (data: Record<string, string>) => ({
      id: 'creds',
      object: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'creds', namespace: target }, data },
    });
    const b64 = (s: string) => Buffer.from(s).toString('base64');
    const release: Release = releaseObject(org, uniqueName('secrets'), [
      secret({ password: b64('hunter2-old'), user: b64('admin-user') }),
    ]);
    await cp.create(release);
    await waitReady(cp, org, release.metadata.name);

    const edited: Release = structuredClone(release);
    edited.spec.resources = [
      secret({ password: b64('hunter2-new'), user: b64('admin-user'), token: b64('brand-new') }),
    ];
    const { code, stdout, stderr } = await plugin(['diff', '-f', '-'], stringify(edited));
    assert.equal(code, 1, `differences:\n${stdout}\n${stderr}`);
    assert.ok(stdout.includes(`Secret ${target}/creds (id creds): changed\n`), stdout);
    for (const value of ['hunter2-old', 'hunter2-new', 'admin-user', 'brand-new']) {
      assert.ok(!stdout.includes(b64(value)), `the value of ${value} is masked:\n${stdout}`);
    }
    for (const line of [
      '-  password: "*** (before)"',
      '+  password: "*** (after)"',
      '+  token: "***"',
      '   user: "***"',
    ]) {
      assert.ok(stdout.includes(`\n${line}\n`), `${line}:\n${stdout}`);
    }
    await cp.delete('openchoreo.dev/v1alpha1', 'Release', org.namespace, release.metadata.name);
  });

  test('diff refuses a DataPlane the default endpoint policy refuses, and a tunnelled one, before connecting', async () => {
    const { cp, org } = suite;
    const dir = mkdtempSync(join(tmpdir(), 'rc-plugin-'));
    const withDataPlane = async (dataPlane: KubeObject) => {
      const env = uniqueName('env');
      await cp.create(dataPlane);
      await cp.create(environmentObject(org.namespace, env, dataPlane.metadata.name ?? ''));
      const file = join(dir, `${env}.yaml`);
      writeFileSync(
        file,
        stringify(releaseObject({ namespace: org.namespace, environment: env }, uniqueName('r'), [])),
      );
      return plugin(['diff', '-f', file]);
    };

    const metadataName = uniqueName('metadata');
    const metadata = dataPlaneObject(org.namespace, metadataName, suite.clusters.dp, 'inline');
    (
      metadata['spec'] as { kubernetesCluster: { credentials: { apiServerURL: string } } }
    ).kubernetesCluster.credentials.apiServerURL = 'https://169.254.169.254:6443';
    const refused = await withDataPlane(metadata);
    assert.equal(refused.code, 2, refused.stdout + refused.stderr);
    assert.match(
      refused.stderr,
      new RegExp(
        `DataPlane ${org.namespace}/${metadataName}: server https://169.254.169.254:6443 is refused by the controller's endpoint policy: 169.254.169.254 is in the denied range 169.254.0.0/16`,
      ),
    );

    const tunnelName = uniqueName('tunnelled');
    const tunnelled = dataPlaneObject(org.namespace, tunnelName, suite.clusters.dp, 'inline');
    (tunnelled['spec'] as { kubernetesCluster: Record<string, unknown> }).kubernetesCluster['tunnel'] = {
      host: 'dp.internal',
    };
    const tunnel = await withDataPlane(tunnelled);
    assert.equal(tunnel.code, 2, tunnel.stdout + tunnel.stderr);
    assert.match(
      tunnel.stderr,
      new RegExp(
        `DataPlane ${org.namespace}/${tunnelName} is reached through a tunnel \\(spec.kubernetesCluster.tunnel\\), which only the controller can use`,
      ),
    );
    assert.match(tunnel.stderr, /openchoreo\.dev\/apply-mode: DryRun and openchoreo\.dev\/preview-of: /);
  });
});
