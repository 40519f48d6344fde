import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { pino } from 'pino';
import type { KubeObject } from '../api/object.ts';
import { KubeClient, LimitReasons, isKubeApiError } from './client.ts';
import { Informer, type InformerEventType, type ListBudget } from './informer.ts';
import { CacheBudget } from './cachebudget.ts';

const PATH = '/api/v1/configmaps';

/** WatchHandler answers one watch request; it may write events and end the stream, or leave it open. */
type WatchHandler = (res: ServerResponse, query: URLSearchParams) => void;

/**
 * A local API server of one collection: paged lists from `items`, and each watch request
 * answered by the next scripted handler (an open, silent stream when none is left).
 */
class CollectionServer {
  items: KubeObject[] = [];
  resourceVersion = 100;
  /** failLists answers that many list requests with 500 before serving them. */
  failLists = 0;
  /** endless answers every list page with another `continue`, as a hostile server may. */
  endless = false;
  /** answerWatches false leaves watch requests without an answer (a partitioned server). */
  answerWatches = true;
  /** pageDelayMs delays each list page. */
  pageDelayMs = 0;
  /** served false answers every request with the API server's plain 404 (a deleted CRD). */
  served = true;
  watches: WatchHandler[] = [];
  readonly requests: Array<{ watch: boolean; query: URLSearchParams }> = [];
  private readonly open = new Set<ServerResponse>();
  private server: Server | undefined;
  base = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((r) => this.server?.listen(0, '127.0.0.1', r));
    const address = this.server.address();
    this.base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  }

  reset(): void {
    this.items = [];
    this.failLists = 0;
    this.endless = false;
    this.answerWatches = true;
    this.pageDelayMs = 0;
    this.served = true;
    this.watches = [];
    this.requests.length = 0;
    for (const res of this.open) {
      if (res.headersSent) res.end();
      else res.destroy();
    }
    this.open.clear();
  }

  lists(): URLSearchParams[] {
    return this.requests.filter((r) => !r.watch).map((r) => r.query);
  }

  watchRequests(): URLSearchParams[] {
    return this.requests.filter((r) => r.watch).map((r) => r.query);
  }

  async stop(): Promise<void> {
    this.reset();
    this.server?.closeAllConnections();
    await new Promise<void>((r) => this.server?.close(() => r()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', this.base);
    const watch = url.searchParams.get('watch') === 'true';
    this.requests.push({ watch, query: url.searchParams });
    if (!this.served) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('404 page not found\n');
      return;
    }
    if (!watch) {
      if (this.failLists > 0) {
        this.failLists--;
        res
          .writeHead(500, { 'content-type': 'application/json' })
          .end(JSON.stringify({ kind: 'Status', code: 500, reason: 'InternalError', message: 'etcd down' }));
        return;
      }
      const limit = Number(url.searchParams.get('limit') ?? 500);
      const from = Number(url.searchParams.get('continue') ?? 0);
      const page = this.endless
        ? [configMap(`page-${from}`, '90', { fill: 'x'.repeat(1_000) })]
        : this.items.slice(from, from + limit);
      const next = this.endless || from + limit < this.items.length ? String(from + limit) : undefined;
      const body = JSON.stringify({
        kind: 'ConfigMapList',
        apiVersion: 'v1',
        metadata: { resourceVersion: String(this.resourceVersion), continue: next },
        // List items carry no kind, as a real API server sends them.
        items: page.map(({ metadata, data }: KubeObject & { data?: unknown }) => ({ metadata, data })),
      });
      setTimeout(
        () =>
          res
            .writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) })
            .end(body),
        this.pageDelayMs,
      );
      return;
    }
    if (!this.answerWatches) {
      this.open.add(res);
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.flushHeaders();
    this.open.add(res);
    res.once('close', () => this.open.delete(res));
    this.watches.shift()?.(res, url.searchParams);
  }
}

function configMap(name: string, resourceVersion: string, data: Record<string, string> = {}): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    // The informers under test select app=x, and drop what does not match.
    metadata: { name, namespace: 'apps', resourceVersion, labels: { app: 'x' } },
    data,
  };
}

function event(res: ServerResponse, type: string, object: unknown): void {
  res.write(`${JSON.stringify({ type, object })}\n`);
}

/** until polls a condition, failing with a description after two seconds. */
async function until(what: string, check: () => boolean): Promise<void> {
  const deadline = performance.now() + 2_000;
  while (!check()) {
    if (performance.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

void describe('Informer', () => {
  const server = new CollectionServer();
  let client: KubeClient;
  const informers: Informer[] = [];

  before(async () => {
    await server.start();
    // No client retries: the informer's own backoff is under test.
    client = new KubeClient({ name: 'test', server: server.base, timeoutMs: 2_000, maxRetries: 0 });
  });
  after(async () => {
    await Promise.all(informers.map((i) => i.stop()));
    await client.close();
    await server.stop();
  });

  /** start stops the informer of the previous test, so only this test's informer talks to the server. */
  const start = async (
    options: {
      pageSize?: number;
      health?: boolean[];
      client?: KubeClient;
      listBudget?: ListBudget;
      pollIntervalMs?: number;
      endWhenNotServed?: boolean;
      gone?: unknown[];
      budget?: CacheBudget;
      overflow?: unknown[];
      accept?: (obj: KubeObject) => boolean;
    } = {},
  ) => {
    await Promise.all(informers.splice(0).map((i) => i.stop()));
    server.reset();
    const seen: Array<[InformerEventType, string]> = [];
    const informer = new Informer({
      client: options.client ?? client,
      listBudget: options.listBudget,
      path: PATH,
      labelSelector: 'app=x',
      name: 'test/configmaps',
      logger: pino({ level: 'silent' }),
      pageSize: options.pageSize,
      minBackoffMs: 10,
      maxBackoffMs: 40,
      onHealthChange: (healthy) => options.health?.push(healthy),
      pollIntervalMs: options.pollIntervalMs,
      endWhenNotServed: options.endWhenNotServed,
      onGone: (err) => options.gone?.push(err),
      ...(options.budget && { budget: options.budget }),
      ...(options.accept && { accept: options.accept }),
      onOverflow: (err) => options.overflow?.push(err),
    });
    informer.addHandler((type, obj) => seen.push([type, obj.metadata.name ?? '']));
    informers.push(informer);
    return { informer, seen };
  };

  void test('lists every page, restores the kind of list items, then watches from the list resourceVersion', async () => {
    const { informer, seen } = await start({ pageSize: 2 });
    server.items = ['a', 'b', 'c', 'd', 'e'].map((n) => configMap(n, '90'));
    informer.start();
    await informer.waitForSync(AbortSignal.timeout(2_000));

    assert.equal(informer.size, 5);
    assert.equal(informer.get('apps', 'c')?.kind, 'ConfigMap', 'the kind comes from the list kind');
    assert.deepEqual(
      server.lists().map((q) => [q.get('limit'), q.get('continue'), q.get('labelSelector')]),
      [
        ['2', null, 'app=x'],
        ['2', '2', 'app=x'],
        ['2', '4', 'app=x'],
      ],
    );
    assert.equal(seen.length, 5, 'one added per object');
    await until('the watch', () => server.watchRequests().length === 1);
    const watch = server.watchRequests()[0];
    assert.equal(watch?.get('resourceVersion'), '100');
    assert.equal(watch?.get('allowWatchBookmarks'), 'true');
    assert.ok(informer.isHealthy(), 'healthy once listed and watching');
  });

  void test('an index finds cached objects by a value of each, following adds, updates and deletes', async () => {
    const { informer, seen } = await start();
    server.items = [configMap('a', '90', { team: 'red' }), configMap('b', '91', { team: 'blue' })];
    server.watches = [
      (res) => {
        event(res, 'ADDED', configMap('c', '101', { team: 'red' }));
        event(res, 'MODIFIED', configMap('a', '102', { team: 'blue' }));
        event(res, 'DELETED', configMap('b', '103', { team: 'blue' }));
        event(res, 'ADDED', configMap('d', '104', { team: 'unreadable' }));
      },
    ];
    informer.addIndex('team', (cm) => {
      const team = (cm as { data?: Record<string, string> }).data?.team;
      if (team === 'unreadable') throw new Error('an index function that cannot read an object');
      return team ? [team, team] : [];
    });
    const names = (team: string) =>
      informer
        .byIndex('team', team)
        .map((cm) => cm.metadata.name)
        .sort();
    informer.start();
    await informer.waitForSync(AbortSignal.timeout(2_000));
    await until('the events', () => seen.length === 6);
    assert.deepEqual(names('red'), ['c']);
    assert.deepEqual(names('blue'), ['a'], 'a moved from red to blue; b was deleted');
    assert.deepEqual(names('unreadable'), [], 'an object the index cannot read is cached but not indexed');
    assert.equal(informer.get('apps', 'd')?.metadata.name, 'd');
    assert.throws(() => informer.byIndex('owner', 'x'), /no index owner/);
    informer.addIndex('name', (cm) => [cm.metadata.name ?? '']);
    assert.deepEqual(
      informer.byIndex('name', 'c').map((cm) => cm.metadata.name),
      ['c'],
      'an index added late covers what is already cached',
    );
  });

  void test('watch events change the cache and reach the handlers in order', async () => {
    const { informer, seen } = await start();
    server.items = [configMap('a', '90')];
    server.watches = [
      (res) => {
        event(res, 'ADDED', configMap('b', '101'));
        event(res, 'MODIFIED', configMap('a', '102', { k: 'v' }));
        event(res, 'DELETED', configMap('b', '103'));
      },
    ];
    informer.start();
    await until('the events', () => seen.length === 4);

    assert.deepEqual(seen, [
      ['added', 'a'],
      ['added', 'b'],
      ['updated', 'a'],
      ['deleted', 'b'],
    ]);
    assert.deepEqual((informer.get('apps', 'a') as KubeObject & { data?: unknown }).data, { k: 'v' });
    assert.equal(informer.get('apps', 'b'), undefined);
    assert.ok(!informer.isBehind('103'), 'the cache has seen the last event');
    assert.ok(informer.isBehind('104'), 'a later write is not seen yet');
  });

  void test('a stream that ends re-watches from the last bookmark without listing again', async () => {
    const { informer } = await start();
    server.items = [configMap('a', '90')];
    server.watches = [
      (res) => {
        event(res, 'BOOKMARK', { kind: 'ConfigMap', metadata: { resourceVersion: '150' } });
        res.end();
      },
    ];
    informer.start();
    await until('the second watch', () => server.watchRequests().length === 2);

    assert.equal(server.watchRequests()[1]?.get('resourceVersion'), '150');
    assert.equal(server.lists().length, 1, 'no relist after a clean end of the stream');
  });

  void test('410 Gone relists, and objects deleted meanwhile are reported deleted', async () => {
    const { informer, seen } = await start();
    server.items = [configMap('a', '90'), configMap('b', '91')];
    server.watches = [
      (res) => {
        server.items = [configMap('a', '90')];
        server.resourceVersion = 200;
        event(res, 'ERROR', {
          kind: 'Status',
          code: 410,
          reason: 'Expired',
          message: 'too old resource version',
        });
        res.end();
      },
    ];
    informer.start();
    await until('the relist', () => server.lists().length === 2 && informer.size === 1);

    assert.deepEqual(seen.slice(2), [['deleted', 'b']]);
    await until('the watch after the relist', () => server.watchRequests().length === 2);
    assert.equal(server.watchRequests()[1]?.get('resourceVersion'), '200');
  });

  void test('a collection no longer served (404) ends the informer, empty, when asked to', async () => {
    const gone: unknown[] = [];
    const { informer, seen } = await start({ endWhenNotServed: true, gone });
    server.items = [configMap('a', '90'), configMap('b', '91')];
    server.watches = [
      (res) => {
        server.served = false; // the CRD is deleted: its watches end, and it answers 404 from now on
        res.end();
      },
    ];
    informer.start();
    await until('the informer to end', () => gone.length === 1);

    assert.ok(isKubeApiError(informer.gone) && informer.gone.isNotFound, 'gone with the 404');
    assert.equal(informer.size, 0, 'the kind has no objects');
    assert.deepEqual(seen.slice(2).sort(), [
      ['deleted', 'a'],
      ['deleted', 'b'],
    ]);
    assert.ok(informer.stopped && !informer.isHealthy(), 'ended');
    const requests = server.requests.length;
    await informer.waitForHealthy(AbortSignal.timeout(2_000));
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(server.requests.length, requests, 'no request after the end');
  });

  void test('without endWhenNotServed a 404 list is retried (the control plane must see its own kinds come back)', async () => {
    const gone: unknown[] = [];
    const { informer } = await start({ gone });
    server.served = false;
    informer.start();
    await until('a few retries', () => server.lists().length >= 3);
    assert.equal(informer.gone, undefined);
    assert.deepEqual(gone, []);
    server.served = true;
    await informer.waitForHealthy(AbortSignal.timeout(2_000));
  });

  void test('a failing list is retried with backoff; the informer is unhealthy with the error until it succeeds, and says so once, then recovered', async () => {
    const health: boolean[] = [];
    const { informer } = await start({ health });
    server.items = [configMap('a', '90')];
    server.failLists = 2;
    informer.start();
    await until('the first failure', () => informer.lastSyncError !== undefined);
    assert.ok(!informer.isHealthy(), 'not healthy while the list fails');
    assert.match(String(informer.lastSyncError), /etcd down/);

    await informer.waitForHealthy(AbortSignal.timeout(2_000));
    assert.equal(server.lists().length, 3, 'two failures, then the list that worked');
    assert.equal(informer.lastSyncError, undefined, 'the error is cleared once healthy');
    assert.equal(informer.size, 1);
    assert.deepEqual(
      health,
      [false, true],
      'the first failure is a health change, and the connection after it',
    );
  });

  void test('a first connection that nothing failed before is not a health change', async () => {
    const health: boolean[] = [];
    const { informer } = await start({ health });
    server.items = [configMap('a', '90')];
    informer.start();
    await informer.waitForHealthy(AbortSignal.timeout(2_000));
    assert.deepEqual(health, []);
  });

  void test('a broken watch after sync is a health change, and a recovered one another', async () => {
    const health: boolean[] = [];
    const { informer } = await start({ health });
    server.items = [configMap('a', '90')];
    server.watches = [(res) => res.destroy()];
    informer.start();
    await informer.waitForSync(AbortSignal.timeout(2_000));
    await until('the recovery', () => health.length === 2);

    assert.deepEqual(health, [false, true]);
    assert.ok(informer.isHealthy(), 'healthy again');
  });

  /** budgetError asserts the informer's last error is a ListBudgetExceeded naming the setting. */
  const budgetError = (informer: Informer, message: RegExp) => {
    const err = informer.lastSyncError;
    assert.ok(
      isKubeApiError(err) && err.reason === LimitReasons.listBudgetExceeded,
      `ListBudgetExceeded: ${String(err)}`,
    );
    assert.match(err.message, message);
    assert.ok(!informer.hasSynced() && !informer.isHealthy(), 'neither synced nor healthy');
  };
  const budget: ListBudget = {
    maxPages: 1_000_000,
    maxBytes: 1024 * 1024 * 1024,
    timeoutMs: 60_000,
    settings: { maxPages: '--max-pages', maxBytes: '--max-bytes', timeoutMs: '--list-timeout' },
  };

  void test('a list that answers continue forever ends at its page budget and keeps nothing', async () => {
    const { informer, seen } = await start({ listBudget: { ...budget, maxPages: 20 } });
    server.endless = true;
    informer.start();
    await until('the budget error', () => informer.lastSyncError !== undefined);
    budgetError(
      informer,
      /GET \/api\/v1\/configmaps on test: the list did not end within 20 pages \(--max-pages raises it\)/,
    );
    assert.equal(informer.size, 0, 'nothing of the endless list is cached');
    assert.deepEqual(seen, []);
    assert.equal(server.lists()[19]?.get('continue'), '9500', 'the twentieth page was the last asked for');
    assert.equal(server.lists()[20]?.get('continue') ?? null, null, 'the next attempt lists from the start');
  });

  void test('a list that answers continue forever ends at its byte budget', async () => {
    const { informer } = await start({ listBudget: { ...budget, maxBytes: 50_000 } });
    server.endless = true;
    informer.start();
    await until('the budget error', () => informer.lastSyncError !== undefined);
    budgetError(informer, /the list is larger than 48.8 KiB \(--max-bytes raises it\)/);
    assert.ok(server.lists().length < 100, `stopped after ${server.lists().length} pages of about 1 KiB`);
  });

  void test('a list that answers slowly and forever ends at its time budget', async () => {
    const { informer } = await start({ listBudget: { ...budget, timeoutMs: 300 } });
    server.endless = true;
    server.pageDelayMs = 40;
    informer.start();
    await until('the budget error', () => informer.lastSyncError !== undefined);
    budgetError(informer, /the list did not end within 0.3 s \(--list-timeout raises it\)/);
  });

  void test('a page over the body cap is asked for again with half the limit, until every page fits', async () => {
    const small = new KubeClient({
      name: 'test',
      server: server.base,
      maxRetries: 0,
      limits: { maxResponseBytes: 1024 * 1024 },
    });
    try {
      const { informer } = await start({ client: small });
      // 40 objects of 100 KB: 4 MB in one page of 500, as hundreds of 1.5 MiB Releases are
      // more than V8 can hold in one string.
      server.items = Array.from({ length: 40 }, (_, i) =>
        configMap(`big-${i}`, '90', { fill: 'x'.repeat(100_000) }),
      );
      informer.start();
      await informer.waitForSync(AbortSignal.timeout(5_000));
      assert.equal(informer.size, 40, 'every object listed');
      // A list that failed for another reason (a loaded machine) is asked again at the same size.
      const limits = server
        .lists()
        .map((q) => Number(q.get('limit')))
        .filter((l, i, all) => i === 0 || l !== all[i - 1] || l === 7);
      assert.deepEqual(limits.slice(0, 7), [500, 250, 125, 62, 31, 15, 7], 'halved until a page fits');
      assert.ok(
        limits.slice(7).every((l) => l === 7),
        `the rest of the list keeps the smaller pages: ${limits.join(',')}`,
      );
      assert.equal(server.lists().at(-1)?.get('continue'), '35', 'the continue token resumed the list');
    } finally {
      await Promise.all(informers.splice(0).map((i) => i.stop()));
      await small.close();
    }
  });

  void test('a watch that goes silent is re-watched from its resourceVersion; one that gets no answer is unhealthy', async () => {
    const quick = new KubeClient({
      name: 'test',
      server: server.base,
      timeoutMs: 300,
      maxRetries: 0,
      limits: { watchIdleTimeoutMs: 200 },
    });
    try {
      const health: boolean[] = [];
      const { informer } = await start({ client: quick, health });
      server.items = [configMap('a', '90')];
      server.watches = [
        (res) => event(res, 'BOOKMARK', { kind: 'ConfigMap', metadata: { resourceVersion: '120' } }),
      ];
      informer.start();
      await informer.waitForSync(AbortSignal.timeout(2_000));
      await until('the re-watch after the silence', () => server.watchRequests().length >= 2);
      assert.equal(server.watchRequests()[1]?.get('resourceVersion'), '120', 'from the last bookmark');
      assert.equal(server.lists().length, 1, 'no relist');
      assert.deepEqual(health, [], 'a quiet watch that the server answers again is no health change');

      server.answerWatches = false;
      await until('unhealthy', () => !informer.isHealthy());
      assert.deepEqual(health, [false]);
      assert.match(
        String(informer.lastSyncError),
        /cannot reach the API server, or it did not answer in time/,
      );
      server.answerWatches = true;
      await until('healthy again', () => informer.isHealthy());
      assert.deepEqual(health, [false, true]);
    } finally {
      await Promise.all(informers.splice(0).map((i) => i.stop()));
      await quick.close();
    }
  });

  void test('a polling informer never watches: it lists at its period and reports what changed between lists', async () => {
    const health: boolean[] = [];
    const { informer, seen } = await start({ pollIntervalMs: 20, health });
    server.items = [configMap('a', '90'), configMap('b', '91')];
    informer.start();
    await informer.waitForSync(AbortSignal.timeout(2_000));
    const a = informer.get('apps', 'a');

    server.items = [configMap('a', '90'), configMap('b', '95', { k: 'v' }), configMap('c', '96')];
    await until('the update and the addition', () => seen.length === 4);
    server.items = [configMap('b', '95', { k: 'v' }), configMap('c', '96')];
    await until('the deletion', () => seen.length === 5);

    assert.deepEqual(seen, [
      ['added', 'a'],
      ['added', 'b'],
      ['updated', 'b'],
      ['added', 'c'],
      ['deleted', 'a'],
    ]);
    assert.equal(a?.metadata.resourceVersion, '90');
    assert.equal(server.watchRequests().length, 0, 'no watch request, ever');
    assert.ok(server.lists().length >= 3, 'listed at least once per change');
    assert.ok(!informer.isBehind('100'), 'the list resourceVersion is what the cache has seen');

    server.failLists = 1_000;
    await until('unhealthy after a failed poll', () => !informer.isHealthy());
    server.failLists = 0;
    await until('healthy again', () => informer.isHealthy());
    assert.deepEqual(health, [false, true]);
  });

  void test('a polling informer keeps the cached copy of an object whose resourceVersion did not change', async () => {
    const { informer } = await start({ pollIntervalMs: 10 });
    server.items = [configMap('a', '90')];
    informer.start();
    await informer.waitForSync(AbortSignal.timeout(2_000));
    const first = informer.get('apps', 'a');
    const lists = server.lists().length;
    await until('two more polls', () => server.lists().length >= lists + 2);
    assert.equal(informer.get('apps', 'a'), first, 'the same object, not a new copy per poll');
  });

  void test('retryNow makes a polling informer list at once', async () => {
    const { informer } = await start({ pollIntervalMs: 60_000 });
    informer.start();
    await informer.waitForSync(AbortSignal.timeout(2_000));
    assert.equal(server.lists().length, 1);
    informer.retryNow();
    await until('a second list', () => server.lists().length === 2);
  });

  void test('stop ends the watch and releases those waiting for health', async () => {
    const { informer } = await start();
    server.failLists = 1_000;
    informer.start();
    const waiting = informer.waitForHealthy();
    await until('a failure', () => informer.lastSyncError !== undefined);
    await informer.stop();
    await waiting;
    assert.ok(informer.stopped, 'stopped');
    assert.ok(!informer.isHealthy(), 'a stopped informer that never listed is not healthy');
  });
  void test('objects outside the selector are dropped, from the list and from the watch', async () => {
    const { informer, seen } = await start();
    const stranger = (name: string): KubeObject => ({
      ...configMap(name, '95'),
      metadata: { name, namespace: 'apps', resourceVersion: '95', labels: { app: 'y' } },
    });
    server.items = [configMap('a', '90'), stranger('listed-stranger')];
    server.watches.push((res) => {
      event(res, 'ADDED', stranger('watched-stranger'));
      event(res, 'ADDED', configMap('b', '101'));
      // An object we hold that leaves the selection leaves the cache too.
      event(res, 'MODIFIED', stranger('a'));
    });
    informer.start();
    await until(
      'b seen and a gone',
      () => informer.get('apps', 'b') !== undefined && !informer.get('apps', 'a'),
    );
    assert.deepEqual(
      informer.list().map((o) => o.metadata.name),
      ['b'],
    );
    assert.equal(informer.dropped, 3);
    assert.deepEqual(seen, [
      ['added', 'a'],
      ['added', 'b'],
      ['deleted', 'a'],
    ]);
  });

  void test('a watch that floods the cache past its budget ends the informer, frees the cache and gives the budget back', async () => {
    const organization = new CacheBudget('organization acme', { maxObjects: 0, maxBytes: 0 });
    const budget = new CacheBudget(
      'data plane acme/dp',
      { maxObjects: 0, maxBytes: 20_000, settings: { maxBytes: '--dataplane-max-cache-size' } },
      organization,
    );
    const overflow: unknown[] = [];
    const { informer, seen } = await start({ budget, overflow });
    server.items = [configMap('a', '90')];
    server.watches.push((res) => {
      for (let i = 0; i < 100; i++)
        event(res, 'ADDED', configMap(`flood-${i}`, String(101 + i), { fill: 'x'.repeat(1_000) }));
    });
    informer.start();
    await until('the informer ended', () => overflow.length === 1);
    const err = overflow[0];
    assert.ok(isKubeApiError(err) && err.reason === LimitReasons.cacheBudgetExceeded, String(err));
    assert.match(
      String((err as Error).message),
      /the watch caches of data plane acme\/dp hold more than 19\.5 KiB \(--dataplane-max-cache-size raises it\)/,
    );
    assert.equal(informer.overflow, err);
    assert.ok(informer.stopped, 'it never lists again');
    assert.equal(informer.size, 0, 'the cache is freed');
    assert.equal(budget.objects, 0);
    assert.equal(budget.bytes, 0);
    assert.equal(organization.bytes, 0, 'the organization got its share back too');
    assert.ok(
      seen.some(([type]) => type === 'deleted'),
      'handlers were told the objects left',
    );
    assert.ok(server.watchRequests().length === 1, 'no watch again');
  });

  void test('an object count budget of the organization ends the informer that crossed it', async () => {
    const organization = new CacheBudget('organization acme', {
      maxObjects: 3,
      maxBytes: 0,
      settings: { maxObjects: '--organization-max-cached-objects' },
    });
    const budget = new CacheBudget('data plane acme/dp', { maxObjects: 0, maxBytes: 0 }, organization);
    const overflow: unknown[] = [];
    const { informer } = await start({ budget, overflow });
    server.items = ['a', 'b', 'c', 'd'].map((n) => configMap(n, '90'));
    informer.start();
    await until('the informer ended', () => overflow.length === 1);
    assert.match(
      String((overflow[0] as Error).message),
      /organization acme hold more than 3 objects \(--organization-max-cached-objects raises it\)/,
    );
    assert.equal(organization.objects, 0);
  });

  void test('stop gives the budget back', async () => {
    const budget = new CacheBudget('data plane acme/dp', { maxObjects: 10, maxBytes: 0 });
    const { informer } = await start({ budget });
    server.items = ['a', 'b'].map((n) => configMap(n, '90'));
    informer.start();
    await informer.waitForSync(AbortSignal.timeout(2_000));
    assert.equal(budget.objects, 2);
    assert.ok(budget.bytes > 0, 'list items are counted by their share of the page');
    await informer.stop();
    assert.equal(budget.objects, 0);
    assert.equal(budget.bytes, 0);
  });

  void test('relist caches what accept admits now, callers asking at once sharing one list', async () => {
    const names = new Set(['a']);
    const { informer } = await start({ accept: (o) => names.has(o.metadata.name ?? '') });
    server.items = ['a', 'b', 'c'].map((n) => configMap(n, '90'));
    informer.start();
    await informer.waitForSync(AbortSignal.timeout(2_000));
    assert.deepEqual(
      informer.list().map((o) => o.metadata.name),
      ['a'],
    );
    names.add('b');
    names.add('c');
    const lists = server.lists().length;
    await Promise.all([informer.relist(), informer.relist()]);
    assert.deepEqual(
      informer
        .list()
        .map((o) => o.metadata.name)
        .sort(),
      ['a', 'b', 'c'],
    );
    assert.equal(server.lists().length, lists + 1, 'one list for both');
  });
});
