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
