import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDuration } from './duration.ts';

test('parseDuration reads Go durations and rejects anything else', () => {
  const cases: Array<[string, number | undefined]> = [
    ['0s', 0],
    ['10s', 10_000],
    ['5m', 300_000],
    ['1m30s', 90_000],
    ['1.5h', 5_400_000],
    ['250ms', 250],
    ['1h2m3s4ms', 3_723_004],
    ['', undefined],
    ['5', undefined],
    ['5x', undefined],
    ['m5', undefined],
    ['5m ', undefined],
    ['-5s', undefined],
  ];
  for (const [text, want] of cases) assert.equal(parseDuration(text), want, text);
});
