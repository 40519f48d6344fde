/** Health of policy PodDisruptionBudget. */
import { findCondition } from '../api/object.ts';
import type { KubeObject } from '../api/object.ts';
import { conditionText, generationLag, isTrue, numberAt, plural } from './fields.ts';
import { health, HealthReasons, reasonOr } from './result.ts';
import type { HealthResult } from './result.ts';

/**
 * podDisruptionBudgetHealth is Degraded only when the disruption controller cannot evaluate the budget
 * (DisruptionAllowed=False other than InsufficientPods, as in Argo CD). Zero allowed disruptions, or
 * currentHealthy < desiredHealthy, is the budget doing its job while the protected workload is short:
 * that workload reports its own health, and calling the PDB Degraded would double-count it on every
 * rollout and first deploy.
 */
export function podDisruptionBudgetHealth(obj: KubeObject, _now: Date): HealthResult {
  const lag = generationLag(obj, true);
  if (lag) return lag;
  const allowed = findCondition(obj, 'DisruptionAllowed');
  if (!allowed || allowed.status === 'Unknown') {
    return health('Progressing', HealthReasons.waitingForController, 'waiting for the disruption controller');
  }
  if (!isTrue(allowed) && allowed.reason !== 'InsufficientPods') {
    return health(
      'Degraded',
      reasonOr(allowed.reason, HealthReasons.disruptionCheckFailed),
      conditionText(allowed),
    );
  }
  const expected = numberAt(obj, 'status', 'expectedPods') ?? 0;
  const current = numberAt(obj, 'status', 'currentHealthy') ?? 0;
  const desired = numberAt(obj, 'status', 'desiredHealthy') ?? 0;
  const disruptions = numberAt(obj, 'status', 'disruptionsAllowed') ?? 0;
  const reason = isTrue(allowed) ? HealthReasons.sufficientPods : HealthReasons.insufficientPods;
  if (expected === 0) return health('Healthy', reason, 'no pods match the selector');
  return health(
    'Healthy',
    reason,
    `${plural(disruptions, 'disruption')} allowed (${current}/${expected} pods healthy, ${desired} required)`,
  );
}
