/**
 * Sharding splits Releases between controller processes by a stable hash of `namespace/name` (or
 * of the namespace alone, `by: 'namespace'`, which keeps an organization in one shard so that only
 * that shard opens its DataPlanes), so each Release has exactly one owner for a given shard count,
 * with no coordination beyond each shard's own leader-election Lease.
 */
import { Labels } from '../../api/v1alpha1/constants.ts';
import { PROFILES } from '../../api/v1alpha1/profile.ts';
import { parseLabelSelector } from '../../kube/selector.ts';

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

/** TRACKING_KEYS are the labels the controller sets to its own values: never a shard key. */
const TRACKING_KEYS = new Set<string>([
  Labels.managedBy,
  Labels.releaseNamespace,
  ...PROFILES.flatMap((p) => Object.values(p.labels)),
]);

/**
 * shardLabelKeys are the label keys a --release-selector names (`key=a`, `key in (a,b)`, `!key`,
 * `key`): every data-plane object carries its Release's values of them (desired.ts), and the
 * shard's data-plane watches add the same selector, so a shard caches only its own Releases'
 * objects (docs/architecture.md, "Shards that divide memory"). Empty for no selector; a message
 * saying what is wrong for a selector that cannot be read or names a key the controller sets.
 */
export function shardLabelKeys(selector: string | undefined): string[] | string {
  if (!selector) return [];
  const requirements = parseLabelSelector(selector);
  if (!requirements)
    return `"${selector}" is not a label selector (terms key=value, key!=value, key in (a,b), key notin (a,b), key, !key, joined by commas)`;
  const keys = [...new Set(requirements.map((r) => r.key))];
  const reserved = keys.filter((k) => TRACKING_KEYS.has(k));
  if (reserved.length > 0)
    return `"${selector}" names ${reserved.join(', ')}, which the controller sets on every data-plane object itself; shard by a label of your own (for example sharding.openchoreo.dev/key)`;
  return keys;
}
