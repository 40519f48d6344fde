import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_BASE_DELAY_MS, DEFAULT_MAX_DELAY_MS, ExponentialRateLimiter } from './ratelimiter.ts';

void describe('ExponentialRateLimiter', () => {
  void it('doubles the delay per failure from the base up to the cap', () => {
    const limiter = new ExponentialRateLimiter({ baseDelayMs: 100, maxDelayMs: 1_000, jitter: 0 });
    const delays = Array.from({ length: 7 }, () => limiter.when('a'));
    assert.deepEqual(delays, [100, 200, 400, 800, 1_000, 1_000, 1_000]);
    assert.equal(limiter.retries('a'), 7);
  });

  void it('uses the named defaults and reaches the cap without overflowing', () => {
    const limiter = new ExponentialRateLimiter({ jitter: 0 });
    assert.equal(limiter.when('a'), DEFAULT_BASE_DELAY_MS);
    for (let i = 0; i < 2_000; i++) limiter.when('a');
    assert.equal(limiter.when('a'), DEFAULT_MAX_DELAY_MS);
  });

  void it('tracks keys independently and forget resets one', () => {
    const limiter = new ExponentialRateLimiter({ baseDelayMs: 10, maxDelayMs: 1_000, jitter: 0 });
    limiter.when('a');
    limiter.when('a');
    assert.equal(limiter.when('b'), 10);
    limiter.forget('a');
    assert.equal(limiter.retries('a'), 0);
    assert.equal(limiter.when('a'), 10);
    assert.equal(limiter.retries('b'), 1);
  });

  void it('jitter only shortens a delay, by at most the given fraction', () => {
    const low = new ExponentialRateLimiter({
      baseDelayMs: 1_000,
      maxDelayMs: 1_000,
      jitter: 0.2,
      random: () => 0.999,
    });
    const high = new ExponentialRateLimiter({
      baseDelayMs: 1_000,
      maxDelayMs: 1_000,
      jitter: 0.2,
      random: () => 0,
    });
    assert.ok(Math.abs(low.when('a') - 800.2) < 0.01, 'expected Math.abs(low.when("a") - 800.2) < 0.01');
    assert.equal(high.when('a'), 1_000);
  });

  void it('rejects impossible settings', () => {
    assert.throws(() => new ExponentialRateLimiter({ baseDelayMs: 10, maxDelayMs: 5 }), RangeError);
    assert.throws(() => new ExponentialRateLimiter({ jitter: 1 }), RangeError);
  });
});
