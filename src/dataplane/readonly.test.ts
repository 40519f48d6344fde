import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readOnlyRefusal } from './readonly.ts';

test('readOnlyRefusal lets reads and server-side dry runs through, and refuses every other write', () => {
  const path = '/api/v1/namespaces/shop/configmaps/cfg';
  assert.equal(readOnlyRefusal({ method: 'GET', path }), undefined);
  assert.equal(readOnlyRefusal({ method: 'PATCH', path, query: { dryRun: 'All', force: true } }), undefined);
  assert.equal(
    readOnlyRefusal({ method: 'POST', path: '/api/v1/namespaces', query: { dryRun: 'All' } }),
    undefined,
  );
  for (const method of ['PATCH', 'POST', 'PUT', 'DELETE'] as const) {
    assert.match(
      readOnlyRefusal({ method, path }) ?? '',
      new RegExp(`^${method} ${path} is a write`),
      method,
    );
    // Only the exact dry-run value counts: anything else would be stored.
    assert.match(readOnlyRefusal({ method, path, query: { dryRun: 'all' } }) ?? '', /read-only/, method);
    assert.match(readOnlyRefusal({ method, path, query: { dryRun: true } }) ?? '', /read-only/, method);
  }
});
