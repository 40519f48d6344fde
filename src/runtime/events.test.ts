import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import { pino } from 'pino';
import { KubeApiError } from '../kube/client.ts';
import type { EventSeries, EventSink, InvolvedObject, KubeEvent } from './events.ts';
import { EventRecorder, NOTE_MAX_BYTES, REPORTING_CONTROLLER, truncateUtf8 } from './events.ts';

type Call =
  { op: 'create'; event: KubeEvent } | { op: 'patch'; namespace: string; name: string; series: EventSeries };

/** FakeSink records writes; fail makes the next writes reject. */
class FakeSink implements EventSink {
  calls: Call[] = [];
  fail: Error | undefined;
  async create(event: KubeEvent): Promise<void> {
    await Promise.resolve();
    if (this.fail) throw this.fail;
    this.calls.push({ op: 'create', event });
  }
  async updateSeries(namespace: string, name: string, series: EventSeries): Promise<void> {
    await Promise.resolve();
    if (this.fail) throw this.fail;
    this.calls.push({ op: 'patch', namespace, name, series });
  }
}

const release: InvolvedObject = {
  apiVersion: 'openchoreo.dev/v1alpha1',
  kind: 'Release',
  name: 'web',
  namespace: 'org',
  uid: 'u-1',
};

async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}

function recorder(sink: EventSink) {
  return new EventRecorder({ sink, reportingInstance: 'pod-1_abc', logger: pino({ level: 'silent' }) });
}

void describe('EventRecorder', () => {
  beforeEach(() => mock.timers.enable({ apis: ['setTimeout', 'Date'], now: Date.UTC(2024, 0, 1) }));
  afterEach(() => mock.timers.reset());

  void it('creates an events.k8s.io/v1 Event for the regarding object', async () => {
    const sink = new FakeSink();
    recorder(sink).warning(release, 'ApplyFailed', 'Deployment/org/web: field is immutable', 'Apply');
    await settle();
    assert.equal(sink.calls.length, 1);
    const call = sink.calls[0];
    assert.equal(call?.op, 'create');
    const event = call.event;
    assert.equal(event.apiVersion, 'events.k8s.io/v1');
    assert.equal(event.metadata.namespace, 'org');
    assert.match(event.metadata.name, /^web\.[0-9a-f]+$/);
    assert.equal(event.type, 'Warning');
    assert.equal(event.reason, 'ApplyFailed');
    assert.equal(event.action, 'Apply');
    assert.equal(event.reportingController, REPORTING_CONTROLLER);
    assert.equal(event.reportingInstance, 'pod-1_abc');
    assert.equal(event.eventTime, '2024-01-01T00:00:00.000000Z');
    assert.deepEqual(event.regarding, release);
    assert.equal(event.series, undefined);
  });

  void it('turns repeats into one series, updated at most once per 30 s', async () => {
    const sink = new FakeSink();
    const events = recorder(sink);
    events.normal(release, 'Progressing', 'waiting for Deployment/org/web');
    await settle();
    for (let i = 0; i < 10; i++) {
      mock.timers.tick(1_000);
      events.normal(release, 'Progressing', 'waiting for Deployment/org/web');
      await settle();
    }
    assert.equal(sink.calls.length, 1, 'nothing more within 30 s of the create');
    mock.timers.tick(20_000);
    await settle();
    assert.equal(sink.calls.length, 2);
    const name = sink.calls[0]?.op === 'create' ? sink.calls[0].event.metadata.name : '';
    assert.deepEqual(sink.calls[1], {
      op: 'patch',
      namespace: 'org',
      name,
      series: { count: 11, lastObservedTime: '2024-01-01T00:00:10.000000Z' },
    });
    mock.timers.tick(60_000);
    await settle();
    assert.equal(sink.calls.length, 2, 'no write without a new occurrence');
    events.normal(release, 'Progressing', 'waiting for Deployment/org/web');
    await settle();
    assert.equal(sink.calls.length, 3, 'a write is due at once when the last is 30 s old');
    assert.equal(sink.calls[2]?.op === 'patch' && sink.calls[2].series.count, 12);
  });

  void it('starts a new Event after 10 minutes without a repeat', async () => {
    const sink = new FakeSink();
    const events = recorder(sink);
    events.normal(release, 'Ready', 'all resources healthy');
    await settle();
    mock.timers.tick(10 * 60_000);
    events.normal(release, 'Ready', 'all resources healthy');
    await settle();
    assert.deepEqual(
      sink.calls.map((c) => c.op),
      ['create', 'create'],
    );
  });

  void it('keeps different objects, types, reasons and notes apart', async () => {
    const sink = new FakeSink();
    const events = recorder(sink);
    events.normal(release, 'Ready', 'a');
    events.normal(release, 'Ready', 'b');
    events.warning(release, 'Ready', 'a');
    events.normal(release, 'Degraded', 'a');
    events.normal({ ...release, name: 'api', uid: 'u-2' }, 'Ready', 'a');
    await settle();
    assert.equal(sink.calls.filter((c) => c.op === 'create').length, 5);
  });

  void it('creates a new Event when the series Event expired', async () => {
    const sink = new FakeSink();
    const events = recorder(sink);
    events.normal(release, 'Progressing', 'x');
    await settle();
    mock.timers.tick(40_000);
    sink.fail = new KubeApiError('gone', { statusCode: 404, reason: 'NotFound' });
    events.normal(release, 'Progressing', 'x');
    await settle();
    sink.fail = undefined;
    mock.timers.tick(40_000);
    events.normal(release, 'Progressing', 'x');
    await settle();
    assert.deepEqual(
      sink.calls.map((c) => c.op),
      ['create', 'create'],
    );
  });

  void it('never throws and gives up quietly when the API server fails', async () => {
    const sink = new FakeSink();
    sink.fail = new KubeApiError('down', { statusCode: 0, reason: 'Unreachable' });
    const events = recorder(sink);
    assert.doesNotThrow(() => events.warning(release, 'ApplyFailed', 'x'));
    await settle();
    mock.timers.tick(120_000);
    await settle();
    sink.fail = undefined;
    events.warning(release, 'ApplyFailed', 'x');
    await settle();
    assert.equal(sink.calls.length, 1, 'recovers with the next occurrence');
    const throwing: EventSink = {
      create: () => {
        throw new Error('sync failure');
      },
      updateSeries: () => Promise.resolve(),
    };
    assert.doesNotThrow(() => recorder(throwing).normal(release, 'R', 'n'));
  });

  void it('bounds the remembered series', async () => {
    const sink = new FakeSink();
    const events = new EventRecorder({
      sink,
      reportingInstance: 'i',
      logger: pino({ level: 'silent' }),
      cacheSize: 2,
    });
    events.normal(release, 'A', 'n');
    events.normal(release, 'B', 'n');
    events.normal(release, 'C', 'n');
    await settle();
    mock.timers.tick(40_000);
    events.normal(release, 'A', 'n');
    events.normal(release, 'C', 'n');
    await settle();
    assert.deepEqual(
      sink.calls.map((c) => (c.op === 'create' ? `create ${c.event.reason}` : 'patch')),
      ['create A', 'create B', 'create C', 'create A', 'patch'],
    );
  });

  void it('truncates the note to 1 kB and uses `default` for cluster-scoped objects', async () => {
    const sink = new FakeSink();
    recorder(sink).normal({ apiVersion: 'v1', kind: 'Namespace', name: 'org' }, 'Created', 'é'.repeat(2_000));
    await settle();
    const call = sink.calls[0];
    assert.ok(call?.op === 'create', 'expected call?.op === "create"');
    assert.equal(call.event.metadata.namespace, 'default');
    assert.ok(
      Buffer.byteLength(call.event.note) <= NOTE_MAX_BYTES,
      'expected Buffer.byteLength(call.event.note) <= NOTE_MAX_BYTES',
    );
    assert.ok(call.event.note.endsWith('...'), 'expected call.event.note.endsWith("...")');
  });

  void it('close drops pending updates and waits for writes in flight', async () => {
    const sink = new FakeSink();
    const events = recorder(sink);
    events.normal(release, 'R', 'n');
    events.normal(release, 'R', 'n');
    await events.close();
    mock.timers.tick(60_000);
    events.normal(release, 'R', 'n');
    await settle();
    assert.deepEqual(
      sink.calls.map((c) => c.op),
      ['create'],
    );
  });
});

void describe('truncateUtf8', () => {
  void it('keeps short text and never splits a character', () => {
    assert.equal(truncateUtf8('short', 10), 'short');
    assert.equal(truncateUtf8('ééééé', 8), 'éé...');
    assert.equal(truncateUtf8('😀😀😀', 10), '😀...');
  });
});
