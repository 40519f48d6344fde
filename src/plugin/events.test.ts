import { test } from 'node:test';
import assert from 'node:assert/strict';
import { eventView, renderEvents, sortEvents } from './events.ts';
import { palette } from './style.ts';

const NOW = Date.parse('2026-05-01T12:00:00Z');

test('eventView reads events.k8s.io/v1 Events (ours, with a series) and core/v1 Events alike', () => {
  const ours = eventView({
    metadata: { name: 'web.1', creationTimestamp: '2026-05-01T11:00:00Z' },
    eventTime: '2026-05-01T11:00:00.000000Z',
    series: { count: 4, lastObservedTime: '2026-05-01T11:58:00.000000Z' },
    reportingController: 'openchoreo.dev/release-controller',
    reason: 'HealthChanged',
    note: 'Deployment shop/web is Healthy',
    type: 'Normal',
  });
  assert.deepEqual(ours, {
    type: 'Normal',
    reason: 'HealthChanged',
    message: 'Deployment shop/web is Healthy',
    count: 4,
    first: '2026-05-01T11:00:00.000000Z',
    last: '2026-05-01T11:58:00.000000Z',
    source: 'openchoreo.dev/release-controller',
  });
  const core = eventView({
    metadata: { name: 'web.2' },
    firstTimestamp: '2026-05-01T11:50:00Z',
    lastTimestamp: '2026-05-01T11:55:00Z',
    count: 2,
    source: { component: 'someone' },
    reason: 'Pruned',
    message: 'deleted\nConfigMap shop/x',
    type: 'Warning',
  });
  assert.deepEqual(core, {
    type: 'Warning',
    reason: 'Pruned',
    message: 'deleted ConfigMap shop/x',
    count: 2,
    first: '2026-05-01T11:50:00Z',
    last: '2026-05-01T11:55:00Z',
    source: 'someone',
  });
  // A core/v1 Event read through events.k8s.io/v1 carries its times as deprecated* fields.
  const converted = eventView({
    deprecatedLastTimestamp: '2026-05-01T11:40:00Z',
    deprecatedCount: 3,
    reason: 'X',
  });
  assert.equal(converted.last, '2026-05-01T11:40:00Z');
  assert.equal(converted.count, 3);
});

test('Events are shown newest last, with repeats as "(xN over AGE)"', () => {
  const events = [
    eventView({ eventTime: '2026-05-01T11:59:00Z', reason: 'Newest', note: 'c', type: 'Normal' }),
    eventView({
      eventTime: '2026-05-01T11:00:00Z',
      series: { count: 3, lastObservedTime: '2026-05-01T11:58:00Z' },
      reason: 'Middle',
      note: 'b',
      type: 'Warning',
    }),
    eventView({ eventTime: '2026-05-01T10:00:00Z', reason: 'Oldest', note: 'a', type: 'Normal' }),
  ];
  assert.deepEqual(
    sortEvents(events).map((e) => e.reason),
    ['Oldest', 'Middle', 'Newest'],
  );
  assert.equal(
    renderEvents(events, NOW, palette(false)),
    [
      'LAST SEEN          TYPE      REASON   MESSAGE',
      '120m               Normal    Oldest   a',
      '2m (x3 over 60m)   Warning   Middle   b',
      '60s                Normal    Newest   c',
      '',
    ].join('\n'),
  );
  assert.ok(
    renderEvents(events, NOW, palette(true)).includes('\u001b[33mWarning\u001b[0m'),
    'Warning is yellow',
  );
  assert.equal(renderEvents([], NOW, palette(false)), '');
});
