import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { digest128, digest256 } from './digest.ts';

// Tokens made from these digests are stored in Releases' status: a new version of the controller
// must make the very same ones, or every object is applied again after an upgrade.
void test('the digests are SHA-256, whole or cut to 128 bits, in base64url, as tokens stored before were made', () => {
  for (const data of ['', 'x\ny', '{"apiVersion":"v1","kind":"ConfigMap"}', 'ünïcödé ✓'.repeat(100)]) {
    const full = createHash('sha256').update(data).digest();
    assert.equal(digest256(data), full.toString('base64url'));
    assert.equal(digest128(data), full.toString('base64url', 0, 16));
    assert.equal(digest128(data).length, 22);
  }
});
