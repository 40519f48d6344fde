import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type ServerResponse } from 'node:http';
import { pino } from 'pino';
import type { DataPlane } from '../api/v1alpha1/schema.ts';
import { CredentialsError, type SecretLike } from './credentials.ts';
import { servedKind } from '../../test/support/fakedataplane.ts';
import { DataPlaneGoneError, DataPlanePool } from './pool.ts';
import { DEFAULT_ENDPOINT_POLICY, EndpointPolicy, LOOPBACK_CIDRS } from './endpoint.ts';
import { DirectDataPlane } from './direct.ts';
import { refuseGatewayName } from './gateway/path.ts';
import { WatchSet } from './watches.ts';
import { isKubeApiError, KubeClient } from '../kube/client.ts';

const CONFIGMAP = servedKind({ group: '', version: 'v1', kind: 'ConfigMap' }, 'configmaps');

/** ApiServer answers every list with an empty list and keeps every watch open and silent. */
class ApiServer {
  private server: Server | undefined;
  private readonly watches = new Set<ServerResponse>();
  /** users are the Impersonate-User headers of every request, in order ('' for none). */
  readonly users: string[] = [];
  base = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      this.users.push(String(req.headers['impersonate-user'] ?? ''));
      res.writeHead(200, { 'content-type': 'application/json' });
      if (url.searchParams.get('watch') === 'true') {
        this.watches.add(res);
        res.flushHeaders();
        res.on('close', () => this.watches.delete(res));
        return;
      }
      res.end(JSON.stringify({ kind: 'List', metadata: { resourceVersion: '10' }, items: [] }));
    });
    await new Promise<void>((r) => this.server?.listen(0, '127.0.0.1', r));
    const address = this.server.address();
    this.base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  }

  /** openWatches is the number of watch streams the server still holds open. */
  openWatches(): number {
    return this.watches.size;
  }

  async stop(): Promise<void> {
    for (const res of this.watches) res.end();
    this.server?.closeAllConnections();
    await new Promise<void>((r) => this.server?.close(() => r()));
  }
}

function dataPlane(name: string, uid = `uid-${name}`): DataPlane {
  return {
    apiVersion: 'openchoreo.dev/v1alpha1',
    kind: 'DataPlane',
    metadata: { name, namespace: 'acme', uid },
    spec: { kubernetesCluster: { name, secretRef: { name: `${name}-kubeconfig` } } },
  };
}

function secret(server: string, token = 'token-1'): SecretLike {
  const kubeconfig = [
    'apiVersion: v1',
    'kind: Config',
    'clusters: [{name: dp, cluster: {server: "' + server + '"}}]',
    'users: [{name: dp, user: {token: ' + token + '}}]',
    'contexts: [{name: dp, context: {cluster: dp, user: dp}}]',
    'current-context: dp',
  ].join('\n');
  return {
    metadata: { name: 'kubeconfig' },
    data: { kubeconfig: Buffer.from(kubeconfig).toString('base64') },
  };
}

/** eventually polls until fn holds (sockets close asynchronously). */
async function eventually(fn: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (fn()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.fail(`never happened: ${what}`);
}

void describe('DataPlanePool', () => {
  const api = new ApiServer();
  before(() => api.start());
  after(() => api.stop());

  const newPool = (live = new Set<string>(), observed: string[] = []) =>
    new DataPlanePool({
      logger: pino({ level: 'silent' }),
      requestTimeoutMs: 5_000,
      endpoints: new EndpointPolicy({ ...DEFAULT_ENDPOINT_POLICY, allowHttp: true }),
      observer: (dp) => (verb) => observed.push(`${dp} ${verb}`),
      onEvent: () => undefined,
      isCurrent: (dp) => live.has(dp.metadata.uid ?? ''),
    });

  void test('counts connections and watches, and both return to zero when the DataPlanes go', async () => {
    const live = new Set(['uid-a', 'uid-b']);
    const pool = newPool(live);
    for (const name of ['a', 'b']) {
      const conn = await pool.connect(dataPlane(name), secret(api.base));
      await conn.cache(CONFIGMAP);
    }
    assert.deepEqual(
      [...pool.watches()],
      [
        ['acme/a', 1],
        ['acme/b', 1],
      ],
    );
    await eventually(() => api.openWatches() === 2, 'both watches open on the server');
    await pool.forget('acme/a');
    await pool.forget('acme/b');
    assert.equal(pool.watches().size, 0);
    await eventually(() => api.openWatches() === 0, 'every watch closed on the server');
  });

  void test('new credentials that cannot be used close the old connection and its watches', async () => {
    const pool = newPool(new Set(['uid-a']));
    const conn = await pool.connect(dataPlane('a'), secret(api.base));
    await conn.cache(CONFIGMAP);
    await eventually(() => api.openWatches() === 1, 'the watch is open');

    const broken: SecretLike = { metadata: { name: 'kubeconfig' }, data: { other: 'eA==' } };
    await assert.rejects(pool.connect(dataPlane('a'), broken), CredentialsError);
    assert.equal(pool.get('acme/a'), undefined, 'the old connection is not kept');
    assert.equal(pool.watches().size, 0);
    await eventually(() => api.openWatches() === 0, 'the old watch closed on the server');
  });

  void test('rotated credentials replace the connection, and close() ends everything', async () => {
    const pool = newPool(new Set(['uid-a']));
    await pool.connect(dataPlane('a'), secret(api.base, 'token-1'));
    const rotated = await pool.connect(dataPlane('a'), secret(api.base, 'token-2'));
    assert.equal(pool.get('acme/a'), rotated, 'rotated credentials replace the connection');
    assert.equal(pool.watches().size, 1);
    await pool.close();
    assert.equal(pool.watches().size, 0);
  });

  void test("a changed grant rebuilds the connection, and requests act as the grant's identity", async () => {
    const pool = newPool(new Set(['uid-a']));
    const acme = { insecureSkipTLSVerify: true as const, impersonate: { user: 'openchoreo:org:acme' } };
    const first = await pool.connect(dataPlane('a'), secret(api.base), acme);
    assert.equal(
      await pool.connect(dataPlane('a'), secret(api.base), { ...acme }),
      first,
      'same grant, same one',
    );
    api.users.length = 0;
    await first.cache(CONFIGMAP);
    assert.deepEqual([...new Set(api.users)], ['openchoreo:org:acme']);

    const changed = { insecureSkipTLSVerify: true as const, impersonate: { user: 'openchoreo:org:other' } };
    const second = await pool.connect(dataPlane('a'), secret(api.base), changed);
    assert.notEqual(second, first, 'the policy changed: a new connection');
    assert.equal(pool.get('acme/a'), second);
    api.users.length = 0;
    await second.cache(CONFIGMAP);
    assert.deepEqual([...new Set(api.users)], ['openchoreo:org:other']);
    await pool.close();
  });

  void test('a connection finished after its DataPlane was deleted is closed, not kept', async () => {
    const live = new Set(['uid-a']);
    const observed: string[] = [];
    const pool = newPool(live, observed);
    // The reconcile read the DataPlane, then the DataPlane was deleted while it connected.
    const connecting = pool.connect(dataPlane('a'), secret(api.base));
    live.delete('uid-a');
    await pool.forget('acme/a');
    await assert.rejects(connecting, DataPlaneGoneError);
    assert.equal(pool.get('acme/a'), undefined);
    assert.equal(pool.watches().size, 0);

    // A DataPlane of the same name created again is a new one (new uid), connected as usual.
    live.add('uid-a2');
    const again = await pool.connect(dataPlane('a', 'uid-a2'), secret(api.base));
    assert.equal(pool.get('acme/a'), again);
    await pool.close();
    await assert.rejects(
      pool.connect(dataPlane('b', 'uid-a2'), secret(api.base)),
      DataPlaneGoneError,
      'a closed pool keeps no new connection',
    );
  });

  void test('a closed connection reports no more requests, so the series of a deleted DataPlane stay gone', async () => {
    const observed: string[] = [];
    const pool = newPool(new Set(['uid-a']), observed);
    const conn = await pool.connect(dataPlane('a'), secret(api.base));
    await conn.cache(CONFIGMAP);
    await eventually(() => api.openWatches() === 1, 'the watch is open');
    assert.ok(observed.includes('acme/a GET'), 'the list was counted');
    observed.length = 0;
    await pool.forget('acme/a');
    await eventually(() => api.openWatches() === 0, 'the watch closed');
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(observed, [], 'the watch ending after close is not counted');
  });
});

const pem = (what: string) =>
  Buffer.from(`-----BEGIN ${what}-----\nAAAA\n-----END ${what}-----\n`).toString('base64');

function tunnelDataPlane(tunnel?: { host: string }): DataPlane {
  return {
    apiVersion: 'openchoreo.dev/v1alpha1',
    kind: 'DataPlane',
    metadata: { namespace: 'org', name: 'dp' },
    spec: {
      kubernetesCluster: {
        name: 'eu',
        credentials: {
          apiServerURL: 'https://kubernetes.default.svc:443',
          caCert: pem('CERTIFICATE'),
          clientCert: pem('CERTIFICATE'),
          clientKey: pem('PRIVATE KEY'),
        },
        ...(tunnel ? { tunnel } : {}),
      },
    },
  };
}

const tunnelPool = (withProxy: boolean) =>
  new DataPlanePool({
    logger: pino({ level: 'silent' }),
    requestTimeoutMs: 1_000,
    onEvent: () => {},
    ...(withProxy
      ? { tunnel: { address: 'proxy:8090', caFile: '/ca', certFile: '/crt', keyFile: '/key' } }
      : {}),
  });

test('a DataPlane asking for a tunnel on a controller without a proxy server is invalid, naming the flag', async () => {
  const p = tunnelPool(false);
  await assert.rejects(
    p.connect(tunnelDataPlane({ host: 'eu-1' }), undefined),
    (err: unknown) =>
      err instanceof CredentialsError &&
      /DataPlane org\/dp: spec.kubernetesCluster.tunnel is set, .*--tunnel-proxy-address/.test(err.message),
  );
  await p.close();
});

test('a tunnel host that is not a DNS name is refused before it reaches a CONNECT line', async () => {
  const p = tunnelPool(true);
  await assert.rejects(
    p.connect(tunnelDataPlane({ host: 'eu-1:443\r\nX-Injected: 1' }), undefined),
    (err: unknown) =>
      err instanceof CredentialsError && /tunnel.host is not a lowercase DNS name/.test(err.message),
  );
  await p.close();
});

test('a tunnel change rebuilds the connection; the same spec reuses it', async () => {
  const p = tunnelPool(true);
  const first = await p.connect(tunnelDataPlane({ host: 'eu-1' }), undefined);
  assert.equal(await p.connect(tunnelDataPlane({ host: 'eu-1' }), undefined), first);
  const moved = await p.connect(tunnelDataPlane({ host: 'eu-2' }), undefined);
  assert.notEqual(moved, first, 'another tunnel host is another connection');
  await p.close();
});

test('an endpoint the policy refuses is DataPlaneInvalid naming the rule, before any connection', async () => {
  const p = new DataPlanePool({
    logger: pino({ level: 'silent' }),
    requestTimeoutMs: 1_000,
    onEvent: () => {},
    endpoints: new EndpointPolicy({
      ...DEFAULT_ENDPOINT_POLICY,
      deniedCidrs: [...DEFAULT_ENDPOINT_POLICY.deniedCidrs, ...LOOPBACK_CIDRS],
    }),
  });
  const at = (apiServerURL: string): DataPlane => {
    const dp = tunnelDataPlane();
    const credentials = dp.spec.kubernetesCluster?.credentials;
    if (credentials) credentials.apiServerURL = apiServerURL;
    return dp;
  };
  await assert.rejects(
    p.connect(at('https://169.254.169.254'), undefined),
    (err: unknown) =>
      err instanceof CredentialsError &&
      err.message ===
        "DataPlane org/dp: server https://169.254.169.254 is refused by the controller's endpoint policy: 169.254.169.254 is in the denied range 169.254.0.0/16 (--dataplane-denied-cidrs). Use another server address, or ask the platform operator to change the policy",
  );
  await assert.rejects(
    p.connect(at('https://localhost:6443'), undefined),
    (err: unknown) =>
      err instanceof CredentialsError &&
      /localhost resolves to an address the policy refuses: it is in the denied range/.test(err.message),
    'a host name is checked by the addresses it resolves to',
  );
  await assert.rejects(
    p.connect(at('http://dp.example.com'), undefined),
    (err: unknown) => err instanceof CredentialsError && /plain http:\/\/ is not allowed/.test(err.message),
  );
  assert.equal(p.get('org/dp'), undefined, 'no connection kept');
  await p.close();
});

test("a refused server from a kubeconfig Secret is not quoted: the Secret is the operator's", async () => {
  const p = new DataPlanePool({
    logger: pino({ level: 'silent' }),
    requestTimeoutMs: 1_000,
    onEvent: () => {},
    endpoints: new EndpointPolicy({
      ...DEFAULT_ENDPOINT_POLICY,
      deniedCidrs: [...DEFAULT_ENDPOINT_POLICY.deniedCidrs, ...LOOPBACK_CIDRS],
      deniedHosts: ['*.internal'],
    }),
  });
  const cases: Array<[string, RegExp]> = [
    [
      'https://169.254.169.254:6443',
      /it is in the denied range 169\.254\.0\.0\/16 \(--dataplane-denied-cidrs\)/,
    ],
    ['https://localhost:6443', /it resolves to an address the policy refuses: it is in the denied range/],
    ['https://api.secret.internal:6443', /host it matches the denied host \*\.internal/],
  ];
  for (const [server, why] of cases) {
    await assert.rejects(p.connect(dataPlane('a'), secret(server)), (err: unknown) => {
      assert.ok(err instanceof CredentialsError, 'a CredentialsError');
      assert.match(
        err.message,
        /^DataPlane acme\/a: server of the kubeconfig in Secret a-kubeconfig is refused by the controller's endpoint policy: /,
      );
      assert.match(err.message, why);
      assert.doesNotMatch(
        err.message,
        /169\.254\.169\.254|localhost|secret\.internal|6443/,
        'nothing of the server',
      );
      return true;
    });
  }
  await p.close();
});

test('a plane with only spec.clusterAgent on a controller without a gateway is invalid, naming the flag', async () => {
  const p = new DataPlanePool({
    logger: pino({ level: 'silent' }),
    requestTimeoutMs: 1_000,
    onEvent: () => {},
  });
  const plane: DataPlane = {
    apiVersion: 'openchoreo.dev/v1alpha1',
    kind: 'DataPlane',
    metadata: { name: 'dp', namespace: 'acme', uid: 'u1' },
    spec: { clusterAgent: { clientCA: { value: 'ca' } } },
  };
  await assert.rejects(
    p.connect(plane, undefined),
    (err: unknown) =>
      err instanceof CredentialsError &&
      /DataPlane acme\/dp is reached through OpenChoreo's cluster gateway .*--cluster-gateway-url/.test(
        err.message,
      ),
  );
  const neither = { ...plane, spec: {} } as DataPlane;
  await assert.rejects(
    p.connect(neither, undefined),
    (err: unknown) =>
      err instanceof CredentialsError && /spec.kubernetesCluster.*spec.clusterAgent/.test(err.message),
  );
  await p.close();
});

test('a gateway plane whose certificate files cannot be read is invalid, naming the flags', async () => {
  const p = new DataPlanePool({
    logger: pino({ level: 'silent' }),
    requestTimeoutMs: 1_000,
    onEvent: () => {},
    gateway: {
      url: 'https://127.0.0.1:1',
      caFile: '/nonexistent/ca',
      certFile: '/c',
      keyFile: '/k',
      pollIntervalMs: 5_000,
    },
  });
  const plane: DataPlane = {
    apiVersion: 'openchoreo.dev/v1alpha1',
    kind: 'DataPlane',
    metadata: { name: 'dp', namespace: 'acme', uid: 'u1' },
    spec: { clusterAgent: { clientCA: { value: 'ca' } } },
  };
  await assert.rejects(
    p.connect(plane, undefined),
    (err: unknown) =>
      err instanceof CredentialsError &&
      /cannot read its cluster-gateway certificate files \(ENOENT\).*--cluster-gateway-ca-file/.test(
        err.message,
      ),
  );
  await p.close();
});

test('a name the gateway would not carry intact is refused as an invalid resource, before any request', async () => {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(req.url ?? '');
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  const client = new KubeClient({
    name: 'gateway test',
    server: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`,
  });
  const watches = new WatchSet({
    client,
    logger: pino({ level: 'silent' }),
    syncTimeoutMs: 1_000,
    onEvent: () => {},
  });
  const port = new DirectDataPlane('acme/dp', 'f', client, watches, refuseGatewayName);
  const role = servedKind(
    { group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'ClusterRole' },
    'clusterroles',
  );
  try {
    await assert.rejects(
      port.apply(
        role,
        { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'a?b' } },
        'm',
        AbortSignal.timeout(1_000),
      ),
      (err: unknown) =>
        isKubeApiError(err) &&
        err.statusCode === 422 &&
        /ClusterRole a\?b on acme\/dp: .*cluster gateway/.test(err.message),
    );
    assert.deepEqual(requests, [], 'nothing was sent');
    await port.apply(
      role,
      { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'system:ok' } },
      'm',
      AbortSignal.timeout(1_000),
    );
    assert.deepEqual(requests.length, 1, 'a safe name is sent');
  } finally {
    await port.close();
    server.close();
  }
});
