/**
 * Sharding splits Releases between controller processes by a stable hash of `namespace/name` (or
 * of the namespace alone, `by: 'namespace'`, which keeps an organization in one shard so that only
 * that shard opens its DataPlanes), so each Release has exactly one owner for a given shard count,
 * with no coordination beyond each shard's own leader-election Lease.
 */

/** Shard is this process's slice of the Releases: index in [0, count). */
export interface Shard {
  index: number;
  count: number;
  /** by is what the hash is of: a Release's namespace/name (default) or its namespace. */
  by?: 'release' | 'namespace';
}

/** fnv1a32 is the 32-bit FNV-1a hash of a string's UTF-16 code units. */
export function fnv1a32(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

/** shardOf returns the shard index a Release belongs to. */
export function shardOf(namespace: string, name: string, count: number): number {
  return count <= 1 ? 0 : fnv1a32(`${namespace}/${name}`) % count;
}

/** inShard tells whether a Release belongs to this process's shard. */
export function inShard(shard: Shard, namespace: string, name: string): boolean {
  const key = shard.by === 'namespace' ? '' : name;
  return shardOf(namespace, key, shard.count) === shard.index;
}
