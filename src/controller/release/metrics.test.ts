import assert from 'node:assert/strict';
import { test } from 'node:test';
import { codeLabel } from './metrics.ts';

void test('codeLabel keeps known status codes and buckets every other answer of a data plane', () => {
  assert.deepEqual(
    ['0', '200', '404', '429', '503', '299', '418', '599', '999', '-1', 'abc', ''].map(codeLabel),
    ['0', '200', '404', '429', '503', '2xx', '4xx', '5xx', 'other', 'other', 'other', 'other'],
  );
});
