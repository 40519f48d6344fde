/**
 * Building blocks shared by the rules of custom resources (cert-manager, Flux, External Secrets, KEDA,
 * Crossplane, Knative, Strimzi, Prometheus operator): most of them report health through a `Ready`
 * condition and differ only in which reasons mean "still working" and in how they pause.
 */
import { conditionsOf } from '../api/object.ts';
import type { KubeObject, ObjectCondition } from '../api/object.ts';
import { conditionText, findIn, isTrue, numberAt } from './fields.ts';
import { health, HealthReasons, reasonOr } from './result.ts';
import type { HealthResult } from './result.ts';

/** ReadyRuleOptions tunes readyConditionHealth for one family. */
export interface ReadyRuleOptions {
  /** waitingReasons are reasons of `Ready=False` that mean the controller is still working, not failing. */
  waitingReasons?: ReadonlySet<string>;
  /** waiting is the message while the controller has not written the condition yet. */
  waiting: string;
}

/**
 * staleCondition reports Progressing when a condition was written for an older generation: it
 * describes a spec that no longer exists, so neither its True nor its False can be trusted.
 */
export function staleCondition(obj: KubeObject, c: ObjectCondition): HealthResult | undefined {
  const generation = numberAt(obj, 'metadata', 'generation');
  const observed = c.observedGeneration;
  if (generation === undefined || typeof observed !== 'number' || observed >= generation) return undefined;
  return health(
    'Progressing',
    HealthReasons.generationNotObserved,
    `${c.type} describes generation ${observed}, not ${generation}`,
  );
}

/**
 * readyConditionHealth maps the Ready condition: True is Healthy (reason Ready; the cluster's own
 * reasons are kept for the states that need attention), Unknown Progressing, False
 * Degraded unless its reason is one the family documents as a wait; no condition yet is Progressing.
 */
export function readyConditionHealth(obj: KubeObject, options: ReadyRuleOptions): HealthResult {
  const conditions = conditionsOf(obj);
  const c = findIn(conditions, 'Ready');
  if (!c) return health('Progressing', HealthReasons.waitingForStatus, options.waiting);
  const stale = staleCondition(obj, c);
  if (stale) return stale;
  if (isTrue(c)) return health('Healthy', HealthReasons.ready, conditionText(c));
  if (c.status === 'False' && !(c.reason !== undefined && options.waitingReasons?.has(c.reason))) {
    return health('Degraded', reasonOr(c.reason, HealthReasons.notReady), conditionText(c));
  }
  return health('Progressing', reasonOr(c.reason, HealthReasons.notReady), conditionText(c));
}

/** trueCondition returns the first of the given condition types that is True. */
export function trueCondition(obj: KubeObject, ...types: string[]): ObjectCondition | undefined {
  const conditions = conditionsOf(obj);
  for (const type of types) {
    const c = findIn(conditions, type);
    if (isTrue(c)) return c;
  }
  return undefined;
}

/** annotationIs tells whether an annotation is set to a value, ignoring case (operators write "True" and "true"). */
export function annotationIs(obj: KubeObject, key: string, value: string): boolean {
  const annotations: unknown = obj.metadata.annotations;
  if (typeof annotations !== 'object' || annotations === null) return false;
  const v = (annotations as Record<string, unknown>)[key];
  return typeof v === 'string' && v.toLowerCase() === value;
}
