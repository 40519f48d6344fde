/** Reasons and errors shared by the HealthRule engines (CEL, Lua) and their registry. */

/**
 * RuleReasons are the reasons of a health computed by a HealthRule. A Lua rule's reason is the
 * status its script returned (Argo CD's scripts return no reason), prefixed `Lua`.
 */
export const RuleReasons = {
  /** spec.cel.suspended is true */
  suspended: 'RuleSuspended',
  /** spec.cel.inProgress is true */
  inProgress: 'RuleInProgress',
  /** spec.cel.failed is true */
  failed: 'RuleFailed',
  /** spec.cel.current is true */
  current: 'RuleCurrent',
  /** no CEL expression is true yet: Progressing, as Flux reads it */
  noneTrue: 'RuleNoneTrue',
  /** an expression or script failed on this object */
  evaluationFailed: 'RuleEvaluationFailed',
  /** the evaluation ran out of time or memory and was stopped */
  limitExceeded: 'RuleLimitExceeded',
  /** a Lua script returned status Missing (Argo CD's word for an object that is not there) */
  luaMissing: 'LuaMissing',
} as const;

/** RuleCompileError is a HealthRule that cannot be used; `field` is the spec field at fault (spec.cel.failed, spec.lua). */
export class RuleCompileError extends Error {
  constructor(
    readonly field: string,
    readonly detail: string,
    options?: ErrorOptions,
  ) {
    super(`${field}: ${detail}`, options);
    this.name = 'RuleCompileError';
  }
}
