import { isRecord } from '../api/object.ts';
import type { KubeObject, ObjectCondition } from '../api/object.ts';
import { health, HealthReasons } from './result.ts';
import type { HealthResult } from './result.ts';

// Live objects are untrusted JSON: every reader here tolerates a missing or mistyped field, so a
// malformed status degrades to "no signal" instead of throwing.

/** field walks a path of keys through nested JSON objects. */
export function field(value: unknown, ...path: string[]): unknown {
  let current = value;
  for (const key of path) {
    if (!isRecord(current)) return undefined;
    current = current[key];
  }
  return current;
}

/** numberAt reads a finite number at a path. */
export function numberAt(value: unknown, ...path: string[]): number | undefined {
  const v = field(value, ...path);
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/** stringAt reads a non-empty string at a path. */
export function stringAt(value: unknown, ...path: string[]): string | undefined {
  const v = field(value, ...path);
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** boolAt reads a boolean at a path. */
export function boolAt(value: unknown, ...path: string[]): boolean | undefined {
  const v = field(value, ...path);
  return typeof v === 'boolean' ? v : undefined;
}

/** recordsAt reads the object entries of an array at a path, skipping anything that is not an object. */
export function recordsAt(value: unknown, ...path: string[]): Record<string, unknown>[] {
  const v = field(value, ...path);
  return Array.isArray(v) ? v.filter(isRecord) : [];
}

/** timeAt reads an RFC 3339 timestamp at a path as epoch milliseconds. */
export function timeAt(value: unknown, ...path: string[]): number | undefined {
  const v = stringAt(value, ...path);
  if (v === undefined) return undefined;
  const ms = Date.parse(v);
  return Number.isNaN(ms) ? undefined : ms;
}

/** conditionList reads a conditions array from anywhere (status, listeners, route parents, annotations). */
export function conditionList(value: unknown): ObjectCondition[] {
  if (!Array.isArray(value)) return [];
  return value.filter(
    (c): c is ObjectCondition =>
      isRecord(c) && typeof c['type'] === 'string' && typeof c['status'] === 'string',
  );
}

/** findIn returns the condition of a type from a list. */
export function findIn(conditions: ObjectCondition[], type: string): ObjectCondition | undefined {
  return conditions.find((c) => c.type === type);
}

/** isTrue tells whether a condition is present with status True. */
export function isTrue(c: ObjectCondition | undefined): c is ObjectCondition & { status: 'True' } {
  return c?.status === 'True';
}

/** isFalse tells whether a condition is present with status False. */
export function isFalse(c: ObjectCondition | undefined): c is ObjectCondition & { status: 'False' } {
  return c?.status === 'False';
}

/** conditionText renders a condition as `message` or, without one, `Type=Status (Reason)`. */
export function conditionText(c: ObjectCondition): string {
  if (c.message) return c.message;
  return c.reason ? `${c.type}=${c.status} (${c.reason})` : `${c.type}=${c.status}`;
}

/** conditionAge returns how long a condition has held its status, or undefined without a usable lastTransitionTime. */
export function conditionAge(c: ObjectCondition, now: Date): number | undefined {
  if (typeof c.lastTransitionTime !== 'string') return undefined;
  const since = Date.parse(c.lastTransitionTime);
  return Number.isNaN(since) ? undefined : now.getTime() - since;
}

/**
 * generationLag reports Progressing while the controller has not yet observed the latest spec, because
 * any status it shows describes an older spec. With `requireObserved`, a status without
 * observedGeneration (the controller never wrote one) counts as lag too, as for built-in kinds whose
 * controllers always write it; for arbitrary kinds a missing field means "not reported", not "behind".
 */
export function generationLag(obj: KubeObject, requireObserved: boolean): HealthResult | undefined {
  const generation = numberAt(obj, 'metadata', 'generation');
  const observed = numberAt(obj, 'status', 'observedGeneration');
  if (observed === undefined || observed === 0) {
    if (!requireObserved) return undefined;
    return health(
      'Progressing',
      HealthReasons.generationNotObserved,
      'waiting for the controller to report status',
    );
  }
  if (generation !== undefined && generation > observed) {
    return health(
      'Progressing',
      HealthReasons.generationNotObserved,
      `waiting for the controller to observe generation ${generation} (observed ${observed})`,
    );
  }
  return undefined;
}

export { plural } from '../api/text.ts';
