/**
 * The container image's run test, the second half of `npm run image:test` (scripts/image-test.sh
 * builds the image and passes its name in RC_IMAGE). The image runs as it would in a pod: its own
 * ENTRYPOINT, user and working directory from the image configuration, the control plane's
 * kubeconfig mounted read-only, through `buildah run --isolation chroot`, which shares the host's
 * network, so the loopback test-bed clusters are reachable. Against a fresh control plane (CRDs, the
 * samples of config/samples/) and a full data plane, it must run as a non-root uid, reconcile the
 * sample Release to Ready, answer /healthz, /readyz and /metrics, and exit 0 on SIGTERM. It prints
 * the time from container start to the Release's Ready.
 *
 *   RC_IMAGE=localhost/release-controller:test node --import tsx test/image/image.ts
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, chown, copyFile, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { loadSamples, type Samples } from '../../demo/steps.ts';
import { up, type Cluster } from '../../testbed/cluster.ts';
import { ControllerProcess, metricValue } from '../../testbed/controller.ts';
import { eventually } from '../support/eventually.ts';
import { condition, credentialsLabels, getRelease, installCRDs } from '../support/fixtures.ts';
import { TestKube } from '../support/kube.ts';

const run = promisify(execFile);
const IMAGE = process.env['RC_IMAGE'] ?? '';
/** KUBECONFIG_IN_CONTAINER is where the control plane's kubeconfig is mounted, as a Secret volume would be. */
const KUBECONFIG_IN_CONTAINER = '/run/release-controller/kubeconfig';
const ORG = 'acme';
const READY_TIMEOUT_MS = 120_000;
const STOP_TIMEOUT_MS = 40_000;

/** ImageConfig is the part of the OCI image configuration a container runtime obeys here. */
interface ImageConfig {
  User?: string;
  Entrypoint?: string[];
  WorkingDir?: string;
}

async function imageConfig(image: string): Promise<ImageConfig> {
  const { stdout } = await run('buildah', ['inspect', '--type', 'image', image], { maxBuffer: 16 << 20 });
  return (JSON.parse(stdout) as { OCIv1: { config: ImageConfig } }).OCIv1.config;
}

/** numericUser parses `uid[:gid]`; Kubernetes' runAsNonRoot can only check a numeric user. */
function numericUser(user: string | undefined): { uid: number; gid: number } {
  const m = /^(\d+)(?::(\d+))?$/.exec(user ?? '');
  assert.ok(m, `the image's USER '${user ?? ''}' is not numeric; runAsNonRoot needs a numeric uid`);
  const uid = Number(m[1]);
  return { uid, gid: m[2] === undefined ? uid : Number(m[2]) };
}

/** descendants returns every process below `pid`, from /proc (buildah's chroot isolation keeps the host's pid namespace). */
async function descendants(pid: number): Promise<number[]> {
  const parents = new Map<number, number[]>();
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8');
      // Fields after the command name, which is in parentheses and may hold spaces: state, ppid, ...
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parents.set(ppid, [...(parents.get(ppid) ?? []), Number(entry)]);
    } catch {
      // the process ended while we looked
    }
  }
  const found: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    for (const child of parents.get(queue.shift()!) ?? []) {
      found.push(child);
      queue.push(child);
    }
  }
  return found;
}

/** entrypointProcess finds the container's ENTRYPOINT process under `buildah run`: what a pod's PID 1 would be. */
async function entrypointProcess(buildahPid: number, entrypoint: string[]): Promise<number> {
  return eventually(
    async () => {
      for (const pid of await descendants(buildahPid)) {
        const argv = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0');
        // The runtime resolves the program on PATH (argv[0] becomes /usr/local/bin/node).
        const [program = '', ...args] = entrypoint;
        if (basename(argv[0] ?? '') === basename(program) && args.every((arg, i) => argv[i + 1] === arg)) {
          return pid;
        }
      }
      throw new Error(`no process '${entrypoint.join(' ')}' under buildah run (pid ${buildahPid})`);
    },
    { timeoutMs: 10_000, description: 'the container process' },
  );
}

/** ids reads the real, effective, saved and filesystem ids of a process from /proc. */
async function ids(pid: number): Promise<{ uids: number[]; gids: number[] }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const field = (name: string): number[] =>
    (new RegExp(`^${name}:\\s+(.*)$`, 'm').exec(status)?.[1] ?? '').split(/\s+/).map(Number);
  return { uids: field('Uid'), gids: field('Gid') };
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
const say = (line: string): void => void process.stdout.write(`image-test: ${line}\n`);

describe(`the image ${IMAGE}`, { timeout: 6 * 60_000 }, () => {
  let cp: Cluster;
  let dp: Cluster;
  let cpKube: TestKube;
  let samples: Samples;
  let config: ImageConfig;
  let entrypoint: string[];
  let user: { uid: number; gid: number };
  let dir: string;
  let container = '';
  let controller: ControllerProcess | undefined;
  let nodePid = 0;
  let startedAt = 0;

  before(async () => {
    assert.ok(IMAGE, 'RC_IMAGE names no image; run `npm run image:test`, which builds one');
    config = await imageConfig(IMAGE);
    entrypoint = config.Entrypoint ?? [];
    assert.ok(entrypoint.length > 0, `the image ${IMAGE} has no ENTRYPOINT`);
    user = numericUser(config.User);

    [cp, dp] = await Promise.all([
      up(`rc-image-cp-${process.pid}`),
      up(`rc-image-dp-${process.pid}`, { full: true }),
    ]);
    cpKube = new TestKube(cp);
    await installCRDs(cpKube);
    samples = await loadSamples(ORG);
    await cpKube.ensureNamespace(ORG);
    await cpKube.create({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: samples.secretName,
        namespace: ORG,
        labels: credentialsLabels(
          samples.dataPlane.spec.kubernetesCluster?.name ?? samples.dataPlane.metadata.name,
        ),
      },
      data: { [samples.secretKey]: (await readFile(dp.kubeconfigPath)).toString('base64') },
    });
    await cpKube.create(samples.dataPlane);
    await cpKube.create(samples.environment);
    // The Release waits for the controller, so the figure below covers its whole first reconcile.
    await cpKube.create(samples.release);

    // The kubeconfig as a Secret volume gives it: readable by the image's user only, read-only.
    dir = await mkdtemp(join(tmpdir(), 'rc-image-test-'));
    const kubeconfig = join(dir, 'kubeconfig');
    await copyFile(cp.kubeconfigPath, kubeconfig);
    await chown(kubeconfig, user.uid, user.gid);
    await chmod(kubeconfig, 0o400);
    container = `rc-image-test-${process.pid}`;
    await run('buildah', ['from', '--quiet', '--pull=never', '--name', container, IMAGE]);

    startedAt = performance.now();
    controller = await ControllerProcess.start({
      kubeconfig: KUBECONFIG_IN_CONTAINER,
      command: [
        'buildah',
        'run',
        '--isolation',
        'chroot',
        '--volume',
        `${kubeconfig}:${KUBECONFIG_IN_CONTAINER}:ro`,
        container,
        '--',
        ...entrypoint,
      ],
      logPath: join(dir, 'controller.log'),
    });
    say(`container start to /readyz 200: ${seconds(performance.now() - startedAt)}`);
    nodePid = await entrypointProcess(controller.pid, entrypoint);
  });

  after(async () => {
    if (controller?.running) {
      if (nodePid) process.kill(nodePid, 'SIGKILL');
      await controller.kill();
    }
    if (container) await run('buildah', ['rm', container]).catch(() => undefined);
    await cpKube?.close();
    await Promise.all([cp?.down(), dp?.down()]);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test("runs its ENTRYPOINT as the image's non-root user, in its working directory", async () => {
    assert.notEqual(user.uid, 0, `the image's USER ${config.User} is root`);
    const { uids, gids } = await ids(nodePid);
    assert.deepEqual(uids, [user.uid, user.uid, user.uid, user.uid], `uids of pid ${nodePid}`);
    assert.deepEqual(gids, [user.gid, user.gid, user.gid, user.gid], `gids of pid ${nodePid}`);
    const cwd = await readFile(`/proc/${nodePid}/cwd/package.json`, 'utf8');
    assert.equal((JSON.parse(cwd) as { name: string }).name, 'release-controller', 'package.json in its cwd');
    assert.equal(config.WorkingDir, '/app', 'the working directory');
  });

  test('reconciles the sample Release to Ready, every resource Healthy', async () => {
    const name = samples.release.metadata.name;
    const release = await eventually(
      async () => {
        const r = await getRelease(cpKube, ORG, name);
        const conditions = JSON.stringify(r?.status?.conditions);
        assert.equal(condition(r, 'Ready')?.status, 'True', `Ready is not True: ${conditions}`);
        return r!;
      },
      { timeoutMs: READY_TIMEOUT_MS, intervalMs: 50, description: `Release ${ORG}/${name} to be Ready` },
    );
    say(`container start to the sample Release Ready: ${seconds(performance.now() - startedAt)}`);
    const health = (release.status?.resources ?? []).map((r) => `${r.id}=${r.healthStatus}`).sort();
    assert.deepEqual(health, ['deployment=Healthy', 'service=Healthy'], 'the resources of the Release');
  });

  test('answers /healthz, /readyz and /metrics', async () => {
    for (const path of ['/healthz', '/readyz']) {
      const res = await fetch(`http://${controller!.probeAddress}${path}`);
      assert.equal(res.status, 200, `${path} answered ${res.status}: ${await res.text()}`);
    }
    const metrics = await controller!.metrics();
    const reconciles = metricValue(metrics, 'controller_runtime_reconcile_total', { result: 'success' });
    assert.ok(reconciles >= 1, `controller_runtime_reconcile_total{result="success"} is ${reconciles}`);
    assert.ok(metricValue(metrics, 'process_resident_memory_bytes') > 0, 'process metrics are exported');
  });

  test('exits 0 on SIGTERM', async () => {
    // As the kubelet does: SIGTERM to the container's ENTRYPOINT process (`buildah run` does not
    // forward signals); buildah exits with that process's exit code.
    const sent = performance.now();
    process.kill(nodePid, 'SIGTERM');
    const code = await Promise.race([
      controller!.waitExit(),
      sleep(STOP_TIMEOUT_MS, `no exit within ${STOP_TIMEOUT_MS / 1000} s`, { ref: false }),
    ]);
    assert.equal(code, 0, `exit code after SIGTERM; the log:\n${controller!.logTail()}`);
    say(`SIGTERM to exit 0: ${seconds(performance.now() - sent)}`);
  });
});
