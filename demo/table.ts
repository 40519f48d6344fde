/**
 * Pure rendering of the demo's live view of one Release: a table of its resources (id, kind,
 * namespace/name, health, message) and its Ready condition. A TTY gets the whole table redrawn in
 * place (`frame`); a log gets one line per change (`changes`), so CI output stays readable.
 */
import type { Release } from '../src/api/v1alpha1/schema.ts';

/** Row is one entry of a Release's status.resources as the demo shows it. */
export interface Row {
  id: string;
  kind: string;
  /** ref is `namespace/name`, or `name` for a cluster-scoped object. */
  ref: string;
  health: string;
  message: string;
}

/** ConditionView is the part of a condition the demo shows. */
export interface ConditionView {
  status: string;
  reason: string;
  message: string;
}

/** ReleaseView is what the demo shows of one Release at one moment. */
export interface ReleaseView {
  /** name is `namespace/name` of the Release. */
  name: string;
  /** state is `absent` before creation and after deletion, `deleting` once it has a deletionTimestamp. */
  state: 'absent' | 'present' | 'deleting';
  generation?: number;
  observedGeneration?: number;
  /** reported is false until the controller has written status.resources at least once. */
  reported: boolean;
  rows: Row[];
  ready?: ConditionView;
  finalizing?: ConditionView;
}

/** viewOf extracts the view of a Release; `undefined` means it does not exist (yet or any more). */
export function viewOf(name: string, release: Release | undefined): ReleaseView {
  if (!release) return { name, state: 'absent', reported: false, rows: [] };
  const status = release.status;
  const condition = (type: string): ConditionView | undefined => {
    const c = status?.conditions?.find((x) => x.type === type);
    return c ? { status: c.status, reason: c.reason, message: c.message } : undefined;
  };
  return {
    name,
    state: release.metadata.deletionTimestamp ? 'deleting' : 'present',
    generation: release.metadata.generation,
    observedGeneration: status?.observedGeneration,
    reported: status?.resources !== undefined,
    rows: (status?.resources ?? []).map((r) => ({
      id: r.id,
      kind: r.kind,
      ref: r.namespace ? `${r.namespace}/${r.name}` : r.name,
      health: r.healthStatus,
      message: oneLine(r.message ?? r.healthReason ?? ''),
    })),
    ready: condition('Ready'),
    finalizing: condition('Finalizing'),
  };
}

const HEADER: Row = { id: 'ID', kind: 'KIND', ref: 'NAMESPACE/NAME', health: 'HEALTH', message: 'MESSAGE' };

/**
 * renderView lays the view out as lines: a title, the resource table and the Ready (and, while
 * deleting, Finalizing) condition. Lines longer than `width` are cut with an ellipsis, so a
 * terminal never wraps them (wrapped lines would break redrawing in place).
 */
export function renderView(view: ReleaseView, width = Number.POSITIVE_INFINITY): string[] {
  const lines: string[] = [];
  if (view.state === 'absent') {
    lines.push(`Release ${view.name}: not found`);
    return lines.map((l) => clip(l, width));
  }
  const generation =
    view.generation === undefined
      ? ''
      : ` (generation ${view.generation}, observed ${view.observedGeneration ?? '-'})`;
  lines.push(`Release ${view.name}${generation}${view.state === 'deleting' ? ' - being deleted' : ''}`);
  if (!view.reported) {
    lines.push('  (no status yet: waiting for the controller)');
  } else if (view.rows.length === 0) {
    lines.push('  (no resources)');
  } else {
    const rows = [HEADER, ...view.rows];
    const w = (pick: (r: Row) => string) => Math.max(...rows.map((r) => pick(r).length));
    const widths = [w((r) => r.id), w((r) => r.kind), w((r) => r.ref), w((r) => r.health)];
    for (const r of rows) {
      const cells = [r.id, r.kind, r.ref, r.health].map((c, i) => c.padEnd(widths[i] ?? 0));
      lines.push(`  ${[...cells, r.message].join('  ')}`.trimEnd());
    }
  }
  lines.push(conditionLine('Ready', view.ready));
  if (view.state === 'deleting' || view.finalizing) lines.push(conditionLine('Finalizing', view.finalizing));
  return lines.map((l) => clip(l, width));
}

/**
 * changes describes what differs between two views, one line per change, for a log that is not a
 * terminal. No line means nothing the demo shows has changed.
 */
export function changes(prev: ReleaseView | undefined, next: ReleaseView): string[] {
  const out: string[] = [];
  if (prev?.state !== next.state) {
    if (next.state === 'present') out.push(`Release ${next.name} exists`);
    if (next.state === 'deleting') out.push(`Release ${next.name} is being deleted`);
    if (next.state === 'absent' && prev !== undefined) out.push(`Release ${next.name} is gone`);
  }
  if (next.state === 'absent') return out;
  const before = new Map((prev?.rows ?? []).map((r) => [r.id, r]));
  for (const r of next.rows) {
    const p = before.get(r.id);
    if (!p || p.kind !== r.kind || p.ref !== r.ref || p.health !== r.health || p.message !== r.message) {
      out.push(`${r.id}: ${r.kind} ${r.ref} ${r.health}${r.message ? ` - ${r.message}` : ''}`);
    }
    before.delete(r.id);
  }
  for (const id of before.keys()) out.push(`${id}: no longer in status`);
  // The Ready message repeats the worst resource's, already logged above; log the transitions only.
  if (prev?.ready?.status !== next.ready?.status || prev?.ready?.reason !== next.ready?.reason) {
    out.push(conditionLine('Ready', next.ready));
  }
  if (next.finalizing && !sameCondition(prev?.finalizing, next.finalizing)) {
    out.push(conditionLine('Finalizing', next.finalizing));
  }
  return out;
}

/**
 * frame returns what to write to a terminal to replace the `previousLines` lines written last
 * (the cursor sits just below them) with `lines`: move up, clear to the end of the screen, write.
 */
export function frame(previousLines: number, lines: readonly string[]): string {
  const up = previousLines > 0 ? `\x1b[${previousLines}A\r` : '\r';
  const body = lines.length > 0 ? `${lines.join('\n')}\n` : '';
  return `${up}\x1b[0J${body}`;
}

function conditionLine(type: string, c: ConditionView | undefined): string {
  if (!c) return `${type}: -`;
  return `${type}: ${c.status} (${c.reason})${c.message ? ` ${oneLine(c.message)}` : ''}`;
}

function sameCondition(a: ConditionView | undefined, b: ConditionView | undefined): boolean {
  return a?.status === b?.status && a?.reason === b?.reason && a?.message === b?.message;
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

function clip(line: string, width: number): string {
  if (line.length <= width) return line;
  return width <= 1 ? line.slice(0, Math.max(width, 0)) : `${line.slice(0, width - 1)}…`;
}
