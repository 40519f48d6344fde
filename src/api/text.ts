/**
 * Text helpers for messages that people read in conditions, Events and logs: counted nouns,
 * bounded lists ("a; b; c; and 2 more"), truncation, and the size of a message as the API server
 * stores it (for size budgets). One way to say each, everywhere.
 */

/** plural renders a count with its noun: `1 object`, `3 objects`. */
export function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

/**
 * listWithMore joins at most `max` items with `separator` and says how many were left out:
 * `a; b; c; and 2 more` (with separator `; `).
 */
export function listWithMore(items: readonly string[], max: number, separator = '; '): string {
  const shown = items.slice(0, max).join(separator);
  return items.length > max ? `${shown}${separator}and ${items.length - max} more` : shown;
}

/** truncate cuts text to at most `max` characters, ending in `…` when cut. */
export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

// eslint-disable-next-line no-control-regex
const CONTROLS = /[\u0000-\u001f\u007f-\u009f]/;
// eslint-disable-next-line no-control-regex
const CONTROL_RUNS = /[\u0000-\u001f\u007f-\u009f]+/g;

/**
 * withoutControls replaces each run of C0 and C1 control characters (ESC, BEL, CSI, newlines ...)
 * with one space: text a server chose that reaches status, an Event or a terminal cannot move the
 * cursor, retitle the window, clear the screen or forge lines.
 */
export function withoutControls(text: string): string {
  return CONTROLS.test(text) ? text.replace(CONTROL_RUNS, ' ') : text;
}

/**
 * oneLine makes text from a server safe for a status field, a log line or an Event: control
 * characters and runs of white space become one space (a hostile answer cannot forge lines or hide
 * text), and it is cut to at most `max` characters.
 */
export function oneLine(text: string, max: number): string {
  const flat = text
    .slice(0, max * 4)
    // eslint-disable-next-line no-control-regex
    .replace(/[\s\u0000-\u001f\u007f-\u009f]+/g, ' ')
    .trim();
  return truncate(flat, max);
}

/**
 * jsonStringBytes is the size in bytes of `text` as the API server's JSON encoder writes it,
 * quotes included. Go escapes `<`, `>`, `&`, U+2028, U+2029 and control characters other than
 * \n, \r, \t as six-byte `\uXXXX` sequences, so a message can weigh up to six times its length;
 * a size limit that counts characters (or JavaScript's own encoding) undercounts it.
 */
export function jsonStringBytes(text: string): number {
  if (!NEEDS_SCAN.test(text)) return text.length + 2;
  let bytes = 2;
  for (let i = 0; i < text.length; i++) {
    const unit = unitBytes(text, i);
    if (unit !== undefined) bytes += unit;
    else {
      bytes += 4;
      i++;
    }
  }
  return bytes;
}

/** NEEDS_SCAN finds any character that is not one byte as it is: most text has none. */
const NEEDS_SCAN = /[^\x20\x21\x23-\x25\x27-\x3b\x3d\x3f-\x5b\x5d-\x7e]/;

/**
 * unitBytes is the encoded size of the UTF-16 unit at `i`, or undefined for the high half of a
 * surrogate pair (4 bytes for the pair; the caller skips the low half).
 */
function unitBytes(text: string, i: number): number | undefined {
  const c = text.charCodeAt(i);
  if (c < 0x80) {
    if (c === 0x22 || c === 0x5c || c === 0x0a || c === 0x0d || c === 0x09) return 2;
    return c < 0x20 || c === 0x3c || c === 0x3e || c === 0x26 ? 6 : 1;
  }
  if (c < 0x800) return 2;
  if (c === 0x2028 || c === 0x2029) return 6;
  if (c >= 0xd800 && c <= 0xdbff) {
    const next = text.charCodeAt(i + 1);
    if (next >= 0xdc00 && next <= 0xdfff) return undefined;
  }
  // Other BMP characters, and a lone surrogate (sent as U+FFFD).
  return 3;
}

/**
 * truncateJson cuts text so that its JSON encoding (jsonStringBytes, quotes included) takes at
 * most `maxBytes`, and says what was cut: `head… (truncated: N more characters)`, N counting
 * the characters (code points) left out. Text that fits is returned as it is; when not even the
 * note fits, the result is empty.
 */
export function truncateJson(text: string, maxBytes: number): string {
  if (jsonStringBytes(text) <= maxBytes) return text;
  // The note's size with the most digits N can have: the kept part may then only get shorter.
  const total = codePoints(text);
  const room = maxBytes - jsonStringBytes(truncationNote(total));
  if (room < 0) return '';
  let used = 0;
  let kept = 0;
  let end = 0;
  while (end < text.length) {
    const unit = unitBytes(text, end);
    const size = unit ?? 4;
    if (used + size > room) break;
    used += size;
    end += unit === undefined ? 2 : 1;
    kept++;
  }
  return `${text.slice(0, end)}${truncationNote(total - kept)}`;
}

/** truncationNote ends a truncated text. */
function truncationNote(cut: number): string {
  return `… (truncated: ${cut} more characters)`;
}

function codePoints(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    n++;
    const c = text.charCodeAt(i);
    const next = text.charCodeAt(i + 1);
    if (c >= 0xd800 && c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) i++;
  }
  return n;
}

/**
 * nearestName returns the candidate closest to `name` by edit distance, if it is close enough to be
 * a typo (one edit per `charactersPerEdit` characters of the name, default 3, at least 1 and at
 * most 3), for "did you mean". With `ignoreCase`, a candidate that differs only in case is the
 * nearest of all.
 */
export function nearestName(
  name: string,
  candidates: Iterable<string>,
  { ignoreCase = false, charactersPerEdit = 3 }: { ignoreCase?: boolean; charactersPerEdit?: number } = {},
): string | undefined {
  const fold = (s: string) => (ignoreCase ? s.toLowerCase() : s);
  let best: string | undefined;
  let bestDistance = Math.min(3, Math.max(1, Math.floor(name.length / charactersPerEdit)));
  for (const candidate of candidates) {
    if (candidate === name) continue;
    const distance = editDistance(fold(name), fold(candidate));
    if (distance <= bestDistance && (best === undefined || distance < bestDistance)) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

/** editDistance is the Levenshtein distance of two strings (insertions, deletions, substitutions). */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}
