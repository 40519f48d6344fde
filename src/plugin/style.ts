/**
 * Colours of the plugin's output: whether to colour (a terminal, unless NO_COLOR or TERM=dumb;
 * `--color` overrides) and the palette (health, diff lines). Pure: the caller passes the facts.
 */
import type { HealthStatus } from '../api/v1alpha1/constants.ts';
import type { ColorMode } from './args.ts';

/** Style wraps text in one ANSI colour, or returns it unchanged when colours are off. */
export type Style = (text: string) => string;

/** Palette is every style the renderers use. */
export interface Palette {
  enabled: boolean;
  health(status: string): Style;
  /** ready colours a condition status: True green, False red, Unknown yellow. */
  ready(status: string): Style;
  bold: Style;
  dim: Style;
  added: Style;
  removed: Style;
  hunk: Style;
  warning: Style;
}

/** colorEnabled decides whether to colour, as kubectl and most CLIs do (https://no-color.org). */
export function colorEnabled(
  mode: ColorMode,
  isTTY: boolean,
  env: Record<string, string | undefined>,
): boolean {
  if (mode === 'always') return true;
  if (mode === 'never') return false;
  if (env['NO_COLOR'] !== undefined && env['NO_COLOR'] !== '') return false;
  if (env['TERM'] === 'dumb') return false;
  return isTTY;
}

const ansi =
  (code: string): Style =>
  (text) =>
    text === '' ? text : `\u001b[${code}m${text}\u001b[0m`;
const plain: Style = (text) => text;

/** HEALTH_COLORS: green for Healthy, yellow for Progressing, red for Degraded, blue for Suspended, grey for Unknown. */
const HEALTH_COLORS: Record<HealthStatus, string> = {
  Healthy: '32',
  Progressing: '33',
  Degraded: '31',
  Suspended: '34',
  Unknown: '90',
};

/** palette returns the styles, all plain when colours are off. */
export function palette(enabled: boolean): Palette {
  if (!enabled) {
    return {
      enabled,
      health: () => plain,
      ready: () => plain,
      bold: plain,
      dim: plain,
      added: plain,
      removed: plain,
      hunk: plain,
      warning: plain,
    };
  }
  return {
    enabled,
    health: (status) => ansi(HEALTH_COLORS[status as HealthStatus] ?? '90'),
    ready: (status) => ansi(status === 'True' ? '32' : status === 'False' ? '31' : '33'),
    bold: ansi('1'),
    dim: ansi('2'),
    added: ansi('32'),
    removed: ansi('31'),
    hunk: ansi('36'),
    warning: ansi('33'),
  };
}

/** stripAnsi removes colour codes (tests, widths). */
export function stripAnsi(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\u001b\[[0-9;]*m/g, '');
}
