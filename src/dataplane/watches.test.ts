import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import type { KubeObject } from '../api/object.ts';
import { CONTROLLER_NAME, Labels } from '../api/v1alpha1/constants.ts';
import { KubeClient, LimitReasons, isKubeApiError } from '../kube/client.ts';
import { CacheBudget } from '../kube/cachebudget.ts';
import { KindNotServedError } from '../kube/discovery.ts';
import { servedKind } from '../../test/support/fakedataplane.ts';
import { selectorMatcher } from '../kube/selector.ts';
import { MANAGED_SELECTOR, managedSelector, OVERFLOW_HOLD_MS, WatchSet } from './watches.ts';
import { identityOf } from './port.ts';

describe('identityOf', () => {
  test('names an object by group, kind, namespace and name', () => {
    assert.equal(identityOf('apps', 'Deployment', 'prod', 'web'), 'apps/Deployment/prod/web');
    assert.equal(identityOf('', 'ConfigMap', 'prod', 'settings'), '/ConfigMap/prod/settings');
  });

  test('a missing namespace is the empty namespace', () => {
    assert.equal(identityOf('', 'Namespace', undefined, 'prod'), identityOf('', 'Namespace', '', 'prod'));
    assert.equal(identityOf('', 'Namespace', undefined, 'prod'), '/Namespace//prod');
  });

  test('distinct objects have distinct identities', () => {
    const ids = new Set([
      identityOf('apps', 'Deployment', 'prod', 'web'),
      identityOf('apps', 'Deployment', 'staging', 'web'),
      identityOf('apps', 'Deployment', 'prod', 'api'),
      identityOf('apps', 'StatefulSet', 'prod', 'web'),
      identityOf('example.com', 'Deployment', 'prod', 'web'),
      identityOf('', 'Deployment', 'prod', 'web'),
    ]);
    assert.equal(ids.size, 6);
  });
});

/** plainWatchSet listens with `server` on a free local port and returns a WatchSet on it, and how to stop both. */
async function plainWatchSet(server: Server): Promise<{ set: WatchSet; stop: () => Promise<void> }> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const client = new KubeClient({
    name: 'dp',
    server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    maxRetries: 0,
  });
  const set = new WatchSet({
    client,
    logger: pino({ level: 'silent' }),
    syncTimeoutMs: 5000,
    onEvent: () => undefined,
  });
  const stop = async () => {
    await set.stop();
    await client.close();
    server.closeAllConnections();
    server.close();
  };
  return { set, stop };
}

void describe('WatchSet', () => {
  void test('the first list of a kind wakes no one; what the watch delivers after it does', async () => {
    const labels = { [Labels.managedBy]: CONTROLLER_NAME };
    const cm = (name: string, resourceVersion: string): KubeObject => ({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name, namespace: 'apps', resourceVersion, labels },
    });
    let watch: ServerResponse | undefined;
    const server = createServer((req, res) => {
      if (new URL(req.url ?? '/', 'http://x').searchParams.get('watch') === 'true') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.flushHeaders();
        watch = res;
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ metadata: { resourceVersion: '10' }, items: [cm('a', '5'), cm('b', '6')] }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const client = new KubeClient({
      name: 'dp',
      server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      maxRetries: 0,
    });
    const events: string[] = [];
    const set = new WatchSet({
      client,
      logger: pino({ level: 'silent' }),
      syncTimeoutMs: 5000,
      onEvent: (type, obj) => events.push(`${type} ${obj.metadata.name}`),
    });
    try {
      const info = servedKind({ group: '', version: 'v1', kind: 'ConfigMap' }, 'configmaps');
      const informer = await set.informerFor(info);
      assert.equal(informer.list().length, 2, 'the cache holds what was listed');
      assert.deepEqual(events, [], 'nobody woken by the first list');

      while (!watch) await new Promise((r) => setTimeout(r, 10));
      watch.write(`${JSON.stringify({ type: 'MODIFIED', object: cm('a', '11') })}\n`);
      while (events.length === 0) await new Promise((r) => setTimeout(r, 10));
      assert.deepEqual(events, ['updated a']);
    } finally {
      await set.stop();
      watch?.end();
      await client.close();
      server.closeAllConnections();
      server.close();
    }
  });

  void test("a Release's objects are found once across API versions, and follow updates and deletes", async () => {
    const widget = (version: string, name: string, uid: string, resourceVersion: string): KubeObject => ({
      apiVersion: `example.com/${version}`,
      kind: 'Widget',
      metadata: {
        name,
        namespace: 'apps',
        resourceVersion,
        labels: { [Labels.managedBy]: CONTROLLER_NAME, [Labels.releaseUid]: uid },
      },
    });
    const watches = new Map<string, ServerResponse>();
    const server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      const version = url.pathname.split('/')[3] ?? '';
      res.writeHead(200, { 'content-type': 'application/json' });
      if (url.searchParams.get('watch') === 'true') {
        res.flushHeaders();
        watches.set(version, res);
        return;
      }
      const items = [widget(version, 'w1', 'uid-1', '5'), widget(version, 'w2', 'uid-2', '6')];
      res.end(JSON.stringify({ metadata: { resourceVersion: '10' }, items }));
    });
    const { set, stop } = await plainWatchSet(server);
    const v1 = servedKind({ group: 'example.com', version: 'v1', kind: 'Widget' }, 'widgets');
    const v2 = servedKind({ group: 'example.com', version: 'v2', kind: 'Widget' }, 'widgets');
    const names = (uid: string) =>
      set
        .objectsOf(uid)
        .map((m) => `${m.object.metadata.name}@${m.info.version}`)
        .sort();
    const send = async (version: string, type: string, object: KubeObject, expect: () => boolean) => {
      while (!watches.has(version)) await new Promise((r) => setTimeout(r, 10));
      watches.get(version)?.write(`${JSON.stringify({ type, object })}\n`);
      const deadline = Date.now() + 5000;
      while (!expect() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    };
    try {
      const v1Cache = await set.informerFor(v1);
      await set.informerFor(v2);
      assert.deepEqual(names('uid-1'), ['w1@v2'], 'w1 once, though both versions list it');
      assert.deepEqual(names('uid-2'), ['w2@v2']);

      // The v1 watch says w1 is gone; the entry is v2's, which still has it.
      await send('v1', 'DELETED', widget('v1', 'w1', 'uid-1', '11'), () => v1Cache.list().length === 1);
      assert.deepEqual(names('uid-1'), ['w1@v2'], 'another version still holds w1');

      // w2 is relabelled to the first Release: it moves between the two.
      await send('v2', 'MODIFIED', widget('v2', 'w2', 'uid-1', '12'), () => names('uid-2').length === 0);
      assert.deepEqual(names('uid-1'), ['w1@v2', 'w2@v2']);
      assert.deepEqual(names('uid-2'), []);

      await send('v2', 'DELETED', widget('v2', 'w1', 'uid-1', '13'), () => names('uid-1').length === 1);
      assert.deepEqual(names('uid-1'), ['w2@v2'], 'deleted through the version that held it');
    } finally {
      for (const w of watches.values()) w.end();
      await stop();
    }
  });

  void test('a kind whose CRD is deleted ends its watch, counts as having no objects, and is watched again when it returns', async () => {
    const labels = { [Labels.managedBy]: CONTROLLER_NAME, [Labels.releaseUid]: 'uid-1' };
    const widget = (name: string): KubeObject => ({
      apiVersion: 'example.com/v1',
      kind: 'Widget',
      metadata: { name, namespace: 'apps', resourceVersion: '5', labels },
    });
    let served = true;
    let watch: ServerResponse | undefined;
    const server = createServer((req, res) => {
      if (!served) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('404 page not found\n');
        return;
      }
      if (new URL(req.url ?? '/', 'http://x').searchParams.get('watch') === 'true') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.flushHeaders();
        watch = res;
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ metadata: { resourceVersion: '10' }, items: [widget('w1'), widget('w2')] }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const client = new KubeClient({
      name: 'dp',
      server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      maxRetries: 0,
    });
    const goneKinds: string[] = [];
    const health: boolean[] = [];
    const set = new WatchSet({
      client,
      logger: pino({ level: 'silent' }),
      syncTimeoutMs: 5000,
      onEvent: () => undefined,
      onKindGone: (info) => goneKinds.push(info.kind),
      onHealthChange: (healthy) => health.push(healthy),
    });
    const info = servedKind({ group: 'example.com', version: 'v1', kind: 'Widget' }, 'widgets');
    try {
      await set.informerFor(info);
      assert.equal(set.objectsOf('uid-1').length, 2);
      while (!watch) await new Promise((r) => setTimeout(r, 10));

      served = false; // the CRD is deleted: the API server ends its watches and answers 404
      watch.end();
      while (goneKinds.length === 0) await new Promise((r) => setTimeout(r, 10));
      assert.deepEqual(goneKinds, ['Widget']);
      assert.deepEqual(set.watched(), [], 'its watch ended');
      assert.ok(set.allHealthy(), 'the picture is complete: the kind has no objects');
      assert.deepEqual(set.objectsOf('uid-1'), []);
      assert.equal(health.at(-1), true, 'the Releases of the data plane are woken with a complete picture');
      await assert.rejects(set.informerFor(info), KindNotServedError, 'asked for again while it is gone');
      assert.deepEqual(set.watched(), []);

      served = true; // the CRD is back
      watch = undefined;
      await set.informerFor(info);
      assert.equal(set.watched().length, 1, 'watched again');
      assert.equal(set.objectsOf('uid-1').length, 2);
    } finally {
      await set.stop();
      watch?.end();
      await client.close();
      server.closeAllConnections();
      server.close();
    }
  });
  /**
   * namespaceServer serves ConfigMaps of every namespace (lists and watches), counting the watch
   * requests; `flood` makes each managed watch send that many distinct 2 KB objects.
   */
  const namespaceServer = async (flood = 0) => {
    const managed = { [Labels.managedBy]: CONTROLLER_NAME, [Labels.releaseUid]: 'uid-1' };
    const cm = (name: string, namespace: string, labels?: Record<string, string>) => ({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name, namespace, resourceVersion: '5', ...(labels && { labels }) },
      data: { fill: 'x'.repeat(2_000) },
    });
    const watches: string[] = [];
    const open = new Set<ServerResponse>();
    const server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      res.writeHead(200, { 'content-type': 'application/json' });
      if (url.searchParams.get('watch') === 'true') {
        watches.push(url.pathname);
        res.flushHeaders();
        open.add(res);
        if (url.searchParams.has('labelSelector'))
          for (let i = 0; i < flood; i++)
            res.write(`${JSON.stringify({ type: 'ADDED', object: cm(`flood-${i}`, 'apps', managed) })}\n`);
        return;
      }
      const items = url.searchParams.has('labelSelector')
        ? [cm('ours', 'apps', managed)]
        : ['a', 'b', 'c', 'd'].map((n) => cm(n, 'apps'));
      res.end(JSON.stringify({ metadata: { resourceVersion: '10' }, items }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const client = new KubeClient({
      name: 'data plane acme/dp',
      server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      maxRetries: 0,
    });
    const close = async () => {
      for (const res of open) res.end();
      await client.close();
      server.closeAllConnections();
      server.close();
    };
    return { client, watches, close };
  };
  const configMaps = servedKind({ group: '', version: 'v1', kind: 'ConfigMap' }, 'configmaps');

  void test('observed objects of one kind and namespace share one watch that caches only them', async () => {
    const { client, watches, close } = await namespaceServer();
    const observed: string[][] = [];
    const set = new WatchSet({
      client,
      logger: pino({ level: 'silent' }),
      syncTimeoutMs: 5000,
      onEvent: () => undefined,
      onObserved: (users) => observed.push(users),
    });
    try {
      const [a, b] = await Promise.all([
        set.observe('org/r1', configMaps, 'apps', 'a'),
        set.observe('org/r2', configMaps, 'apps', 'b'),
      ]);
      assert.equal(a?.metadata.name, 'a');
      assert.equal(b?.metadata.name, 'b');
      assert.equal(await set.observe('org/r1', configMaps, 'apps', 'c').then((o) => o?.metadata.name), 'c');
      assert.equal(await set.observe('org/r1', configMaps, 'apps', 'missing'), undefined);
      assert.equal(set.observedWatches(), 1, 'one watch for the namespace and kind');
      while (watches.length === 0) await new Promise((r) => setTimeout(r, 10));
      assert.ok(
        watches.every((p) => p === '/api/v1/namespaces/apps/configmaps'),
        `every watch is of the namespace: ${watches.join(', ')}`,
      );
      await set.useObserved('org/r1', []);
      assert.equal(set.observedWatches(), 1, 'r2 still observes b');
      await set.useObserved('org/r2', []);
      assert.equal(set.observedWatches(), 0, 'nobody observes anything there: the watch is stopped');
    } finally {
      await set.stop();
      await close();
    }
  });

  void test('caches over the budget close every watch of the data plane, free them, and fail with the limit until the hold ends', async () => {
    const { client, close } = await namespaceServer(200);
    const organization = new CacheBudget('organization acme', { maxObjects: 0, maxBytes: 0 });
    const budget = new CacheBudget(
      'data plane acme/dp',
      { maxObjects: 100, maxBytes: 0, settings: { maxObjects: '--dataplane-max-cached-objects' } },
      organization,
    );
    let now = 1_000;
    const health: boolean[] = [];
    const set = new WatchSet({
      client,
      logger: pino({ level: 'silent' }),
      syncTimeoutMs: 5000,
      onEvent: () => undefined,
      onHealthChange: (healthy) => health.push(healthy),
      budget,
      now: () => now,
    });
    try {
      await set.observe('org/r1', configMaps, 'apps', 'a');
      await set.informerFor(configMaps).catch(() => undefined);
      while (set.broken().length === 0) await new Promise((r) => setTimeout(r, 10));
      const failure = await set.informerFor(configMaps).then(
        () => assert.fail('the cache must not be served'),
        (err: unknown) => err,
      );
      assert.ok(
        isKubeApiError(failure) && failure.reason === LimitReasons.cacheBudgetExceeded,
        String(failure),
      );
      assert.match(
        failure.message,
        /data plane acme\/dp: the watch caches of data plane acme\/dp hold more than 100 objects \(--dataplane-max-cached-objects raises it\)/,
      );
      await assert.rejects(set.observe('org/r1', configMaps, 'apps', 'a'), /hold more than 100 objects/);
      assert.equal(set.allHealthy(), false, 'no picture: nothing may be pruned or cleaned up');
      assert.equal(set.broken()[0]?.info.kind, 'ConfigMap');
      assert.deepEqual(set.watched(), []);
      assert.equal(set.observedWatches(), 0, 'observed watches closed too');
      assert.equal(set.objectsOf('uid-1').length, 0);
      assert.equal(budget.objects, 0, 'every cache freed');
      assert.equal(organization.objects, 0);
      assert.equal(health.at(-1), false);

      now += OVERFLOW_HOLD_MS;
      await set.observe('org/r1', configMaps, 'apps', 'a');
      assert.equal(set.observedWatches(), 1, 'watched again after the hold');
    } finally {
      await set.stop();
      await close();
    }
  });
  void test("a Release's picture is the watches of its own kinds: another kind still being listed does not make it incomplete", async () => {
    let releaseList: (() => void) | undefined;
    const listHeld = new Promise<void>((resolve) => (releaseList = resolve));
    const server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.searchParams.get('watch') === 'true') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.flushHeaders();
        return;
      }
      const answer = () => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ metadata: { resourceVersion: '10' }, items: [] }));
      };
      // Another Release's kind is slow to list (or broken): this one's pruning must not wait for it.
      if (url.pathname.includes('deployments')) void listHeld.then(answer);
      else answer();
    });
    const { set, stop } = await plainWatchSet(server);
    const configMaps = servedKind({ group: '', version: 'v1', kind: 'ConfigMap' }, 'configmaps');
    const deployments = servedKind({ group: 'apps', version: 'v1', kind: 'Deployment' }, 'deployments');
    try {
      set.add('org/plain', [configMaps]);
      set.add('org/rendered', [configMaps, deployments]);
      await set.informerFor(configMaps);
      const listing = set.informerFor(deployments);
      assert.equal(set.allHealthy('org/plain'), true, 'the plain Release sees all of its own kinds');
      assert.deepEqual(set.broken('org/plain'), [], 'and names no broken watch');
      assert.equal(set.allHealthy('org/rendered'), false, 'the Deployment list is not in yet');
      assert.deepEqual(
        set.broken('org/rendered').map((b) => b.info.kind),
        ['Deployment'],
      );
      assert.equal(set.allHealthy(), false, 'the data plane as a whole is not complete either');
      releaseList?.();
      await listing;
      assert.equal(set.allHealthy('org/rendered'), true);
      assert.equal(set.allHealthy(), true);
    } finally {
      releaseList?.();
      await stop();
    }
  });
});

test('managedSelector adds the shard selector to the organization scope, and alone for a cluster-scoped plane', () => {
  assert.equal(
    managedSelector('acme', 'sharding.example/key in (a,b)'),
    `${MANAGED_SELECTOR},openchoreo.dev/release-namespace=acme,sharding.example/key in (a,b)`,
  );
  assert.equal(
    managedSelector(undefined, '!sharding.example/key'),
    `${MANAGED_SELECTOR},!sharding.example/key`,
  );
  assert.equal(managedSelector('acme'), `${MANAGED_SELECTOR},openchoreo.dev/release-namespace=acme`);
  // The informer checks what it is sent with the same selector: only the shard's objects pass.
  const matches = selectorMatcher(managedSelector('acme', 'sharding.example/key in (a,b)'));
  const object = (labels: Record<string, string>): KubeObject => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: 'x',
      labels: { [Labels.managedBy]: CONTROLLER_NAME, [Labels.releaseNamespace]: 'acme', ...labels },
    },
  });
  assert.ok(matches(object({ 'sharding.example/key': 'b' })), 'a value the shard names');
  assert.ok(!matches(object({ 'sharding.example/key': 'c' })), "another shard's value");
  assert.ok(!matches(object({})), 'an object without the key is outside a shard that names values');
  assert.ok(
    selectorMatcher(managedSelector('acme', '!sharding.example/key'))(object({})),
    'the default shard',
  );
});
