import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KeyedLimiter } from './limiter.ts';

void describe('KeyedLimiter', () => {
  void it('gives each key at most `limit` slots and leaves other keys alone', () => {
    const limiter = new KeyedLimiter({ limit: 2 });
    const a1 = limiter.tryAcquire('dp-a', 'r1');
    const a2 = limiter.tryAcquire('dp-a', 'r2');
    assert.ok(a1 && a2, 'two holders fit');
    assert.equal(limiter.tryAcquire('dp-a', 'r3'), undefined, 'a third holder of dp-a is refused');
    assert.ok(limiter.tryAcquire('dp-b', 'r4'), 'another key still has room');
    assert.deepEqual(
      [...limiter.inUse()],
      [
        ['dp-a', 2],
        ['dp-b', 1],
      ],
    );
  });

  void it('wakes the first waiter when a slot frees, once per freed slot', () => {
    const woken: string[] = [];
    const limiter = new KeyedLimiter({ limit: 1, onAvailable: (w) => woken.push(w) });
    const slot = limiter.tryAcquire('dp', 'r1');
    assert.equal(limiter.tryAcquire('dp', 'r2'), undefined);
    assert.equal(limiter.tryAcquire('dp', 'r3'), undefined);
    assert.equal(limiter.tryAcquire('dp', 'r2'), undefined, 'waiting twice registers once');
    assert.equal(limiter.waiting('dp'), 2);
    slot?.release();
    slot?.release();
    assert.deepEqual(woken, ['r2'], 'one freed slot wakes one waiter, and a second release does nothing');
    const next = limiter.tryAcquire('dp', 'r2');
    assert.ok(next, 'the woken waiter gets the slot');
    next.release();
    assert.deepEqual(woken, ['r2', 'r3']);
  });

  void it('forgets keys nobody holds or waits for', () => {
    const limiter = new KeyedLimiter({ limit: 1 });
    limiter.tryAcquire('dp', 'r1')?.release();
    assert.equal(limiter.inUse().size, 0);
    assert.equal(limiter.waiting('dp'), 0);
  });

  void it('refuses a limit below 1', () => {
    assert.throws(() => new KeyedLimiter({ limit: 0 }), RangeError);
  });
});
