import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fnv1a32, inShard, shardLabelKeys, shardOf } from './shard.ts';

test('fnv1a32 matches the reference FNV-1a values', () => {
  assert.equal(fnv1a32(''), 0x811c9dc5);
  assert.equal(fnv1a32('a'), 0xe40c292c);
  assert.equal(fnv1a32('foobar'), 0xbf9cf968);
});

test('every Release belongs to exactly one shard, and shards are balanced', () => {
  const count = 3;
  const sizes = [0, 0, 0];
  for (let i = 0; i < 3000; i++) {
    const owners = [0, 1, 2].filter((index) => inShard({ index, count }, `org-${i % 7}`, `release-${i}`));
    assert.equal(owners.length, 1);
    sizes[owners[0] ?? 0]!++;
  }
  for (const size of sizes) assert.ok(size > 800 && size < 1200, `unbalanced shards: ${sizes.join(', ')}`);
  assert.equal(shardOf('ns', 'name', 1), 0);
});

test('sharding by namespace keeps every Release of an organization in one shard', () => {
  for (let org = 0; org < 20; org++) {
    const owners = new Set<number>();
    for (let i = 0; i < 50; i++)
      for (const index of [0, 1, 2])
        if (inShard({ index, count: 3, by: 'namespace' }, `org-${org}`, `release-${i}`)) owners.add(index);
    assert.equal(owners.size, 1, `organization org-${org} is split between shards ${[...owners].join(', ')}`);
  }
});

test('shardLabelKeys names every key of a --release-selector once, and refuses what cannot divide objects', () => {
  assert.deepEqual(shardLabelKeys(''), []);
  assert.deepEqual(shardLabelKeys('sharding.example/key=a'), ['sharding.example/key']);
  assert.deepEqual(shardLabelKeys('sharding.example/key in (a,b),tier'), ['sharding.example/key', 'tier']);
  assert.deepEqual(shardLabelKeys('!sharding.example/key'), ['sharding.example/key']);
  assert.deepEqual(shardLabelKeys('key notin (a),key!=c'), ['key']);
  assert.match(String(shardLabelKeys('key in a')), /is not a label selector/);
  assert.match(
    String(shardLabelKeys('openchoreo.dev/release-uid=x')),
    /names openchoreo.dev\/release-uid, which the controller sets/,
  );
});
