import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as http2 from 'node:http2';
import * as https from 'node:https';
import type * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeClient, LimitReasons, isKubeApiError, type ClientLimits, type WatchEvent } from './client.ts';
import { MAX_STREAMS_PER_SESSION } from './multiplex.ts';
import { selfSigned } from './selfsigned.ts';

/**
 * A TLS API server that answers every watch with one ADDED event and keeps it open, and counts
 * the TLS connections it accepted and the protocol each spoke.
 */
interface WatchServer {
  url: string;
  connections: string[];
  close(): Promise<void>;
}

async function watchServer(
  pki: { cert: string; key: string },
  options: { http2: boolean; maxConcurrentStreams?: number },
): Promise<WatchServer> {
  const connections: string[] = [];
  const answer = (path: string, write: (chunk: string) => void) => {
    const name = new URL(path, 'https://x').pathname.split('/').pop() ?? '';
    write(`${JSON.stringify({ type: 'ADDED', object: { metadata: { name } } })}\n`);
  };
  const tlsOptions = { cert: readFileSync(pki.cert), key: readFileSync(pki.key) };
  const server: net.Server = options.http2
    ? http2.createSecureServer(
        {
          ...tlsOptions,
          allowHTTP1: true,
          settings: { maxConcurrentStreams: options.maxConcurrentStreams ?? 1000 },
        },
        (req, res) => {
          res.writeHead(200, { 'content-type': 'application/json' });
          answer(req.url, (c) => res.write(c));
        },
      )
    : https.createServer(tlsOptions, (req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        answer(req.url ?? '', (c) => res.write(c));
      });
  server.on('secureConnection', (socket: { alpnProtocol?: string | false }) =>
    connections.push(socket.alpnProtocol || 'http/1.1'),
  );
  const sockets = new Set<net.Socket>();
  server.on('connection', (s: net.Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `https://127.0.0.1:${port}`,
    connections,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** openWatches starts `n` watches and resolves with the name each one's first event carried. */
async function openWatches(client: KubeClient, n: number, signal: AbortSignal): Promise<string[]> {
  return Promise.all(
    Array.from(
      { length: n },
      (_, i) =>
        new Promise<string>((resolve, reject) => {
          client
            .watch<{ metadata: { name: string } }>(
              `/api/v1/configmaps/w${i}`,
              {},
              (e: WatchEvent<{ metadata: { name: string } }>) => resolve(e.object.metadata.name),
              signal,
            )
            .catch(reject);
        }),
    ),
  );
}

void describe('watches over HTTP/2', () => {
  let dir: string;
  let pki: { cert: string; key: string };
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'multiplex-test-'));
    pki = selfSigned(dir, 'apiserver');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const clientOf = (server: WatchServer, http2Option?: boolean, limits?: Partial<ClientLimits>) =>
    new KubeClient({
      name: 'test',
      server: server.url,
      ca: readFileSync(pki.cert),
      timeoutMs: 5000,
      ...(http2Option === undefined ? {} : { http2: http2Option }),
      ...(limits && { limits }),
    });

  /** outcomes starts `n` watches and tells, for each, its first event's name or its error. */
  const outcomes = (client: KubeClient, n: number, signal: AbortSignal) =>
    Promise.all(
      Array.from(
        { length: n },
        (_, i) =>
          new Promise<string | Error>((resolve) => {
            client
              .watch<{ metadata: { name: string } }>(
                `/api/v1/configmaps/w${i}`,
                {},
                (e) => resolve(e.object.metadata.name),
                signal,
              )
              .catch((err: unknown) => resolve(err as Error));
          }),
      ),
    );

  void test('many watches share one TLS connection', async () => {
    const server = await watchServer(pki, { http2: true });
    const client = clientOf(server);
    const stop = new AbortController();
    try {
      const names = await openWatches(client, 12, stop.signal);
      assert.deepEqual(
        names,
        Array.from({ length: 12 }, (_, i) => `w${i}`),
      );
      assert.deepEqual(server.connections, ['h2']);
    } finally {
      stop.abort();
      await client.close();
      await server.close();
    }
  });

  void test('a connection carries no more streams than the server allows: more connections are opened', async () => {
    const server = await watchServer(pki, { http2: true, maxConcurrentStreams: 3 });
    const client = clientOf(server, undefined, { minStreamsPerConnection: 3 });
    const stop = new AbortController();
    try {
      const names = await openWatches(client, 7, stop.signal);
      assert.equal(names.length, 7, 'every watch was answered');
      assert.deepEqual(server.connections, ['h2', 'h2', 'h2']);
    } finally {
      stop.abort();
      await client.close();
      await server.close();
    }
  });

  void test('our own cap holds when the server allows more', async () => {
    const server = await watchServer(pki, { http2: true });
    const client = clientOf(server);
    const stop = new AbortController();
    try {
      await openWatches(client, MAX_STREAMS_PER_SESSION + 1, stop.signal);
      assert.deepEqual(server.connections, ['h2', 'h2']);
    } finally {
      stop.abort();
      await client.close();
      await server.close();
    }
  });

  void test('a server that speaks only HTTP/1.1 gets a connection per watch, as before', async () => {
    const server = await watchServer(pki, { http2: false });
    const client = clientOf(server);
    const stop = new AbortController();
    try {
      const names = await openWatches(client, 3, stop.signal);
      assert.deepEqual(names, ['w0', 'w1', 'w2']);
      // One connection per watch (and the first one, which found out by ALPN and was closed,
      // when the server saw its handshake finish).
      assert.ok(server.connections.length >= 3, `connections: ${server.connections.join(', ')}`);
      assert.ok(
        server.connections.every((p) => p === 'http/1.1'),
        `connections: ${server.connections.join(', ')}`,
      );
    } finally {
      stop.abort();
      await client.close();
      await server.close();
    }
  });

  void test('http2: false holds one HTTP/1.1 connection per watch even when the server offers HTTP/2', async () => {
    const server = await watchServer(pki, { http2: true });
    const client = clientOf(server, false);
    const stop = new AbortController();
    try {
      await openWatches(client, 3, stop.signal);
      assert.deepEqual(server.connections, ['http/1.1', 'http/1.1', 'http/1.1']);
    } finally {
      stop.abort();
      await client.close();
      await server.close();
    }
  });
  void test('a server that allows fewer streams than the floor is refused, not given a TLS connection per watch', async () => {
    const server = await watchServer(pki, { http2: true, maxConcurrentStreams: 1 });
    const client = clientOf(server, undefined, {
      settings: { minStreamsPerConnection: '--dataplane-min-http2-streams' },
    });
    const stop = new AbortController();
    try {
      const results = await outcomes(client, 5, stop.signal);
      for (const r of results) {
        assert.ok(isKubeApiError(r) && r.reason === LimitReasons.watchConnections, String(r));
        assert.match(
          r.message,
          /allows 1 concurrent HTTP\/2 stream per connection, fewer than 10: .* \(--dataplane-min-http2-streams raises it\)/,
        );
      }
      assert.deepEqual(server.connections, ['h2'], 'one connection, to learn its settings');
    } finally {
      stop.abort();
      await client.close();
      await server.close();
    }
  });

  void test('watch connections are capped: HTTP/2 connections', async () => {
    const server = await watchServer(pki, { http2: true, maxConcurrentStreams: 10 });
    const client = clientOf(server, undefined, { maxWatchConnections: 2 });
    const stop = new AbortController();
    try {
      const results = await outcomes(client, 25, stop.signal);
      assert.equal(results.filter((r) => typeof r === 'string').length, 20);
      const refused = results.filter((r): r is Error => r instanceof Error);
      assert.equal(refused.length, 5);
      assert.match(
        refused[0]?.message ?? '',
        /2 HTTP\/2 connections already carry 20 watches, the most allowed/,
      );
      assert.deepEqual(server.connections, ['h2', 'h2']);
    } finally {
      stop.abort();
      await client.close();
      await server.close();
    }
  });

  void test('watch connections are capped: HTTP/1.1 watches', async () => {
    const server = await watchServer(pki, { http2: false });
    const client = clientOf(server, false, { maxWatchConnections: 2 });
    const stop = new AbortController();
    try {
      const results = await outcomes(client, 3, stop.signal);
      assert.equal(results.filter((r) => typeof r === 'string').length, 2);
      const refused = results.find((r): r is Error => r instanceof Error);
      assert.match(refused?.message ?? '', /2 watches already hold an HTTP\/1.1 connection each/);
    } finally {
      stop.abort();
      await client.close();
      await server.close();
    }
  });
});
