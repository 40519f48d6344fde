/**
 * errors.ts owns how an error and its cause chain become one line of text, for logs, conditions
 * and Events alike.
 */
import { inspect } from 'node:util';

/** MAX_CAUSE_DEPTH bounds the walk down a cause chain (a chain can be cyclic). */
const MAX_CAUSE_DEPTH = 16;

/**
 * describeError renders an error and its cause chain as one line, `message: cause: cause`, leaving
 * out a cause whose message the text already contains (wrappers often repeat it).
 */
export function describeError(err: unknown): string {
  let text = '';
  let e: unknown = err;
  for (let depth = 0; e !== undefined && depth < MAX_CAUSE_DEPTH; depth++) {
    const message =
      e instanceof Error ? e.message : typeof e === 'string' ? e : inspect(e, { breakLength: Infinity });
    if (message && !text.includes(message)) text = text ? `${text}: ${message}` : message;
    e = e instanceof Error ? e.cause : undefined;
  }
  return text || 'unknown error';
}
