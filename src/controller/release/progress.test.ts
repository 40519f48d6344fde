import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { pino } from 'pino';
import { ConditionTypes, Reasons } from '../../api/v1alpha1/constants.ts';
import { FirstPassProgress, PROGRESS_MIN_OBJECTS, progressConditions, progressMarks } from './progress.ts';

describe('progressMarks', () => {
  test('a small first pass writes no progress', () => {
    assert.deepEqual(progressMarks(0), []);
    assert.deepEqual(progressMarks(PROGRESS_MIN_OBJECTS - 1), []);
  });

  test('a large one writes at each quarter short of the end, three writes at most', () => {
    assert.deepEqual(progressMarks(59), [15, 30, 45]);
    assert.deepEqual(progressMarks(PROGRESS_MIN_OBJECTS), [5, 10, 15]);
    assert.equal(progressMarks(10_000).length, 3);
  });
});

test('progressConditions say how far the first pass is, and that it is not Ready yet', () => {
  const [applied, ready] = progressConditions(12, 59);
  assert.equal(applied.type, ConditionTypes.resourcesApplied);
  assert.equal(ready.type, ConditionTypes.ready);
  for (const c of [applied, ready]) {
    assert.equal(c.status, 'False');
    assert.equal(c.reason, Reasons.applying);
    assert.match(c.message, /applied 12 of 59 resources/);
  }
});

describe('FirstPassProgress', () => {
  const logger = pino({ level: 'silent' });

  test('writes at each mark, in order, and settles after the last write', async () => {
    const written: Array<[number, number]> = [];
    const progress = new FirstPassProgress(
      40,
      async (done, total) => {
        await new Promise((resolve) => setImmediate(resolve));
        written.push([done, total]);
      },
      logger,
    );
    for (let i = 0; i < 40; i++) progress.step();
    assert.equal(await progress.settled(), 3);
    assert.equal(written.length, 3);
    assert.ok(
      written.every(([done, total], i) => total === 40 && done >= (i + 1) * 10),
      JSON.stringify(written),
    );
  });

  test('a mark reached while a write is under way is written after it, with the count of its mark', async () => {
    const written: number[] = [];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const progress = new FirstPassProgress(
      20,
      async (done) => {
        await gate;
        written.push(done);
      },
      logger,
    );
    for (let i = 0; i < 12; i++) progress.step();
    release();
    await progress.settled();
    assert.deepEqual(written, [5, 10], 'two marks passed (5, 10); each write says the count of its mark');
  });

  test('a failed write is not the pass failing', async () => {
    const progress = new FirstPassProgress(20, () => Promise.reject(new Error('conflict')), logger);
    for (let i = 0; i < 20; i++) progress.step();
    assert.equal(await progress.settled(), 3);
  });

  test('a small pass never writes', async () => {
    let writes = 0;
    const progress = new FirstPassProgress(
      PROGRESS_MIN_OBJECTS - 1,
      () => {
        writes++;
        return Promise.resolve();
      },
      logger,
    );
    for (let i = 0; i < PROGRESS_MIN_OBJECTS - 1; i++) progress.step();
    assert.equal(await progress.settled(), 0);
    assert.equal(writes, 0);
  });
});
