import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { RuntimeMetrics, newRegistry } from './metrics.ts';
import { EndpointServer, parseBindAddress } from './server.ts';

const logger = pino({ level: 'silent' });

/** get sends one request on a fresh connection (no pooled socket can outlive a closed server). */
function get(
  url: string,
  method = 'GET',
): Promise<{ status: number; body: string; type: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, type: res.headers['content-type'] }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

void describe('parseBindAddress', () => {
  void it('parses the kubebuilder forms', () => {
    assert.deepEqual(parseBindAddress(':8080'), { host: undefined, port: 8080 });
    assert.deepEqual(parseBindAddress('127.0.0.1:0'), { host: '127.0.0.1', port: 0 });
    assert.deepEqual(parseBindAddress('[::1]:8081'), { host: '::1', port: 8081 });
    assert.equal(parseBindAddress('0'), undefined);
  });
  void it('rejects anything else', () => {
    for (const bad of ['', '8080', 'localhost', ':99999', 'host:port']) {
      assert.throws(() => parseBindAddress(bad), /invalid bind address/, bad);
    }
  });
});

void describe('EndpointServer', () => {
  const metrics = new RuntimeMetrics(newRegistry());
  const server = new EndpointServer({
    registry: metrics.registry,
    logger,
    metricsBindAddress: '127.0.0.1:0',
    healthProbeBindAddress: '127.0.0.1:0',
    checkTimeoutMs: 200,
  });
  let informersSynced = false;
  server.addHealthCheck('ping', () => undefined);
  server.addReadyCheck('ping', () => undefined);
  server.addReadyCheck('informers', async () => {
    await Promise.resolve();
    if (!informersSynced) throw new Error('Release informer not synced');
  });
  let metricsUrl = '';
  let probeUrl = '';

  before(async () => {
    await server.start();
    metricsUrl = `http://127.0.0.1:${server.metricsAddress()?.port}`;
    probeUrl = `http://127.0.0.1:${server.probeAddress()?.port}`;
  });
  after(() => server.close());

  void it('serves two listeners on the two addresses', () => {
    assert.notEqual(server.metricsAddress()?.port, server.probeAddress()?.port);
  });

  void it('/healthz answers ok', async () => {
    assert.deepEqual(await get(`${probeUrl}/healthz`), {
      status: 200,
      body: 'ok',
      type: 'text/plain; charset=utf-8',
    });
    assert.equal((await get(`${probeUrl}/healthz?verbose`)).body, '[+]ping ok\nhealthz check passed\n');
  });

  void it('/readyz fails with 500 listing the failing check, without its reason', async () => {
    const res = await get(`${probeUrl}/readyz`);
    assert.equal(res.status, 500);
    assert.equal(res.body, '[+]ping ok\n[-]informers failed: reason withheld\nreadyz check failed\n');
    assert.equal((await get(`${probeUrl}/readyz/informers`)).status, 500);
    assert.equal((await get(`${probeUrl}/readyz/ping`)).status, 200);
    assert.equal((await get(`${probeUrl}/readyz/nope`)).status, 404);
    const excluded = await get(`${probeUrl}/readyz?exclude=informers`);
    assert.equal(excluded.status, 200);
    informersSynced = true;
    assert.deepEqual(await get(`${probeUrl}/readyz`), {
      status: 200,
      body: 'ok',
      type: 'text/plain; charset=utf-8',
    });
  });

  void it('a check that does not answer in time fails', async () => {
    const slow = new EndpointServer({
      registry: metrics.registry,
      logger,
      metricsBindAddress: '0',
      healthProbeBindAddress: '127.0.0.1:0',
      checkTimeoutMs: 20,
    });
    slow.addHealthCheck('stuck', () => new Promise(() => undefined));
    await slow.start();
    assert.equal(slow.metricsAddress(), undefined, '"0" disables metrics');
    try {
      assert.equal((await get(`http://127.0.0.1:${slow.probeAddress()?.port}/healthz`)).status, 500);
    } finally {
      await slow.close();
    }
  });

  void it('/metrics serves Prometheus text with process, workqueue and controller metrics', async () => {
    const queue = metrics.workQueue('release');
    queue.added();
    queue.queueDuration(0.5);
    queue.inFlightSource(() => ({ unfinishedWorkSeconds: 3, longestRunningProcessorSeconds: 2 }));
    const controller = metrics.controller('release');
    controller.reconciled('error', 0.2);
    controller.errored();
    metrics.leaderElection('release-controller').leading(true);
    const res = await get(`${metricsUrl}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.type ?? '', /^text\/plain; version=0\.0\.4/);
    for (const line of [
      'workqueue_adds_total{name="release",controller="release"} 1',
      'workqueue_depth{name="release",controller="release"} 0',
      'workqueue_unfinished_work_seconds{name="release",controller="release"} 3',
      'workqueue_longest_running_processor_seconds{name="release",controller="release"} 2',
      'workqueue_retries_total{name="release",controller="release"} 0',
      'controller_runtime_reconcile_total{controller="release",result="error"} 1',
      'controller_runtime_reconcile_total{controller="release",result="success"} 0',
      'controller_runtime_reconcile_errors_total{controller="release"} 1',
      'controller_runtime_terminal_reconcile_errors_total{controller="release"} 0',
      'controller_runtime_reconcile_time_seconds_count{controller="release"} 1',
      'leader_election_master_status{name="release-controller"} 1',
    ]) {
      assert.ok(res.body.includes(line), `missing ${line}`);
    }
    assert.match(res.body, /^process_cpu_user_seconds_total /m);
    assert.match(res.body, /^workqueue_queue_duration_seconds_bucket\{le="1e-8",/m);
  });

  void it('probes are not served on the metrics port, nor metrics on the probe port', async () => {
    assert.equal((await get(`${metricsUrl}/healthz`)).status, 404);
    assert.equal((await get(`${probeUrl}/metrics`)).status, 404);
    assert.equal((await get(`${probeUrl}/healthz`, 'POST')).status, 405);
  });

  void it('one listener serves everything when both addresses are the same', async () => {
    const port = server.probeAddress()?.port ?? 0;
    await server.close();
    const shared = new EndpointServer({
      registry: metrics.registry,
      logger,
      metricsBindAddress: `127.0.0.1:${port}`,
      healthProbeBindAddress: `127.0.0.1:${port}`,
    });
    await shared.start();
    try {
      assert.equal((await get(`http://127.0.0.1:${port}/metrics`)).status, 200);
      assert.equal((await get(`http://127.0.0.1:${port}/healthz`)).status, 200);
      assert.equal(shared.probeAddress()?.port, port);
    } finally {
      await shared.close();
    }
  });

  void it('close resolves even with a keep-alive connection open', async () => {
    const s = new EndpointServer({
      registry: metrics.registry,
      logger,
      metricsBindAddress: '127.0.0.1:0',
      healthProbeBindAddress: '0',
    });
    await s.start();
    const port = s.metricsAddress()?.port;
    // fetch keeps its connection alive in a pool, which close() must not wait for.
    const res = await fetch(`http://127.0.0.1:${port}/metrics`);
    await res.text();
    await s.close(1_000);
    assert.equal(s.metricsAddress(), undefined);
    await assert.rejects(get(`http://127.0.0.1:${port}/metrics`));
  });
});
