/**
 * `kubectl release` on the test bed: the real executable (bin/kubectl-release, and through the
 * test bed's own kubectl, which finds it on PATH) as a child process, with a kubeconfig file as a
 * user has one, against a real Release that the controller applied: get, tree (piped, under a
 * pseudo-terminal, NO_COLOR, --color=always, -o json), events, and diff -f (changed, created,
 * pruned, unchanged; the data plane untouched; a user who cannot read the DataPlane's credentials;
 * a diff that agrees with what the controller then does).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { stringify } from 'yaml';
import type { Release } from '../../src/api/v1alpha1/schema.ts';
import { eventually } from '../support/eventually.ts';
import { configMap, getRelease, releaseObject, uniqueName, waitReady } from '../support/fixtures.ts';
import { API_VERSION } from '../../src/api/v1alpha1/constants.ts';
import { integrationSuite } from '../support/suite.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const BIN = join(ROOT, 'bin', 'kubectl-release');
const ESC = '\u001b[';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** run runs a program with PATH holding the plugin's folder, node's and the test bed's kubectl. */
function run(file: string, args: string[], env: Record<string, string> = {}, stdin = ''): Promise<Run> {
  return new Promise((res) => {
    const child = execFile(
      file,
      args,
      {
        env: { ...cleanEnv(), ...env },
        timeout: 120_000,
        maxBuffer: 16 * 1024 * 1024,
      },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        res({ code, stdout, stderr });
      },
    );
    child.stdin?.end(stdin);
  });
}

let pathDirs: string[] = [];
/** cleanEnv is the environment of every run: no KUBECONFIG or NO_COLOR of the developer's. */
function cleanEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && k !== 'KUBECONFIG' && k !== 'NO_COLOR' && k !== 'FORCE_COLOR') env[k] = v;
  }
  env['PATH'] = [...pathDirs, process.env['PATH'] ?? ''].join(':');
  env['HOME'] = mkdtempSync(join(tmpdir(), 'rc-plugin-home-'));
  return env;
}

/** quote quotes a word for sh. */
function quote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** underTerminal runs a command line under a pseudo-terminal (util-linux `script`), as a person would. */
function underTerminal(argv: string[], env: Record<string, string> = {}): Promise<Run> {
  assert.equal(
    spawnSync('script', ['--version']).status,
    0,
    'the TTY test needs util-linux `script` on PATH (apt-get install bsdutils)',
  );
  return run('script', ['-qec', argv.map(quote).join(' '), '/dev/null'], env);
}

describe('kubectl release (the plugin)', () => {
  const suite = integrationSuite({ credentials: 'secret' });
  let dir: string;
  let kubeconfig: string;
  let target: string;
  let release: Release;
  let namespace: string;

  const plugin = (args: string[], env: Record<string, string> = {}, stdin = '') =>
    run(BIN, [...args, `--kubeconfig=${kubeconfig}`], env, stdin);

  before(async () => {
    const { cp, dp, org } = suite;
    namespace = org.namespace;
    pathDirs = [join(ROOT, 'bin'), dirname(process.execPath), suite.clusters.cp.binDir];
    dir = mkdtempSync(join(tmpdir(), 'rc-plugin-'));
    // The user's kubeconfig: the control plane's admin context, and a viewer's (made below).
    kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(
      kubeconfig,
      await userKubeconfig(suite.clusters.cp.kubeconfigPath, await viewerToken(cp, namespace)),
    );
    target = uniqueName('plugin-dp');
    await dp.ensureNamespace(target);
    release = releaseObject(org, uniqueName('shop'), [
      configMap('cfg', target, 'cfg', { key: 'value', other: 'same' }),
      configMap('old', target, 'old'),
      {
        id: 'web',
        object: {
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          metadata: { name: 'web', namespace: target },
          spec: {
            replicas: 1,
            selector: { matchLabels: { app: 'web' } },
            template: {
              metadata: { labels: { app: 'web' } },
              spec: { containers: [{ name: 'main', image: 'registry.example/web:1' }] },
            },
          },
        },
      },
    ]);
    await cp.create(release);
    await waitReady(cp, org, release.metadata.name);
  });

  after(async () => {
    await suite.dp.delete('v1', 'Namespace', undefined, target);
  });

  test('kubectl finds the plugin on PATH; get prints Ready, resources by health, drifted and age', async () => {
    const kubectl = join(suite.clusters.cp.binDir, 'kubectl');
    const { code, stdout, stderr } = await run(kubectl, [
      'release',
      'get',
      '-n',
      namespace,
      `--kubeconfig=${kubeconfig}`,
    ]);
    assert.equal(code, 0, stderr);
    const lines = stdout.trimEnd().split('\n');
    assert.match(lines[0] ?? '', /^NAME +READY +REASON +RESOURCES +DRIFTED +AGE$/);
    const row = lines.find((l) => l.startsWith(release.metadata.name));
    assert.match(
      row ?? '',
      new RegExp(`^${release.metadata.name} +True +Ready +3 Healthy +0 +\\d+[smh]`),
      stdout,
    );
    assert.ok(!stdout.includes(ESC), 'no colour when piped');

    const all = await plugin(['get', '-A']);
    assert.equal(all.code, 0, all.stderr);
    assert.match(all.stdout, /^NAMESPACE +NAME +READY/);
    assert.match(all.stdout, new RegExp(`\\n${namespace} +${release.metadata.name} +True`));
    const json = JSON.parse((await plugin(['get', '-n', namespace, '-o', 'summary-json'])).stdout) as Array<{
      name: string;
      resources: Record<string, number>;
    }>;
    assert.deepEqual(json.find((r) => r.name === release.metadata.name)?.resources, { Healthy: 3 });
    const none = await plugin(['get', '-n', uniqueName('empty')]);
    assert.equal(none.code, 0);
    assert.match(none.stderr, /No Releases found in empty-\w+ namespace/);
  });

  test('tree: each resource with kind, namespace/name, id, health, reason and message; plain when piped', async () => {
    const { code, stdout, stderr } = await plugin(['tree', release.metadata.name, '-n', namespace]);
    assert.equal(code, 0, stderr);
    const lines = stdout.trimEnd().split('\n');
    assert.match(lines[0] ?? '', /^RESOURCE +ID +HEALTH +REASON +MESSAGE$/);
    assert.match(
      lines[1] ?? '',
      new RegExp(`^Release ${namespace}/${release.metadata.name} +Ready=True +Ready `),
    );
    assert.match(lines[2] ?? '', new RegExp(`^├─ ConfigMap ${target}/cfg +cfg +Healthy`));
    assert.match(lines[3] ?? '', new RegExp(`^├─ ConfigMap ${target}/old +old +Healthy`));
    assert.match(
      lines[4] ?? '',
      new RegExp(`^└─ Deployment ${target}/web +web +Healthy +\\w+ +1/1 replicas available`),
    );
    assert.ok(!stdout.includes(ESC), 'no escape codes when piped');

    const json = JSON.parse(
      (await plugin(['tree', release.metadata.name, '-n', namespace, '-o', 'json'])).stdout,
    ) as {
      name: string;
      resources: Array<{ id: string; health: string; kind: string }>;
    };
    assert.equal(json.name, release.metadata.name);
    assert.deepEqual(
      json.resources.map((r) => [r.id, r.kind, r.health]),
      [
        ['cfg', 'ConfigMap', 'Healthy'],
        ['old', 'ConfigMap', 'Healthy'],
        ['web', 'Deployment', 'Healthy'],
      ],
    );
    const missing = await plugin(['tree', 'no-such-release', '-n', namespace]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, new RegExp(`Release ${namespace}/no-such-release not found`));
  });

  test('tree on a terminal is coloured by health; NO_COLOR turns it off; --color=always forces it', async () => {
    const argv = [BIN, 'tree', release.metadata.name, '-n', namespace, `--kubeconfig=${kubeconfig}`];
    const tty = await underTerminal(argv);
    assert.equal(tty.code, 0, tty.stdout);
    assert.ok(
      tty.stdout.includes(`${ESC}32mHealthy${ESC}0m`),
      `Healthy in green on a terminal:\n${tty.stdout}`,
    );
    assert.ok(tty.stdout.includes(`${ESC}32mReady=True${ESC}0m`), 'Ready=True in green');

    const noColor = await underTerminal(argv, { NO_COLOR: '1' });
    assert.equal(noColor.code, 0, noColor.stdout);
    assert.match(noColor.stdout, /Healthy/);
    assert.ok(!noColor.stdout.includes(ESC), 'NO_COLOR: plain on a terminal too');

    const forced = await plugin(['tree', release.metadata.name, '-n', namespace, '--color=always']);
    assert.ok(forced.stdout.includes(`${ESC}32mHealthy${ESC}0m`), '--color=always colours a pipe');
  });

  test('events: the Release Events the controller wrote, newest last, through $KUBECONFIG', async () => {
    const { code, stdout, stderr } = await run(BIN, ['events', release.metadata.name, '-n', namespace], {
      KUBECONFIG: `/nonexistent/config:${kubeconfig}`,
    });
    assert.equal(code, 0, stderr);
    assert.match(stdout, /^LAST SEEN +TYPE +REASON +MESSAGE\n/);
    assert.match(stdout, /\n\S+ +Normal +Ready +all 3 resources are Healthy or Suspended/);
    const events = JSON.parse(
      (
        await run(BIN, ['events', release.metadata.name, '-n', namespace, '-o', 'json'], {
          KUBECONFIG: kubeconfig,
        })
      ).stdout,
    ) as Array<{ reason: string; last: string }>;
    assert.ok(events.length >= 2, `several Events: ${JSON.stringify(events)}`);
    const times = events.map((e) => Date.parse(e.last));
    assert.deepEqual(
      times,
      [...times].sort((a, b) => a - b),
      'newest last',
    );
  });

  test('diff -f: a changed ConfigMap, a new object and a removed id, by server-side dry run; nothing changes', async () => {
    const { dp } = suite;
    const edited: Release = structuredClone(release);
    edited.spec.resources = [
      configMap('cfg', target, 'cfg', { key: 'changed', other: 'same' }),
      configMap('new', target, 'new', { fresh: 'yes' }),
      release.spec.resources![2]!,
    ];
    const file = join(dir, 'release.yaml');
    writeFileSync(file, stringify(edited));
    const { code, stdout, stderr } = await plugin(['diff', '-f', file]);
    assert.equal(code, 1, `exit code 1 means differences:\n${stdout}\n${stderr}`);
    assert.ok(stdout.includes(`ConfigMap ${target}/cfg (id cfg): changed\n`), stdout);
    assert.ok(
      stdout.includes(`--- live/v1/ConfigMap/${target}/cfg\n+++ release/v1/ConfigMap/${target}/cfg\n`),
      stdout,
    );
    assert.ok(stdout.includes('\n-  key: value\n+  key: changed\n'), stdout);
    assert.ok(
      !stdout.includes('other: same\n-') && !stdout.includes('resourceVersion'),
      'server fields are not diffed',
    );
    assert.ok(stdout.includes(`ConfigMap ${target}/new (id new): created\n--- /dev/null\n`), stdout);
    assert.ok(stdout.includes('+  fresh: yes\n'), stdout);
    assert.ok(
      stdout.includes(
        `ConfigMap ${target}/old (id old): pruned\n--- live/v1/ConfigMap/${target}/old\n+++ /dev/null\n`,
      ),
      stdout,
    );
    assert.ok(stdout.includes('-kind: ConfigMap\n'), stdout);
    assert.ok(!stdout.includes('Deployment'), `the unchanged Deployment is only counted:\n${stdout}`);
    assert.ok(
      stdout.endsWith(
        `Release ${namespace}/${release.metadata.name}: 1 to create, 1 to change, 1 unchanged, 1 to prune\n`,
      ),
      stdout,
    );
    // A dry run: the data plane is as it was.
    const cfg = await dp.get('v1', 'ConfigMap', target, 'cfg');
    assert.equal((cfg?.['data'] as Record<string, string>)['key'], 'value');
    assert.equal(await dp.get('v1', 'ConfigMap', target, 'new'), undefined);
    assert.notEqual(await dp.get('v1', 'ConfigMap', target, 'old'), undefined);

    // The Release as it is (read from standard input) has no differences: exit code 0.
    const same = await plugin(['diff', '-f', '-'], {}, stringify(release));
    assert.equal(same.code, 0, same.stdout + same.stderr);
    assert.equal(
      same.stdout,
      `Release ${namespace}/${release.metadata.name}: 0 to create, 0 to change, 3 unchanged, 0 to prune\n`,
    );
  });

  test('diff without access to the DataPlane credentials fails clearly and suggests the DryRun annotation', async () => {
    const file = join(dir, 'same.yaml');
    writeFileSync(file, stringify(release));
    // The viewer reads Releases, Environments and DataPlanes, but no Secrets.
    const viewer = await run(BIN, ['get', '-n', namespace, '--context=viewer', `--kubeconfig=${kubeconfig}`]);
    assert.equal(viewer.code, 0, viewer.stderr);
    assert.match(viewer.stdout, new RegExp(`${release.metadata.name} +True`));
    const { code, stdout, stderr } = await run(BIN, [
      'diff',
      '-f',
      file,
      '--context',
      'viewer',
      `--kubeconfig=${kubeconfig}`,
    ]);
    assert.equal(code, 2, `exit code 2 means an error:\n${stdout}\n${stderr}`);
    assert.equal(stdout, '');
    assert.match(
      stderr,
      new RegExp(
        `you may not read Secret ${namespace}/dp-kubeconfig \\(the kubeconfig of DataPlane ${namespace}/dp\\)`,
      ),
    );
    assert.match(
      stderr,
      new RegExp(
        `openchoreo\\.dev/apply-mode: DryRun and openchoreo\\.dev/preview-of: ${release.metadata.name}, and read the plan with \`kubectl release tree ${release.metadata.name}-preview\``,
      ),
    );
  });

  test('diff wrote nothing to the data plane: resourceVersions unchanged, no new object, no new namespace', async () => {
    const { dp, cp } = suite;
    const fresh = uniqueName('plugin-fresh');
    const versions = async () => {
      const objects = [
        ...(await dp.list('v1', 'ConfigMap', target)),
        ...(await dp.list('apps/v1', 'Deployment', target)),
      ];
      const ns = await dp.get('v1', 'Namespace', undefined, target);
      if (ns) objects.push(ns);
      return new Map(
        objects.map((o) => [`${o.kind ?? ''}/${o.metadata.name ?? ''}`, o.metadata.resourceVersion]),
      );
    };
    const before = await versions();
    const releaseVersion = (await getRelease(cp, namespace, release.metadata.name))?.metadata.resourceVersion;
    const edited: Release = structuredClone(release);
    edited.spec.resources = [
      configMap('cfg', target, 'cfg', { key: 'changed', other: 'same' }),
      configMap('new', target, 'new', { fresh: 'yes' }),
      configMap('elsewhere', fresh, 'elsewhere'),
      release.spec.resources![2]!,
    ];
    const { code, stdout, stderr } = await plugin(['diff', '-f', '-'], {}, stringify(edited));
    assert.equal(code, 1, `differences:\n${stdout}\n${stderr}`);
    assert.ok(
      stdout.includes(
        `ConfigMap ${fresh}/elsewhere (id elsewhere): created: namespace ${fresh} does not exist yet`,
      ),
      stdout,
    );
    assert.ok(stdout.includes(`ConfigMap ${target}/old (id old): pruned\n`), stdout);
    // Every object as it was (its resourceVersion unchanged), none added, no namespace created.
    assert.deepEqual(await versions(), before);
    assert.equal(await dp.get('v1', 'Namespace', undefined, fresh), undefined);
    assert.equal(
      (await getRelease(cp, namespace, release.metadata.name))?.metadata.resourceVersion,
      releaseVersion,
      'the Release itself is not written either',
    );
  });

  test("diff agrees with what the controller then does: another's object is refused, and a bad new object never prunes the good old one", async () => {
    const { dp, cp, org } = suite;
    // Someone else's ConfigMap under a name the Release now wants: the no-takeover guard refuses it.
    await dp.create({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'taken', namespace: target },
      data: { owner: 'someone else' },
    });
    const edited: Release = structuredClone(release);
    edited.spec.resources = [
      release.spec.resources![0]!,
      // Id "old" now names another ConfigMap, with a field of the wrong type: the data plane refuses
      // it, so the old object of that id is kept (a planner that only compares names would prune it).
      {
        id: 'old',
        object: {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: 'old-renamed', namespace: target },
          data: { key: 5 },
        },
      },
      release.spec.resources![2]!,
      configMap('taken', target, 'taken', { owner: 'the Release' }),
    ];
    const file = join(dir, 'agree.yaml');
    writeFileSync(file, stringify(edited));
    const { code, stdout, stderr } = await plugin(['diff', '-f', file]);
    assert.equal(code, 2, `exit code 2 means something would fail:\n${stdout}\n${stderr}`);
    assert.match(
      stdout,
      new RegExp(
        `ConfigMap ${target}/taken \\(id taken\\): would fail: .*already exists on the data plane and was not created by a Release.*not taken over`,
      ),
    );
    assert.match(stdout, new RegExp(`ConfigMap ${target}/old-renamed \\(id old\\): would fail: `));
    assert.ok(!stdout.includes('pruned'), `nothing is pruned while id "old" does not apply:\n${stdout}`);
    assert.ok(
      stdout.endsWith(
        `Release ${namespace}/${release.metadata.name}: 0 to create, 0 to change, 2 unchanged, 0 to prune, 2 failing\n`,
      ),
      stdout,
    );

    // The controller, given the same Release, does what the diff said.
    const updated = await cp.patch<Release>(API_VERSION, 'Release', namespace, release.metadata.name, {
      spec: { resources: edited.spec.resources },
    });
    const applied = await eventually(
      async () => {
        const r = await getRelease(cp, org.namespace, release.metadata.name);
        assert.equal(
          r?.status?.observedGeneration,
          updated.metadata.generation,
          'the new spec is reconciled',
        );
        const taken = r?.status?.resources?.find((x) => x.id === 'taken');
        assert.match(taken?.message ?? '', /not taken over/, JSON.stringify(r?.status?.resources));
        return r!;
      },
      { description: 'the controller to reconcile the edited Release' },
    );
    assert.notEqual(applied.status?.resources?.find((x) => x.id === 'old')?.healthStatus, 'Healthy');
    const taken = await dp.get('v1', 'ConfigMap', target, 'taken');
    assert.deepEqual(taken?.['data'], { owner: 'someone else' }, 'the refused object is untouched');
    assert.equal(taken?.metadata.labels, undefined);
    assert.notEqual(await dp.get('v1', 'ConfigMap', target, 'old'), undefined, 'the old object is kept');
    assert.equal(await dp.get('v1', 'ConfigMap', target, 'old-renamed'), undefined);
  });
});

/** viewerToken makes a ServiceAccount that may read Releases, Environments and DataPlanes (not Secrets) and returns a token of it. */
async function viewerToken(
  cp: ReturnType<typeof integrationSuite>['cp'],
  namespace: string,
): Promise<string> {
  await cp.create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'viewer', namespace } });
  await cp.create({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: { name: 'release-viewer', namespace },
    rules: [
      {
        apiGroups: ['openchoreo.dev'],
        resources: ['releases', 'environments', 'dataplanes'],
        verbs: ['get', 'list'],
      },
      { apiGroups: ['events.k8s.io', ''], resources: ['events'], verbs: ['get', 'list'] },
    ],
  });
  await cp.create({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name: 'release-viewer', namespace },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'release-viewer' },
    subjects: [{ kind: 'ServiceAccount', name: 'viewer', namespace }],
  });
  const request = await eventually(
    () =>
      cp.client.request<{ status: { token: string } }>({
        method: 'POST',
        path: `/api/v1/namespaces/${namespace}/serviceaccounts/viewer/token`,
        body: {
          apiVersion: 'authentication.k8s.io/v1',
          kind: 'TokenRequest',
          spec: { expirationSeconds: 3600 },
        },
      }),
    { description: 'a token of the viewer ServiceAccount' },
  );
  return request.status.token;
}

/** userKubeconfig is the admin kubeconfig of the control plane plus a `viewer` context with the token. */
async function userKubeconfig(adminPath: string, token: string): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  const { parse } = await import('yaml');
  const admin = parse(await readFile(adminPath, 'utf8')) as {
    clusters: Array<{ name: string }>;
    contexts: Array<{ name: string; context: { cluster: string; user: string; namespace?: string } }>;
    users: Array<{ name: string; user: unknown }>;
    'current-context': string;
  };
  const cluster = admin.contexts.find((c) => c.name === admin['current-context'])?.context.cluster ?? '';
  admin.users.push({ name: 'viewer', user: { token } });
  admin.contexts.push({ name: 'viewer', context: { cluster, user: 'viewer' } });
  return stringify(admin);
}
