/**
 * Field paths of the apply library, pure: JSON pointers (RFC 6901) into the objects we send (the
 * ignore-fields option removes them before an apply), and the field sets of managedFields
 * (`fieldsV1`), rendered as the same kind of pointer, to say which fields drifted or would change.
 */
import { isRecord } from '../api/object.ts';

/** MAX_REPORTED_FIELDS bounds every list of field paths the library returns. */
export const MAX_REPORTED_FIELDS = 20;

/**
 * parsePointer splits a JSON pointer into its unescaped segments, or returns why it is not one.
 * The empty pointer (the whole object) is refused: ignoring everything is not a policy.
 */
export function parsePointer(pointer: string): string[] | string {
  if (!pointer.startsWith('/')) return `"${pointer}" is not a JSON pointer (it must start with "/")`;
  const raw = pointer.slice(1).split('/');
  if (raw.some((s) => s === '')) return `"${pointer}" has an empty segment`;
  if (raw.some((s) => /~[^01]|~$/.test(s))) return `"${pointer}" has an invalid escape (only ~0 and ~1)`;
  return raw.map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** escapeSegment makes a map key one JSON-pointer segment. */
export function escapeSegment(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}

/**
 * removeFields returns a copy of `object` without the fields the pointers name (pointers that do
 * not exist in it are no-ops). A pointer may go through arrays by index; one ending on an index
 * drops that element. Only the containers on the way are copied.
 */
export function removeFields<T>(object: T, pointers: readonly (readonly string[])[]): T {
  if (pointers.length === 0) return object;
  return removeIn(object, pointers) as T;
}

function removeIn(value: unknown, paths: readonly (readonly string[])[]): unknown {
  const byKey = new Map<string, Array<readonly string[]>>();
  for (const p of paths) {
    const [head, ...rest] = p;
    if (head === undefined) continue;
    const list = byKey.get(head) ?? [];
    list.push(rest);
    byKey.set(head, list);
  }
  if (Array.isArray(value)) {
    const drop = new Set<number>();
    const out: unknown[] = [...(value as unknown[])];
    for (const [key, rests] of byKey) {
      if (!/^(0|[1-9][0-9]*)$/.test(key) || Number(key) >= out.length) continue;
      const i = Number(key);
      if (rests.some((r) => r.length === 0)) drop.add(i);
      else out[i] = removeIn(out[i], rests);
    }
    return drop.size === 0 ? out : out.filter((_, i) => !drop.has(i));
  }
  if (!isRecord(value)) return value;
  const out: Record<string, unknown> = { ...value };
  for (const [key, rests] of byKey) {
    if (!(key in out)) continue;
    if (rests.some((r) => r.length === 0)) delete out[key];
    else out[key] = removeIn(out[key], rests);
  }
  return out;
}

/** FieldSet is a managedFields `fieldsV1` tree. */
export type FieldSet = Record<string, unknown>;

/**
 * fieldPath renders one fieldsV1 key as a pointer segment: `f:name` is the field, `k:{"name":"a"}`
 * a keyed list item (`[name=a]`), `v:"x"` a set item (`[="x"]`), `i:3` a list index.
 */
function fieldSegment(key: string): string {
  const body = key.slice(2);
  switch (key.slice(0, 2)) {
    case 'f:':
      return escapeSegment(body);
    case 'i:':
      return body;
    case 'v:':
      return `[=${body}]`;
    case 'k:': {
      try {
        const parsed: unknown = JSON.parse(body);
        if (isRecord(parsed)) {
          const parts = Object.entries(parsed).map(
            ([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`,
          );
          return escapeSegment(`[${parts.join(',')}]`);
        }
      } catch {
        // Not JSON: shown as the server wrote it.
      }
      return escapeSegment(key);
    }
    default:
      return escapeSegment(key);
  }
}

/**
 * missingFields lists the fields of `before` that `after` no longer has, as pointers to the
 * leaves (a map taken over as a whole is each of its fields: the API server drops a map from a
 * manager's set once it owns none of its keys), in tree order, at most `max`. Used with our own
 * field sets: `before` what we own after our apply, `after` what we own now.
 */
export function missingFields(
  before: FieldSet | undefined,
  after: FieldSet | undefined,
  max = MAX_REPORTED_FIELDS,
): string[] {
  const out: string[] = [];
  const walk = (b: FieldSet, a: FieldSet | undefined, prefix: string): void => {
    for (const [key, child] of Object.entries(b)) {
      if (key === '.' || out.length >= max) continue;
      const path = `${prefix}/${fieldSegment(key)}`;
      const there = a?.[key];
      const children = isRecord(child) ? Object.keys(child).filter((k) => k !== '.') : [];
      if (children.length > 0) walk(child as FieldSet, isRecord(there) ? there : undefined, path);
      else if (!isRecord(there)) out.push(path);
    }
  };
  if (before) walk(before, after, '');
  return out;
}

/**
 * owningManager returns which of the given managers' field sets holds a path of `missingFields`
 * (the first one, in the order given), or undefined when none does (the field was removed).
 */
export function owningManager(
  path: string,
  sets: ReadonlyArray<{ manager: string; fields: FieldSet | undefined }>,
  ours: FieldSet | undefined,
): string | undefined {
  // Walk `ours` (the set after our apply) to recover the fieldsV1 keys of the rendered path.
  const keys = keysOf(path, ours);
  if (!keys) return undefined;
  return sets.find((s) => hasKeys(s.fields, keys))?.manager;
}

function keysOf(path: string, set: FieldSet | undefined): string[] | undefined {
  const segments = path.split('/').slice(1);
  const keys: string[] = [];
  let node: unknown = set;
  for (const seg of segments) {
    if (!isRecord(node)) return undefined;
    const key = Object.keys(node).find((k) => k !== '.' && fieldSegment(k) === seg);
    if (key === undefined) return undefined;
    keys.push(key);
    node = node[key];
  }
  return keys;
}

function hasKeys(set: FieldSet | undefined, keys: string[]): boolean {
  let node: unknown = set;
  for (const k of keys) {
    if (!isRecord(node) || !isRecord(node[k])) return false;
    node = node[k];
  }
  return true;
}

/**
 * changedFields compares two versions of an object (a dry-run result and the live object) and
 * lists the pointers whose values differ, the highest differing node of each branch, at most
 * `max`. Server-written bookkeeping (resourceVersion, generation, managedFields, timestamps of
 * the object itself) and `status` are not changes a user makes, and are left out.
 */
export function changedFields(after: unknown, before: unknown, max = MAX_REPORTED_FIELDS): string[] {
  const out: string[] = [];
  const walk = (a: unknown, b: unknown, path: string): void => {
    if (out.length >= max || IGNORED_CHANGES.has(path)) return;
    if (isRecord(a) && isRecord(b)) {
      for (const key of new Set([...Object.keys(a), ...Object.keys(b)]))
        walk(a[key], b[key], `${path}/${escapeSegment(key)}`);
    } else if (Array.isArray(a) && Array.isArray(b) && a.length === b.length) {
      a.forEach((item, i) => walk(item, b[i], `${path}/${i}`));
    } else if (JSON.stringify(a) !== JSON.stringify(b)) {
      out.push(path === '' ? '/' : path);
    }
  };
  walk(after, before, '');
  return out;
}

const IGNORED_CHANGES = new Set([
  '/metadata/resourceVersion',
  '/metadata/generation',
  '/metadata/managedFields',
  '/metadata/creationTimestamp',
  '/metadata/uid',
  '/status',
]);
