/**
 * The test bed's apiserver-network-proxy (konnectivity): a proxy server on the host, in
 * http-connect mode with mutual TLS on its frontend and destination-host routing, and one proxy
 * agent per isolated cluster, run inside the cluster's network namespace, advertising
 * `host=<cluster name>` and dialling out to the proxy server over the namespace's veth. Binaries
 * come from `testbed/build.sh konnectivity` (or $KONNECTIVITY_ASSETS).
 */
import { execFile, spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import https from 'node:https';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import { distinctFreePorts, killAttachedOnExit, terminate, waitFor, type Cluster } from './cluster.ts';
import { request } from './http.ts';
import { inNamespace } from './netns.ts';
import { generateProxyPki, PROXY_AGENT_SIDE_NAME, type ProxyPki } from './pki.ts';

const BUILD_SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'build.sh');
const READY_TIMEOUT_MS = 60_000;
/**
 * STOP_GRACE_MS is short: on SIGTERM the agent only starts draining (it ends on a second signal),
 * and the proxy server waits for its connections; a stopped agent here stands for one that crashed
 * or lost its network, and tearing down needs no grace.
 */
const STOP_GRACE_MS = 500;
let binDirPromise: Promise<string> | undefined;

/** konnectivityBinaries returns the folder with proxy-server and proxy-agent, building them once. */
export function konnectivityBinaries(): Promise<string> {
  binDirPromise ??= new Promise<string>((resolve, reject) => {
    const child = execFile('bash', [BUILD_SCRIPT, 'konnectivity'], (err, stdout) => {
      const last = stdout.trim().split('\n').at(-1)?.trim();
      if (err || !last) {
        reject(
          new Error(`testbed: \`${BUILD_SCRIPT} konnectivity\` failed (its output is above)`, { cause: err }),
        );
      } else resolve(last);
    });
    child.stderr?.pipe(process.stderr);
  });
  binDirPromise.catch(() => (binDirPromise = undefined));
  return binDirPromise;
}

/** TunnelAgent is the proxy agent of one isolated cluster. */
export interface TunnelAgent {
  /** host is what the agent advertises: the DataPlane's spec.kubernetesCluster.tunnel.host. */
  readonly host: string;
  /** stop ends the agent (the data plane drops off the proxy server). */
  stop(): Promise<void>;
  /** start runs it again and waits until the proxy server routes tunnels to it. */
  start(): Promise<void>;
}

/** TunnelProxy is a running proxy server. */
export interface TunnelProxy {
  /** address is `127.0.0.1:<port>` of the http-connect frontend. */
  readonly address: string;
  readonly pki: ProxyPki;
  /** controllerArgs are the controller's --tunnel-proxy-* flags for this proxy server. */
  controllerArgs(): string[];
  /** startAgent runs an agent in an isolated cluster's namespace and waits until it serves tunnels. */
  startAgent(cluster: Cluster): Promise<TunnelAgent>;
  /** pids are the proxy server's and the running agents' processes (the bench counts their CPU). */
  pids(): number[];
  /** stop ends the proxy server and every agent it started. */
  stop(): Promise<void>;
}

interface Spawned {
  pid: number;
  exited: () => boolean;
}

function run(cmd: string, args: string[], logFile: string): Spawned {
  const fd = openSync(logFile, 'a');
  try {
    const child = spawn(cmd, args, { stdio: ['ignore', fd, fd] });
    child.unref();
    if (child.pid === undefined) throw new Error(`testbed: could not start ${cmd}`);
    killAttachedOnExit(child.pid);
    let gone = false;
    child.once('exit', () => (gone = true));
    return { pid: child.pid, exited: () => gone };
  } finally {
    closeSync(fd);
  }
}

/** startTunnelProxy generates certificates in `dir` and starts a proxy server on the host. */
export async function startTunnelProxy(
  dir: string,
  log: (line: string) => void = () => {},
): Promise<TunnelProxy> {
  const bin = await konnectivityBinaries();
  await mkdir(join(dir, 'logs'), { recursive: true });
  const pki = await generateProxyPki(join(dir, 'pki'));
  const [frontend, agentPort, health, admin] = (await distinctFreePorts(4, new Set())) as [
    number,
    number,
    number,
    number,
  ];
  const address = `127.0.0.1:${frontend}`;
  const server = run(
    join(bin, 'proxy-server'),
    [
      '--mode=http-connect',
      // destHost only: with `default` as a fallback, a tunnel to a host whose agent is missing
      // would be sent to any other agent, i.e. into another data plane's network.
      '--proxy-strategies=destHost',
      '--server-bind-address=127.0.0.1',
      `--server-port=${frontend}`,
      `--server-cert=${pki.frontendCert}`,
      `--server-key=${pki.frontendKey}`,
      `--server-ca-cert=${pki.frontendCa}`,
      // Agents dial in from each isolated cluster's veth, so the agent port listens on the host side
      // of all of them.
      `--agent-port=${agentPort}`,
      `--cluster-cert=${pki.clusterCert}`,
      `--cluster-key=${pki.clusterKey}`,
      `--cluster-ca-cert=${pki.agentCa}`,
      '--health-bind-address=127.0.0.1',
      `--health-port=${health}`,
      '--admin-bind-address=127.0.0.1',
      `--admin-port=${admin}`,
      '--server-count=1',
      '--server-id=testbed',
    ],
    join(dir, 'logs', 'proxy-server.log'),
  );
  log(`testbed: proxy server (pid ${server.pid}) at ${address}, agents on port ${agentPort}`);
  const healthy = await waitUntil(async () => {
    if (server.exited()) throw new Error(`proxy-server exited; see ${join(dir, 'logs', 'proxy-server.log')}`);
    return (await request(`http://127.0.0.1:${health}/healthz`)).status === 200;
  });
  if (!healthy) throw new Error(`testbed: proxy server not healthy within ${READY_TIMEOUT_MS / 1000} s`);

  const agents = new Map<string, { pid?: number }>();
  const proxy: TunnelProxy = {
    address,
    pki,
    controllerArgs: () => [
      `--tunnel-proxy-address=${address}`,
      `--tunnel-proxy-ca-file=${pki.frontendCa}`,
      `--tunnel-proxy-cert-file=${pki.controllerCert}`,
      `--tunnel-proxy-key-file=${pki.controllerKey}`,
    ],
    async startAgent(cluster) {
      const iso = cluster.isolation;
      if (!iso)
        throw new Error(`testbed: cluster '${cluster.name}' is not isolated; start it with --isolated`);
      const host = iso.tunnelHost;
      const record: { pid?: number } = {};
      agents.set(host, record);
      const logFile = join(dir, 'logs', `proxy-agent-${host}.log`);
      const start = async () => {
        const [cmd, args] = inNamespace(iso.netns, join(bin, 'proxy-agent'), [
          `--proxy-server-host=${PROXY_AGENT_SIDE_NAME}`,
          `--proxy-server-port=${agentPort}`,
          `--ca-cert=${pki.agentCa}`,
          `--agent-cert=${pki.agentCert}`,
          `--agent-key=${pki.agentKey}`,
          `--agent-id=${host}`,
          `--agent-identifiers=host=${host}`,
          // Reconnect quickly after the proxy server or the agent comes back.
          '--sync-interval=1s',
          '--sync-interval-cap=2s',
          '--probe-interval=1s',
        ]);
        const agent = run(cmd, args, logFile);
        record.pid = agent.pid;
        log(`testbed: proxy agent for host ${host} (pid ${agent.pid}) in ${iso.netns}`);
        const ready = await waitUntil(async () => {
          if (agent.exited()) throw new Error(`proxy-agent for ${host} exited; see ${logFile}`);
          return (await connectStatus(proxy, `${host}:${cluster.ports.apiserver}`)) === 200;
        });
        if (!ready)
          throw new Error(
            `testbed: proxy agent for ${host} serves no tunnel within ${READY_TIMEOUT_MS / 1000} s; see ${logFile}`,
          );
      };
      await start();
      return {
        host,
        start,
        async stop() {
          if (record.pid !== undefined) await terminate(record.pid, STOP_GRACE_MS);
          record.pid = undefined;
        },
      };
    },
    pids: () => [server.pid, ...[...agents.values()].flatMap((a) => (a.pid === undefined ? [] : [a.pid]))],
    async stop() {
      for (const a of agents.values()) if (a.pid !== undefined) await terminate(a.pid, STOP_GRACE_MS);
      await terminate(server.pid, STOP_GRACE_MS);
    },
  };
  return proxy;
}

/** waitUntil polls `ready` every 200 ms until it is true (true) or the ready timeout passed (false). */
async function waitUntil(ready: () => Promise<boolean>): Promise<boolean> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let ok = false;
  while (!ok && Date.now() < deadline) {
    ok = await ready().catch((err: unknown) => {
      if (err instanceof Error && /exited/.test(err.message)) throw err;
      return false;
    });
    if (!ok) await waitFor(() => false, 200, 200);
  }
  return ok;
}

/** connectStatus asks the proxy server for a tunnel to `target` as the controller would, and closes it. */
export function connectStatus(proxy: Pick<TunnelProxy, 'address' | 'pki'>, target: string): Promise<number> {
  const [host, port] = proxy.address.split(':') as [string, string];
  return new Promise((resolve, reject) => {
    const req = https.request({
      host,
      port: Number(port),
      method: 'CONNECT',
      path: target,
      agent: false,
      servername: '',
      ca: readFileSync(proxy.pki.frontendCa),
      cert: readFileSync(proxy.pki.controllerCert),
      key: readFileSync(proxy.pki.controllerKey),
      timeout: 5_000,
    });
    req.once('connect', (res, socket) => {
      socket.destroy();
      resolve(res.statusCode ?? 0);
    });
    req.once('timeout', () => req.destroy(new Error('CONNECT timed out')));
    req.once('error', reject);
    req.end();
  });
}
