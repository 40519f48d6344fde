/**
 * Command-line flags of the controller, kubebuilder's names where one exists. Every flag also
 * reads the environment variable RELEASE_CONTROLLER_<FLAG> (upper case, dashes as underscores);
 * a flag on the command line wins.
 */
import { nearestName } from '../api/text.ts';
import { parseDuration } from '../api/v1alpha1/duration.ts';
import { splitAddress, type TunnelProxySettings } from '../dataplane/tunnel.ts';
import type { GatewaySettings } from '../dataplane/gateway/transport.ts';
import { defaultLimitPerKey } from '../runtime/limiter.ts';
import { shardLabelKeys } from '../controller/release/shard.ts';
import {
  DEFAULT_DENIED_CIDRS,
  DEFAULT_DENIED_HOSTS,
  LOOPBACK_CIDRS,
  type EndpointPolicySpec,
  parseCidr,
  parseHostPattern,
} from '../dataplane/endpoint.ts';

/** ENV_PREFIX prefixes the environment variable of every flag. */
export const ENV_PREFIX = 'RELEASE_CONTROLLER_';

interface FlagSpec {
  name: string;
  kind: 'string' | 'boolean' | 'int' | 'duration' | 'size';
  default: string;
  help: string;
}

/** FLAGS lists every flag with its default and help text. */
export const FLAGS: readonly FlagSpec[] = [
  {
    name: 'kubeconfig',
    kind: 'string',
    default: '',
    help: 'Path to the kubeconfig of the control-plane cluster. Empty: $KUBECONFIG, then in-cluster config, then ~/.kube/config.',
  },
  {
    name: 'metrics-bind-address',
    kind: 'string',
    default: ':8080',
    help: 'Address of the Prometheus /metrics endpoint; "0" disables it.',
  },
  {
    name: 'health-probe-bind-address',
    kind: 'string',
    default: ':8081',
    help: 'Address of the /healthz and /readyz endpoints; "0" disables them.',
  },
  {
    name: 'single-tenant',
    kind: 'boolean',
    default: 'false',
    help: 'Trust every organization as the platform itself (one team per install): no TenantPolicy is read, any namespace, kind and credentials Secret may be used and existing objects adopted when asked. Off by default; docs/tenancy.md says what it gives away.',
  },
  {
    name: 'reserved-namespaces',
    kind: 'string',
    default: 'kube-*,default',
    help: 'Comma-separated data-plane namespace patterns no organization may write into unless a TenantPolicy allows it by name.',
  },
  {
    name: 'ownership-key-secret',
    kind: 'string',
    default: 'release-controller-ownership-key',
    help: 'Secret, in the leader-election namespace, holding the key that seals which organization owns a data-plane namespace; created with a random key when missing. Keep it: a new key makes every sealed namespace unowned.',
  },
  {
    name: 'leader-elect',
    kind: 'boolean',
    default: 'false',
    help: 'Hold a coordination.k8s.io Lease so that only one replica (per shard) reconciles.',
  },
  {
    name: 'leader-election-namespace',
    kind: 'string',
    default: '',
    help: 'Namespace of the Lease. Empty: the pod namespace (in-cluster) or "default".',
  },
  {
    name: 'leader-election-id',
    kind: 'string',
    default: 'release-controller',
    help: 'Name of the Lease; with sharding, "-shard-<index>" is appended.',
  },
  {
    name: 'leader-elect-lease-duration',
    kind: 'duration',
    default: '15s',
    help: 'How long standbys wait before taking over from a leader that stopped renewing.',
  },
  {
    name: 'leader-elect-renew-deadline',
    kind: 'duration',
    default: '10s',
    help: 'How long the leader keeps trying to renew before it gives up leading.',
  },
  {
    name: 'leader-elect-retry-period',
    kind: 'duration',
    default: '2s',
    help: 'How often candidates try to acquire or renew the Lease.',
  },
  { name: 'concurrency', kind: 'int', default: '4', help: 'Number of Releases reconciled in parallel.' },
  {
    name: 'max-concurrent-reconciles-per-dataplane',
    kind: 'int',
    default: '0',
    help: 'Most Releases of one DataPlane reconciled at once, so a slow or silent data plane cannot hold every worker; a Release over it is put back until a slot frees. 0: half of --concurrency, rounded up.',
  },
  {
    name: 'shard-count',
    kind: 'int',
    default: '1',
    help: 'Number of controller shards; each Release belongs to one shard by a hash of its namespace/name (or of its namespace alone, --shard-by=namespace).',
  },
  {
    name: 'shard-by',
    kind: 'string',
    default: 'release',
    help: 'What the shard hash is of: "release" (namespace/name, the most even split) or "namespace" (the organization: every Release of an organization in one shard, so a shard opens only its organizations\' DataPlanes and caches only their objects).',
  },
  {
    name: 'release-selector',
    kind: 'string',
    default: '',
    help: 'Label selector of the Releases this process watches and serves (as Flux\'s --watch-label-selector), e.g. "sharding.openchoreo.dev/key=shard1" or "!sharding.openchoreo.dev/key"; data-plane objects carry their Release\'s values of its keys and the data-plane watches add it, so it divides the Release and data-plane caches between shards. Releases outside it are read from the API server only where one must still protect its objects and planes. Empty: every Release.',
  },
  {
    name: 'shard-index',
    kind: 'int',
    default: '0',
    help: 'The shard of this process, from 0 to shard-count - 1.',
  },
  {
    name: 'dataplane-timeout',
    kind: 'duration',
    default: '15s',
    help: 'Timeout of every request to a data-plane cluster.',
  },
  {
    name: 'dataplane-allowed-cidrs',
    kind: 'string',
    default: '',
    help: 'Comma-separated CIDRs a DataPlane server may resolve to. Empty: any address not denied. With --dataplane-allowed-hosts, an endpoint must match either list.',
  },
  {
    name: 'dataplane-denied-cidrs',
    kind: 'string',
    default: DEFAULT_DENIED_CIDRS.join(','),
    help: `Comma-separated CIDRs no DataPlane server may resolve to; a deny wins over an allow. The default denies link-local and cloud metadata addresses; add ${LOOPBACK_CIDRS.join(',')} when the controller runs in a pod (the Helm chart does).`,
  },
  {
    name: 'dataplane-allowed-hosts',
    kind: 'string',
    default: '',
    help: 'Comma-separated host names (exact, or *.suffix) a DataPlane server may name. Empty: any host not denied.',
  },
  {
    name: 'dataplane-denied-hosts',
    kind: 'string',
    default: DEFAULT_DENIED_HOSTS.join(','),
    help: 'Comma-separated host names (exact, or *.suffix) no DataPlane server may name.',
  },
  {
    name: 'dataplane-allow-http',
    kind: 'boolean',
    default: 'false',
    help: 'Allow DataPlane servers with plain http:// URLs (https:// only otherwise).',
  },
  {
    name: 'tunnel-proxy-address',
    kind: 'string',
    default: '',
    help: 'host:port of the apiserver-network-proxy server (http-connect mode) through which DataPlanes with spec.kubernetesCluster.tunnel are reached. Empty: such DataPlanes are refused.',
  },
  {
    name: 'tunnel-proxy-ca-file',
    kind: 'string',
    default: '',
    help: "PEM CA file that verifies the tunnel proxy server's certificate.",
  },
  {
    name: 'tunnel-proxy-cert-file',
    kind: 'string',
    default: '',
    help: 'PEM client certificate of the controller for the tunnel proxy server (re-read for every tunnel, so it may rotate).',
  },
  {
    name: 'tunnel-proxy-key-file',
    kind: 'string',
    default: '',
    help: 'PEM private key of --tunnel-proxy-cert-file.',
  },
  {
    name: 'tunnel-proxy-server-name',
    kind: 'string',
    default: '',
    help: "Name checked in the tunnel proxy server's certificate. Empty: the host of --tunnel-proxy-address.",
  },
  {
    name: 'cluster-gateway-url',
    kind: 'string',
    default: '',
    help: "https:// URL of OpenChoreo's cluster gateway (its internal port, e.g. https://cluster-gateway.openchoreo-control-plane.svc:8444), through which planes with spec.clusterAgent and no spec.kubernetesCluster are reached. Empty: such planes are refused.",
  },
  {
    name: 'cluster-gateway-ca-file',
    kind: 'string',
    default: '',
    help: "PEM CA file that verifies the cluster gateway's serving certificate.",
  },
  {
    name: 'cluster-gateway-cert-file',
    kind: 'string',
    default: '',
    help: "PEM client certificate of the controller for the cluster gateway (signed by the gateway's client CA).",
  },
  {
    name: 'cluster-gateway-key-file',
    kind: 'string',
    default: '',
    help: 'PEM private key of --cluster-gateway-cert-file.',
  },
  {
    name: 'cluster-gateway-server-name',
    kind: 'string',
    default: '',
    help: "Name checked in the cluster gateway's certificate. Empty: the host of --cluster-gateway-url.",
  },
  {
    name: 'cluster-gateway-poll-interval',
    kind: 'duration',
    default: '15s',
    help: 'How often the objects of a plane reached through the cluster gateway are listed (the gateway cannot watch): changes made on such a plane are seen within about this long. Each poll lists every kind in use on the plane once.',
  },
  {
    name: 'dataplane-max-response-size',
    kind: 'size',
    default: '64Mi',
    help: 'Largest response body accepted from a data plane (discovery document, list page, object); a larger one is cut off, and the Releases of that data plane report DataPlaneUnreachable naming this flag.',
  },
  {
    name: 'dataplane-max-watch-event-size',
    kind: 'size',
    default: '16Mi',
    help: 'Largest watch event (one line of a watch stream) accepted from a data plane.',
  },
  {
    name: 'dataplane-max-list-size',
    kind: 'size',
    default: '128Mi',
    help: 'Largest paged list of one kind accepted from a data plane, all pages together.',
  },
  {
    name: 'dataplane-max-list-pages',
    kind: 'int',
    default: '1000',
    help: 'Most pages one list of a data plane may take (a data plane may answer "continue" forever).',
  },
  {
    name: 'dataplane-max-cached-objects',
    kind: 'int',
    default: '100000',
    help: 'Most objects the watch caches of one DataPlane may hold (its managed objects and what its Releases observe); over it every watch of that DataPlane is closed and its caches freed for a minute, and its Releases report DataPlaneUnreachable naming this flag. 0: no limit.',
  },
  {
    name: 'dataplane-max-cache-size',
    kind: 'size',
    default: '128Mi',
    help: 'Most bytes (as sent by the data plane) the watch caches of one DataPlane may hold; over it, as --dataplane-max-cached-objects.',
  },
  {
    name: 'organization-max-cached-objects',
    kind: 'int',
    default: '200000',
    help: 'Most objects the watch caches of all DataPlanes of one organization may hold together; the DataPlane whose cache crosses it is closed as with --dataplane-max-cached-objects. 0: no limit.',
  },
  {
    name: 'organization-max-cache-size',
    kind: 'size',
    default: '256Mi',
    help: 'Most bytes the watch caches of all DataPlanes of one organization may hold together.',
  },
  {
    name: 'max-observed-per-release',
    kind: 'int',
    default: '100',
    help: 'Most objects one Release may observe (openchoreo.dev/apply: Observe); the ones past it are reported and not observed. A TenantPolicy may only lower it. 0: no limit.',
  },
  {
    name: 'max-observed-per-organization',
    kind: 'int',
    default: '1000',
    help: 'Most objects all Releases of one organization may observe together. A TenantPolicy may only lower it. 0: no limit.',
  },
  {
    name: 'dataplane-min-http2-streams',
    kind: 'int',
    default: '10',
    help: 'Fewest concurrent HTTP/2 streams per connection a data plane must allow; one that allows fewer is refused (its Releases report it) rather than given a TLS connection per watch.',
  },
  {
    name: 'dataplane-max-watch-connections',
    kind: 'int',
    default: '64',
    help: 'Most connections carrying the watches of one DataPlane: HTTP/2 connections (each carrying up to 100 watches), or watches over HTTP/1.1 (one connection each).',
  },
  {
    name: 'dataplane-list-timeout',
    kind: 'duration',
    default: '2m',
    help: 'Longest time one paged list of a data plane may take, all pages together.',
  },
  {
    name: 'watch-idle-timeout',
    kind: 'duration',
    default: '2m30s',
    help: 'A watch (control plane or data plane) that receives nothing, not even a bookmark (sent about every minute), for this long is re-opened; if the server does not answer, Releases report it.',
  },
  {
    name: 'watch-http2',
    kind: 'boolean',
    default: 'true',
    help: 'Carry the watches of each cluster (control plane and every data plane) as streams of one HTTP/2 connection when its API server offers HTTP/2; false holds one HTTP/1.1 connection per watch.',
  },
  {
    name: 'rendered-releases',
    kind: 'boolean',
    default: 'true',
    help: "Serve OpenChoreo's RenderedRelease beside Release (needs the renderedreleases CRD; false when only Release is installed).",
  },
  {
    name: 'shutdown-grace-period',
    kind: 'duration',
    default: '25s',
    help: 'On SIGTERM, how long running reconciles may take to finish.',
  },
  {
    name: 'log-level',
    kind: 'string',
    default: 'info',
    help: 'Log level: trace, debug, info, warn or error.',
  },
  {
    name: 'log-format',
    kind: 'string',
    default: 'json',
    help: 'Log format on stdout: json (one JSON object per line, for log collectors) or text (one readable line per entry, for people at a terminal).',
  },
];

/** SHARD_BY are the values of --shard-by: what the shard hash is of. */
export const SHARD_BY = ['release', 'namespace'] as const;

/** ShardBy is one of SHARD_BY. */
export type ShardBy = (typeof SHARD_BY)[number];

/** LOG_FORMATS are the values of --log-format. */
export const LOG_FORMATS = ['json', 'text'] as const;

/** LogFormat is one of LOG_FORMATS. */
export type LogFormat = (typeof LOG_FORMATS)[number];

/** HELP is what parseFlags returns for --help or -h. */
export const HELP = 'help';
/** VERSION is what parseFlags returns for --version. */
export const VERSION = 'version';

/** Options are the parsed flags. */
export interface Options {
  kubeconfig: string;
  metricsBindAddress: string;
  healthProbeBindAddress: string;
  leaderElect: boolean;
  leaderElectionNamespace: string;
  leaderElectionId: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  concurrency: number;
  /** maxConcurrentPerDataPlane is the resolved per-DataPlane cap (the flag's 0 already replaced). */
  maxConcurrentPerDataPlane: number;
  shardCount: number;
  shardIndex: number;
  /** shardBy is what the shard hash is of (--shard-by). */
  shardBy: ShardBy;
  /** releaseSelector is the label selector of the Release watch; empty for every Release. */
  releaseSelector: string;
  dataPlaneTimeoutMs: number;
  /** endpoints is the policy of where DataPlane servers may point (--dataplane-allowed-*, --dataplane-denied-*). */
  endpoints: EndpointPolicySpec;
  /** tunnelProxy is set when --tunnel-proxy-address is. */
  tunnelProxy?: TunnelProxySettings;
  /** gateway is set when --cluster-gateway-url is. */
  gateway?: GatewaySettings;
  dataPlaneMaxResponseBytes: number;
  dataPlaneMaxWatchEventBytes: number;
  dataPlaneMaxListBytes: number;
  dataPlaneMaxListPages: number;
  dataPlaneListTimeoutMs: number;
  /** dataPlaneMaxCachedObjects caps the objects in one DataPlane's watch caches (0: none). */
  dataPlaneMaxCachedObjects: number;
  /** dataPlaneMaxCacheBytes caps the bytes in one DataPlane's watch caches. */
  dataPlaneMaxCacheBytes: number;
  /** organizationMaxCachedObjects caps the objects in one organization's watch caches (0: none). */
  organizationMaxCachedObjects: number;
  /** organizationMaxCacheBytes caps the bytes in one organization's watch caches. */
  organizationMaxCacheBytes: number;
  /** maxObservedPerRelease caps the objects one Release observes (0: none). */
  maxObservedPerRelease: number;
  /** maxObservedPerOrganization caps the objects one organization observes (0: none). */
  maxObservedPerOrganization: number;
  /** dataPlaneMinHttp2Streams is the fewest HTTP/2 streams per connection a data plane must allow. */
  dataPlaneMinHttp2Streams: number;
  /** dataPlaneMaxWatchConnections caps the connections carrying one DataPlane's watches. */
  dataPlaneMaxWatchConnections: number;
  watchIdleTimeoutMs: number;
  /** watchHttp2 carries each cluster's watches as streams of one HTTP/2 connection. */
  watchHttp2: boolean;
  /** renderedReleases serves RenderedRelease beside Release (--rendered-releases). */
  renderedReleases: boolean;
  shutdownGraceMs: number;
  logLevel: string;
  /** singleTenant turns tenancy off (--single-tenant). */
  singleTenant: boolean;
  /** reservedNamespaces are the data-plane namespace patterns no organization may write into by default. */
  reservedNamespaces: string[];
  /** ownershipKeySecret is the name of the Secret with the namespace ownership key. */
  ownershipKeySecret: string;
  logFormat: LogFormat;
}

const SIZE_UNITS: Record<string, number> = { '': 1, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3 };

/** parseSize reads a byte size, a number with an optional binary suffix (`64Mi`, `512Ki`, `1Gi`, `1000`). */
export function parseSize(text: string): number | undefined {
  const m = /^([0-9]+)(Ki|Mi|Gi)?$/.exec(text);
  if (!m) return undefined;
  const bytes = Number(m[1]) * (SIZE_UNITS[m[2] ?? ''] ?? 1);
  return Number.isSafeInteger(bytes) && bytes > 0 ? bytes : undefined;
}

/** FlagError is a bad flag or flag value; main prints its message in one line with a pointer to --help. */
export class FlagError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FlagError';
  }
}

/** envName is the environment variable of a flag. */
export function envName(flag: string): string {
  return ENV_PREFIX + flag.toUpperCase().replace(/-/g, '_');
}

/** usage is the --help text. */
export function usage(): string {
  const lines = [
    'Usage: release-controller [flags]',
    '',
    'Flags (each also read from the environment variable shown):',
  ];
  for (const f of FLAGS) {
    const dflt =
      f.default === '' ? '' : ` (default ${f.kind === 'string' ? JSON.stringify(f.default) : f.default})`;
    lines.push(
      `  --${f.name}${f.kind === 'boolean' ? '' : ` <${f.kind}>`}`,
      `      ${f.help}${dflt}`,
      `      env: ${envName(f.name)}`,
    );
  }
  lines.push('  --version', '      Print the version, the git commit and the Node.js version, and exit.');
  lines.push('  --help', '      Print this help and exit.');
  return lines.join('\n');
}

/**
 * nearestFlag returns the flag name closest to `name` by edit distance, if it is close enough to be
 * a typo (text.ts nearestName), for "did you mean".
 */
export function nearestFlag(
  name: string,
  names: readonly string[] = [...FLAGS.map((f) => f.name), 'help', 'version'],
): string | undefined {
  return nearestName(name, names);
}

/**
 * parseFlags parses argv (without node and script) and the environment; it returns HELP for --help
 * or -h and VERSION for --version (the first of them given), and throws a FlagError for a bad flag.
 */
export function parseFlags(argv: string[], env: NodeJS.ProcessEnv): Options | typeof HELP | typeof VERSION {
  const raw = new Map<string, string>();
  /** source names where a value came from, for error messages. */
  const source = new Map<string, string>();
  for (const f of FLAGS) {
    const fromEnv = env[envName(f.name)];
    raw.set(f.name, fromEnv ?? f.default);
    source.set(f.name, fromEnv === undefined ? `--${f.name}` : `${envName(f.name)} (for --${f.name})`);
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--help' || arg === '-h') return HELP;
    if (arg === '--version') return VERSION;
    if (!arg.startsWith('--')) {
      const flag = /^-{0,2}([a-z][-a-z0-9]*)/.exec(arg)?.[1];
      const guess = flag === undefined ? undefined : FLAGS.find((f) => f.name === flag)?.name;
      throw new FlagError(
        `unexpected argument "${arg}"${guess ? `; flags start with two dashes: --${guess}` : ' (the controller takes only flags)'}`,
      );
    }
    const eq = arg.indexOf('=');
    const name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
    const spec = FLAGS.find((f) => f.name === name);
    if (!spec) {
      const guess = nearestFlag(name);
      throw new FlagError(`unknown flag --${name}${guess ? `; did you mean --${guess}?` : ''}`);
    }
    source.set(name, `--${name}`);
    if (eq >= 0) raw.set(name, arg.slice(eq + 1));
    else if (spec.kind === 'boolean') raw.set(name, 'true');
    else {
      const value = argv[++i];
      if (value === undefined || value.startsWith('--')) throw new FlagError(`flag --${name} needs a value`);
      raw.set(name, value);
    }
  }
  const str = (n: string) => raw.get(n) ?? '';
  const bool = (n: string) => {
    const v = str(n).toLowerCase();
    if (!['true', 'false', '1', '0'].includes(v))
      throw new FlagError(`--${n} must be true or false, got "${str(n)}"`);
    return v === 'true' || v === '1';
  };
  const int = (n: string, min: number) => {
    const v = Number(str(n));
    if (!Number.isInteger(v) || v < min)
      throw new FlagError(`--${n} must be an integer >= ${min}, got "${str(n)}"`);
    return v;
  };
  const duration = (n: string) => {
    const v = parseDuration(str(n));
    if (v === undefined) throw new FlagError(`--${n} must be a duration such as 15s or 1m, got "${str(n)}"`);
    return v;
  };
  const size = (n: string) => {
    const v = parseSize(str(n));
    if (v === undefined)
      throw new FlagError(`--${n} must be a size such as 64Mi, 512Ki or 1Gi, got "${str(n)}"`);
    return v;
  };
  const oneOf = <T extends string>(n: string, values: readonly T[]): T => {
    const v = values.find((value) => value === str(n));
    if (v === undefined)
      throw new FlagError(`${source.get(n) ?? `--${n}`} must be ${values.join(' or ')}, got "${str(n)}"`);
    return v;
  };
  const options: Options = {
    kubeconfig: str('kubeconfig'),
    metricsBindAddress: str('metrics-bind-address'),
    healthProbeBindAddress: str('health-probe-bind-address'),
    leaderElect: bool('leader-elect'),
    leaderElectionNamespace: str('leader-election-namespace'),
    leaderElectionId: str('leader-election-id'),
    leaseDurationMs: duration('leader-elect-lease-duration'),
    renewDeadlineMs: duration('leader-elect-renew-deadline'),
    retryPeriodMs: duration('leader-elect-retry-period'),
    concurrency: int('concurrency', 1),
    maxConcurrentPerDataPlane: int('max-concurrent-reconciles-per-dataplane', 0),
    shardCount: int('shard-count', 1),
    shardIndex: int('shard-index', 0),
    shardBy: oneOf('shard-by', SHARD_BY),
    releaseSelector: str('release-selector').trim(),
    dataPlaneTimeoutMs: duration('dataplane-timeout'),
    dataPlaneMaxResponseBytes: size('dataplane-max-response-size'),
    dataPlaneMaxWatchEventBytes: size('dataplane-max-watch-event-size'),
    dataPlaneMaxListBytes: size('dataplane-max-list-size'),
    dataPlaneMaxListPages: int('dataplane-max-list-pages', 1),
    dataPlaneListTimeoutMs: duration('dataplane-list-timeout'),
    dataPlaneMaxCachedObjects: int('dataplane-max-cached-objects', 0),
    dataPlaneMaxCacheBytes: size('dataplane-max-cache-size'),
    organizationMaxCachedObjects: int('organization-max-cached-objects', 0),
    organizationMaxCacheBytes: size('organization-max-cache-size'),
    maxObservedPerRelease: int('max-observed-per-release', 0),
    maxObservedPerOrganization: int('max-observed-per-organization', 0),
    dataPlaneMinHttp2Streams: int('dataplane-min-http2-streams', 1),
    dataPlaneMaxWatchConnections: int('dataplane-max-watch-connections', 1),
    watchIdleTimeoutMs: duration('watch-idle-timeout'),
    watchHttp2: bool('watch-http2'),
    renderedReleases: bool('rendered-releases'),
    shutdownGraceMs: duration('shutdown-grace-period'),
    logLevel: str('log-level'),
    singleTenant: bool('single-tenant'),
    reservedNamespaces: str('reserved-namespaces')
      .split(',')
      .map((p) => p.trim())
      .filter((p) => p !== ''),
    ownershipKeySecret: str('ownership-key-secret'),
    logFormat: oneOf('log-format', LOG_FORMATS),
    endpoints: endpointPolicyOf(str, bool('dataplane-allow-http')),
  };
  const tunnelProxy = tunnelProxyOf(str);
  if (tunnelProxy) options.tunnelProxy = tunnelProxy;
  const gateway = gatewayOf(str, duration('cluster-gateway-poll-interval'));
  if (gateway) options.gateway = gateway;
  if (options.maxConcurrentPerDataPlane === 0)
    options.maxConcurrentPerDataPlane = defaultLimitPerKey(options.concurrency);
  if (options.shardIndex >= options.shardCount) {
    throw new FlagError(
      `--shard-index must be below --shard-count (${options.shardCount}), got ${options.shardIndex}`,
    );
  }
  const shardKeys = shardLabelKeys(options.releaseSelector);
  if (typeof shardKeys === 'string') throw new FlagError(`--release-selector ${shardKeys}`);
  if (!['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'].includes(options.logLevel)) {
    throw new FlagError(
      `--log-level must be one of trace, debug, info, warn, error; got "${options.logLevel}"`,
    );
  }
  return options;
}

/** tunnelProxyOf reads the --tunnel-proxy-* flags: all of address, CA, certificate and key, or none. */
function tunnelProxyOf(str: (name: string) => string): TunnelProxySettings | undefined {
  const address = str('tunnel-proxy-address');
  const files = ['tunnel-proxy-ca-file', 'tunnel-proxy-cert-file', 'tunnel-proxy-key-file'];
  if (!address) {
    const stray = files.filter((f) => str(f) !== '');
    if (stray.length > 0) throw new FlagError(`--${stray[0] ?? ''} needs --tunnel-proxy-address`);
    return undefined;
  }
  try {
    splitAddress(address);
  } catch (err) {
    throw new FlagError(`--tunnel-proxy-address: ${(err as Error).message}`);
  }
  const missing = files.filter((f) => str(f) === '');
  if (missing.length > 0) {
    throw new FlagError(
      `--tunnel-proxy-address needs ${missing.map((f) => `--${f}`).join(', ')}: the proxy server is reached over mutual TLS`,
    );
  }
  const serverName = str('tunnel-proxy-server-name');
  return {
    address,
    caFile: str('tunnel-proxy-ca-file'),
    certFile: str('tunnel-proxy-cert-file'),
    keyFile: str('tunnel-proxy-key-file'),
    ...(serverName ? { serverName } : {}),
  };
}

/** gatewayOf reads the --cluster-gateway-* flags: all of URL, CA, certificate and key, or none. */
function gatewayOf(str: (name: string) => string, pollIntervalMs: number): GatewaySettings | undefined {
  const url = str('cluster-gateway-url');
  const files = ['cluster-gateway-ca-file', 'cluster-gateway-cert-file', 'cluster-gateway-key-file'];
  if (!url) {
    const stray = files.filter((f) => str(f) !== '');
    if (stray.length > 0) throw new FlagError(`--${stray[0] ?? ''} needs --cluster-gateway-url`);
    return undefined;
  }
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    parsed = undefined;
  }
  if (parsed?.protocol !== 'https:' || parsed.search || parsed.hash) {
    throw new FlagError(`--cluster-gateway-url must be an https:// URL without query, got "${url}"`);
  }
  const missing = files.filter((f) => str(f) === '');
  if (missing.length > 0) {
    throw new FlagError(
      `--cluster-gateway-url needs ${missing.map((f) => `--${f}`).join(', ')}: the gateway is reached over mutual TLS`,
    );
  }
  if (pollIntervalMs < 1000) {
    throw new FlagError(
      '--cluster-gateway-poll-interval must be at least 1s: every poll lists each kind in use',
    );
  }
  const serverName = str('cluster-gateway-server-name');
  return {
    url,
    caFile: str('cluster-gateway-ca-file'),
    certFile: str('cluster-gateway-cert-file'),
    keyFile: str('cluster-gateway-key-file'),
    ...(serverName ? { serverName } : {}),
    pollIntervalMs,
  };
}

/** endpointPolicyOf reads the endpoint policy flags; a CIDR or host pattern that is not one is a FlagError. */
function endpointPolicyOf(str: (name: string) => string, allowHttp: boolean): EndpointPolicySpec {
  const list = (name: string, check: (item: string) => unknown): string[] => {
    const items = str(name)
      .split(',')
      .map((item) => item.trim())
      .filter(Boolean);
    for (const item of items) {
      try {
        check(item);
      } catch (err) {
        throw new FlagError(`--${name}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    return items;
  };
  return {
    allowedCidrs: list('dataplane-allowed-cidrs', parseCidr),
    deniedCidrs: list('dataplane-denied-cidrs', parseCidr),
    allowedHosts: list('dataplane-allowed-hosts', parseHostPattern),
    deniedHosts: list('dataplane-denied-hosts', parseHostPattern),
    allowHttp,
  };
}
