import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, mock, test } from 'node:test';
import { KeyedThrottle } from './throttle.ts';

describe('KeyedThrottle', () => {
  let clock = 0;
  beforeEach(() => {
    clock = 1_000;
    mock.timers.enable({ apis: ['setTimeout'] });
    mock.method(performance, 'now', () => clock);
  });
  afterEach(() => {
    mock.timers.reset();
    mock.restoreAll();
  });
  const advance = (ms: number) => {
    clock += ms;
    mock.timers.tick(ms);
  };

  test('the first call runs at once; a burst within the interval becomes one run with the last arguments', () => {
    const runs: Array<[string, boolean]> = [];
    const t = new KeyedThrottle<boolean>(5_000, (k, healthy) => runs.push([k, healthy]));
    t.call('org/dp', false);
    for (let i = 0; i < 1000; i++) t.call('org/dp', i % 2 === 0);
    assert.deepEqual(runs, [['org/dp', false]]);
    advance(4_999);
    assert.equal(runs.length, 1);
    advance(1);
    assert.deepEqual(runs, [
      ['org/dp', false],
      ['org/dp', false],
    ]);
    advance(60_000);
    assert.equal(runs.length, 2, 'nothing more without calls');
    t.stop();
  });

  test('keys are throttled apart, and a quiet key runs at once again', () => {
    const runs: string[] = [];
    const t = new KeyedThrottle<number>(1_000, (k) => runs.push(k));
    t.call('a', 1);
    t.call('b', 1);
    t.call('a', 2);
    assert.deepEqual(runs, ['a', 'b']);
    advance(1_000);
    assert.deepEqual(runs, ['a', 'b', 'a']);
    advance(1_000);
    t.call('b', 3);
    assert.deepEqual(runs, ['a', 'b', 'a', 'b']);
    t.call('b', 4);
    t.forget('b');
    advance(5_000);
    assert.deepEqual(runs, ['a', 'b', 'a', 'b'], 'a forgotten key runs nothing pending');
    t.stop();
  });
});
