/**
 * The report of `kubectl release diff`: per object what a real apply would do (create, change,
 * prune, or fail), as a unified diff of the live object against the server's dry-run result, both
 * without the fields the API server rewrites on every write (managedFields, resourceVersion,
 * generation, uid, timestamps), as YAML with sorted keys. Pure.
 */
import { stringify } from 'yaml';
import { isRecord } from '../api/object.ts';
import type { Palette } from './style.ts';
import { unifiedDiff } from './unified.ts';
import { objectName } from './view.ts';

/** DiffAction is what a real apply would do to one object. */
export type DiffAction = 'create' | 'change' | 'unchanged' | 'prune' | 'retain' | 'skip' | 'error';

/** DiffEntry is one object of the report. */
export interface DiffEntry {
  /** id is the spec.resources id (for prune: the id label of the live object). */
  id?: string;
  ref: { group: string; version: string; kind: string; namespace?: string; name: string };
  action: DiffAction;
  /** live is the object on the data plane now (undefined when it does not exist). */
  live?: unknown;
  /** after is what the dry run returned: the object as a real apply would leave it. */
  after?: unknown;
  /** note says why an object is skipped, retained or failed, or warns about it. */
  note?: string;
}

/** MASK is what a Secret value is shown as (kubectl diff's words). */
const MASK = '***';

/**
 * maskSecrets hides the values of a Secret's `data` and `stringData` in both sides of an entry, as
 * `kubectl diff` does: `***` where a value is the same on both sides (or on one side only),
 * `*** (before)` and `*** (after)` where it changes, so the diff shows which keys change and never
 * what they hold. Entries of other kinds are returned as they are.
 */
export function maskSecrets(entry: DiffEntry): DiffEntry {
  if (entry.ref.group !== '' || entry.ref.kind !== 'Secret') return entry;
  const live = isRecord(entry.live) ? { ...entry.live } : undefined;
  const after = isRecord(entry.after) ? { ...entry.after } : undefined;
  for (const field of ['data', 'stringData']) {
    const before = live && isRecord(live[field]) ? live[field] : undefined;
    const next = after && isRecord(after[field]) ? after[field] : undefined;
    const changed = (key: string) =>
      before !== undefined && next !== undefined && key in before && key in next && before[key] !== next[key];
    if (live && before) {
      live[field] = Object.fromEntries(
        Object.keys(before).map((k) => [k, changed(k) ? `${MASK} (before)` : MASK]),
      );
    }
    if (after && next) {
      after[field] = Object.fromEntries(
        Object.keys(next).map((k) => [k, changed(k) ? `${MASK} (after)` : MASK]),
      );
    }
  }
  return {
    ...entry,
    ...(entry.live !== undefined && { live }),
    ...(entry.after !== undefined && { after }),
  };
}

/** REWRITTEN_METADATA are metadata fields every write changes; showing them would hide the real change. */
const REWRITTEN_METADATA = [
  'managedFields',
  'resourceVersion',
  'generation',
  'uid',
  'creationTimestamp',
  'deletionTimestamp',
  'selfLink',
];

/** cleanForDiff drops the fields the API server rewrites on every write (see REWRITTEN_METADATA). */
export function cleanForDiff(obj: unknown): unknown {
  if (!isRecord(obj) || !isRecord(obj['metadata'])) return obj;
  const metadata = { ...obj['metadata'] };
  for (const field of REWRITTEN_METADATA) delete metadata[field];
  return { ...obj, metadata };
}

/** objectYaml renders a cleaned object as YAML with sorted keys and no folding; "" for no object. */
export function objectYaml(obj: unknown): string {
  if (obj === undefined) return '';
  return stringify(cleanForDiff(obj), { sortMapEntries: true, lineWidth: 0 });
}

/** refPath names an object in the diff headers: `v1/ConfigMap/ns/name`, `apps/v1/Deployment/ns/name`. */
function refPath(ref: DiffEntry['ref']): string {
  const apiVersion = ref.group ? `${ref.group}/${ref.version}` : ref.version;
  return [apiVersion, ref.kind, ...(ref.namespace ? [ref.namespace] : []), ref.name].join('/');
}

const VERB: Record<DiffAction, string> = {
  create: 'created',
  change: 'changed',
  unchanged: 'unchanged',
  prune: 'pruned',
  retain: 'retained (not pruned)',
  skip: 'skipped',
  error: 'would fail',
};

/** DiffCounts counts the entries of a report per action. */
export type DiffCounts = Record<DiffAction, number>;

/** countActions counts the entries of a report per action. */
export function countActions(entries: readonly DiffEntry[]): DiffCounts {
  const counts: DiffCounts = { create: 0, change: 0, unchanged: 0, prune: 0, retain: 0, skip: 0, error: 0 };
  for (const e of entries) counts[e.action]++;
  return counts;
}

/** hasDifferences tells whether a real apply would change anything (diff's exit code 1). */
export function hasDifferences(entries: readonly DiffEntry[]): boolean {
  return entries.some((e) => e.action === 'create' || e.action === 'change' || e.action === 'prune');
}

/**
 * renderDiff renders the report of one Release: a line per object that would change, fail or be
 * skipped, followed by its unified diff, and a summary line. Unchanged objects appear only in the
 * summary, as with `kubectl diff`.
 */
export function renderDiff(release: string, entries: readonly DiffEntry[], palette: Palette): string {
  const out: string[] = [];
  for (const entry of entries) {
    if (entry.action === 'unchanged') continue;
    const id = entry.id ? ` (id ${entry.id})` : '';
    const style =
      entry.action === 'error'
        ? palette.removed
        : entry.action === 'skip' || entry.action === 'retain'
          ? palette.warning
          : palette.bold;
    out.push(
      style(`${objectName(entry.ref)}${id}: ${VERB[entry.action]}${entry.note ? `: ${entry.note}` : ''}`),
    );
    if (entry.action === 'create' || entry.action === 'change' || entry.action === 'prune') {
      const path = refPath(entry.ref);
      const text = unifiedDiff(
        objectYaml(entry.live),
        entry.action === 'prune' ? '' : objectYaml(entry.after),
        {
          from: entry.live === undefined ? '/dev/null' : `live/${path}`,
          to: entry.action === 'prune' ? '/dev/null' : `release/${path}`,
        },
      );
      for (const line of text.split('\n').slice(0, -1)) {
        out.push(
          line.startsWith('+++') || line.startsWith('---')
            ? palette.bold(line)
            : line.startsWith('@@')
              ? palette.hunk(line)
              : line.startsWith('+')
                ? palette.added(line)
                : line.startsWith('-')
                  ? palette.removed(line)
                  : line,
        );
      }
    } else if (entry.action === 'error' && entry.note === undefined) {
      out.push(palette.removed('the data plane refused the dry run'));
    }
  }
  const c = countActions(entries);
  const parts = [
    `${c.create} to create`,
    `${c.change} to change`,
    `${c.unchanged} unchanged`,
    `${c.prune} to prune`,
    ...(c.retain > 0 ? [`${c.retain} retained`] : []),
    ...(c.skip > 0 ? [`${c.skip} skipped`] : []),
    ...(c.error > 0 ? [`${c.error} failing`] : []),
  ];
  out.push(palette.bold(`Release ${release}: ${parts.join(', ')}`));
  return `${out.join('\n')}\n`;
}
