/**
 * The test bed itself: clusters start, serve, stay apart, pause and resume with their data, and
 * leave no process behind. Runs real etcd/kube-apiserver (and in full mode KCM, scheduler, kwok).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { access } from 'node:fs/promises';
import { connect } from 'node:net';
import { after, describe, test } from 'node:test';
import { attach, FAKE_NODE_NAME, kubectl, list, up } from '../../testbed/cluster.ts';
import type { Cluster } from '../../testbed/cluster.ts';
import { eventually, randomName } from '../support/eventually.ts';

/** Every cluster a test started, removed at the end even when a test failed half-way. */
const started: Cluster[] = [];
after(async () => {
  for (const c of started) await c.down().catch(() => {});
});

async function upTracked(name: string, options: Parameters<typeof up>[1] = {}): Promise<Cluster> {
  const c = await up(name, options);
  started.push(c);
  return c;
}

/** createConfigMap makes a fresh namespace holding ConfigMap `probe` with data `value`. */
async function createConfigMap(c: Cluster, value: string): Promise<string> {
  const ns = randomName('ns');
  await kubectl(c, ['create', 'namespace', ns]);
  await kubectl(c, ['-n', ns, 'create', 'configmap', 'probe', `--from-literal=value=${value}`]);
  return ns;
}

async function readConfigMap(c: Cluster, ns: string): Promise<string> {
  return kubectl(c, ['-n', ns, 'get', 'configmap', 'probe', '-o', 'jsonpath={.data.value}']);
}

function assertGone(pids: Array<{ component: string; pid: number }>): void {
  assert.ok(pids.length > 0, 'the cluster recorded no processes');
  for (const { component, pid } of pids) {
    assert.throws(
      () => process.kill(pid, 0),
      { code: 'ESRCH' },
      `${component} (pid ${pid}) is still running`,
    );
  }
}

async function assertMissing(path: string): Promise<void> {
  await assert.rejects(access(path), { code: 'ENOENT' }, `${path} still exists`);
}

const TIMEOUT = { timeout: 300_000 };

void test('a cluster starts, serves and goes down twice in a row under the same name', TIMEOUT, async () => {
  const name = randomName('tb-twice');
  let earlierNs: string | undefined;
  for (let round = 1; round <= 2; round++) {
    const c = await upTracked(name);
    assert.match(c.server, /^https:\/\/127\.0\.0\.1:\d+$/);
    if (earlierNs !== undefined) {
      // up starts from scratch: nothing of the first round survives.
      await assert.rejects(kubectl(c, ['get', 'namespace', earlierNs]), /not found/i);
    }
    const ns = await createConfigMap(c, `round-${round}`);
    assert.equal(await readConfigMap(c, ns), `round-${round}`);

    const seen = (await list()).find((s) => s.name === name);
    assert.deepEqual(seen && { running: seen.running, server: seen.server, full: seen.full }, {
      running: true,
      server: c.server,
      full: false,
    });
    const attached = await attach(name);
    assert.equal(attached?.server, c.server);
    assert.equal(attached?.caData, c.caData);

    const pids = c.pids();
    await c.down();
    assertGone(pids);
    await assertMissing(c.dir);
    assert.equal(await attach(name), undefined);
    earlierNs = ns;
  }
});

void test('two clusters side by side do not see each other’s objects', TIMEOUT, async () => {
  const [a, b] = await Promise.all([upTracked(randomName('tb-a')), upTracked(randomName('tb-b'))]);
  assert.notEqual(a.server, b.server);
  assert.notEqual(a.dir, b.dir);
  assert.notEqual(a.caData, b.caData);

  const nsA = await createConfigMap(a, 'in-a');
  const nsB = await createConfigMap(b, 'in-b');
  assert.equal(await readConfigMap(a, nsA), 'in-a');
  assert.equal(await readConfigMap(b, nsB), 'in-b');
  await assert.rejects(kubectl(b, ['get', 'namespace', nsA]), /not found/i);
  await assert.rejects(kubectl(a, ['get', 'namespace', nsB]), /not found/i);

  // One cluster's credentials are not valid on the other: separate CAs.
  await assert.rejects(
    kubectl({ binDir: a.binDir, kubeconfigPath: a.kubeconfigPath }, ['--server', b.server, 'get', 'ns']),
  );

  await Promise.all([a.down(), b.down()]);
});

interface DeploymentJson {
  status?: {
    readyReplicas?: number;
    availableReplicas?: number;
    conditions?: Array<{ type: string; status: string }>;
  };
}

void describe('full mode', () => {
  let c: Cluster;

  void test('starts with a Ready fake node', TIMEOUT, async () => {
    c = await upTracked(randomName('tb-full'), { full: true });
    assert.equal(c.full, true);
    const ready = await kubectl(c, [
      'get',
      'node',
      FAKE_NODE_NAME,
      '-o',
      'jsonpath={.status.conditions[?(@.type=="Ready")].status}',
    ]);
    assert.equal(ready, 'True');
  });

  void test('a Deployment with 2 replicas becomes Available with 2 ready replicas', TIMEOUT, async () => {
    const ns = randomName('ns');
    await kubectl(c, ['create', 'namespace', ns]);
    await kubectl(c, ['-n', ns, 'create', 'deployment', 'web', '--image=fake-image', '--replicas=2']);
    await eventually(
      async () => {
        const d = JSON.parse(
          await kubectl(c, ['-n', ns, 'get', 'deployment', 'web', '-o', 'json']),
        ) as DeploymentJson;
        assert.equal(d.status?.readyReplicas, 2);
        assert.equal(d.status?.conditions?.find((x) => x.type === 'Available')?.status, 'True');
      },
      {
        timeoutMs: 120_000,
        intervalMs: 500,
        description: 'Deployment web to be Available with 2 ready replicas',
      },
    );
  });

  void test('stop then start keeps the data at the same server URL', TIMEOUT, async () => {
    const ns = await createConfigMap(c, 'before-stop');
    const server = c.server;
    const pids = c.pids();

    await c.stop();
    assertGone(pids);
    assert.equal(c.running(), false);
    assert.equal((await list()).find((s) => s.name === c.name)?.state, 'stopped');
    await assert.rejects(kubectl(c, ['get', 'ns', '--request-timeout=2s']));

    await c.start();
    assert.equal(c.server, server);
    assert.equal(c.running(), true);
    assert.equal(await readConfigMap(c, ns), 'before-stop');
    // The controllers and kwok came back too: new work still gets scheduled and becomes ready.
    await kubectl(c, ['-n', ns, 'create', 'deployment', 'after', '--image=fake-image', '--replicas=1']);
    await eventually(
      async () => {
        const d = JSON.parse(
          await kubectl(c, ['-n', ns, 'get', 'deployment', 'after', '-o', 'json']),
        ) as DeploymentJson;
        assert.equal(d.status?.readyReplicas, 1);
      },
      { timeoutMs: 120_000, intervalMs: 500, description: 'Deployment after to have a ready replica' },
    );
  });

  void test('down leaves no process and no folder behind', TIMEOUT, async () => {
    const pids = c.pids();
    assert.equal(pids.length, 5);
    await c.down();
    assertGone(pids);
    await assertMissing(c.dir);
  });
});

void test('a cluster left behind is cleaned up by the next up of the same name', TIMEOUT, async () => {
  const name = randomName('tb-left');
  // As the CLI does: processes that outlive their starter. Then the handle is "forgotten".
  const leftPids = (await up(name, { detached: true })).pids();
  assert.equal(leftPids.length, 2);

  const c = await upTracked(name);
  assertGone(leftPids);
  const ns = await createConfigMap(c, 'fresh');
  assert.equal(await readConfigMap(c, ns), 'fresh');
  const pids = c.pids();
  await c.down();
  assertGone(pids);
});

void test(
  'an isolated cluster: unreachable from the host, served inside its namespace, resumable, removed without a trace',
  TIMEOUT,
  async () => {
    const c = await upTracked(randomName('tb-iso'), { isolated: true });
    const iso = c.isolation;
    assert.ok(iso, 'the cluster records its network namespace');
    // From the host, nothing listens at its address; kubectl() runs inside the namespace.
    const host = new URL(c.server);
    await assert.rejects(
      new Promise<void>((resolve, reject) => {
        const s = connect(Number(host.port), host.hostname, () => {
          s.destroy();
          resolve();
        });
        s.once('error', reject);
      }),
      { code: 'ECONNREFUSED' },
      'the API server of an isolated cluster must not be reachable from the host',
    );
    const ns = await createConfigMap(c, 'inside');
    assert.equal((await list()).find((s) => s.name === c.name)?.isolated, true);

    await c.stop();
    await c.start();
    assert.equal(await readConfigMap(c, ns), 'inside');

    const pids = c.pids();
    await c.down();
    assertGone(pids);
    assert.doesNotMatch(
      execFileSync('ip', ['netns', 'list']).toString(),
      new RegExp(`^${iso.netns}\\b`, 'm'),
    );
    assert.doesNotMatch(
      execFileSync('ip', ['-o', 'link', 'show']).toString(),
      new RegExp(`rctb${iso.index}h`),
    );
    await assertMissing(`/etc/netns/${iso.netns}`);
  },
);
