import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Options } from './flags.ts';
import {
  envName,
  FlagError,
  FLAGS,
  HELP,
  nearestFlag,
  parseFlags,
  parseSize,
  usage,
  VERSION,
} from './flags.ts';

function parse(argv: string[], env: NodeJS.ProcessEnv = {}): Options {
  const options = parseFlags(argv, env);
  assert.ok(
    typeof options === 'object',
    `parseFlags returned ${JSON.stringify(options)} for a normal command line`,
  );
  return options;
}

/** rejects asserts a FlagError whose message names the flag. */
function rejects(argv: string[], flag: string, env: NodeJS.ProcessEnv = {}): void {
  assert.throws(
    () => parseFlags(argv, env),
    (err: unknown) => {
      assert.ok(err instanceof FlagError, `expected a FlagError, got ${String(err)}`);
      assert.ok(err.message.includes(`--${flag}`), `the message names --${flag}: ${err.message}`);
      return true;
    },
  );
}

const DEFAULTS: Options = {
  kubeconfig: '',
  metricsBindAddress: ':8080',
  healthProbeBindAddress: ':8081',
  leaderElect: false,
  leaderElectionNamespace: '',
  leaderElectionId: 'release-controller',
  leaseDurationMs: 15_000,
  renewDeadlineMs: 10_000,
  retryPeriodMs: 2_000,
  concurrency: 4,
  maxConcurrentPerDataPlane: 2,
  shardCount: 1,
  shardIndex: 0,
  shardBy: 'release',
  releaseSelector: '',
  dataPlaneTimeoutMs: 15_000,
  dataPlaneMaxResponseBytes: 64 * 1024 * 1024,
  dataPlaneMaxWatchEventBytes: 16 * 1024 * 1024,
  dataPlaneMaxListBytes: 128 * 1024 * 1024,
  dataPlaneMaxListPages: 1000,
  dataPlaneListTimeoutMs: 120_000,
  dataPlaneMaxCachedObjects: 100_000,
  dataPlaneMaxCacheBytes: 128 * 1024 * 1024,
  organizationMaxCachedObjects: 200_000,
  organizationMaxCacheBytes: 256 * 1024 * 1024,
  maxObservedPerRelease: 100,
  maxObservedPerOrganization: 1000,
  dataPlaneMinHttp2Streams: 10,
  dataPlaneMaxWatchConnections: 64,
  watchIdleTimeoutMs: 150_000,
  watchHttp2: true,
  renderedReleases: true,
  shutdownGraceMs: 25_000,
  logLevel: 'info',
  singleTenant: false,
  reservedNamespaces: ['kube-*', 'default'],
  ownershipKeySecret: 'release-controller-ownership-key',
  logFormat: 'json',
  endpoints: {
    allowedCidrs: [],
    deniedCidrs: ['169.254.0.0/16', 'fe80::/10', 'fd00:ec2::254/128', '100.100.100.200/32'],
    allowedHosts: [],
    deniedHosts: ['metadata.google.internal'],
    allowHttp: false,
  },
};

describe('parseFlags', () => {
  test('the default cache budgets hold 10,000 Releases of 4 objects on one DataPlane (a flood is bounded by the byte budgets)', () => {
    const options = parse(['--kubeconfig', '/tmp/kubeconfig']);
    // The scale goal of docs/performance.md: one replica, one DataPlane, 10,000 Releases x 4.
    assert.ok(
      options.dataPlaneMaxCachedObjects >= 40_000,
      `per DataPlane: ${options.dataPlaneMaxCachedObjects}`,
    );
    assert.ok(
      options.organizationMaxCachedObjects >= options.dataPlaneMaxCachedObjects,
      'an organization holds at least one full DataPlane',
    );
    assert.ok(options.dataPlaneMaxCacheBytes <= 128 * 1024 * 1024, 'memory stays bounded by bytes');
  });

  test('defaults', () => {
    assert.deepEqual(parse([]), DEFAULTS);
  });

  test('ignores environment variables that are not ours', () => {
    assert.deepEqual(
      parse([], { KUBECONFIG: '/home/dev/.kube/config', CONCURRENCY: '9', PATH: '/usr/bin' }),
      DEFAULTS,
    );
  });

  test('every flag reads RELEASE_CONTROLLER_<FLAG>', () => {
    const options = parse([], {
      RELEASE_CONTROLLER_KUBECONFIG: '/etc/release-controller/kubeconfig',
      RELEASE_CONTROLLER_METRICS_BIND_ADDRESS: '0',
      RELEASE_CONTROLLER_HEALTH_PROBE_BIND_ADDRESS: '127.0.0.1:9440',
      RELEASE_CONTROLLER_LEADER_ELECT: 'true',
      RELEASE_CONTROLLER_LEADER_ELECTION_NAMESPACE: 'openchoreo-system',
      RELEASE_CONTROLLER_LEADER_ELECTION_ID: 'rc-lock',
      RELEASE_CONTROLLER_LEADER_ELECT_LEASE_DURATION: '30s',
      RELEASE_CONTROLLER_LEADER_ELECT_RENEW_DEADLINE: '20s',
      RELEASE_CONTROLLER_LEADER_ELECT_RETRY_PERIOD: '500ms',
      RELEASE_CONTROLLER_CONCURRENCY: '16',
      RELEASE_CONTROLLER_MAX_CONCURRENT_RECONCILES_PER_DATAPLANE: '3',
      RELEASE_CONTROLLER_SHARD_COUNT: '3',
      RELEASE_CONTROLLER_SHARD_INDEX: '2',
      RELEASE_CONTROLLER_SHARD_BY: 'namespace',
      RELEASE_CONTROLLER_RELEASE_SELECTOR: ' sharding.openchoreo.dev/key=shard2 ',
      RELEASE_CONTROLLER_DATAPLANE_TIMEOUT: '1m',
      RELEASE_CONTROLLER_DATAPLANE_MAX_RESPONSE_SIZE: '128Mi',
      RELEASE_CONTROLLER_DATAPLANE_MAX_WATCH_EVENT_SIZE: '512Ki',
      RELEASE_CONTROLLER_DATAPLANE_MAX_LIST_SIZE: '1Gi',
      RELEASE_CONTROLLER_DATAPLANE_MAX_LIST_PAGES: '50',
      RELEASE_CONTROLLER_DATAPLANE_LIST_TIMEOUT: '10m',
      RELEASE_CONTROLLER_DATAPLANE_MAX_CACHED_OBJECTS: '7',
      RELEASE_CONTROLLER_DATAPLANE_MAX_CACHE_SIZE: '1Mi',
      RELEASE_CONTROLLER_ORGANIZATION_MAX_CACHED_OBJECTS: '0',
      RELEASE_CONTROLLER_ORGANIZATION_MAX_CACHE_SIZE: '2Mi',
      RELEASE_CONTROLLER_MAX_OBSERVED_PER_RELEASE: '5',
      RELEASE_CONTROLLER_MAX_OBSERVED_PER_ORGANIZATION: '0',
      RELEASE_CONTROLLER_DATAPLANE_MIN_HTTP2_STREAMS: '2',
      RELEASE_CONTROLLER_DATAPLANE_MAX_WATCH_CONNECTIONS: '3',
      RELEASE_CONTROLLER_WATCH_IDLE_TIMEOUT: '5m',
      RELEASE_CONTROLLER_WATCH_HTTP2: 'false',
      RELEASE_CONTROLLER_DATAPLANE_ALLOWED_CIDRS: '10.0.0.0/8, fd00::/8',
      RELEASE_CONTROLLER_DATAPLANE_DENIED_CIDRS: '127.0.0.0/8,169.254.0.0/16',
      RELEASE_CONTROLLER_DATAPLANE_ALLOWED_HOSTS: '*.clusters.example.com',
      RELEASE_CONTROLLER_DATAPLANE_DENIED_HOSTS: 'metadata.google.internal',
      RELEASE_CONTROLLER_DATAPLANE_ALLOW_HTTP: 'true',
      RELEASE_CONTROLLER_SHUTDOWN_GRACE_PERIOD: '1m30s',
      RELEASE_CONTROLLER_LOG_LEVEL: 'debug',
      RELEASE_CONTROLLER_LOG_FORMAT: 'text',
    });
    assert.deepEqual(options, {
      kubeconfig: '/etc/release-controller/kubeconfig',
      metricsBindAddress: '0',
      healthProbeBindAddress: '127.0.0.1:9440',
      leaderElect: true,
      leaderElectionNamespace: 'openchoreo-system',
      leaderElectionId: 'rc-lock',
      leaseDurationMs: 30_000,
      renewDeadlineMs: 20_000,
      retryPeriodMs: 500,
      concurrency: 16,
      maxConcurrentPerDataPlane: 3,
      shardCount: 3,
      shardIndex: 2,
      shardBy: 'namespace',
      releaseSelector: 'sharding.openchoreo.dev/key=shard2',
      dataPlaneTimeoutMs: 60_000,
      dataPlaneMaxResponseBytes: 128 * 1024 * 1024,
      dataPlaneMaxWatchEventBytes: 512 * 1024,
      dataPlaneMaxListBytes: 1024 * 1024 * 1024,
      dataPlaneMaxListPages: 50,
      dataPlaneListTimeoutMs: 600_000,
      dataPlaneMaxCachedObjects: 7,
      dataPlaneMaxCacheBytes: 1024 * 1024,
      organizationMaxCachedObjects: 0,
      organizationMaxCacheBytes: 2 * 1024 * 1024,
      maxObservedPerRelease: 5,
      maxObservedPerOrganization: 0,
      dataPlaneMinHttp2Streams: 2,
      dataPlaneMaxWatchConnections: 3,
      watchIdleTimeoutMs: 300_000,
      watchHttp2: false,
      renderedReleases: true,
      shutdownGraceMs: 90_000,
      logLevel: 'debug',
      singleTenant: false,
      reservedNamespaces: ['kube-*', 'default'],
      ownershipKeySecret: 'release-controller-ownership-key',
      logFormat: 'text',
      endpoints: {
        allowedCidrs: ['10.0.0.0/8', 'fd00::/8'],
        deniedCidrs: ['127.0.0.0/8', '169.254.0.0/16'],
        allowedHosts: ['*.clusters.example.com'],
        deniedHosts: ['metadata.google.internal'],
        allowHttp: true,
      },
    });
  });

  test('an endpoint rule that is not a CIDR or host pattern names its flag', () => {
    rejects(['--dataplane-denied-cidrs=169.254.0.0/99'], 'dataplane-denied-cidrs');
    rejects(['--dataplane-allowed-cidrs=not-an-address'], 'dataplane-allowed-cidrs');
    rejects(['--dataplane-allowed-hosts=bad host!'], 'dataplane-allowed-hosts');
  });

  test('a flag on the command line beats its environment variable', () => {
    const env = { RELEASE_CONTROLLER_CONCURRENCY: '16', RELEASE_CONTROLLER_LOG_LEVEL: 'debug' };
    const options = parse(['--concurrency', '2'], env);
    assert.equal(options.concurrency, 2);
    assert.equal(options.logLevel, 'debug', 'the other variable still applies');
    assert.equal(
      parse(['--leader-elect=false'], { RELEASE_CONTROLLER_LEADER_ELECT: 'true' }).leaderElect,
      false,
    );
  });

  test('--flag=value and --flag value mean the same', () => {
    const a = parse(['--kubeconfig=/tmp/cp.yaml', '--concurrency=8', '--dataplane-timeout=5s']);
    const b = parse(['--kubeconfig', '/tmp/cp.yaml', '--concurrency', '8', '--dataplane-timeout', '5s']);
    assert.deepEqual(a, b);
    assert.equal(a.kubeconfig, '/tmp/cp.yaml');
    assert.equal(a.concurrency, 8);
    assert.equal(a.dataPlaneTimeoutMs, 5_000);
  });

  test('a value may contain "=" and may be empty', () => {
    assert.equal(parse(['--kubeconfig=/tmp/a=b.yaml']).kubeconfig, '/tmp/a=b.yaml');
    assert.equal(parse(['--metrics-bind-address=']).metricsBindAddress, '');
  });

  test('--max-concurrent-reconciles-per-dataplane: half of --concurrency rounded up by default, or as given', () => {
    const cap = (argv: string[]) => parse(argv).maxConcurrentPerDataPlane;
    assert.equal(cap([]), 2);
    assert.equal(cap(['--concurrency=1']), 1);
    assert.equal(cap(['--concurrency=5']), 3);
    assert.equal(cap(['--concurrency=8', '--max-concurrent-reconciles-per-dataplane=1']), 1);
    assert.equal(cap(['--max-concurrent-reconciles-per-dataplane=0']), 2, '0 means the default');
    assert.throws(() => cap(['--max-concurrent-reconciles-per-dataplane=-1']), FlagError);
  });

  test('the last occurrence of a flag wins', () => {
    assert.equal(parse(['--concurrency=2', '--concurrency=6']).concurrency, 6);
  });

  const booleans: Array<[string[], NodeJS.ProcessEnv, boolean]> = [
    [['--leader-elect'], {}, true],
    [['--leader-elect=true'], {}, true],
    [['--leader-elect=false'], {}, false],
    [['--leader-elect=1'], {}, true],
    [['--leader-elect=0'], {}, false],
    [['--leader-elect=TRUE'], {}, true],
    [[], { RELEASE_CONTROLLER_LEADER_ELECT: '1' }, true],
    [[], { RELEASE_CONTROLLER_LEADER_ELECT: 'False' }, false],
  ];
  for (const [argv, env, want] of booleans) {
    test(`boolean: ${argv.join(' ') || JSON.stringify(env)} -> ${want}`, () => {
      assert.equal(parse(argv, env).leaderElect, want);
    });
  }

  test('a bare boolean flag does not take the next argument as its value', () => {
    const options = parse(['--leader-elect', '--concurrency', '3']);
    assert.equal(options.leaderElect, true);
    assert.equal(options.concurrency, 3);
  });

  const bad: Array<{ name: string; argv: string[]; env?: NodeJS.ProcessEnv; flag: string }> = [
    { name: 'a boolean that is not one', argv: ['--leader-elect=yes'], flag: 'leader-elect' },
    { name: 'a non-integer', argv: ['--concurrency=four'], flag: 'concurrency' },
    { name: 'a fraction', argv: ['--concurrency=2.5'], flag: 'concurrency' },
    { name: 'zero workers', argv: ['--concurrency=0'], flag: 'concurrency' },
    { name: 'zero shards', argv: ['--shard-count=0'], flag: 'shard-count' },
    { name: 'a negative shard index', argv: ['--shard-index=-1'], flag: 'shard-index' },
    { name: 'an unknown shard key', argv: ['--shard-by=name'], flag: 'shard-by' },
    { name: 'a duration without unit', argv: ['--dataplane-timeout=15'], flag: 'dataplane-timeout' },
    {
      name: 'a malformed duration',
      argv: ['--leader-elect-lease-duration', '15 s'],
      flag: 'leader-elect-lease-duration',
    },
    { name: 'an empty duration', argv: ['--shutdown-grace-period='], flag: 'shutdown-grace-period' },
    { name: 'an unknown log level', argv: ['--log-level=verbose'], flag: 'log-level' },
    {
      name: 'a size with a decimal unit',
      argv: ['--dataplane-max-response-size=64MB'],
      flag: 'dataplane-max-response-size',
    },
    { name: 'a zero size', argv: ['--dataplane-max-list-size=0'], flag: 'dataplane-max-list-size' },
    {
      name: 'a fractional size',
      argv: ['--dataplane-max-watch-event-size=1.5Mi'],
      flag: 'dataplane-max-watch-event-size',
    },
    { name: 'zero list pages', argv: ['--dataplane-max-list-pages=0'], flag: 'dataplane-max-list-pages' },
    {
      name: 'a shard index equal to the count',
      argv: ['--shard-count=3', '--shard-index=3'],
      flag: 'shard-index',
    },
    { name: 'a shard index above the count', argv: ['--shard-index=1'], flag: 'shard-index' },
    {
      name: 'a bad value from the environment',
      argv: [],
      env: { RELEASE_CONTROLLER_CONCURRENCY: 'lots' },
      flag: 'concurrency',
    },
    { name: 'an unknown flag', argv: ['--metrics-addr=:8080'], flag: 'metrics-addr' },
    {
      name: 'a tunnel certificate without a proxy address',
      argv: ['--tunnel-proxy-cert-file=/tls/tls.crt'],
      flag: 'tunnel-proxy-cert-file',
    },
    {
      name: 'a proxy address without the mutual TLS files',
      argv: ['--tunnel-proxy-address=proxy:8090', '--tunnel-proxy-ca-file=/tls/ca.crt'],
      flag: 'tunnel-proxy-cert-file',
    },
    {
      name: 'a proxy address without a port',
      argv: [
        '--tunnel-proxy-address=proxy',
        '--tunnel-proxy-ca-file=a',
        '--tunnel-proxy-cert-file=b',
        '--tunnel-proxy-key-file=c',
      ],
      flag: 'tunnel-proxy-address',
    },
    { name: 'a missing value at the end', argv: ['--kubeconfig'], flag: 'kubeconfig' },
  ];
  for (const c of bad) {
    test(`rejects ${c.name}, naming the flag`, () => {
      rejects(c.argv, c.flag, c.env);
    });
  }

  test('the tunnel proxy settings are all or nothing', () => {
    assert.equal(parse([]).tunnelProxy, undefined);
    const tls = ['--tunnel-proxy-ca-file=/tls/ca.crt', '--tunnel-proxy-cert-file=/tls/tls.crt'];
    assert.deepEqual(
      parse(['--tunnel-proxy-address=[::1]:8090', ...tls], {
        RELEASE_CONTROLLER_TUNNEL_PROXY_KEY_FILE: '/tls/tls.key',
      }).tunnelProxy,
      { address: '[::1]:8090', caFile: '/tls/ca.crt', certFile: '/tls/tls.crt', keyFile: '/tls/tls.key' },
    );
    assert.equal(
      parse([
        '--tunnel-proxy-address=p:1',
        ...tls,
        '--tunnel-proxy-key-file=k',
        '--tunnel-proxy-server-name=proxy.svc',
      ]).tunnelProxy?.serverName,
      'proxy.svc',
    );
  });

  test('rejects a positional argument', () => {
    assert.throws(() => parseFlags(['/tmp/kubeconfig'], {}), FlagError);
  });

  test('--help and -h return HELP, whatever else is given', () => {
    assert.equal(parseFlags(['--help'], {}), HELP);
    assert.equal(parseFlags(['-h'], {}), HELP);
    assert.equal(parseFlags(['--concurrency=2', '--help'], {}), HELP);
    assert.equal(parseFlags(['--help'], { RELEASE_CONTROLLER_CONCURRENCY: 'lots' }), HELP);
  });

  test('--version returns VERSION; the first of --help and --version wins', () => {
    assert.equal(parseFlags(['--version'], {}), VERSION);
    assert.equal(
      parseFlags(['--concurrency=2', '--version'], { RELEASE_CONTROLLER_CONCURRENCY: 'lots' }),
      VERSION,
    );
    assert.equal(parseFlags(['--version', '--help'], {}), VERSION);
    assert.equal(parseFlags(['--help', '--version'], {}), HELP);
  });

  test('--log-format is json by default, text on request, from the flag or its environment variable', () => {
    assert.equal(parse([]).logFormat, 'json');
    assert.equal(parse(['--log-format=text']).logFormat, 'text');
    assert.equal(parse(['--log-format', 'json']).logFormat, 'json');
    assert.equal(parse([], { RELEASE_CONTROLLER_LOG_FORMAT: 'text' }).logFormat, 'text');
    rejects(['--log-format=pretty'], 'log-format');
    assert.throws(
      () => parseFlags([], { RELEASE_CONTROLLER_LOG_FORMAT: 'yaml' }),
      /^FlagError: RELEASE_CONTROLLER_LOG_FORMAT \(for --log-format\) must be json or text, got "yaml"$/,
    );
  });

  test('a flag typo suggests the nearest flag, in one line', () => {
    const cases: [string[], string][] = [
      [['--concurency=2'], 'unknown flag --concurency; did you mean --concurrency?'],
      [['--kubeconfg', '/x'], 'unknown flag --kubeconfg; did you mean --kubeconfig?'],
      [['--leader-elec'], 'unknown flag --leader-elec; did you mean --leader-elect?'],
      [
        ['--metrics-bind-adress=:9090'],
        'unknown flag --metrics-bind-adress; did you mean --metrics-bind-address?',
      ],
      [['--verison'], 'unknown flag --verison; did you mean --version?'],
      [['--frobnicate'], 'unknown flag --frobnicate'],
      [
        ['-concurrency=2'],
        'unexpected argument "-concurrency=2"; flags start with two dashes: --concurrency',
      ],
      [['/tmp/kubeconfig'], 'unexpected argument "/tmp/kubeconfig" (the controller takes only flags)'],
    ];
    for (const [argv, message] of cases) {
      assert.throws(
        () => parseFlags(argv, {}),
        (err: unknown) => err instanceof FlagError && err.message === message && !err.message.includes('\n'),
        `${argv.join(' ')} -> ${message}`,
      );
    }
  });

  test('nearestFlag suggests only names close enough to be a typo', () => {
    assert.equal(nearestFlag('shard-cont'), 'shard-count');
    assert.equal(nearestFlag('shard-indx'), 'shard-index');
    assert.equal(nearestFlag('log'), undefined, 'a short name far from every flag');
    assert.equal(nearestFlag('dataplane'), undefined, 'a prefix is not a typo');
    assert.equal(nearestFlag('ab', ['ac', 'xy']), 'ac');
  });

  test('accepts every documented log level', () => {
    for (const level of ['trace', 'debug', 'info', 'warn', 'error']) {
      assert.equal(parse([`--log-level=${level}`]).logLevel, level);
    }
  });
});

describe('parseSize', () => {
  test('bytes with a binary suffix or none', () => {
    assert.equal(parseSize('1000'), 1000);
    assert.equal(parseSize('512Ki'), 512 * 1024);
    assert.equal(parseSize('64Mi'), 64 * 1024 * 1024);
    assert.equal(parseSize('2Gi'), 2 * 1024 ** 3);
    for (const bad of ['', '64M', '64 Mi', '-1', '0', 'Mi', '1.5Mi'])
      assert.equal(parseSize(bad), undefined, bad);
  });
});

describe('envName', () => {
  test('upper case with dashes as underscores', () => {
    assert.equal(envName('metrics-bind-address'), 'RELEASE_CONTROLLER_METRICS_BIND_ADDRESS');
    assert.equal(envName('kubeconfig'), 'RELEASE_CONTROLLER_KUBECONFIG');
  });
});

describe('usage', () => {
  const text = usage();

  test('lists every flag with its environment variable', () => {
    for (const f of FLAGS) {
      assert.match(text, new RegExp(`^  --${f.name}( <${f.kind}>)?$`, 'm'), `--${f.name} is listed`);
      assert.ok(text.includes(`env: ${envName(f.name)}`), `${envName(f.name)} is listed`);
    }
    assert.match(text, /^ {2}--help$/m);
    assert.match(text, /^ {2}--version$/m);
  });

  test('lists the kubebuilder flags operators expect', () => {
    for (const flag of [
      'kubeconfig',
      'metrics-bind-address',
      'health-probe-bind-address',
      'leader-elect',
      'leader-election-namespace',
      'leader-election-id',
      'concurrency',
      'shard-index',
      'shard-count',
      'log-level',
    ]) {
      assert.ok(text.includes(`--${flag}`), `--${flag} is listed`);
    }
  });

  test('shows the defaults', () => {
    assert.ok(text.includes('(default ":8080")'), 'the metrics address default is shown');
    assert.ok(text.includes('(default 4)'), 'the concurrency default is shown');
    assert.ok(text.includes('(default 15s)'), 'a duration default is shown');
  });
});

test('--release-selector must be a label selector that names none of the controller tracking labels', () => {
  assert.equal(parse(['--release-selector=!sharding.example/key']).releaseSelector, '!sharding.example/key');
  rejects(['--release-selector=key in a'], 'release-selector');
  rejects(['--release-selector=openchoreo.dev/release-namespace=acme'], 'release-selector');
});
