/**
 * The CEL engine of HealthRules: a rule's expressions are parsed and type-checked once (a bad one
 * is a RuleCompileError naming its field, reported on the HealthRule), then evaluated against each
 * live object as Flux's `healthCheckExprs` means them. Pure and synchronous; the time limit of an
 * evaluation is the sandbox's (sandbox.ts), the static limits here bound what one expression can ask.
 *
 * Library: @marcbachmann/cel-js, pinned. It has no dependencies (about 290 KiB), is released
 * often, parses and type-checks at compile time, and supports the optional-field syntax
 * (`status.?foo.orValue(...)`); @bufbuild/cel 0.6.1 rejects `.?` at parse time and pulls in about
 * 11 MiB (protobuf, the CEL spec, an RE2 port). Both read a JavaScript number as a CEL double, so
 * `spec.replicas + 1` would fail with "no such overload"; integers are handed over as BigInt (CEL
 * int), as Kubernetes' own CEL reads integers of JSON.
 */
import { Environment, type TypeCheckResult } from '@marcbachmann/cel-js';
import { isRecord } from '../../api/object.ts';
import type { HealthStatus } from '../../api/v1alpha1/constants.ts';
import { health, type HealthResult } from '../result.ts';
import { firstLine } from './protocol.ts';
import { RuleCompileError, RuleReasons } from './result.ts';

/** CelRuleSpec is spec.cel of a HealthRule. */
export interface CelRuleSpec {
  inProgress?: string;
  failed?: string;
  current: string;
  suspended?: string;
  message?: string;
}

/**
 * CEL_LIMITS are the parse-time bounds of one expression: a health rule is a few comparisons, and
 * these keep a pasted monster (or an attempt at one) from costing more than the object's own size.
 */
export const CEL_LIMITS = {
  maxAstNodes: 512,
  maxDepth: 32,
  maxListElements: 64,
  maxMapEntries: 64,
  maxCallArguments: 8,
} as const;

/** MAX_COMPREHENSION_NESTING bounds nested exists/all/map/filter: each multiplies the cost by a list's length. */
export const MAX_COMPREHENSION_NESTING = 2;

const COMPREHENSIONS = new Set([
  'all',
  'exists',
  'exists_one',
  'existsOne',
  'map',
  'filter',
  'transformList',
  'transformMap',
]);

// One environment for every rule: the variables are the object's top-level fields, untyped maps.
const env = new Environment({
  enableOptionalTypes: true,
  homogeneousAggregateLiterals: false,
  limits: CEL_LIMITS,
})
  .registerVariable('metadata', 'map')
  .registerVariable('spec', 'map')
  .registerVariable('status', 'map');

type Program = (context: Record<string, unknown>) => unknown;

/** CompiledCel is a compiled spec.cel, in evaluation order. */
export interface CompiledCel {
  readonly checks: ReadonlyArray<{ field: string; status: HealthStatus; reason: string; program: Program }>;
  readonly message?: { field: string; program: Program };
}

// The order of evaluation; `suspended` first: a deliberate pause outranks whatever state the object
// paused in (a suspended Flux Kustomization keeps its last Ready=False), as Argo CD's rules put it.
const ORDER: ReadonlyArray<{ key: keyof CelRuleSpec; status: HealthStatus; reason: string }> = [
  { key: 'suspended', status: 'Suspended', reason: RuleReasons.suspended },
  { key: 'inProgress', status: 'Progressing', reason: RuleReasons.inProgress },
  { key: 'failed', status: 'Degraded', reason: RuleReasons.failed },
  { key: 'current', status: 'Healthy', reason: RuleReasons.current },
];

/** compileCel parses and type-checks every expression of spec.cel; the first bad one throws RuleCompileError naming its field. */
export function compileCel(spec: CelRuleSpec): CompiledCel {
  const checks: Array<CompiledCel['checks'][number]> = [];
  for (const { key, status, reason } of ORDER) {
    const source = spec[key];
    if (source === undefined) continue;
    checks.push({
      field: `spec.cel.${key}`,
      status,
      reason,
      program: compileOne(`spec.cel.${key}`, source, 'bool'),
    });
  }
  if (spec.message === undefined) return { checks };
  return {
    checks,
    message: { field: 'spec.cel.message', program: compileOne('spec.cel.message', spec.message, 'string') },
  };
}

function compileOne(field: string, source: string, want: 'bool' | 'string'): Program {
  let parsed: ReturnType<typeof env.parse>;
  let checked: TypeCheckResult;
  try {
    parsed = env.parse(source);
    checked = parsed.check();
  } catch (cause) {
    throw new RuleCompileError(field, firstLine(cause), { cause });
  }
  if (!checked.valid) throw new RuleCompileError(field, firstLine(checked.error));
  if (checked.type !== want && checked.type !== 'dyn')
    throw new RuleCompileError(field, `the expression is of type ${checked.type}; it must be ${want}`);
  const nesting = comprehensionNesting(parsed.ast);
  if (nesting > MAX_COMPREHENSION_NESTING)
    throw new RuleCompileError(
      field,
      `${nesting} nested comprehensions (exists, all, map, filter...); at most ${MAX_COMPREHENSION_NESTING}, as each one multiplies the cost by a list's length`,
    );
  return parsed;
}

// The AST of cel-js is {op, args}; a call is op 'call' or 'rcall' with its name first in args.
function comprehensionNesting(node: unknown): number {
  if (!isRecord(node)) return Array.isArray(node) ? Math.max(0, ...node.map(comprehensionNesting)) : 0;
  const args = node['args'];
  const inner = Array.isArray(args)
    ? Math.max(0, ...args.map(comprehensionNesting))
    : comprehensionNesting(args);
  const op = node['op'];
  const name: unknown = Array.isArray(args) ? args[0] : undefined;
  const isComprehension =
    (op === 'rcall' || op === 'call') && typeof name === 'string' && COMPREHENSIONS.has(name);
  return inner + (isComprehension ? 1 : 0);
}

/**
 * celContext binds the object's top-level fields, an absent one as an empty map (a new object has
 * no status yet: `has(status.x)` and `status.?x` then work, a plain `status.x` is an error).
 */
export function celContext(obj: Record<string, unknown>): Record<string, unknown> {
  return {
    metadata: toCel(obj['metadata'] ?? {}),
    spec: toCel(obj['spec'] ?? {}),
    status: toCel(obj['status'] ?? {}),
  };
}

// JSON integers become CEL ints (BigInt), other numbers stay doubles; nulls stay null.
function toCel(value: unknown): unknown {
  if (typeof value === 'number') return Number.isSafeInteger(value) ? BigInt(value) : value;
  if (Array.isArray(value)) return value.map(toCel);
  if (isRecord(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = toCel(v);
    return out;
  }
  return value;
}

/**
 * evaluateCel runs a compiled rule on an object: the first expression that is true decides
 * (suspended, inProgress, failed, current), none true is Progressing; an evaluation error is
 * Unknown with the error. `name` is the HealthRule's, for the message.
 */
export function evaluateCel(rule: CompiledCel, obj: Record<string, unknown>, name: string): HealthResult {
  const context = celContext(obj);
  let decided: { status: HealthStatus; reason: string; field: string } | undefined;
  for (const check of rule.checks) {
    let value: unknown;
    try {
      value = check.program(context);
    } catch (err) {
      return health(
        'Unknown',
        RuleReasons.evaluationFailed,
        `HealthRule ${name}: ${check.field}: ${firstLine(err)}`,
      );
    }
    if (value === true) {
      decided = check;
      break;
    }
    if (value !== false)
      return health(
        'Unknown',
        RuleReasons.evaluationFailed,
        `HealthRule ${name}: ${check.field} gave ${typeName(value)}, not a bool`,
      );
  }
  const outcome = decided ?? { status: 'Progressing' as const, reason: RuleReasons.noneTrue, field: '' };
  const fallback = decided
    ? `HealthRule ${name}: ${decided.field} is true`
    : `HealthRule ${name}: no expression is true yet`;
  return health(
    outcome.status,
    outcome.reason,
    rule.message ? messageOf(rule.message.program, context, fallback) : fallback,
  );
}

// A failing message expression must not hide the health it describes: the fallback says why.
function messageOf(program: Program, context: Record<string, unknown>, fallback: string): string {
  try {
    const value = program(context);
    return typeof value === 'string' && value.trim() !== '' ? value : fallback;
  } catch (err) {
    return `${fallback} (spec.cel.message failed: ${firstLine(err)})`;
  }
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'bigint') return 'an int';
  if (Array.isArray(value)) return 'a list';
  return `a ${typeof value}`;
}
