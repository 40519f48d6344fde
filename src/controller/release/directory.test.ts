import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Release } from '../../api/v1alpha1/schema.ts';
import { LIVE_TRUST_MS, ReleaseDirectory } from './directory.ts';

const release = (namespace: string, name: string, uid: string) =>
  ({ metadata: { namespace, name, uid } }) as Release;

const cacheOf = (...releases: Release[]) => ({
  get: (ns: string | undefined, name: string) =>
    releases.find((r) => r.metadata.namespace === ns && r.metadata.name === name),
});

test('ReleaseDirectory: a full cache is the answer, and nothing is read', () => {
  const directory = new ReleaseDirectory(cacheOf(release('org', 'a', 'u1')));
  const pass = directory.pass();
  assert.equal(pass.exists('org', 'a', 'u1'), true);
  assert.equal(pass.exists('org', 'a', 'other'), false);
  assert.equal(pass.exists('org', 'b', 'u2'), false);
  assert.equal(directory.partial, false);
});

test('ReleaseDirectory: a partial cache reads an owner outside it once, alive until told otherwise', async () => {
  const server = new Map([['org/b', 'u2']]);
  const reads: string[] = [];
  let now = 0;
  const directory = new ReleaseDirectory(
    cacheOf(release('org', 'a', 'u1')),
    (ns, name) => {
      reads.push(`${ns}/${name}`);
      return Promise.resolve(server.get(`${ns}/${name}`));
    },
    undefined,
    () => now,
  );
  const first = directory.pass();
  assert.equal(first.exists('org', 'a', 'u1'), true, 'cached: no read');
  assert.equal(first.exists('org', 'b', 'u2'), true, 'unknown: alive while read');
  assert.equal(first.exists('org', 'c', 'u3'), true, 'unknown: alive while read');
  assert.equal(await first.settle(), true, 'org/c does not exist: the pass must run again');
  assert.deepEqual(reads, ['org/b', 'org/c']);

  const second = directory.pass();
  assert.equal(second.exists('org', 'b', 'u2'), true);
  assert.equal(second.exists('org', 'c', 'u3'), false);
  assert.equal(await second.settle(), false);
  assert.deepEqual(reads, ['org/b', 'org/c'], 'answers are remembered');

  server.delete('org/b');
  now += LIVE_TRUST_MS + 1;
  const third = directory.pass();
  assert.equal(third.exists('org', 'b', 'u2'), true, 'trust expired: alive while read again');
  assert.equal(await third.settle(), true);
  assert.equal(directory.pass().exists('org', 'b', 'u2'), false);
});

test("ReleaseDirectory: a Release recreated under the same name does not own its predecessor's objects", async () => {
  const directory = new ReleaseDirectory(cacheOf(), () => Promise.resolve('new-uid'));
  const pass = directory.pass();
  assert.equal(pass.exists('org', 'a', 'old-uid'), true);
  assert.equal(await pass.settle(), true);
  assert.equal(directory.pass().exists('org', 'a', 'old-uid'), false);
});

test('ReleaseDirectory: a failed read keeps the owner alive and is told', async () => {
  const errors: unknown[] = [];
  const directory = new ReleaseDirectory(
    cacheOf(),
    () => Promise.reject(new Error('connection refused')),
    (err) => errors.push(err),
  );
  const pass = directory.pass();
  assert.equal(pass.exists('org', 'a', 'u1'), true);
  assert.equal(await pass.settle(), false, 'nothing was found gone');
  assert.equal(errors.length, 1);
  assert.equal(directory.known('org', 'a', 'u1'), undefined, 'read again next time');
});
