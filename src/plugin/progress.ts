/**
 * What `wait` and `reconcile` read from a Release as it changes: whether a condition holds for
 * the current spec (a condition written for an older generation does not count, so a `wait`
 * right after an edit never passes on the previous spec's Ready), and a one-line progress report
 * (`Ready=False Progressing: 1 of 3 resources not ready: ...`) printed each time it changes. Pure.
 */
import { isRecord } from '../api/object.ts';
import { withoutControls } from '../api/text.ts';
import type { WaitFor } from './args.ts';

/** WaitState is how far a Release is from what `wait` waits for. */
export interface WaitState {
  met: boolean;
  /** line is the progress report: the condition, its reason and message, and staleness. */
  line: string;
}

/** MAX_LINE bounds a progress line: a condition message may be long. */
const MAX_LINE = 400;

/** conditionOf reads one condition of a Release, with the generation it was written for. */
export function conditionOf(
  raw: unknown,
  type: string,
): { status: string; reason: string; message: string; current: boolean } | undefined {
  const obj = isRecord(raw) ? raw : {};
  const metadata = isRecord(obj['metadata']) ? obj['metadata'] : {};
  const status = isRecord(obj['status']) ? obj['status'] : {};
  const conditions = Array.isArray(status['conditions']) ? status['conditions'].filter(isRecord) : [];
  const c = conditions.find((x) => x['type'] === type);
  if (!c || typeof c['status'] !== 'string') return undefined;
  const generation = metadata['generation'];
  const observed =
    typeof c['observedGeneration'] === 'number' ? c['observedGeneration'] : status['observedGeneration'];
  const current = typeof generation !== 'number' || (typeof observed === 'number' && observed >= generation);
  const text = (v: unknown) => (typeof v === 'string' ? withoutControls(v) : '');
  return { status: c['status'], reason: text(c['reason']), message: text(c['message']), current };
}

/** waitState tells whether the Release meets `wait --for` and says where it is. */
export function waitState(raw: unknown, want: WaitFor): WaitState {
  const c = conditionOf(raw, want.condition);
  const deleting =
    isRecord(raw) && isRecord(raw['metadata']) && typeof raw['metadata']['deletionTimestamp'] === 'string';
  if (!c) return { met: false, line: `${want.condition}: not reported yet` };
  const line = [
    `${want.condition}=${c.status}`,
    c.reason && `${c.reason}:`,
    c.message,
    c.current ? '' : '(for an older generation of the spec; waiting for the controller)',
    deleting ? '(being deleted)' : '',
  ]
    .filter((part) => part !== '')
    .join(' ');
  return {
    met: c.current && c.status === want.status,
    line: line.length > MAX_LINE ? `${line.slice(0, MAX_LINE - 1)}…` : line,
  };
}

/** handledAt reads `status.lastHandledReconcileAt`: the reconcile request the controller last handled. */
export function handledAt(raw: unknown): string | undefined {
  const status = isRecord(raw) && isRecord(raw['status']) ? raw['status'] : {};
  return typeof status['lastHandledReconcileAt'] === 'string' ? status['lastHandledReconcileAt'] : undefined;
}
