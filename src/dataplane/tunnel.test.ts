import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as https from 'node:https';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { KubeClient, isKubeApiError, type WatchEvent } from '../kube/client.ts';
import { selfSigned } from '../kube/selfsigned.ts';
import {
  openTunnel,
  splitAddress,
  tunnelConnector,
  TunnelError,
  type TunnelProxySettings,
} from './tunnel.ts';

function listen(server: net.Server): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)),
  );
}

/** ProxyBehaviour scripts the fake proxy server's answer to one CONNECT. */
type ProxyBehaviour = 'tunnel' | 500 | 502 | 405 | 'silent';

describe('tunnel', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tunnel-test-'));
  const proxyPki = selfSigned(dir, 'proxy');
  const controllerPki = selfSigned(dir, 'controller');
  const strangerPki = selfSigned(dir, 'stranger');
  const apiPki = selfSigned(dir, 'apiserver');
  const read = (path: string) => readFileSync(path);
  let apiPort = 0;
  let proxyPort = 0;
  let behaviour: ProxyBehaviour = 'tunnel';
  const targets: string[] = [];
  const sockets = new Set<net.Socket>();
  let api: https.Server;
  let proxy: https.Server;

  before(async () => {
    // The "API server": TLS with its own CA, answers one object and a watch of two events.
    api = https.createServer({ cert: read(apiPki.cert), key: read(apiPki.key) }, (req, res) => {
      if (req.url?.includes('watch=true')) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"type":"ADDED","object":{"n":1}}\n');
        res.end('{"type":"MODIFIED","object":{"n":2}}\n');
        return;
      }
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end('{"kind":"Namespace","through":"tunnel"}');
    });
    apiPort = await listen(api);
    // The proxy server: mutual TLS with the controller's certificate as the only trusted client CA,
    // then HTTP CONNECT as apiserver-network-proxy answers it.
    proxy = https.createServer({
      cert: read(proxyPki.cert),
      key: read(proxyPki.key),
      ca: read(controllerPki.cert),
      requestCert: true,
      rejectUnauthorized: true,
    });
    proxy.on('connection', (s: net.Socket) => {
      sockets.add(s);
      s.once('close', () => sockets.delete(s));
    });
    proxy.on('connect', (req, socket: TLSSocket) => {
      targets.push(req.url ?? '');
      const body = 'currently no tunnels available: agent SECRET-agent-42 at 10.9.9.9';
      switch (behaviour) {
        case 'silent':
          return;
        case 500:
        case 502:
        case 405:
          socket.end(`HTTP/1.1 ${behaviour} Nope\r\nContent-Type: text/plain\r\n\r\n${body}`);
          return;
        case 'tunnel': {
          const upstream = net.connect(apiPort, '127.0.0.1', () => {
            socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
            upstream.pipe(socket).pipe(upstream);
          });
          upstream.on('error', () => socket.destroy());
          socket.on('error', () => upstream.destroy());
        }
      }
    });
    proxyPort = await listen(proxy);
  });

  after(async () => {
    for (const s of sockets) s.destroy();
    await Promise.all([new Promise((r) => proxy.close(r)), new Promise((r) => api.close(r))]);
    rmSync(dir, { recursive: true, force: true });
  });

  const settings = (over: Partial<TunnelProxySettings> = {}): TunnelProxySettings => ({
    address: `127.0.0.1:${proxyPort}`,
    caFile: proxyPki.cert,
    certFile: controllerPki.cert,
    keyFile: controllerPki.key,
    ...over,
  });

  const client = (proxySettings = settings(), ca = read(apiPki.cert)) =>
    new KubeClient({
      name: 'data plane org/dp-a',
      server: `https://127.0.0.1:${apiPort}`,
      ca,
      timeoutMs: 2_000,
      maxRetries: 0,
      connect: tunnelConnector({ proxy: proxySettings, host: 'dp-a', secure: true, timeoutMs: 1_000 }),
    });

  /** failure runs one request and returns the error it fails with. */
  const failure = async (c: KubeClient): Promise<Error> => {
    try {
      await c.request({ method: 'GET', path: '/api/v1/namespaces/default' });
    } catch (err) {
      return err as Error;
    } finally {
      await c.close();
    }
    assert.fail('the request succeeded');
  };

  test('requests and watches run through the tunnel to the tunnel host at the API server port', async () => {
    behaviour = 'tunnel';
    targets.length = 0;
    const c = client();
    try {
      const body = await c.request<{ through: string }>({
        method: 'GET',
        path: '/api/v1/namespaces/default',
      });
      assert.equal(body.through, 'tunnel');
      const events: WatchEvent[] = [];
      await c.watch('/api/v1/namespaces', {}, (e) => events.push(e), new AbortController().signal);
      assert.deepEqual(
        events.map((e) => e.type),
        ['ADDED', 'MODIFIED'],
      );
    } finally {
      await c.close();
    }
    // The proxy routes by the tunnel host; the agent dials it at the port of the API server URL.
    assert.ok(targets.length >= 1, 'no CONNECT reached the proxy');
    assert.ok(
      targets.every((t) => t === `dp-a:${apiPort}`),
      targets.join(', '),
    );
  });

  test('TLS inside the tunnel is verified with the data plane CA, not the proxy CA', async () => {
    behaviour = 'tunnel';
    const err = await failure(client(settings(), read(proxyPki.cert)));
    assert.ok(isKubeApiError(err) && err.isUnreachable, String(err));
  });

  test('no agent for the host (500): the message says the agent is missing, without the proxy body', async () => {
    behaviour = 500;
    const err = await failure(client());
    assert.ok(isKubeApiError(err) && err.isUnreachable, String(err));
    assert.match(err.message, /no proxy agent for host 'dp-a' is connected to the tunnel proxy server/);
    assert.doesNotMatch(err.message, /SECRET|10\.9\.9\.9/);
  });

  test("the agent cannot dial its API server (502): the message names the agent's side", async () => {
    behaviour = 502;
    const err = await failure(client());
    assert.match(err.message, /proxy agent for host 'dp-a' could not connect to the API server/);
    assert.doesNotMatch(err.message, /SECRET/);
  });

  test('another answer to CONNECT is a refusal by the proxy', async () => {
    behaviour = 405;
    const err = await failure(client());
    assert.match(err.message, /refused a tunnel to host 'dp-a' \(HTTP 405/);
  });

  test('a silent proxy fails within the tunnel timeout', async () => {
    behaviour = 'silent';
    const err = await failure(client());
    assert.match(err.message, /gave no tunnel to host 'dp-a' within 1000 ms/);
  });

  test('a proxy that is not listening is reported unreachable', async () => {
    const closed = net.createServer();
    const port = await listen(closed);
    await new Promise((r) => closed.close(r));
    const err = await failure(client(settings({ address: `127.0.0.1:${port}` })));
    assert.ok(isKubeApiError(err) && err.isUnreachable, String(err));
    assert.match(
      err.message,
      new RegExp(`tunnel proxy server 127\\.0\\.0\\.1:${port} cannot be reached \\(ECONNREFUSED\\)`),
    );
  });

  test('a client certificate the proxy does not trust opens no tunnel', async () => {
    behaviour = 'tunnel';
    const stranger = settings({ certFile: strangerPki.cert, keyFile: strangerPki.key });
    await assert.rejects(
      openTunnel({ proxy: stranger, host: 'dp-a', secure: true, timeoutMs: 1_000 }, `dp-a:${apiPort}`),
      (err: unknown) => err instanceof TunnelError && err.failure === 'ProxyUnreachable',
    );
  });

  test('unreadable certificate files name the flags, not the files', async () => {
    const missing = settings({ keyFile: join(dir, 'absent.key') });
    await assert.rejects(
      openTunnel({ proxy: missing, host: 'dp-a', secure: true, timeoutMs: 1_000 }, 'dp-a:443'),
      /cannot read its tunnel proxy certificate files \(ENOENT\): check --tunnel-proxy-ca-file/,
    );
  });

  test('splitAddress reads host:port and bracketed IPv6, and refuses anything else', () => {
    assert.deepEqual(splitAddress('konnectivity-server.system.svc:8090'), [
      'konnectivity-server.system.svc',
      8090,
    ]);
    assert.deepEqual(splitAddress('[::1]:8090'), ['::1', 8090]);
    for (const bad of ['konnectivity', 'host:0', 'host:70000', ':8090', 'http://host:8090']) {
      assert.throws(() => splitAddress(bad), /must be host:port/, bad);
    }
  });
});
