/**
 * Named local Kubernetes clusters for tests, the demo and developers: etcd and kube-apiserver
 * ("plain"), plus kube-controller-manager, kube-scheduler and kwok fake nodes ("full"), run as
 * processes on 127.0.0.1 from the binaries `testbed/build.sh` builds. Flags follow
 * shared/testbed-notes.md sections 5-9.
 *
 * Each cluster lives in `<runRoot>/<name>/`: `cluster.json` (ports, pids, paths), `admin.kubeconfig`,
 * `pki/`, `etcd-data/` and `logs/<component>.log`. The folder is the cluster: another process can
 * `attach` to it, and a cluster can be paused (`stop`) and resumed (`start`) at the same address
 * with the same certificates and data.
 */
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync, readlinkSync } from 'node:fs';
import { access, mkdir, readdir, readFile, realpath, rename, rm, stat, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify as toYaml } from 'yaml';
import { request, requestInNamespace, type HttpAnswer, type RequestOptions } from './http.ts';
import {
  checkIsolationSupport,
  createIsolation,
  ensureIsolation,
  inNamespace,
  removeIsolation,
  type Isolation,
} from './netns.ts';
import { generatePki, pkiPaths } from './pki.ts';

/** Component names one of the processes a cluster runs; it is also the name of its binary and log. */
export type Component = 'etcd' | 'kube-apiserver' | 'kube-controller-manager' | 'kube-scheduler' | 'kwok';

/** PLAIN_COMPONENTS are the processes of a plain cluster, in start order. */
export const PLAIN_COMPONENTS: readonly Component[] = ['etcd', 'kube-apiserver'];

/** FULL_COMPONENTS are the processes of a full cluster, in start order. */
export const FULL_COMPONENTS: readonly Component[] = [
  'etcd',
  'kube-apiserver',
  'kube-controller-manager',
  'kube-scheduler',
  'kwok',
];

/** FAKE_NODE_NAME is the one kwok node a full cluster has. */
export const FAKE_NODE_NAME = 'kwok-node-0';

/** KWOK_STAGES are the kwok stage files (in `<bin>/kwok-stages/`) a full cluster runs, as kwokctl does. */
export const KWOK_STAGES = [
  'node-initialize.yaml',
  'node-heartbeat-with-lease.yaml',
  'pod-ready.yaml',
  'pod-complete.yaml',
  'pod-delete.yaml',
] as const;

/** Timeouts of the start-up waits, in milliseconds; generous because CI machines have 2 cores. */
const READY_TIMEOUT_MS: Record<Component, number> = {
  etcd: 30_000,
  'kube-apiserver': 90_000,
  'kube-controller-manager': 60_000,
  'kube-scheduler': 60_000,
  kwok: 60_000,
};
const NODE_READY_TIMEOUT_MS = 60_000;
const NODE_LEASE_PATH = `/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/${FAKE_NODE_NAME}`;
/** STOP_GRACE_MS is how long a process may take to end on SIGTERM before it gets SIGKILL (as envtest). */
const STOP_GRACE_MS = 20_000;
/** PORT_ATTEMPTS bounds the retries when a freshly picked port was taken before the process bound it. */
const PORT_ATTEMPTS = 5;
const LOG_TAIL_LINES = 30;

/** Ports are the TCP ports on 127.0.0.1 a cluster's processes listen on; they never change after `up`. */
export interface Ports {
  etcd: number;
  etcdPeer: number;
  apiserver: number;
  kubeControllerManager?: number;
  kubeScheduler?: number;
  kwok?: number;
}

/** ProcessRecord is one running process of a cluster, as recorded in cluster.json. */
export interface ProcessRecord {
  component: Component;
  pid: number;
}

/** ClusterFile is the content of `<dir>/cluster.json`. */
export interface ClusterFile {
  version: 1;
  name: string;
  full: boolean;
  /** detached processes outlive the process that started them (the CLI); attached ones do not. */
  detached: boolean;
  dir: string;
  binDir: string;
  server: string;
  kubeconfigPath: string;
  ports: Ports;
  /** processes are the running processes in start order; empty while the cluster is stopped. */
  processes: ProcessRecord[];
  createdAt: string;
  /** isolation is the network namespace of an isolated cluster (netns.ts); absent: on the host. */
  isolation?: Isolation;
}

/** UpOptions tune `up`. */
export interface UpOptions {
  /** full adds kube-controller-manager, kube-scheduler and a kwok fake node. */
  full?: boolean;
  /**
   * detached processes keep running after this Node process exits (the CLI uses it). Otherwise they
   * are killed when this process exits, so a test that fails before `down` leaves nothing running.
   */
  detached?: boolean;
  /** log receives progress lines (the CLI prints them on stderr). */
  log?: (line: string) => void;
  /**
   * isolated runs the cluster in a network namespace of its own (netns.ts), so nothing on the host
   * can connect to its API server; only processes inside (a tunnel agent) can, and they can dial
   * out to the host side of the namespace's veth. Needs root.
   */
  isolated?: boolean;
}

/** AttachOptions tune `attach`. */
export interface AttachOptions {
  /** log receives progress lines of `start`/`stop`/`down`. */
  log?: (line: string) => void;
}

/** Cluster is a handle on one named local cluster, running or paused. */
export interface Cluster {
  readonly name: string;
  readonly full: boolean;
  /** dir is the cluster's folder; everything of it is in there. */
  readonly dir: string;
  /** kubeconfigPath is the admin kubeconfig, with inline certificates so it can be copied into a Secret. */
  readonly kubeconfigPath: string;
  /** server is the API server's URL, `https://127.0.0.1:<port>`; it survives `stop`/`start`. */
  readonly server: string;
  /** caData is the base64 PEM of the cluster CA (client-node's `caData`, a DataPlane's `caCert`). */
  readonly caData: string;
  /** certData is the base64 PEM of the admin client certificate (`O=system:masters`). */
  readonly certData: string;
  /** keyData is the base64 PEM of the admin client key. */
  readonly keyData: string;
  /** binDir is the folder of the binaries the cluster runs. */
  readonly binDir: string;
  /** ports are the cluster's TCP ports on 127.0.0.1 (inside its network namespace when isolated). */
  readonly ports: Readonly<Ports>;
  /** isolation is the network namespace of an isolated cluster; undefined for one on the host. */
  readonly isolation: Readonly<Isolation> | undefined;
  /** pids returns the recorded processes, in start order; empty while the cluster is stopped. */
  pids(): ProcessRecord[];
  /** running tells whether every recorded process is alive (false while stopped). */
  running(): boolean;
  /** stop pauses the cluster: its processes end (SIGTERM, then SIGKILL after 20 s); files and ports stay. */
  stop(): Promise<void>;
  /** start resumes a stopped cluster at the same address with the same certificates and data. */
  start(): Promise<void>;
  /** down stops the cluster and removes its folder. */
  down(): Promise<void>;
  /** logTail returns the last `lines` lines of a component's log. */
  logTail(component: Component, lines?: number): Promise<string>;
  /** logPath returns the path of a component's log. */
  logPath(component: Component): string;
}

/** ClusterSummary is one row of `list`. */
export interface ClusterSummary {
  name: string;
  full: boolean;
  running: boolean;
  /** state is `running`, `stopped`, or `degraded` when only some processes are alive. */
  state: 'running' | 'stopped' | 'degraded';
  isolated: boolean;
  kubeconfigPath: string;
  server: string;
}

/** runRoot returns the folder that holds every cluster's folder: `$TESTBED_RUN_DIR` or a temp folder. */
export function runRoot(): string {
  return process.env.TESTBED_RUN_DIR ?? join(os.tmpdir(), 'release-controller-testbed');
}

/** NAME_PATTERN is what a cluster name must match: it names a folder and a kubeconfig context. */
const NAME_PATTERN = /^[a-z0-9]([-a-z0-9]{0,38}[a-z0-9])?$/;

function checkName(name: string): void {
  if (!NAME_PATTERN.test(name)) {
    throw new Error(
      `testbed: invalid cluster name '${name}': use 1-40 lowercase letters, digits and '-', ` +
        'starting and ending with a letter or digit',
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Binaries

const BUILD_SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'build.sh');
let binDirPromise: Promise<string> | undefined;

/**
 * binaries returns the folder of the test-bed binaries, running `testbed/build.sh` once per process
 * (it builds them the first time, then answers from its cache; its progress goes to our stderr).
 */
export function binaries(): Promise<string> {
  binDirPromise ??= new Promise<string>((resolve, reject) => {
    const child = execFile('bash', [BUILD_SCRIPT], { maxBuffer: 16 * 1024 * 1024 }, (err, stdout) => {
      if (err) {
        reject(
          new Error(
            `testbed: ${BUILD_SCRIPT} failed (its output is above); fix the build or set ` +
              'KUBEBUILDER_ASSETS to a folder of prebuilt binaries',
            { cause: err },
          ),
        );
        return;
      }
      const lines = stdout.split('\n').filter((l) => l.trim() !== '');
      const last = lines.at(-1)?.trim();
      if (!last) {
        reject(new Error(`testbed: ${BUILD_SCRIPT} printed no bin folder on its last line`));
        return;
      }
      resolve(last);
    });
    child.stderr?.pipe(process.stderr);
  });
  // A failed build is not cached, so the next call retries.
  binDirPromise.catch(() => (binDirPromise = undefined));
  return binDirPromise;
}

async function checkBinaries(binDir: string, full: boolean): Promise<void> {
  const needed = full
    ? [...FULL_COMPONENTS, 'kubectl', ...KWOK_STAGES.map((s) => `kwok-stages/${s}`)]
    : [...PLAIN_COMPONENTS, 'kubectl'];
  const missing: string[] = [];
  for (const file of needed) {
    try {
      await access(join(binDir, file));
    } catch {
      missing.push(file);
    }
  }
  if (missing.length > 0) {
    throw new Error(
      `testbed: ${binDir} lacks ${missing.join(', ')}` +
        (full ? ' (full mode needs kube-controller-manager, kube-scheduler, kwok and its stages)' : '') +
        '. Unset KUBEBUILDER_ASSETS to build them with testbed/build.sh, or point it at a complete folder.',
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Processes

/** Pids of attached processes, killed when this Node process exits so none outlives a crashed test. */
const attachedPids = new Set<number>();
let exitHookInstalled = false;

/** killAttachedOnExit records a child process to be killed when this Node process exits. */
export function killAttachedOnExit(pid: number): void {
  attachedPids.add(pid);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const p of attachedPids) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  });
}

/** isAlive tells whether a process exists and is not a zombie (PID 1 here may never reap orphans). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = s.slice(s.lastIndexOf(')') + 2, s.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/**
 * isOurs tells whether `pid` is one of this cluster's processes: its executable is one of our
 * binaries and its command line names the cluster's folder. Never trust a recorded pid alone: after
 * a reboot or a long pause it may belong to an unrelated process.
 */
function isOurs(pid: number, binDirs: readonly string[], dir: string): boolean {
  if (!isAlive(pid)) return false;
  let exe: string;
  let cmdline: string;
  try {
    exe = readlinkSync(`/proc/${pid}/exe`).replace(/ \(deleted\)$/, '');
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return false;
  }
  return binDirs.includes(dirname(exe)) && cmdline.includes(`${dir}/`);
}

/** parentPid reads a process's parent from /proc, or undefined once it is gone. */
function parentPid(pid: number): number | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}

function exists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** terminate ends one process: SIGTERM, up to `graceMs` (STOP_GRACE_MS) for it to exit, then SIGKILL. */
export async function terminate(pid: number, graceMs = STOP_GRACE_MS): Promise<void> {
  const ownChild = parentPid(pid) === process.pid;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    attachedPids.delete(pid);
    return;
  }
  if (!(await waitFor(() => !isAlive(pid), graceMs, 50))) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // ended meanwhile
    }
    if (!(await waitFor(() => !isAlive(pid), 5_000, 50))) {
      throw new Error(`testbed: process ${pid} survived SIGKILL for 5 s; check \`ps -p ${pid}\``);
    }
  }
  // Our own child stays a zombie until Node reaps it on SIGCHLD; wait for that, so that once stop()
  // resolves the pid is really gone. Orphans are reaped by PID 1, which may never do it here.
  if (ownChild) await waitFor(() => !exists(pid), 2_000, 10);
  attachedPids.delete(pid);
}

/** waitFor polls `cond` every `intervalMs` until it holds (true) or `timeoutMs` passed (false). */
export async function waitFor(cond: () => boolean, timeoutMs: number, intervalMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (cond()) return true;
    if (Date.now() >= deadline) return false;
    await sleep(intervalMs);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** freePort asks the kernel for a free port on 127.0.0.1; another process may take it before we bind it. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => {
        if (addr && typeof addr === 'object') resolve(addr.port);
        else reject(new Error('testbed: could not read the port of a probe socket'));
      });
    });
  });
}

/** distinctFreePorts picks `n` different free ports on 127.0.0.1, none of them in `taken`. */
export async function distinctFreePorts(n: number, taken: ReadonlySet<number>): Promise<number[]> {
  const ports: number[] = [];
  while (ports.length < n) {
    const p = await freePort();
    if (!taken.has(p) && !ports.includes(p)) ports.push(p);
  }
  return ports;
}

// ---------------------------------------------------------------------------------------------
// HTTP probes

// ---------------------------------------------------------------------------------------------
// The cluster

class StartError extends Error {
  constructor(
    message: string,
    readonly addressInUse: boolean,
  ) {
    super(message);
  }
}

class LocalCluster implements Cluster {
  private readonly log: (line: string) => void;

  constructor(
    private state: ClusterFile,
    readonly caData: string,
    readonly certData: string,
    readonly keyData: string,
    log?: (line: string) => void,
  ) {
    this.log = log ?? (() => {});
  }

  get name(): string {
    return this.state.name;
  }
  get full(): boolean {
    return this.state.full;
  }
  get dir(): string {
    return this.state.dir;
  }
  get kubeconfigPath(): string {
    return this.state.kubeconfigPath;
  }
  get server(): string {
    return this.state.server;
  }
  get binDir(): string {
    return this.state.binDir;
  }
  get ports(): Readonly<Ports> {
    return { ...this.state.ports };
  }
  get isolation(): Readonly<Isolation> | undefined {
    return this.state.isolation;
  }

  /** http makes one probe request where the cluster's processes listen: on the host or in its namespace. */
  private http(url: string, opts?: RequestOptions): Promise<HttpAnswer> {
    const netns = this.state.isolation?.netns;
    return netns ? requestInNamespace(netns, url, opts) : request(url, opts);
  }

  pids(): ProcessRecord[] {
    return this.state.processes.map((p) => ({ ...p }));
  }

  running(): boolean {
    return (
      this.state.processes.length > 0 &&
      this.state.processes.every((p) => isOurs(p.pid, [this.state.binDir], this.state.dir))
    );
  }

  logPath(component: Component): string {
    return join(this.state.dir, 'logs', `${component}.log`);
  }

  async logTail(component: Component, lines = LOG_TAIL_LINES): Promise<string> {
    try {
      const text = await readFile(this.logPath(component), 'utf8');
      return text
        .split('\n')
        .slice(-lines - 1)
        .join('\n')
        .trimEnd();
    } catch {
      return '(no log yet)';
    }
  }

  async stop(): Promise<void> {
    const procs = [...this.state.processes].reverse();
    for (const p of procs) {
      if (!isOurs(p.pid, [this.state.binDir], this.state.dir)) continue;
      this.log(`testbed: ${this.name}: stopping ${p.component} (pid ${p.pid})`);
      await terminate(p.pid);
    }
    this.state.processes = [];
    await this.save();
  }

  async start(): Promise<void> {
    if (this.running()) return;
    // Some processes alive and others not: restart the whole set so the start order holds.
    if (this.state.processes.length > 0) await this.stop();
    if (this.state.isolation) await ensureIsolation(this.state.isolation);
    try {
      await this.launch(false);
    } catch (err) {
      await this.stop().catch(() => {});
      throw err;
    }
  }

  async down(): Promise<void> {
    await this.stop();
    if (this.state.isolation) await removeIsolation(this.state.isolation);
    await rm(this.state.dir, { recursive: true, force: true });
    this.log(`testbed: ${this.name}: removed ${this.state.dir}`);
  }

  /** launch starts every component in order; `fresh` is the first start (ports may still change). */
  async launch(fresh: boolean): Promise<void> {
    const started = Date.now();
    const components = this.state.full ? FULL_COMPONENTS : PLAIN_COMPONENTS;
    for (const c of components) {
      if (c === 'kwok' && !fresh) await this.releaseNodeLease();
      await this.startComponent(c, fresh);
      if (c === 'kube-apiserver') await this.writeKubeconfig();
    }
    if (this.state.full) await this.ensureFakeNode(fresh);
    this.log(
      `testbed: ${this.name}: ready at ${this.server} in ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
  }

  private async startComponent(component: Component, mayRepickPorts: boolean): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.spawnAndWait(component);
        return;
      } catch (err) {
        if (err instanceof StartError && err.addressInUse) {
          if (mayRepickPorts && attempt < PORT_ATTEMPTS) {
            this.log(`testbed: ${this.name}: ${component}: port taken meanwhile, retrying on new ports`);
            await this.repickPorts(component);
            continue;
          }
          if (!mayRepickPorts) {
            throw new Error(
              `${err.message}\nA port of this cluster (${JSON.stringify(this.state.ports)}) is now used by ` +
                `another process, so it cannot resume at the same address; free the port, or run \`down\` and \`up\`.`,
              { cause: err },
            );
          }
        }
        throw err;
      }
    }
  }

  private async repickPorts(component: Component): Promise<void> {
    const taken = new Set(Object.values(this.state.ports).filter((p): p is number => typeof p === 'number'));
    const p = this.state.ports;
    switch (component) {
      case 'etcd':
        [p.etcd, p.etcdPeer] = (await distinctFreePorts(2, taken)) as [number, number];
        break;
      case 'kube-apiserver':
        [p.apiserver] = (await distinctFreePorts(1, taken)) as [number];
        this.state.server = `https://127.0.0.1:${p.apiserver}`;
        break;
      case 'kube-controller-manager':
        [p.kubeControllerManager] = await distinctFreePorts(1, taken);
        break;
      case 'kube-scheduler':
        [p.kubeScheduler] = await distinctFreePorts(1, taken);
        break;
      case 'kwok':
        [p.kwok] = await distinctFreePorts(1, taken);
        break;
    }
    await this.save();
  }

  private async spawnAndWait(component: Component): Promise<void> {
    const logFile = this.logPath(component);
    const offset = await stat(logFile).then(
      (s) => s.size,
      () => 0,
    );
    const fd = openSync(logFile, 'a');
    let child: ChildProcess;
    try {
      const [cmd, args] = inNamespace(
        this.state.isolation?.netns,
        join(this.state.binDir, component),
        this.args(component),
      );
      child = spawn(cmd, args, {
        cwd: this.state.dir,
        stdio: ['ignore', fd, fd],
        detached: this.state.detached,
        env: component === 'kwok' ? { ...process.env, HOME: join(this.state.dir, 'kwok-home') } : process.env,
      });
    } finally {
      closeSync(fd);
    }
    // Neither lifetime keeps this event loop alive: detached processes belong to nobody, and attached
    // ones are killed by the exit hook (a failed test must not hang the runner).
    child.unref();
    const status: { exited?: string } = {};
    const exit = new Promise<'exited'>((resolve) =>
      child.on('exit', (code, signal) => {
        status.exited = signal ? `signal ${signal}` : `code ${code}`;
        resolve('exited');
      }),
    );
    const spawnError = new Promise<Error>((resolve) => child.on('error', resolve));
    const pid = child.pid;
    if (pid === undefined) {
      const err = await spawnError;
      throw new Error(`testbed: could not start ${join(this.state.binDir, component)}: ${err.message}`, {
        cause: err,
      });
    }
    if (!this.state.detached) killAttachedOnExit(pid);
    this.state.processes.push({ component, pid });
    await this.save();
    this.log(`testbed: ${this.name}: started ${component} (pid ${pid}), waiting until it is ready`);

    const timeoutMs = READY_TIMEOUT_MS[component];
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      let lastProblem: string | undefined;
      try {
        // A probe of a port someone else holds may hang until its timeout; an exit ends the wait early.
        const answer = await Promise.race([this.probe(component), exit]);
        if (answer === undefined) return;
        if (answer !== 'exited') lastProblem = answer;
      } catch (err) {
        lastProblem = (err as Error).message;
      }
      if (status.exited !== undefined) {
        this.state.processes = this.state.processes.filter((p) => p.pid !== pid);
        attachedPids.delete(pid);
        await this.save();
        const since = await readFile(logFile).then(
          (b) => b.subarray(offset).toString('utf8'),
          () => '',
        );
        throw new StartError(
          await this.failure(component, `exited with ${status.exited} before it was ready`),
          /address already in use/.test(since),
        );
      }
      if (Date.now() >= deadline) {
        throw new StartError(
          await this.failure(
            component,
            `was not ready within ${timeoutMs / 1000} s (last check: ${lastProblem})`,
          ),
          false,
        );
      }
      await sleep(component === 'etcd' ? 100 : 250);
    }
  }

  private async failure(component: Component, what: string): Promise<string> {
    return (
      `testbed: cluster '${this.name}': ${component} ${what}. Its log is ${this.logPath(component)}; ` +
      `last ${LOG_TAIL_LINES} lines:\n${await this.logTail(component, LOG_TAIL_LINES)}`
    );
  }

  /** probe returns undefined when the component is ready, otherwise what is still missing. */
  private async probe(component: Component): Promise<string | undefined> {
    const p = this.state.ports;
    const ok = (a: HttpAnswer, what: string) =>
      a.status === 200 ? undefined : `${what} answered ${a.status}: ${a.body.slice(0, 200)}`;
    switch (component) {
      case 'etcd': {
        const a = await this.http(`http://127.0.0.1:${p.etcd}/health`);
        return a.status === 200 && a.body.includes('"true"')
          ? undefined
          : `/health answered ${a.status} ${a.body}`;
      }
      case 'kube-apiserver': {
        const r = ok(await this.api('GET', '/readyz'), '/readyz');
        if (r !== undefined) return r;
        return ok(await this.api('GET', '/api/v1/namespaces/default'), 'namespace default');
      }
      case 'kube-controller-manager':
        return ok(await this.http(`https://127.0.0.1:${p.kubeControllerManager}/healthz`), '/healthz');
      case 'kube-scheduler':
        return ok(await this.http(`https://127.0.0.1:${p.kubeScheduler}/healthz`), '/healthz');
      case 'kwok':
        return ok(await this.http(`http://127.0.0.1:${p.kwok}/healthz`), '/healthz');
    }
  }

  /** api calls the API server as admin. */
  private api(method: string, path: string, body?: unknown): Promise<HttpAnswer> {
    return this.http(`${this.server}${path}`, {
      method,
      body: body === undefined ? undefined : JSON.stringify(body),
      tls: {
        ca: Buffer.from(this.caData, 'base64').toString('utf8'),
        cert: Buffer.from(this.certData, 'base64').toString('utf8'),
        key: Buffer.from(this.keyData, 'base64').toString('utf8'),
      },
    });
  }

  private args(component: Component): string[] {
    const { dir, ports: p } = this.state;
    const pki = pkiPaths(join(dir, 'pki'));
    const kc = this.state.kubeconfigPath;
    const alwaysAllow = '--authorization-always-allow-paths=/healthz,/readyz,/livez,/metrics';
    switch (component) {
      case 'etcd':
        return [
          '--name=node0',
          `--data-dir=${join(dir, 'etcd-data')}`,
          `--listen-client-urls=http://127.0.0.1:${p.etcd}`,
          `--advertise-client-urls=http://127.0.0.1:${p.etcd}`,
          `--listen-peer-urls=http://127.0.0.1:${p.etcdPeer}`,
          `--initial-advertise-peer-urls=http://127.0.0.1:${p.etcdPeer}`,
          `--initial-cluster=node0=http://127.0.0.1:${p.etcdPeer}`,
          '--unsafe-no-fsync=true',
          '--auto-compaction-retention=1',
          '--quota-backend-bytes=8589934592',
          '--logger=zap',
          '--log-level=warn',
        ];
      case 'kube-apiserver':
        return [
          `--etcd-servers=http://127.0.0.1:${p.etcd}`,
          '--bind-address=127.0.0.1',
          `--secure-port=${p.apiserver}`,
          '--advertise-address=127.0.0.1',
          `--cert-dir=${join(dir, 'apiserver')}`,
          `--tls-cert-file=${pki.apiserverCert}`,
          `--tls-private-key-file=${pki.apiserverKey}`,
          `--client-ca-file=${pki.caCert}`,
          '--authorization-mode=RBAC',
          `--service-account-issuer=https://127.0.0.1:${p.apiserver}`,
          `--service-account-key-file=${pki.saPub}`,
          `--service-account-signing-key-file=${pki.saKey}`,
          '--service-cluster-ip-range=10.0.0.0/24',
          '--allow-privileged=true',
          '--disable-admission-plugins=ServiceAccount',
          '--endpoint-reconciler-type=none',
          '--enable-priority-and-fairness=false',
        ];
      case 'kube-controller-manager':
        return [
          `--kubeconfig=${kc}`,
          '--bind-address=127.0.0.1',
          `--secure-port=${p.kubeControllerManager}`,
          `--cert-dir=${join(dir, 'kube-controller-manager')}`,
          alwaysAllow,
          '--leader-elect=false',
          `--root-ca-file=${pki.caCert}`,
          `--service-account-private-key-file=${pki.saKey}`,
        ];
      case 'kube-scheduler':
        return [
          `--kubeconfig=${kc}`,
          '--bind-address=127.0.0.1',
          `--secure-port=${p.kubeScheduler}`,
          `--cert-dir=${join(dir, 'kube-scheduler')}`,
          alwaysAllow,
          '--leader-elect=false',
        ];
      case 'kwok': {
        const stages = KWOK_STAGES.map((s) => join(this.state.binDir, 'kwok-stages', s)).join(',');
        return [
          `--kubeconfig=${kc}`,
          `--config=${stages}`,
          '--manage-all-nodes=true',
          '--node-ip=127.0.0.1',
          '--node-name=localhost',
          `--node-port=${p.kwok}`,
          `--server-address=127.0.0.1:${p.kwok}`,
          `--tls-cert-file=${pki.apiserverCert}`,
          `--tls-private-key-file=${pki.apiserverKey}`,
          '--node-lease-duration-seconds=40',
          '--cidr=10.244.0.0/16',
        ];
      }
    }
  }

  private async writeKubeconfig(): Promise<void> {
    const id = `testbed-${this.name}`;
    const config = {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: id, cluster: { server: this.server, 'certificate-authority-data': this.caData } }],
      users: [
        {
          name: `${id}-admin`,
          user: { 'client-certificate-data': this.certData, 'client-key-data': this.keyData },
        },
      ],
      contexts: [{ name: id, context: { cluster: id, user: `${id}-admin` } }],
      'current-context': id,
      preferences: {},
    };
    await writeAtomic(this.state.kubeconfigPath, toYaml(config, { lineWidth: 0 }), 0o600);
  }

  /**
   * releaseNodeLease deletes the fake node's Lease before kwok is resumed. Each kwok process holds it
   * under a new random identity, so a resumed kwok would otherwise leave the node's pods alone until
   * the old holder's lease expires (40 s).
   */
  private async releaseNodeLease(): Promise<void> {
    const a = await this.api('DELETE', NODE_LEASE_PATH);
    if (a.status !== 200 && a.status !== 404) {
      throw new Error(
        `testbed: cluster '${this.name}': deleting Lease kube-node-lease/${FAKE_NODE_NAME} failed with ` +
          `${a.status}: ${a.body.slice(0, 300)}`,
      );
    }
  }

  /** ensureFakeNode creates the kwok node on the first start and waits until kwok reports it Ready. */
  private async ensureFakeNode(create: boolean): Promise<void> {
    if (create) {
      const node = {
        apiVersion: 'v1',
        kind: 'Node',
        metadata: {
          name: FAKE_NODE_NAME,
          annotations: { 'kwok.x-k8s.io/node': 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
          labels: {
            'kubernetes.io/hostname': FAKE_NODE_NAME,
            'kubernetes.io/os': 'linux',
            'kubernetes.io/arch': 'amd64',
            type: 'kwok',
          },
        },
      };
      const a = await this.api('POST', '/api/v1/nodes', node);
      if (a.status !== 201 && a.status !== 409) {
        throw new Error(
          `testbed: cluster '${this.name}': creating Node/${FAKE_NODE_NAME} failed with ${a.status}: ${a.body}`,
        );
      }
    }
    this.log(`testbed: ${this.name}: waiting for Node/${FAKE_NODE_NAME} to be Ready`);
    let last = '';
    const ready = async () => {
      // On resume the Ready condition is stale from before the pause; the Lease (deleted before
      // kwok started) tells that this kwok has taken the node over.
      const lease = await this.api('GET', NODE_LEASE_PATH);
      if (lease.status !== 200) {
        last = `Lease kube-node-lease/${FAKE_NODE_NAME}: GET answered ${lease.status}`;
        return false;
      }
      const a = await this.api('GET', `/api/v1/nodes/${FAKE_NODE_NAME}`);
      if (a.status !== 200) {
        last = `GET answered ${a.status}`;
        return false;
      }
      const n = JSON.parse(a.body) as { status?: { conditions?: Array<{ type: string; status: string }> } };
      const c = n.status?.conditions?.find((x) => x.type === 'Ready');
      last = c ? `Ready=${c.status}` : 'no Ready condition yet';
      return c?.status === 'True';
    };
    const deadline = Date.now() + NODE_READY_TIMEOUT_MS;
    for (;;) {
      try {
        if (await ready()) return;
      } catch (err) {
        last = (err as Error).message;
      }
      if (Date.now() >= deadline) {
        throw new Error(
          await this.failure('kwok', `did not make Node/${FAKE_NODE_NAME} Ready within 60 s (${last})`),
        );
      }
      await sleep(250);
    }
  }

  async save(): Promise<void> {
    await writeAtomic(
      join(this.state.dir, 'cluster.json'),
      JSON.stringify(this.state, null, 2) + '\n',
      0o644,
    );
  }
}

async function writeAtomic(path: string, content: string, mode: number): Promise<void> {
  const tmp = `${path}.tmp.${process.pid}`;
  await writeFile(tmp, content, { mode });
  await rename(tmp, path);
}

async function readClusterFile(dir: string): Promise<ClusterFile | undefined> {
  let text: string;
  try {
    text = await readFile(join(dir, 'cluster.json'), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`testbed: cannot read ${join(dir, 'cluster.json')}`, { cause: err });
  }
  try {
    return JSON.parse(text) as ClusterFile;
  } catch (err) {
    throw new Error(`testbed: ${join(dir, 'cluster.json')} is not valid JSON; remove ${dir} by hand`, {
      cause: err,
    });
  }
}

async function base64File(path: string): Promise<string> {
  try {
    return (await readFile(path)).toString('base64');
  } catch {
    return '';
  }
}

async function open(state: ClusterFile, log?: (line: string) => void): Promise<LocalCluster> {
  const pki = pkiPaths(join(state.dir, 'pki'));
  return new LocalCluster(
    state,
    await base64File(pki.caCert),
    await base64File(pki.adminCert),
    await base64File(pki.adminKey),
    log,
  );
}

/**
 * cleanStale removes what a previous run left in `dir`: it ends the recorded processes that are
 * still ours (checked through /proc, never by process name) and removes the folder.
 */
async function cleanStale(dir: string, binDir: string, log: (line: string) => void): Promise<void> {
  let exists = true;
  await access(dir).catch(() => (exists = false));
  if (!exists) return;
  let state: ClusterFile | undefined;
  try {
    state = await readClusterFile(dir);
  } catch {
    state = undefined;
  }
  const binDirs = [binDir, ...(state ? [state.binDir] : [])];
  const real = await Promise.all(binDirs.map((d) => realpath(d).catch(() => d)));
  for (const p of [...(state?.processes ?? [])].reverse()) {
    if (!isOurs(p.pid, [...binDirs, ...real], dir)) continue;
    log(`testbed: ${dir}: ending ${p.component} (pid ${p.pid}) left by an earlier run`);
    await terminate(p.pid);
  }
  if (state?.isolation) await removeIsolation(state.isolation);
  await rm(dir, { recursive: true, force: true });
}

/**
 * up starts the cluster `name` from scratch and resolves once it is ready (plain: API server ready and
 * namespace `default` present; full: also controllers, scheduler, kwok and a Ready fake Node). What an
 * earlier run left under the same name is ended and removed first. On failure the processes started
 * so far are ended and the folder is kept for its logs.
 */
export async function up(name: string, options: UpOptions = {}): Promise<Cluster> {
  checkName(name);
  const log = options.log ?? (() => {});
  const full = options.full ?? false;
  if (options.isolated) await checkIsolationSupport();
  const binDir = await realpath(await binaries());
  await checkBinaries(binDir, full);
  const dir = join(await realpath(await ensureDir(runRoot())), name);
  await cleanStale(dir, binDir, log);
  const isolation = options.isolated ? await createIsolation(name) : undefined;
  if (isolation) log(`testbed: ${name}: isolated in network namespace ${isolation.netns}`);

  for (const sub of ['logs', 'apiserver', 'kwok-home', 'kube-controller-manager', 'kube-scheduler']) {
    await mkdir(join(dir, sub), { recursive: true });
  }
  await mkdir(join(dir, 'etcd-data'), { recursive: true, mode: 0o700 });
  const [etcd, etcdPeer, apiserver, kcm, sched, kwok] = (await distinctFreePorts(
    full ? 6 : 3,
    new Set(),
  )) as [number, number, number, number | undefined, number | undefined, number | undefined];
  const state: ClusterFile = {
    version: 1,
    name,
    full,
    detached: options.detached ?? false,
    dir,
    binDir,
    server: `https://127.0.0.1:${apiserver}`,
    kubeconfigPath: join(dir, 'admin.kubeconfig'),
    ports: full
      ? { etcd, etcdPeer, apiserver, kubeControllerManager: kcm, kubeScheduler: sched, kwok }
      : { etcd, etcdPeer, apiserver },
    processes: [],
    createdAt: new Date().toISOString(),
    ...(isolation ? { isolation } : {}),
  };
  // cluster.json comes first, so a crash at any later point leaves a folder the next `up` can clean.
  await writeAtomic(join(dir, 'cluster.json'), JSON.stringify(state, null, 2) + '\n', 0o644);
  log(`testbed: ${name}: generating certificates in ${join(dir, 'pki')}`);
  await generatePki(join(dir, 'pki'));
  const cluster = await open(state, log);
  try {
    await cluster.launch(true);
  } catch (err) {
    await cluster.stop().catch(() => {});
    throw err;
  }
  return cluster;
}

async function ensureDir(path: string): Promise<string> {
  await mkdir(path, { recursive: true });
  return path;
}

/** attach returns a handle on the cluster `name` (running or paused) another process may have started. */
export async function attach(name: string, options: AttachOptions = {}): Promise<Cluster | undefined> {
  checkName(name);
  const dir = join(runRoot(), name);
  const state = await readClusterFile(dir);
  return state ? open(state, options.log) : undefined;
}

/** list describes every cluster under the run root, running or paused, sorted by name. */
export async function list(): Promise<ClusterSummary[]> {
  let names: string[];
  try {
    names = await readdir(runRoot());
  } catch {
    return [];
  }
  const out: ClusterSummary[] = [];
  for (const n of names.sort()) {
    let state: ClusterFile | undefined;
    try {
      state = await readClusterFile(join(runRoot(), n));
    } catch {
      continue;
    }
    if (!state) continue;
    const alive = state.processes.filter((p) => isOurs(p.pid, [state.binDir], state.dir)).length;
    const running = alive > 0 && alive === state.processes.length;
    out.push({
      name: state.name,
      full: state.full,
      running,
      state: running ? 'running' : alive > 0 ? 'degraded' : 'stopped',
      isolated: state.isolation !== undefined,
      kubeconfigPath: state.kubeconfigPath,
      server: state.server,
    });
  }
  return out;
}

/**
 * kubectl runs the test bed's kubectl against `cluster` as admin and returns its stdout; `input` is
 * fed on stdin (for `apply -f -`). It fails with kubectl's stderr.
 */
export function kubectl(
  cluster: Pick<Cluster, 'binDir' | 'kubeconfigPath'> & { isolation?: Pick<Isolation, 'netns'> | undefined },
  args: string[],
  input?: string,
): Promise<string> {
  // An isolated cluster is reachable only from inside its namespace.
  const [cmd, cmdArgs] = inNamespace(cluster.isolation?.netns, join(cluster.binDir, 'kubectl'), [
    `--kubeconfig=${cluster.kubeconfigPath}`,
    ...args,
  ]);
  return new Promise<string>((resolve, reject) => {
    const child = execFile(
      cmd,
      cmdArgs,
      { maxBuffer: 64 * 1024 * 1024, timeout: 120_000 },
      (err, stdout, stderr) => {
        if (err) {
          reject(
            new Error(`testbed: \`kubectl ${args.join(' ')}\` failed: ${stderr.trim() || err.message}`, {
              cause: err,
            }),
          );
        } else {
          resolve(stdout);
        }
      },
    );
    child.stdin?.end(input ?? '');
  });
}
