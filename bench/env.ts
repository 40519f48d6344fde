/**
 * One benchmark environment: a fresh plain control-plane cluster and a fresh plain data-plane
 * cluster, the CRDs, one organization (DataPlane reaching the data plane by a kubeconfig Secret,
 * Environment `production`), and the controller as a separate process (or one per shard). Each Release count gets
 * its own environment, so no figure carries over from a previous one.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { API_VERSION } from '../src/api/v1alpha1/constants.ts';
import { tunnelConnector, type TunnelProxySettings } from '../src/dataplane/tunnel.ts';
import type { Connector } from '../src/kube/client.ts';
import { startTunnelProxy, type TunnelProxy } from '../testbed/konnectivity.ts';
import { up, type Cluster } from '../testbed/cluster.ts';
import { createOrg, installCRDs, type Org } from '../test/support/fixtures.ts';
import { TestGateway } from '../test/support/gateway.ts';
import { generateProxyPki } from '../testbed/pki.ts';
import { TestKube } from '../test/support/kube.ts';
import { startController, type BenchController } from './controller.ts';
import type { RolePids } from './machine.ts';

/** SHARD_LABEL is the Release label a --shard-selector run shards by (as Flux's sharding key). */
export const SHARD_LABEL = 'sharding.openchoreo.dev/key';

/** BenchEnvOptions configures a benchmark environment. */
export interface BenchEnvOptions {
  /** label makes the cluster names unique (`bench-cp-<label>`). */
  label: string;
  /** concurrency is the controller's --concurrency. */
  concurrency: number;
  /** runtime runs the production build (`node`) or the sources through tsx. */
  runtime: 'node' | 'tsx';
  /** nodeArgs are node's own arguments for the controller (profiling); empty for none. */
  nodeArgs: string[];
  /** tunnel isolates the data plane and reaches it through apiserver-network-proxy (needs root). */
  tunnel: boolean;
  /**
   * gateway reaches the data plane only through a local cluster gateway (test/support/gateway.ts):
   * the DataPlane has spec.clusterAgent and no credentials, so its caches poll at the default period.
   */
  gateway?: boolean;
  log: (line: string) => void;
}

/** BenchEnv is a running benchmark environment. */
export class BenchEnv {
  /** controllerProcesses are the controllers started so far (one, or one per shard); some may have exited. */
  private controllerProcesses: BenchController[] = [];

  private constructor(
    readonly options: BenchEnvOptions,
    readonly cp: Cluster,
    readonly dp: Cluster,
    readonly cpKube: TestKube,
    readonly dpKube: TestKube,
    readonly org: Org,
    private readonly proxy: TunnelProxy | undefined,
    private readonly gateway: TestGateway | undefined,
  ) {}

  /** create starts both clusters, installs the CRDs and creates the organization. */
  static async create(options: BenchEnvOptions): Promise<BenchEnv> {
    options.log(`starting clusters bench-cp-${options.label} and bench-dp-${options.label}`);
    const [cp, dp] = await Promise.all([
      up(`bench-cp-${options.label}`, { full: false }),
      up(`bench-dp-${options.label}`, { full: false, isolated: options.tunnel }),
    ]);
    let proxy: TunnelProxy | undefined;
    let connect: Connector | undefined;
    if (options.tunnel) {
      proxy = await startTunnelProxy(await mkdtemp(join(tmpdir(), 'bench-proxy-')), options.log);
      const agent = await proxy.startAgent(dp);
      connect = tunnelConnector({
        proxy: proxySettings(proxy),
        host: agent.host,
        secure: true,
        timeoutMs: 20_000,
      });
    }
    const cpKube = new TestKube(cp);
    const dpKube = new TestKube(dp, connect);
    await installCRDs(cpKube);
    const org = await createOrg(cpKube, dp);
    if (proxy && dp.isolation) {
      await cpKube.patch(API_VERSION, 'DataPlane', org.namespace, org.dataPlane, {
        spec: { kubernetesCluster: { tunnel: { host: dp.isolation.tunnelHost } } },
      });
    }
    let gateway: TestGateway | undefined;
    if (options.gateway) {
      gateway = await TestGateway.start(
        await generateProxyPki(await mkdtemp(join(tmpdir(), 'bench-gateway-'))),
      );
      const planeID = `bench-${options.label}`.toLowerCase().replace(/[^a-z0-9-]/g, '-');
      gateway.connect('dataplane', planeID, dp, [`${org.namespace}/${org.dataPlane}`]);
      await cpKube.patch(API_VERSION, 'DataPlane', org.namespace, org.dataPlane, {
        spec: {
          kubernetesCluster: null,
          planeID,
          clusterAgent: { clientCA: { value: 'agent CA (gateway only)' } },
        },
      });
    }
    return new BenchEnv(options, cp, dp, cpKube, dpKube, org, proxy, gateway);
  }

  /** controllers lists the controller processes that have not exited. */
  get controllers(): BenchController[] {
    return this.controllerProcesses.filter((c) => c.running);
  }

  /** controller is the one running controller; it throws when none or several (shards) run. */
  get controller(): BenchController {
    const running = this.controllers;
    if (running.length !== 1) throw new Error(`${running.length} controllers run, not one`);
    return running[0] as BenchController;
  }

  /** controllerRunning tells whether a controller process runs. */
  get controllerRunning(): boolean {
    return this.controllers.length > 0;
  }

  /** controllerPid is the pid of the one running controller process. */
  get controllerPid(): number {
    const pid = this.controller.child.pid;
    if (pid === undefined) throw new Error('the controller process has no pid');
    return pid;
  }

  /**
   * controllersMetrics concatenates the /metrics texts of every running controller: metricSum over
   * it sums a counter or gauge over the processes (shards).
   */
  async controllersMetrics(): Promise<string> {
    return (await Promise.all(this.controllers.map((c) => c.metrics()))).join('\n');
  }

  /**
   * startController starts a controller with the production log level and data-plane timeout;
   * `extraArgs` add controller flags (the shard flags), `extraNodeArgs` node flags, `extraEnv`
   * environment variables (the idle bench's variants).
   */
  async startController(
    extraArgs: string[] = [],
    extraNodeArgs: string[] = [],
    extraEnv: Record<string, string> = {},
  ): Promise<BenchController> {
    const proc = await startController(
      {
        kubeconfig: this.cp.kubeconfigPath,
        args: [
          `--concurrency=${this.options.concurrency}`,
          '--log-level=info',
          '--dataplane-timeout=15s',
          // The hostile bench's misbehaving data planes speak plain http on loopback.
          '--dataplane-allow-http=true',
          ...(this.proxy?.controllerArgs() ?? []),
          // The gateway's flags without the poll period: the default is what is measured.
          ...(this.gateway
            ?.controllerArgs('')
            .filter((a) => !a.startsWith('--cluster-gateway-poll-interval')) ?? []),
          ...extraArgs,
        ],
        env: extraEnv,
        runtime: this.options.runtime,
        nodeArgs: [...this.options.nodeArgs, ...extraNodeArgs],
      },
      this.options.log,
    );
    this.controllerProcesses.push(proc);
    return proc;
  }

  /**
   * startShards starts `count` controllers, one per shard (`--shard-count`, `--shard-index`, and
   * with `selector` a `--release-selector` on SHARD_LABEL, which shardLabelled puts on Releases),
   * without leader election (as the single controller runs): each owns its Releases by a hash of
   * namespace/name, so they never reconcile the same Release.
   */
  async startShards(count: number, selector = false): Promise<BenchController[]> {
    const started: BenchController[] = [];
    // One after the other: the first start builds the controller, and parallel start-ups would
    // measure each other's start-up CPU in their baselines.
    for (let i = 0; i < count; i++) {
      const flags = [`--shard-count=${count}`, `--shard-index=${i}`];
      if (selector) flags.push(`--release-selector=${SHARD_LABEL}=${i}`);
      started.push(await this.startController(flags));
    }
    return started;
  }

  /** stopController stops every running controller gracefully and fails when one does not exit 0. */
  async stopController(): Promise<void> {
    const running = this.controllers;
    if (running.length === 0) return;
    const codes = await Promise.all(running.map(async (p) => [p, await p.stop('SIGTERM')] as const));
    for (const [proc, code] of codes) {
      if (code !== 0) throw new Error(`the controller exited with ${code}; see ${proc.logPath}`);
    }
    // Let the API servers finish the requests the shutdown closed (watches end, Lease, Events).
    await sleep(2000);
  }

  /** clusterPids lists the pids of both clusters' processes (etcd, kube-apiserver). */
  clusterPids(): number[] {
    return [...[...this.cp.pids(), ...this.dp.pids()].map((p) => p.pid), ...(this.proxy?.pids() ?? [])];
  }

  /** apiServerPids returns the kube-apiserver pid of each cluster. */
  apiServerPids(): { cp: number; dp: number } {
    const find = (c: Cluster) => c.pids().find((p) => p.component === 'kube-apiserver')?.pid ?? 0;
    return { cp: find(this.cp), dp: find(this.dp) };
  }

  /** watchedPids lists every process whose CPU counts as ours: the controllers and the clusters. */
  watchedPids(): number[] {
    return [...this.controllers.map((c) => c.pid), ...this.clusterPids()];
  }

  /**
   * cpuRoles groups the watched processes by role (the controllers, each cluster's API server and
   * etcd, the tunnel, the bench itself), for RoleCpuMeter.
   */
  cpuRoles(): RolePids {
    const roles: RolePids = { controller: this.controllers.map((c) => c.pid) };
    for (const [side, cluster] of [
      ['cp', this.cp],
      ['dp', this.dp],
    ] as const) {
      for (const p of cluster.pids()) (roles[`${side} ${p.component}`] ??= []).push(p.pid);
    }
    if (this.proxy) roles['tunnel'] = this.proxy.pids();
    roles['bench'] = [process.pid];
    return roles;
  }

  /** close stops the controllers (if running) and removes both clusters. */
  async close(): Promise<void> {
    await Promise.allSettled(this.controllers.map((c) => c.kill()));
    await Promise.allSettled([this.cpKube.close(), this.dpKube.close()]);
    await this.proxy?.stop();
    await this.gateway?.stop();
    await Promise.allSettled([this.cp.down(), this.dp.down()]);
  }
}

/** proxySettings are the controller's settings for a test-bed proxy server, for the bench's own client. */
function proxySettings(proxy: TunnelProxy): TunnelProxySettings {
  return {
    address: proxy.address,
    caFile: proxy.pki.frontendCa,
    certFile: proxy.pki.controllerCert,
    keyFile: proxy.pki.controllerKey,
  };
}
