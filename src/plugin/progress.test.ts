import { test } from 'node:test';
import assert from 'node:assert/strict';
import { handledAt, waitState } from './progress.ts';

const READY = { condition: 'Ready', status: 'True' };
const release = (
  generation: number,
  observed: number,
  status: string,
  reason = 'Ready',
  message = 'all 1 resources are Healthy or Suspended',
) => ({
  metadata: { name: 'web', generation },
  status: {
    observedGeneration: observed,
    conditions: [{ type: 'Ready', status, reason, message, observedGeneration: observed }],
  },
});

test('waitState is met only by the condition of the current generation', () => {
  assert.deepEqual(waitState(release(2, 2, 'True'), READY), {
    met: true,
    line: 'Ready=True Ready: all 1 resources are Healthy or Suspended',
  });
  const stale = waitState(release(3, 2, 'True'), READY);
  assert.equal(stale.met, false, 'Ready of the previous spec does not count');
  assert.match(stale.line, /\(for an older generation of the spec; waiting for the controller\)$/);
  const progressing = waitState(release(2, 2, 'False', 'Progressing', '1 of 1 resources not ready'), READY);
  assert.deepEqual(progressing, { met: false, line: 'Ready=False Progressing: 1 of 1 resources not ready' });
  assert.equal(waitState(release(2, 2, 'False'), { condition: 'Ready', status: 'False' }).met, true);
});

test('waitState says when the condition is not there yet, and strips control characters', () => {
  assert.deepEqual(waitState({ metadata: { generation: 1 } }, READY), {
    met: false,
    line: 'Ready: not reported yet',
  });
  const evil = waitState(release(1, 1, 'False', 'Degraded', 'bad\u001b[2Jthing'), READY);
  assert.ok(!evil.line.includes('\u001b'), evil.line);
});

test('handledAt reads status.lastHandledReconcileAt', () => {
  assert.equal(handledAt({ status: { lastHandledReconcileAt: 'x' } }), 'x');
  assert.equal(handledAt({ status: {} }), undefined);
  assert.equal(handledAt(undefined), undefined);
});
