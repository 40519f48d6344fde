/** The messages between the HealthRule sandbox (main thread) and its worker (worker.ts). */
import type { HealthResult } from '../result.ts';
import type { CelRuleSpec } from './cel.ts';

/** RuleSource is a rule as the worker compiles it: its id (the HealthRule's name) and one engine's source. */
export type RuleSource = { id: string; cel: CelRuleSpec } | { id: string; lua: string };

/** ToWorker is a request to the worker; each carries a sequence number its answer repeats. */
export type ToWorker =
  | { type: 'compile'; seq: number; rule: RuleSource }
  | { type: 'forget'; seq: number; id: string }
  | { type: 'evaluate'; seq: number; items: Array<{ id: string; obj: Record<string, unknown> }> };

/** FromWorker is the worker's answer to one request. */
export type FromWorker =
  | { type: 'ready'; seq: 0 }
  | { type: 'compiled'; seq: number; error?: { field: string; detail: string } }
  | { type: 'forgotten'; seq: number }
  | { type: 'evaluated'; seq: number; results: HealthResult[] }
  | { type: 'failed'; seq: number; message: string };

/** LuaLimits bound one evaluation of a script. */
export interface LuaLimits {
  /** timeoutMs stops a script that runs longer (an endless loop) */
  timeoutMs: number;
  /** memoryBytes caps the Lua heap of the engine (every rule's compiled code and one call's garbage) */
  memoryBytes: number;
}

/** DEFAULT_LUA_LIMITS are the limits of an evaluation: Argo CD's scripts take microseconds and kilobytes. */
export const DEFAULT_LUA_LIMITS: LuaLimits = { timeoutMs: 100, memoryBytes: 64 * 1024 * 1024 };

/** firstLine is an error's first line: cel-js appends a caret drawing of the source after it. */
export function firstLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return (text.split('\n')[0] ?? '').trim();
}
