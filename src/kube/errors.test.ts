import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeError } from './errors.ts';

void describe('describeError', () => {
  void it('joins the cause chain, skipping repeated messages', () => {
    const inner = new Error('connection refused');
    const outer = new Error('GET /api on dp: connection refused', { cause: inner });
    const top = new Error('resolve DataPlane/ns/dp', { cause: outer });
    assert.equal(describeError(top), 'resolve DataPlane/ns/dp: GET /api on dp: connection refused');
    assert.equal(describeError('plain'), 'plain');
    assert.equal(describeError({ code: 1 }), '{ code: 1 }');
  });

  void it('stops on a cyclic cause chain', () => {
    const cyclic = new Error('a');
    (cyclic as { cause?: unknown }).cause = cyclic;
    assert.equal(describeError(cyclic), 'a');
  });
});
