/**
 * Tables and ages as kubectl prints them: upper-case headers, columns padded to the widest cell
 * plus three spaces, no trailing spaces; ages like `kubectl get` (`45s`, `3m12s`, `5h`, `12d`).
 * Pure.
 */
import { stripAnsi, type Style } from './style.ts';

/** Cell is a table cell: text, optionally coloured (padding is computed on the text alone). */
export type Cell = string | { text: string; style?: Style };

const GAP = '   ';

/** renderTable renders a header and rows as aligned columns, one line each, ending in a newline. */
export function renderTable(header: readonly string[], rows: readonly (readonly Cell[])[]): string {
  const all: (readonly Cell[])[] = [header, ...rows];
  const text = (cell: Cell | undefined) =>
    cell === undefined ? '' : typeof cell === 'string' ? cell : cell.text;
  const widths = header.map((_, col) => Math.max(...all.map((row) => stripAnsi(text(row[col])).length)));
  return all
    .map((row) =>
      header
        .map((_, col) => {
          const cell = row[col];
          const raw = text(cell);
          const styled = typeof cell === 'object' && cell.style ? cell.style(raw) : raw;
          const pad = col === header.length - 1 ? 0 : (widths[col] ?? 0) - stripAnsi(raw).length;
          return styled + ' '.repeat(Math.max(0, pad));
        })
        .join(GAP)
        .trimEnd(),
    )
    .map((line) => `${line}\n`)
    .join('');
}

/**
 * humanAge renders a duration the way kubectl's AGE column does (apimachinery's HumanDuration):
 * seconds below 2 minutes, minutes and seconds below 10 minutes, minutes below 3 hours, hours and
 * minutes below 8 hours, hours below 2 days, days and hours below 8 days, days below 2 years,
 * years and days below 8 years, then years.
 */
export function humanAge(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  const days = Math.floor(hours / 24);
  if (hours < 24 * 8) return hours % 24 === 0 ? `${days}d` : `${days}d${hours % 24}h`;
  if (hours < 24 * 365 * 2) return `${days}d`;
  const years = Math.floor(hours / 24 / 365);
  if (hours < 24 * 365 * 8) return days % 365 === 0 ? `${years}y` : `${years}y${days % 365}d`;
  return `${years}y`;
}

/** ageSince is humanAge from an RFC 3339 timestamp to `now`; `<unknown>` without a timestamp. */
export function ageSince(timestamp: string | undefined, now: number): string {
  const at = timestamp ? Date.parse(timestamp) : NaN;
  return Number.isNaN(at) ? '<unknown>' : humanAge(now - at);
}
