/** Health of monitoring.coreos.com kinds (Prometheus operator): Prometheus, Alertmanager (and ThanosRuler, PrometheusAgent). */
import { conditionsOf } from '../api/object.ts';
import type { KubeObject } from '../api/object.ts';
import { staleCondition } from './conditions.ts';
import { boolAt, conditionText, findIn, isFalse, isTrue, numberAt } from './fields.ts';
import { health, HealthReasons, reasonOr } from './result.ts';
import type { HealthResult } from './result.ts';

/**
 * prometheusOperatorHealth: `spec.paused` is Suspended (the operator stops managing the StatefulSet);
 * `Reconciled=False` is Degraded (the operator cannot generate or apply the configuration);
 * `Available` is True, False (no pod ready: Progressing, the StatefulSet is rolling or starting) or
 * the operator's own third value `Degraded` (some pods unavailable: Degraded, unless
 * `status.updatedReplicas` is below `status.replicas`, a rollout replacing pods one by one).
 */
export function prometheusOperatorHealth(obj: KubeObject, _now: Date): HealthResult {
  if (boolAt(obj, 'spec', 'paused') === true) {
    return health('Suspended', HealthReasons.paused, `${obj.kind} is paused (spec.paused)`);
  }
  const conditions = conditionsOf(obj);
  const reconciled = findIn(conditions, 'Reconciled');
  const available = findIn(conditions, 'Available');
  const stale = [reconciled, available].map((c) => c && staleCondition(obj, c)).find((r) => r !== undefined);
  if (stale) return stale;
  if (isFalse(reconciled)) {
    return health(
      'Degraded',
      reasonOr(reconciled.reason, HealthReasons.reconciliationFailed),
      conditionText(reconciled),
    );
  }
  const counts = replicaCounts(obj);
  if (!available) {
    return health(
      'Progressing',
      HealthReasons.waitingForStatus,
      `waiting for the operator to report availability${counts}`,
    );
  }
  if (isTrue(available)) return health('Healthy', HealthReasons.available, `all replicas available${counts}`);
  if (available.status === 'Degraded') {
    // A StatefulSet rolling its pods one by one makes some unavailable on purpose.
    const updated = numberAt(obj, 'status', 'updatedReplicas');
    const replicas = numberAt(obj, 'status', 'replicas');
    const rolling = updated !== undefined && replicas !== undefined && updated < replicas;
    return health(
      rolling ? 'Progressing' : 'Degraded',
      reasonOr(available.reason, HealthReasons.degraded),
      `${conditionText(available)}${counts}`,
    );
  }
  return health(
    'Progressing',
    reasonOr(available.reason, HealthReasons.notAvailable),
    `${conditionText(available)}${counts}`,
  );
}

function replicaCounts(obj: KubeObject): string {
  const available = numberAt(obj, 'status', 'availableReplicas');
  const replicas = numberAt(obj, 'status', 'replicas');
  return available === undefined || replicas === undefined ? '' : ` (${available}/${replicas} available)`;
}
