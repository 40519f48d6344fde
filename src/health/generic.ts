/** Health of every kind without a specific rule, from the conventions most controllers follow. */
import { conditionsOf } from '../api/object.ts';
import type { KubeObject, ObjectCondition } from '../api/object.ts';
import { conditionText, findIn, generationLag, isTrue, numberAt } from './fields.ts';
import { health, HealthReasons, reasonOr } from './result.ts';
import type { HealthResult } from './result.ts';

// Abnormal-true conditions: True means the object failed (kstatus Stalled, common Failed/Degraded).
const FAILURE_CONDITIONS = [
  ['Stalled', HealthReasons.stalled],
  ['Failed', HealthReasons.failed],
  ['Degraded', HealthReasons.degraded],
] as const;

// A CamelCase word in a reason that names a failure, e.g. InstallFailed, ReconciliationError,
// InvalidSpec, ImagePullBackOff. Whole words only, so Failover or Errata do not match.
const FAILURE_WORD =
  /(?:^|[a-z0-9_])(?:Fail(?:ed|ure)?|Error|Invalid|Denied|Forbidden|Crash|Degraded|Back[Oo]ff)(?=[A-Z_]|$)/;

/** isFailureReason tells whether a condition reason names a failure rather than a wait. */
export function isFailureReason(reason: string | undefined): boolean {
  return reason !== undefined && FAILURE_WORD.test(reason);
}

function isStale(c: ObjectCondition, generation: number | undefined): boolean {
  return generation !== undefined && c.observedGeneration !== undefined && c.observedGeneration < generation;
}

/**
 * genericHealth applies kstatus's conventions (generation lag and Reconciling -> Progressing, Stalled
 * -> Degraded, Ready decides, nothing -> Healthy) with two changes. Ready=False (or Available=False)
 * whose reason names a failure is Degraded: kstatus calls every Ready=False InProgress, which hides
 * terminal errors of the many controllers that never set Stalled. A Ready condition written for an
 * older generation is Progressing, since it describes a spec that no longer exists.
 */
export function genericHealth(obj: KubeObject, _now: Date): HealthResult {
  const lag = generationLag(obj, false);
  if (lag) return lag;
  const conditions = conditionsOf(obj);
  for (const [type, fallback] of FAILURE_CONDITIONS) {
    const c = findIn(conditions, type);
    if (isTrue(c)) return health('Degraded', reasonOr(c.reason, fallback), conditionText(c));
  }
  const reconciling = findIn(conditions, 'Reconciling');
  if (isTrue(reconciling)) {
    return health(
      'Progressing',
      reasonOr(reconciling.reason, HealthReasons.reconciling),
      conditionText(reconciling),
    );
  }

  const decider = findIn(conditions, 'Ready') ?? findIn(conditions, 'Available');
  if (decider) {
    const generation = numberAt(obj, 'metadata', 'generation');
    if (isStale(decider, generation)) {
      return health(
        'Progressing',
        HealthReasons.generationNotObserved,
        `${decider.type} describes generation ${decider.observedGeneration}, not ${generation}`,
      );
    }
    if (isTrue(decider)) {
      const reason = decider.type === 'Ready' ? HealthReasons.ready : HealthReasons.available;
      return health('Healthy', reason, conditionText(decider));
    }
    const fallback = decider.type === 'Ready' ? HealthReasons.notReady : HealthReasons.notAvailable;
    const status = decider.status === 'False' && isFailureReason(decider.reason) ? 'Degraded' : 'Progressing';
    return health(status, reasonOr(decider.reason, fallback), conditionText(decider));
  }
  return health(
    'Healthy',
    HealthReasons.noHealthSignal,
    `no health signal; a ${obj.kind} that exists counts as healthy`,
  );
}
