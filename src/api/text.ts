/**
 * Text helpers for messages that people read in conditions, Events and logs: counted nouns,
 * bounded lists ("a; b; c; and 2 more") and truncation. One way to say each, everywhere.
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
