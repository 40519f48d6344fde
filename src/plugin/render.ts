/**
 * Rendering of `get` and `tree`: tables like kubectl's, the tree of a Release's resources with
 * their drift, plan and policy under each, and the JSON for scripts. Pure: views in, text out.
 */
import { ageSince, renderTable, type Cell } from './table.ts';
import type { Palette } from './style.ts';
import {
  healthCounts,
  isDrifted,
  objectName,
  type ObjectRefView,
  type ReleaseView,
  type ResourceView,
} from './view.ts';

/** ReleaseSummary is one row of `get`, also its JSON. */
export interface ReleaseSummary {
  namespace: string;
  name: string;
  ready: string;
  reason: string;
  resources: Record<string, number>;
  drifted: number;
  /** stale is set when the status describes an older generation of the spec than the current one. */
  stale: boolean;
  suspended: boolean;
  creationTimestamp?: string;
}

/** summarize turns a Release into the row of `get`. */
export function summarize(view: ReleaseView): ReleaseSummary {
  const resources: Record<string, number> = {};
  for (const r of view.resources) resources[r.health] = (resources[r.health] ?? 0) + 1;
  return {
    namespace: view.namespace,
    name: view.name,
    ready: view.ready?.status ?? 'Unknown',
    reason: view.deleting ? 'Deleting' : (view.ready?.reason ?? ''),
    resources,
    drifted: view.resources.filter(isDrifted).length,
    stale: view.stale,
    suspended: view.suspended,
    ...(view.creationTimestamp ? { creationTimestamp: view.creationTimestamp } : {}),
  };
}

/** STALE_MARK follows the reason of a Release whose status describes an older generation of its spec. */
export const STALE_MARK = '(stale)';

/** STALE_NOTE explains STALE_MARK under a table that shows it. */
export const STALE_NOTE =
  '(stale): the status is of an older generation of the spec; the controller has not reported on the latest one yet.\n';

/** GetOptions shape `get`'s table: -A adds NAMESPACE; wide adds ENVIRONMENT, GENERATION and MODE; header false leaves the header out (watch). */
export interface GetOptions {
  allNamespaces: boolean;
  now: number;
  palette: Palette;
  wide?: boolean;
  header?: boolean;
}

/** renderGet renders `kubectl release get`: a NAMESPACE column with -A, more columns with -o wide. */
export function renderGet(views: readonly ReleaseView[], options: GetOptions): string {
  if (views.length === 0) return '';
  const { palette, wide = false } = options;
  const header = [
    ...(options.allNamespaces ? ['NAMESPACE'] : []),
    'NAME',
    'READY',
    'REASON',
    'RESOURCES',
    'DRIFTED',
    'AGE',
    ...(wide ? ['ENVIRONMENT', 'GENERATION', 'MODE'] : []),
  ];
  const rows = views.map((view): Cell[] => {
    const s = summarize(view);
    return [
      ...(options.allNamespaces ? [s.namespace] : []),
      s.name,
      { text: s.ready, style: palette.ready(s.ready) },
      {
        text: s.stale ? `${s.reason} ${STALE_MARK}`.trim() : s.reason,
        style: s.stale ? palette.warning : undefined,
      },
      healthCounts(view.resources),
      { text: String(s.drifted), style: s.drifted > 0 ? palette.warning : undefined },
      ageSince(view.creationTimestamp, options.now),
      ...(wide
        ? [
            view.environment ?? '',
            `${view.observedGeneration ?? '-'}/${view.generation ?? '-'}`,
            view.modes.join(',') || '-',
          ]
        : []),
    ];
  });
  const table = renderTable(header, rows);
  return options.header === false ? table.slice(table.indexOf('\n') + 1) : table;
}

/** oneLine keeps a message on one line (messages may hold newlines from a data plane). */
function oneLine(text: string | undefined): string {
  return (text ?? '').replace(/\s*\n\s*/g, ' ').trim();
}

/** details are the lines under a resource: drift, plan and policy. */
function details(r: ResourceView, palette: Palette): string[] {
  const lines: string[] = [];
  if (r.drift && isDrifted(r)) {
    if (r.drift.deleted) lines.push(palette.warning('drift: deleted by someone else'));
    if (r.drift.fields.length > 0) {
      const fields = r.drift.fields.map((f) => (f.manager ? `${f.path} (by ${f.manager})` : f.path));
      lines.push(palette.warning(`drift: ${fields.join(', ')}`));
    }
  }
  if (r.plan) {
    const style =
      r.plan.action === 'Error'
        ? palette.removed
        : r.plan.action === 'Unchanged'
          ? palette.dim
          : palette.hunk;
    const fields = r.plan.fields.length > 0 ? ` ${r.plan.fields.join(', ')}` : '';
    const message = r.plan.message ? `: ${oneLine(r.plan.message)}` : '';
    lines.push(style(`plan: ${r.plan.action}${fields}${message}`));
  }
  if (r.policy) {
    const parts = [
      ...(r.policy.apply ? [`apply ${r.policy.apply}`] : []),
      ...(r.policy.prune ? [`prune ${r.policy.prune}`] : []),
      ...(r.policy.ignoreFields.length > 0 ? [`ignore ${r.policy.ignoreFields.join(', ')}`] : []),
    ];
    if (parts.length > 0) lines.push(palette.dim(`policy: ${parts.join('; ')}`));
  }
  return lines;
}

/**
 * renderTree renders `kubectl release tree`: the Release, then each resource (kind namespace/name,
 * id, health, reason, message) with its drift, plan and policy beneath it, then objects a DryRun
 * would delete and objects retained by `prune: Disabled`.
 */
export function renderTree(view: ReleaseView, palette: Palette): string {
  interface Row {
    cells: Cell[];
    details: string[];
  }
  const ready = view.ready?.status ?? 'Unknown';
  const releaseDetails: string[] = [];
  if (
    view.resourcesApplied &&
    view.resourcesApplied.status !== 'True' &&
    view.resourcesApplied.reason !== view.ready?.reason
  ) {
    releaseDetails.push(
      palette.removed(
        `ResourcesApplied=${view.resourcesApplied.status} ${view.resourcesApplied.reason ?? ''}: ${oneLine(view.resourcesApplied.message)}`,
      ),
    );
  }
  if (view.stale)
    releaseDetails.push(
      palette.dim('status describes an older generation of the spec (the controller has not caught up yet)'),
    );
  if (view.deleting)
    releaseDetails.push(
      palette.warning('being deleted: waiting for its data-plane objects to be cleaned up'),
    );

  const children: Row[] = [
    ...view.resources.map((r) => ({
      cells: [
        objectName(r),
        r.id,
        { text: r.health, style: palette.health(r.health) },
        r.reason ?? '',
        oneLine(r.message),
      ],
      details: details(r, palette),
    })),
    ...view.plannedDeletions.map((d: ObjectRefView) => ({
      cells: [
        objectName(d),
        d.id ?? '',
        { text: 'Delete', style: palette.removed },
        'PlannedDeletion',
        'a real apply would prune it',
      ],
      details: [],
    })),
    ...view.retained.map((d: ObjectRefView) => ({
      cells: [
        objectName(d),
        d.id ?? '',
        { text: 'Retained', style: palette.dim },
        'PruneDisabled',
        oneLine(d.reason),
      ],
      details: [],
    })),
  ];
  const rows: Row[] = [
    {
      cells: [
        { text: `Release ${view.namespace}/${view.name}`, style: palette.bold },
        '',
        { text: `Ready=${ready}`, style: palette.ready(ready) },
        view.ready?.reason ?? '',
        oneLine(view.ready?.message),
      ],
      details: releaseDetails,
    },
    ...children.map((row, i) => {
      const last = i === children.length - 1;
      const first = row.cells[0];
      const text = typeof first === 'string' ? first : (first?.text ?? '');
      return { cells: [`${last ? '└─' : '├─'} ${text}`, ...row.cells.slice(1)], details: row.details };
    }),
  ];
  const table = renderTable(
    ['RESOURCE', 'ID', 'HEALTH', 'REASON', 'MESSAGE'],
    rows.map((r) => r.cells),
  ).split('\n');
  const out: string[] = [table[0] ?? ''];
  rows.forEach((row, i) => {
    out.push(table[i + 1] ?? '');
    // Details hang under their row: the Release's as notes on the trunk, a resource's as its branches.
    if (i === 0) {
      for (const line of row.details) out.push(`${children.length > 0 ? '│' : ' '}  ${line}`);
      return;
    }
    const trunk = i === rows.length - 1 ? '   ' : '│  ';
    row.details.forEach((line, j) => {
      out.push(`${trunk}${j === row.details.length - 1 ? '└─' : '├─'} ${line}`);
    });
  });
  return `${out.join('\n')}\n`;
}

/** treeJson is the JSON of `tree -o json`: the whole view, every optional field only when present. */
export function treeJson(view: ReleaseView): string {
  return `${JSON.stringify(view, null, 2)}\n`;
}

/** getJson is the JSON of `get -o json`. */
export function getJson(views: readonly ReleaseView[]): string {
  return `${JSON.stringify(views.map(summarize), null, 2)}\n`;
}
