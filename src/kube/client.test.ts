import { after, before, describe, mock, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import {
  KubeApiError,
  INVALID_REQUEST,
  KubeClient,
  LimitReasons,
  UNREACHABLE,
  isKubeApiError,
  type UnreachableDetail,
} from './client.ts';

const MIB = 1024 * 1024;

/**
 * flood writes `total` bytes of `fill` in 64 KiB chunks, waiting for the reader (backpressure),
 * and stops early when the client closes the connection; `sent` tells how far it got.
 */
function flood(res: ServerResponse, total: number, fill: string): { sent: number; done: Promise<void> } {
  const chunk = Buffer.alloc(64 * 1024, fill);
  const progress = { sent: 0, done: Promise.resolve() };
  progress.done = new Promise<void>((resolve) => {
    let closed = false;
    res.once('close', () => {
      closed = true;
      resolve();
    });
    const pump = () => {
      while (!closed && progress.sent < total) {
        progress.sent += chunk.length;
        if (!res.write(chunk)) {
          res.once('drain', pump);
          return;
        }
      }
      if (!closed) res.end();
    };
    pump();
  });
  return progress;
}

/** A local HTTP server that answers each request with the next scripted response. */
type Handler = (req: IncomingMessage, res: ServerResponse) => void;

describe('KubeClient', () => {
  let server: Server;
  let base = '';
  let script: Handler[] = [];
  let seen: Array<{ method?: string; url?: string; at: number; body: string; contentType?: string }> = [];

  before(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        seen.push({
          method: req.method,
          url: req.url,
          at: performance.now(),
          body,
          contentType: req.headers['content-type'],
        });
        const next = script.shift();
        if (next) next(req, res);
        else res.writeHead(500).end('{"kind":"Status","message":"unscripted"}');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const address = server.address();
    base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  const status =
    (code: number, reason: string, message: string, headers: Record<string, string> = {}): Handler =>
    (_req, res) =>
      res
        .writeHead(code, { 'content-type': 'application/json', ...headers })
        .end(JSON.stringify({ kind: 'Status', code, reason, message }));
  const ok =
    (body: unknown): Handler =>
    (_req, res) =>
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  const reset = () => {
    script = [];
    seen = [];
  };

  test('retries 429 after the server-given Retry-After, then succeeds', async () => {
    reset();
    script = [status(429, 'TooManyRequests', 'slow down', { 'retry-after': '1' }), ok({ kind: 'ConfigMap' })];
    const client = new KubeClient({ name: 'test', server: base });
    const result = await client.request<{ kind: string }>({ method: 'GET', path: '/api/v1/x' });
    assert.equal(result.kind, 'ConfigMap');
    assert.equal(seen.length, 2);
    const waited = (seen[1]?.at ?? 0) - (seen[0]?.at ?? 0);
    assert.ok(waited >= 950, `waited ${waited} ms, Retry-After said 1 s`);
    await client.close();
  });

  test('retries 5xx with backoff and gives up with the server message after the retries', async () => {
    reset();
    script = [
      status(503, 'ServiceUnavailable', 'etcd is down'),
      status(503, 'ServiceUnavailable', 'etcd is down'),
      status(503, 'ServiceUnavailable', 'etcd is still down'),
    ];
    const client = new KubeClient({ name: 'dp', server: base, maxRetries: 2 });
    await assert.rejects(client.request({ method: 'GET', path: '/api/v1/y' }), (err: unknown) => {
      assert.ok(isKubeApiError(err), 'a KubeApiError');
      assert.equal(err.statusCode, 503);
      assert.match(err.message, /GET \/api\/v1\/y on dp: etcd is still down/);
      return true;
    });
    assert.equal(seen.length, 3);
    await client.close();
  });

  test('does not retry a 422 and keeps the Status details', async () => {
    reset();
    script = [
      (_req, res) =>
        res.writeHead(422, { 'content-type': 'application/json' }).end(
          JSON.stringify({
            kind: 'Status',
            code: 422,
            reason: 'Invalid',
            message: 'spec.x: Invalid value',
            details: { causes: [{ field: 'spec.x' }] },
          }),
        ),
    ];
    const client = new KubeClient({ name: 'dp', server: base });
    await assert.rejects(
      client.request({
        method: 'PATCH',
        path: '/apis/a/v1/b',
        body: { a: 1 },
        contentType: 'application/apply-patch+yaml',
      }),
      (err: unknown) => {
        assert.ok(isKubeApiError(err) && err.reason === 'Invalid', 'reason Invalid');
        assert.deepEqual(err.details, { causes: [{ field: 'spec.x' }] });
        return true;
      },
    );
    assert.equal(seen.length, 1);
    assert.equal(seen[0]?.contentType, 'application/apply-patch+yaml');
    assert.equal(seen[0]?.body, '{"a":1}');
    await client.close();
  });

  test('times out a request that gets no answer, as unreachable', async () => {
    reset();
    script = [() => undefined];
    const client = new KubeClient({ name: 'dp', server: base, timeoutMs: 300, maxRetries: 0 });
    const started = performance.now();
    await assert.rejects(client.request({ method: 'GET', path: '/hang' }), (err: unknown) => {
      assert.ok(isKubeApiError(err) && err.isUnreachable && err.reason === 'Timeout', 'a timeout');
      assert.equal(
        err.message,
        `GET /hang on dp: ${UNREACHABLE}`,
        'the same words as any unreachable server',
      );
      return true;
    });
    assert.ok(performance.now() - started < 2_000, 'the timeout bounds the wait');
    reset();
    script = [(_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).write('{"kind":')];
    await assert.rejects(client.request({ method: 'GET', path: '/slow-body' }), (err: unknown) => {
      assert.ok(isKubeApiError(err) && err.reason === 'Timeout', 'a body that never ends times out too');
      assert.equal(err.message, `GET /slow-body on dp: ${UNREACHABLE}`);
      return true;
    });
    await client.close();
  });

  test('does not retry a request that timed out: one deadline per request, not one per attempt', async () => {
    reset();
    script = [() => undefined, () => undefined, () => undefined];
    const client = new KubeClient({ name: 'dp', server: base, timeoutMs: 200, maxRetries: 2 });
    await assert.rejects(client.request({ method: 'GET', path: '/hang' }), (err: unknown) => {
      assert.ok(isKubeApiError(err) && err.reason === 'Timeout' && !err.isRetryable, 'a timeout, final');
      return true;
    });
    assert.equal(seen.length, 1, 'the request was sent once');
    await client.close();
  });

  test('a refused and a silent server read the same: the connection error goes to the log only', async () => {
    const details: UnreachableDetail[] = [];
    const onUnreachable = (d: UnreachableDetail) => details.push(d);
    const refused = new KubeClient({
      name: 'data plane org/dp',
      server: 'http://127.0.0.1:1',
      maxRetries: 0,
      onUnreachable,
    });
    const messages: string[] = [];
    await assert.rejects(refused.request({ method: 'GET', path: '/api' }), (err: unknown) => {
      assert.ok(isKubeApiError(err) && err.isUnreachable, 'unreachable');
      messages.push(err.message);
      return true;
    });
    reset();
    script = [() => undefined];
    const silent = new KubeClient({
      name: 'data plane org/dp',
      server: base,
      timeoutMs: 200,
      maxRetries: 0,
      onUnreachable,
    });
    await assert.rejects(silent.request({ method: 'GET', path: '/api' }), (err: unknown) => {
      assert.ok(isKubeApiError(err) && err.isUnreachable, 'unreachable');
      messages.push(err.message);
      return true;
    });
    assert.deepEqual(messages, [
      `GET /api on data plane org/dp: ${UNREACHABLE}`,
      `GET /api on data plane org/dp: ${UNREACHABLE}`,
    ]);
    assert.deepEqual(
      details.map((d) => [d.code, d.path]),
      [
        ['ECONNREFUSED', '/api'],
        ['Timeout', '/api'],
      ],
      'the log learns which',
    );
    assert.doesNotMatch(messages.join(' '), /ECONNREFUSED|timed out|127\.0\.0\.1/);
    await refused.close();
    await silent.close();
  });

  test('a request Node refuses to build is not unreachable, is not retried, and sends nothing', async () => {
    reset();
    const details: UnreachableDetail[] = [];
    const client = new KubeClient({
      name: 'data plane org/dp',
      server: base,
      onUnreachable: (d) => details.push(d),
    });
    await assert.rejects(client.request({ method: 'GET', path: '/api/v1 x/configmaps' }), (err: unknown) => {
      assert.ok(isKubeApiError(err), 'a KubeApiError');
      assert.equal(err.reason, INVALID_REQUEST);
      assert.equal(err.isUnreachable, false, 'not unreachable: the server was never asked');
      assert.equal(err.isRetryable, false);
      assert.match(err.message, /the request could not be built \(ERR_UNESCAPED_CHARACTERS\)/);
      return true;
    });
    assert.equal(seen.length, 0, 'no request reached the server');
    assert.deepEqual(details, [], 'nothing is logged as unreachable');
    await client.close();
  });

  test('an answer that is not JSON is an error that does not quote it', async () => {
    reset();
    script = [
      (_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html>token-eyJhbGciOi</html>'),
    ];
    const client = new KubeClient({ name: 'dp', server: base, maxRetries: 2 });
    await assert.rejects(client.request({ method: 'GET', path: '/api' }), (err: unknown) => {
      assert.ok(isKubeApiError(err) && !err.isRetryable, 'a final error');
      assert.equal(err.message, 'GET /api on dp: the answer is not JSON (29 characters)');
      return true;
    });
    assert.equal(seen.length, 1, 'not retried');
    await client.close();
  });

  test('an error body that is not a Status is quoted as one short printable line', async () => {
    reset();
    script = [
      (_req, res) =>
        res
          .writeHead(502, { 'content-type': 'text/html' })
          .end(`<html>\r\n<body>Bad gateway\u0007\n${'x'.repeat(5000)}</body></html>`),
      (_req, res) =>
        res
          .writeHead(422, { 'content-type': 'application/json' })
          .end(
            JSON.stringify({ kind: 'Status', reason: 'Invalid', message: `bad\nline ${'y'.repeat(9000)}` }),
          ),
    ];
    const client = new KubeClient({ name: 'dp', server: base, maxRetries: 0 });
    await assert.rejects(client.request({ method: 'GET', path: '/page' }), (err: unknown) => {
      assert.ok(isKubeApiError(err), 'an API error');
      assert.match(
        err.message,
        /^GET \/page on dp: HTTP 502, not a Kubernetes Status: "<html> <body>Bad gateway x+…"$/,
      );
      assert.ok(err.message.length < 300, `${err.message.length} characters`);
      return true;
    });
    await assert.rejects(client.request({ method: 'GET', path: '/status' }), (err: unknown) => {
      assert.ok(isKubeApiError(err) && err.reason === 'Invalid', 'the Status reason');
      assert.doesNotMatch(err.message, /\n/);
      assert.ok(err.message.length < 2200, `${err.message.length} characters`);
      return true;
    });
    await client.close();
  });

  test('streams watch events line by line and surfaces an ERROR event to the caller', async () => {
    reset();
    script = [
      (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"type":"ADDED","object":{"metadata":{"name":"a","resourceVersion":"1"}}}\n{"type":"BOOK');
        res.end('MARK","object":{"metadata":{"resourceVersion":"5"}}}\n');
      },
    ];
    const client = new KubeClient({ name: 'dp', server: base });
    const events: string[] = [];
    let opened = false;
    await client.watch<{ metadata: { resourceVersion: string } }>(
      '/api/v1/configmaps',
      { resourceVersion: '0' },
      (e) => events.push(`${e.type}:${e.object.metadata.resourceVersion}`),
      new AbortController().signal,
      () => (opened = true),
    );
    assert.deepEqual(events, ['ADDED:1', 'BOOKMARK:5']);
    assert.ok(opened, 'onOpen ran');
    assert.match(seen[0]?.url ?? '', /watch=true/);
    await client.close();
  });

  test('decodes a UTF-8 character split across chunks of a watch stream', async () => {
    reset();
    const line = Buffer.from(
      '{"type":"ADDED","object":{"metadata":{"name":"café","resourceVersion":"1"}}}\n',
    );
    const split = line.indexOf(0xc3) + 1;
    script = [
      (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write(line.subarray(0, split));
        setTimeout(() => res.end(line.subarray(split)), 50);
      },
    ];
    const client = new KubeClient({ name: 'dp', server: base });
    const names: string[] = [];
    await client.watch<{ metadata: { name: string } }>(
      '/api/v1/configmaps',
      {},
      (e) => names.push(e.object.metadata.name),
      new AbortController().signal,
    );
    assert.deepEqual(names, ['café']);
    await client.close();
  });

  test('bounds the wait for a watch answer, but not a quiet watch body that asked for no bookmarks', async () => {
    reset();
    script = [() => undefined];
    const client = new KubeClient({
      name: 'dp',
      server: base,
      timeoutMs: 200,
      limits: { watchIdleTimeoutMs: 200 },
    });
    await assert.rejects(
      client.watch('/api/v1/pods', {}, () => undefined, new AbortController().signal),
      (err: unknown) => {
        assert.ok(isKubeApiError(err) && err.isUnreachable && err.reason === 'Timeout', 'a timeout');
        assert.match(err.message, new RegExp(`: ${UNREACHABLE.replace(/[()]/g, '\\$&')}$`));
        return true;
      },
    );
    reset();
    script = [
      (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('');
        setTimeout(() => res.end('{"type":"ADDED","object":{"n":1}}\n'), 600);
      },
    ];
    const events: unknown[] = [];
    await client.watch('/api/v1/pods', {}, (e) => events.push(e.object), new AbortController().signal);
    assert.deepEqual(
      events,
      [{ n: 1 }],
      'without bookmarks a body quiet for longer than the timeout and the idle timeout still delivers',
    );
    await client.close();
  });

  test('refuses a body whose content-length is over the cap without reading it, and does not retry', async () => {
    reset();
    let progress: { sent: number; done: Promise<void> } | undefined;
    script = [
      (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(64 * MIB) });
        progress = flood(res, 64 * MIB, ' ');
      },
    ];
    const client = new KubeClient({
      name: 'data plane org/dp',
      server: base,
      limits: { maxResponseBytes: MIB, settings: { maxResponseBytes: '--dataplane-max-response-size' } },
    });
    await assert.rejects(client.request({ method: 'GET', path: '/api/v1' }), (err: unknown) => {
      assert.ok(isKubeApiError(err), 'a KubeApiError');
      assert.equal(err.reason, LimitReasons.responseTooLarge);
      assert.ok(err.isLimitExceeded && !err.isRetryable, 'a limit, not retried');
      assert.equal(
        err.message,
        'GET /api/v1 on data plane org/dp: the response body declares 64 MiB, larger than the limit of 1 MiB (--dataplane-max-response-size raises it)',
      );
      return true;
    });
    await progress?.done;
    assert.equal(seen.length, 1, 'not retried');
    assert.ok((progress?.sent ?? 0) < 16 * MIB, `the server could send only ${progress?.sent} bytes`);
    await client.close();
  });

  test('stops reading a body without content-length at the cap', async () => {
    reset();
    let progress: { sent: number; done: Promise<void> } | undefined;
    script = [
      (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        progress = flood(res, 64 * MIB, ' ');
      },
    ];
    const client = new KubeClient({ name: 'dp', server: base, limits: { maxResponseBytes: MIB } });
    await assert.rejects(client.request({ method: 'GET', path: '/apis' }), (err: unknown) => {
      assert.ok(isKubeApiError(err) && err.reason === LimitReasons.responseTooLarge, 'ResponseTooLarge');
      assert.match(err.message, /the response body is larger than the limit of 1 MiB$/);
      return true;
    });
    await progress?.done;
    assert.equal(seen.length, 1, 'not retried');
    assert.ok((progress?.sent ?? 0) < 16 * MIB, `the server could send only ${progress?.sent} bytes`);
    await client.close();
  });

  test('ends a watch whose event line grows past the cap', async () => {
    reset();
    let progress: { sent: number; done: Promise<void> } | undefined;
    script = [
      (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"type":"ADDED","object":{"n":1}}\n{"type":"ADDED","object":{"n":"');
        progress = flood(res, 64 * MIB, 'x');
      },
    ];
    const client = new KubeClient({
      name: 'dp',
      server: base,
      limits: {
        maxWatchEventBytes: MIB,
        settings: { maxWatchEventBytes: '--dataplane-max-watch-event-size' },
      },
    });
    const events: unknown[] = [];
    await assert.rejects(
      client.watch('/api/v1/pods', {}, (e) => events.push(e.object), new AbortController().signal),
      (err: unknown) => {
        assert.ok(isKubeApiError(err) && err.reason === LimitReasons.responseTooLarge, 'ResponseTooLarge');
        assert.match(
          err.message,
          /a watch event is larger than the limit of 1 MiB \(--dataplane-max-watch-event-size raises it\)/,
        );
        return true;
      },
    );
    await progress?.done;
    assert.deepEqual(events, [{ n: 1 }], 'the events before the long line arrived');
    assert.ok((progress?.sent ?? 0) < 16 * MIB, `the server could send only ${progress?.sent} bytes`);
    await client.close();
  });

  test('ends a watch with bookmarks that goes silent after its headers, and sets TCP keep-alive', async () => {
    reset();
    const keepAlive = mock.method(Socket.prototype, 'setKeepAlive');
    script = [
      (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"7"}}}\n');
      },
    ];
    const client = new KubeClient({ name: 'dp', server: base, limits: { watchIdleTimeoutMs: 300 } });
    const events: string[] = [];
    // Without the idle deadline the watch would end only when this signal aborts, quietly.
    const giveUp = AbortSignal.timeout(5_000);
    try {
      await assert.rejects(
        client.watch('/api/v1/pods', { allowWatchBookmarks: true }, (e) => events.push(e.type), giveUp),
        (err: unknown) => {
          assert.ok(isKubeApiError(err) && err.reason === LimitReasons.watchTimeout, 'WatchTimeout');
          assert.ok(err.isUnreachable, 'a silent watch is an unreachable server');
          assert.match(err.message, /watch received nothing \(not even a bookmark\) for 0.3 s/);
          return true;
        },
      );
      assert.ok(!giveUp.aborted, 'the idle deadline ended the watch, not the test');
      assert.deepEqual(events, ['BOOKMARK']);
      assert.ok(
        keepAlive.mock.calls.some((c) => c.arguments[0] === true && Number(c.arguments[1]) > 0),
        'TCP keep-alive with an initial delay on the watch socket',
      );
    } finally {
      keepAlive.mock.restore();
      await client.close();
    }
  });

  test('ends a watch that outlives its timeoutSeconds plus slack, however chatty', async () => {
    reset();
    let timer: NodeJS.Timeout | undefined;
    script = [
      (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        timer = setInterval(() => res.write('{"type":"BOOKMARK","object":{"metadata":{}}}\n'), 50);
        res.once('close', () => clearInterval(timer));
      },
    ];
    const client = new KubeClient({
      name: 'dp',
      server: base,
      limits: { watchIdleTimeoutMs: 1_000, watchDeadlineSlackMs: 200 },
    });
    const giveUp = AbortSignal.timeout(5_000);
    try {
      await assert.rejects(
        client.watch(
          '/api/v1/pods',
          { allowWatchBookmarks: true, timeoutSeconds: 1 },
          () => undefined,
          giveUp,
        ),
        (err: unknown) => {
          assert.ok(isKubeApiError(err) && err.reason === LimitReasons.watchTimeout, 'WatchTimeout');
          assert.match(err.message, /watch still open 1.2 s after it started, past its timeoutSeconds of 1/);
          return true;
        },
      );
      assert.ok(!giveUp.aborted, 'the deadline ended the watch, not the test');
    } finally {
      clearInterval(timer);
      await client.close();
    }
  });

  test('sends the impersonation headers on requests and watches, one header per group and extra value', async () => {
    reset();
    const raw: string[][] = [];
    const record =
      (then: Handler): Handler =>
      (req, res) => {
        raw.push(req.rawHeaders);
        then(req, res);
      };
    script = [
      record(ok({ kind: 'ConfigMap' })),
      record((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end()),
    ];
    const client = new KubeClient({
      name: 'dp',
      server: base,
      authorization: () => Promise.resolve('Bearer t'),
      impersonate: {
        user: 'renée',
        uid: '42',
        groups: ['dev', 'ops,admins'],
        extra: { 'acme.dev/team': ['a', 'b'], Scopes: ['view'] },
      },
    });
    await client.request({ method: 'GET', path: '/api/v1/namespaces/a/configmaps/x' });
    await client.watch('/api/v1/configmaps', {}, () => undefined, new AbortController().signal);
    await client.close();
    assert.equal(raw.length, 2);
    for (const headers of raw) {
      const values = (name: string) =>
        headers
          .flatMap((h, i) => (i % 2 === 0 && h.toLowerCase() === name.toLowerCase() ? [headers[i + 1]] : []))
          // The server reads header bytes as Latin-1; the value was sent as UTF-8, as client-go sends it.
          .map((v) => Buffer.from(v ?? '', 'latin1').toString('utf8'));
      assert.deepEqual(values('Impersonate-User'), ['renée']);
      assert.deepEqual(values('Impersonate-Uid'), ['42']);
      // A comma-joined header would be read as one group named "dev, ops,admins".
      assert.deepEqual(values('Impersonate-Group'), ['dev', 'ops,admins']);
      assert.deepEqual(values('Impersonate-Extra-acme.dev%2Fteam'), ['a', 'b']);
      assert.deepEqual(values('Impersonate-Extra-Scopes'), ['view']);
      assert.deepEqual(values('Authorization'), ['Bearer t'], 'the credentials still authenticate');
    }
  });

  test('sends no impersonation header without the option', async () => {
    reset();
    let names: string[] = [];
    script = [
      (req, res) => {
        names = Object.keys(req.headers);
        ok({})(req, res);
      },
    ];
    const client = new KubeClient({ name: 'dp', server: base });
    await client.request({ method: 'GET', path: '/api/v1/namespaces' });
    await client.close();
    assert.deepEqual(
      names.filter((n) => n.startsWith('impersonate-')),
      [],
    );
  });

  test('stops a watch quietly when its signal aborts', async () => {
    reset();
    script = [(_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).write('')];
    const client = new KubeClient({ name: 'dp', server: base });
    const stop = new AbortController();
    let opened = false;
    const watching = client.watch(
      '/api/v1/pods',
      {},
      () => undefined,
      stop.signal,
      () => {
        opened = true;
        stop.abort();
      },
    );
    await watching;
    assert.ok(opened, 'the watch opened before it was stopped');
    await client.close();
  });
});

test('a 502, 503 or 504 without a Kubernetes Status is unreachable (a proxy said so); with one it is the server speaking', () => {
  for (const code of [502, 503, 504]) {
    assert.ok(
      new KubeApiError('x', { statusCode: code, reason: `HTTP${code}` }).isUnreachable,
      `${code} from a proxy`,
    );
    assert.ok(
      !new KubeApiError('x', { statusCode: code, reason: 'ServiceUnavailable' }).isUnreachable,
      `${code} as a Status`,
    );
  }
  assert.ok(!new KubeApiError('x', { statusCode: 500, reason: 'HTTP500' }).isUnreachable, '500 is an answer');
  assert.ok(new KubeApiError('x', { statusCode: 0, reason: 'ECONNREFUSED' }).isUnreachable, 'no answer');
});
