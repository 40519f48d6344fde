/**
 * main: the release-controller process. Parses flags, connects to the control plane, serves
 * metrics and probes, optionally campaigns for leadership, runs the Release controller, and shuts
 * down gracefully on SIGTERM/SIGINT (finish running reconciles, release the Lease, exit 0).
 */
import './node-version.ts'; // first: on a too-old Node.js, one line saying what to do
import { EndpointPolicy } from './dataplane/endpoint.ts';
import { existsSync } from 'node:fs';
import { pino, type Logger, type LoggerOptions } from 'pino';
import { FlagError, HELP, parseFlags, usage, VERSION, type Options } from './cli/flags.ts';
import { readBuildInfo, versionLine, type BuildInfo } from './runtime/buildinfo.ts';
import { textLogStream } from './cli/textlog.ts';
import { clientFromKubeConfig, type KubeClient } from './kube/client.ts';
import { clientFor, controlPlaneConfig, NEEDS_PLUGIN } from './kube/kubeconfig.ts';
import { ReleaseController } from './controller/release/setup.ts';
import { PlaneStatusController } from './controller/plane/controller.ts';
import { EventRecorder, kubeEventSink } from './runtime/events.ts';
import { defaultIdentity, LeaderElector } from './runtime/leaderelection.ts';
import { RuntimeMetrics } from './runtime/metrics.ts';
import { EndpointServer } from './runtime/server.ts';
import { onShutdown } from './runtime/signals.ts';
import { loadOwnershipKey } from './controller/release/ownershipkey.ts';
import { hmacSeal } from './controller/release/tenancy.ts';

const IN_CLUSTER_NAMESPACE_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

/**
 * controlPlaneClient connects to the control plane. Kubeconfigs with credential plugins (exec,
 * auth-provider; common on a laptop against a cloud cluster) go through @kubernetes/client-node,
 * loaded only then because it is large.
 */
async function controlPlaneClient(options: Options, logger: Logger): Promise<KubeClient> {
  const config = await controlPlaneConfig(options.kubeconfig, process.env);
  // The control plane is trusted: its lists get no budget, but bodies keep the default cap (the
  // informers page by it) and a silent watch is noticed like a data plane's.
  const clientOptions = {
    name: 'control plane',
    timeoutMs: 30_000,
    http2: options.watchHttp2,
    limits: {
      watchIdleTimeoutMs: options.watchIdleTimeoutMs,
      settings: { watchIdleTimeoutMs: '--watch-idle-timeout' },
    },
  };
  if (config.access !== NEEDS_PLUGIN) {
    logger.info(
      { source: config.source, kubeconfig: config.path, server: config.access.server },
      'control-plane credentials',
    );
    return clientFor(config.access, clientOptions);
  }
  const { KubeConfig } = await import('@kubernetes/client-node');
  const kc = new KubeConfig();
  kc.loadFromFile(config.path ?? '');
  logger.info(
    { source: config.source, kubeconfig: config.path },
    'control-plane credentials (credential plugin)',
  );
  return clientFromKubeConfig(kc, clientOptions);
}

async function leaseNamespace(options: Options): Promise<string> {
  if (options.leaderElectionNamespace) return options.leaderElectionNamespace;
  if (existsSync(IN_CLUSTER_NAMESPACE_FILE)) {
    const { readFile } = await import('node:fs/promises');
    return (await readFile(IN_CLUSTER_NAMESPACE_FILE, 'utf8')).trim();
  }
  return 'default';
}

async function run(options: Options, logger: Logger, build: BuildInfo): Promise<void> {
  logger.info(
    {
      ...build,
      concurrency: options.concurrency,
      shard: `${options.shardIndex}/${options.shardCount}`,
      leaderElect: options.leaderElect,
    },
    `release-controller ${build.version} starting`,
  );
  const client = await controlPlaneClient(options, logger);
  const identity = defaultIdentity();
  const metrics = new RuntimeMetrics();
  metrics.buildInfo(build);
  const server = new EndpointServer({
    registry: metrics.registry,
    logger,
    metricsBindAddress: options.metricsBindAddress,
    healthProbeBindAddress: options.healthProbeBindAddress,
  });
  const events = new EventRecorder({ sink: kubeEventSink(client), reportingInstance: identity, logger });
  const tenancy = options.singleTenant
    ? undefined
    : {
        reserved: options.reservedNamespaces,
        sealer: hmacSeal(
          await loadOwnershipKey(
            client,
            await leaseNamespace(options),
            options.ownershipKeySecret,
            logger,
            AbortSignal.timeout(30_000),
          ),
        ),
      };
  logger.info(
    { singleTenant: options.singleTenant, reservedNamespaces: options.reservedNamespaces },
    options.singleTenant
      ? 'single-tenant: every organization is trusted (no TenantPolicy is read)'
      : 'multi-tenant: organizations are confined by TenantPolicies, or by the safe default',
  );
  const controller = new ReleaseController({
    client,
    logger,
    metrics,
    events,
    concurrency: options.concurrency,
    maxConcurrentPerDataPlane: options.maxConcurrentPerDataPlane,
    shard: { index: options.shardIndex, count: options.shardCount, by: options.shardBy },
    releaseSelector: options.releaseSelector,
    dataPlaneTimeoutMs: options.dataPlaneTimeoutMs,
    endpoints: new EndpointPolicy(options.endpoints),
    ...(options.tunnelProxy ? { tunnelProxy: options.tunnelProxy } : {}),
    ...(options.gateway ? { gateway: options.gateway } : {}),
    // Each limit names the flag that raises it, so a Release's message tells the operator.
    dataPlaneLimits: {
      maxResponseBytes: options.dataPlaneMaxResponseBytes,
      maxWatchEventBytes: options.dataPlaneMaxWatchEventBytes,
      watchIdleTimeoutMs: options.watchIdleTimeoutMs,
      minStreamsPerConnection: options.dataPlaneMinHttp2Streams,
      maxWatchConnections: options.dataPlaneMaxWatchConnections,
      settings: {
        maxResponseBytes: '--dataplane-max-response-size',
        maxWatchEventBytes: '--dataplane-max-watch-event-size',
        watchIdleTimeoutMs: '--watch-idle-timeout',
        minStreamsPerConnection: '--dataplane-min-http2-streams',
        maxWatchConnections: '--dataplane-max-watch-connections',
      },
    },
    cacheLimits: {
      dataPlane: {
        maxObjects: options.dataPlaneMaxCachedObjects,
        maxBytes: options.dataPlaneMaxCacheBytes,
        settings: { maxObjects: '--dataplane-max-cached-objects', maxBytes: '--dataplane-max-cache-size' },
      },
      organization: {
        maxObjects: options.organizationMaxCachedObjects,
        maxBytes: options.organizationMaxCacheBytes,
        settings: {
          maxObjects: '--organization-max-cached-objects',
          maxBytes: '--organization-max-cache-size',
        },
      },
    },
    observeLimits: {
      perRelease: { limit: options.maxObservedPerRelease, rule: '--max-observed-per-release' },
      perOrganization: { limit: options.maxObservedPerOrganization, rule: '--max-observed-per-organization' },
    },
    watchHttp2: options.watchHttp2,
    servesRenderedReleases: options.renderedReleases,
    ...(tenancy && { tenancy }),
    dataPlaneListBudget: {
      maxPages: options.dataPlaneMaxListPages,
      maxBytes: options.dataPlaneMaxListBytes,
      timeoutMs: options.dataPlaneListTimeoutMs,
      settings: {
        maxPages: '--dataplane-max-list-pages',
        maxBytes: '--dataplane-max-list-size',
        timeoutMs: '--dataplane-list-timeout',
      },
    },
  });
  // Plane and Environment status: one writer, the leader of shard 0 (every shard sees every plane).
  // Shards chosen by --release-selector each see only their Releases, so none can count a plane's
  // users: they write no plane status (docs/architecture.md, High availability and scale).
  const planes =
    options.shardIndex === 0 && !options.releaseSelector
      ? new PlaneStatusController({
          client,
          logger,
          events,
          metrics,
          releases: controller.releaseCaches(),
          environments: controller.environments,
          dataPlanes: controller.dataPlanes,
          clusterDataPlanes: controller.clusterDataPlanes,
          resolver: controller.resolver,
          singleTenant: options.singleTenant,
          timeoutMs: options.dataPlaneTimeoutMs,
        })
      : undefined;
  if (planes) controller.onDataPlaneHealthChange((planeKey) => planes.watchesChanged(planeKey));
  const runSignal = new AbortController();
  let started = false;
  const startController = (signal: AbortSignal) => {
    started = true;
    Promise.all([controller.start(signal), planes?.start(signal)]).catch((err: unknown) => {
      if (signal.aborted) return;
      logger.fatal({ err }, 'controller failed to start');
      process.exit(1);
    });
  };

  let elector: LeaderElector | undefined;
  let electing: Promise<void> | undefined;
  server.addHealthCheck('ping', () => undefined);
  server.addReadyCheck('caches', () => {
    // A standby is ready: it serves probes and waits for the lease.
    if (started && !controller.synced()) throw new Error('control-plane caches not synced yet');
  });
  await server.start();

  if (options.leaderElect) {
    const name =
      options.shardCount > 1
        ? `${options.leaderElectionId}-shard-${options.shardIndex}`
        : options.leaderElectionId;
    elector = new LeaderElector({
      client,
      namespace: await leaseNamespace(options),
      name,
      identity,
      leaseDurationMs: options.leaseDurationMs,
      renewDeadlineMs: options.renewDeadlineMs,
      retryPeriodMs: options.retryPeriodMs,
      logger,
      metrics: metrics.leaderElection(name),
      onStartedLeading: (signal) => {
        logger.info({ lease: name, identity }, 'became leader; starting');
        startController(signal);
      },
      onStoppedLeading: () => {
        logger.fatal({ lease: name }, 'lost leadership; exiting so that no two leaders reconcile at once');
        process.exit(1);
      },
      onNewLeader: (holder) => {
        if (holder !== identity) logger.info({ leader: holder }, 'another replica leads; standing by');
      },
    });
    server.addHealthCheck('leader-election', () => elector?.check());
    electing = elector.run(runSignal.signal);
  } else {
    startController(runSignal.signal);
  }

  onShutdown(
    async (signal) => {
      logger.info(
        { signal, graceMs: options.shutdownGraceMs },
        'shutting down: finishing running reconciles',
      );
      await Promise.all([controller.stop(options.shutdownGraceMs), planes?.stop(options.shutdownGraceMs)]);
      runSignal.abort();
      await electing;
      await events.close();
      await server.close();
      await client.close();
      logger.info('shutdown complete');
      logger.flush();
      process.exit(0);
    },
    { logger },
  );
}

let parsed: Options | typeof HELP | typeof VERSION;
try {
  parsed = parseFlags(process.argv.slice(2), process.env);
} catch (err) {
  if (err instanceof FlagError) {
    // One line and where to look, as kubectl and Go's flag package do; the whole help would bury it.
    console.error(`release-controller: ${err.message} (see --help)`);
    process.exit(2);
  }
  throw err;
}
const build = readBuildInfo();
if (parsed === HELP) {
  console.log(usage());
  process.exit(0);
}
if (parsed === VERSION) {
  console.log(versionLine(build));
  process.exit(0);
}
const options: Options = parsed;
const logOptions: LoggerOptions = {
  level: options.logLevel,
  base: { component: 'release-controller' },
  timestamp: pino.stdTimeFunctions.isoTime,
  formatters: { level: (label) => ({ level: label }) },
  redact: ['*.authorization', '*.Authorization', '*.clientKey', '*.token', '*.data'],
};
const logger =
  options.logFormat === 'text'
    ? pino(logOptions, textLogStream(process.stdout, process.env))
    : pino(logOptions);
run(options, logger, build).catch((err: unknown) => {
  logger.fatal({ err }, 'release-controller failed');
  logger.flush();
  process.exit(1);
});
