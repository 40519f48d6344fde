/** Health of postgresql.cnpg.io Cluster (CloudNativePG). */
import type { KubeObject } from '../api/object.ts';
import { trueCondition } from './conditions.ts';
import { conditionText, numberAt, stringAt } from './fields.ts';
import { health, HealthReasons } from './result.ts';
import type { HealthResult } from './result.ts';

// CloudNativePG writes its phase as a sentence (api/v1/cluster_types.go).
const HEALTHY_PHASE = 'Cluster in healthy state';
// Phases that wait for a human: the operator will not get out of them by itself.
const DEGRADED_PHASES = new Set([
  'Cluster is in an unrecoverable state, needs manual intervention',
  'Unable to create required cluster objects',
  'Cluster cannot proceed to reconciliation due to an unknown image catalog',
  'Cluster cannot proceed to reconciliation due to an unknown plugin being required',
  'Cluster cannot proceed to reconciliation due to an error while interacting with plugins',
  'Cluster cannot execute instance online upgrade due to missing architecture binary',
  'Waiting for user action',
]);
const HIBERNATION_CONDITION = 'cnpg.io/hibernation';

/**
 * cnpgClusterHealth: a hibernated cluster (`cnpg.io/hibernation: on`, reported by the
 * `cnpg.io/hibernation` condition) is Suspended; "Cluster in healthy state" is Healthy; the phases
 * that need manual intervention are Degraded; every other phase (setting up the primary, creating a
 * replica, switchover, failover, upgrades) is the operator at work: Progressing, with the ready
 * instance count.
 */
export function cnpgClusterHealth(obj: KubeObject, _now: Date): HealthResult {
  const hibernated = trueCondition(obj, HIBERNATION_CONDITION);
  if (hibernated) return health('Suspended', HealthReasons.hibernated, conditionText(hibernated));
  const phase = stringAt(obj, 'status', 'phase');
  const reason = stringAt(obj, 'status', 'phaseReason');
  const instances = numberAt(obj, 'spec', 'instances');
  const ready = numberAt(obj, 'status', 'readyInstances') ?? 0;
  const counts = instances === undefined ? '' : ` (${ready}/${instances} instances ready)`;
  if (phase === undefined) {
    return health(
      'Progressing',
      HealthReasons.waitingForStatus,
      'waiting for CloudNativePG to report a phase',
    );
  }
  const text = `${phase}${reason ? `: ${reason}` : ''}${counts}`;
  if (phase === HEALTHY_PHASE) return health('Healthy', HealthReasons.ready, text);
  if (DEGRADED_PHASES.has(phase)) return health('Degraded', HealthReasons.unrecoverable, text);
  return health('Progressing', HealthReasons.phase, text);
}
