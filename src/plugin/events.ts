/**
 * The Events of a Release, as `kubectl release events` shows them: read from `events.k8s.io/v1`
 * (what the controller writes, src/runtime/events.ts) or `core/v1` (what older writers use; the
 * API server stores both kinds once and serves each through either API), normalised to one
 * shape, sorted by their last occurrence, newest last. Pure.
 */
import { isRecord } from '../api/object.ts';
import { withoutControls } from '../api/text.ts';
import type { Palette } from './style.ts';
import { humanAge, renderTable } from './table.ts';

/** EventView is one Event, whichever API it was read from. */
export interface EventView {
  type: string;
  reason: string;
  message: string;
  /** count of occurrences (a series counts each). */
  count: number;
  /** first and last occurrence, RFC 3339; last is first for a single occurrence. */
  first?: string;
  last?: string;
  /** reportingController of the Event (core/v1: source.component). */
  source?: string;
}

/** eventView normalises an `events.k8s.io/v1` or `core/v1` Event. */
export function eventView(raw: unknown): EventView {
  const e = isRecord(raw) ? raw : {};
  const metadata = isRecord(e['metadata']) ? e['metadata'] : {};
  const series = isRecord(e['series']) ? e['series'] : undefined;
  const source = isRecord(e['source']) ? e['source'] : {};
  const created = str(metadata['creationTimestamp']);
  // events.k8s.io/v1 fields first, then their core/v1 names (and the deprecated* copies the
  // events API shows of core/v1 Events).
  const first =
    str(e['eventTime']) ?? str(e['deprecatedFirstTimestamp']) ?? str(e['firstTimestamp']) ?? created;
  const last =
    str(series?.['lastObservedTime']) ??
    str(e['deprecatedLastTimestamp']) ??
    str(e['lastTimestamp']) ??
    first;
  const seriesCount = typeof series?.['count'] === 'number' ? series['count'] : undefined;
  const count =
    seriesCount ??
    (typeof e['deprecatedCount'] === 'number' && e['deprecatedCount'] > 0
      ? e['deprecatedCount']
      : undefined) ??
    (typeof e['count'] === 'number' && e['count'] > 0 ? e['count'] : 1);
  return {
    type: str(e['type']) ?? '',
    reason: str(e['reason']) ?? '',
    message: (str(e['note']) ?? str(e['message']) ?? '').replace(/\s*\n\s*/g, ' ').trim(),
    count,
    first,
    last,
    source:
      str(e['reportingController']) ??
      str(e['reportingComponent']) ??
      str(e['deprecatedSource']) ??
      str(source['component']),
  };
}

/** sortEvents orders Events by last occurrence, oldest first (newest last, as `kubectl events`). */
export function sortEvents(events: readonly EventView[]): EventView[] {
  const at = (e: EventView) => (e.last ? Date.parse(e.last) : 0) || 0;
  return [...events].sort((a, b) => at(a) - at(b));
}

/** renderEvents renders Events like `kubectl events`: LAST SEEN (with `(x3 over 5m)`), TYPE, REASON, MESSAGE. */
export function renderEvents(events: readonly EventView[], now: number, palette: Palette): string {
  if (events.length === 0) return '';
  const age = (t: string | undefined) => (t ? humanAge(now - Date.parse(t)) : '<unknown>');
  const rows = sortEvents(events).map((e) => [
    e.count > 1 ? `${age(e.last)} (x${e.count} over ${age(e.first)})` : age(e.last),
    { text: e.type, style: e.type === 'Warning' ? palette.warning : undefined },
    e.reason,
    e.message,
  ]);
  return renderTable(['LAST SEEN', 'TYPE', 'REASON', 'MESSAGE'], rows);
}

/** str reads a string for the terminal: control characters (escape sequences) become spaces. */
function str(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? withoutControls(value) : undefined;
}
