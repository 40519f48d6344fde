/**
 * textlog: `--log-format=text`, one readable line per log entry for people at a terminal, made from
 * the JSON line pino writes (pino has no pretty printer of its own, and pino-pretty is a large
 * dependency for a few lines of code):
 *
 *   2026-12-07T13:02:11.412Z INFO  control-plane caches synced; starting workers workers=4 shard=0/1
 *
 * Fields follow the message as key=value; values with spaces, quotes or control characters are
 * quoted as JSON strings, so a tenant's text can neither break the line nor fake another one.
 */

/** LEVEL_NAMES maps pino's numeric levels to the names printed (the controller logs names already). */
const LEVEL_NAMES: Record<string, string> = {
  '10': 'trace',
  '20': 'debug',
  '30': 'info',
  '40': 'warn',
  '50': 'error',
  '60': 'fatal',
};

/** LEVEL_COLORS are the ANSI colors of each level on a terminal. */
const LEVEL_COLORS: Record<string, string> = {
  trace: '\x1b[90m',
  debug: '\x1b[90m',
  info: '\x1b[36m',
  warn: '\x1b[33m',
  error: '\x1b[31m',
  fatal: '\x1b[1;31m',
};
const RESET = '\x1b[0m';

/** OMITTED are fields every line has (the process's base) or that the line shows in its own place. */
const OMITTED = new Set(['level', 'time', 'msg', 'component', 'pid', 'hostname']);

/** BARE matches a value printed without quotes. */
// eslint-disable-next-line no-control-regex
const BARE = /^[^\s"'=\\\x00-\x1f\x7f-\x9f]+$/;

/** formatLogLine turns one JSON log line of pino into a text line (with a trailing newline); `color` adds ANSI colors. */
export function formatLogLine(json: string, color = false): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return `${quoteIfNeeded(json.trimEnd())}\n`; // not pino's: print it, made safe
  }
  const level = LEVEL_NAMES[String(entry['level'])] ?? text(entry['level'] ?? 'info');
  const label = level.toUpperCase().padEnd(5);
  const parts = [
    typeof entry['time'] === 'string'
      ? entry['time']
      : new Date(Number(entry['time'] ?? Date.now())).toISOString(),
    color ? `${LEVEL_COLORS[level] ?? ''}${label}${RESET}` : label,
    escapeControl(text(entry['msg'] ?? '')),
  ];
  let stack = '';
  for (const [key, value] of Object.entries(entry)) {
    if (OMITTED.has(key) || value === undefined) continue;
    if (key === 'err' && value !== null && typeof value === 'object') {
      const err = value as { message?: unknown; stack?: unknown };
      parts.push(`err=${quoteIfNeeded(text(err.message ?? ''))}`);
      // The stack only where the process ends: elsewhere the message says what to do.
      if (level === 'fatal' && typeof err.stack === 'string')
        stack = `\n${indent(escapeControl(err.stack, true))}`;
      continue;
    }
    parts.push(`${key}=${typeof value === 'string' ? quoteIfNeeded(value) : JSON.stringify(value)}`);
  }
  return `${parts.join(' ')}${stack}\n`;
}

/** textLogStream is a pino destination that writes formatLogLine's text to `out`. */
export function textLogStream(
  out: { write(text: string): unknown; isTTY?: boolean },
  env: NodeJS.ProcessEnv,
): {
  write(line: string): void;
} {
  const color = out.isTTY === true && env['NO_COLOR'] === undefined;
  return {
    write(line: string) {
      out.write(formatLogLine(line, color));
    },
  };
}

/** text is a field as text: strings as they are, anything else as JSON. */
function text(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function quoteIfNeeded(value: string): string {
  return value !== '' && BARE.test(value) ? value : `"${escapeControl(value.replace(/["\\]/g, '\\$&'))}"`;
}

/** escapeControl writes control characters as \uXXXX escapes (keeping newlines when `newlines`). */
function escapeControl(text: string, newlines = false): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\x00-\x1f\x7f-\x9f]/g, (c) =>
    newlines && c === '\n' ? c : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((line) => `    ${line}`)
    .join('\n');
}
