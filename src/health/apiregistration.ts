/** Health of apiregistration.k8s.io APIService. */
import { findCondition } from '../api/object.ts';
import type { KubeObject } from '../api/object.ts';
import { conditionText, isTrue } from './fields.ts';
import { health, HealthReasons, reasonOr } from './result.ts';
import type { HealthResult } from './result.ts';

/**
 * apiServiceHealth follows Argo CD: Available=True is Healthy, anything else Progressing. The aggregator
 * reports MissingEndpoints or FailedDiscoveryCheck for as long as the backing pods start, so those
 * reasons cannot tell a slow start from a broken server; the message carries them.
 */
export function apiServiceHealth(obj: KubeObject, _now: Date): HealthResult {
  const available = findCondition(obj, 'Available');
  if (isTrue(available)) return health('Healthy', HealthReasons.available, conditionText(available));
  if (available) {
    const reason = reasonOr(available.reason, HealthReasons.notAvailable);
    return health(
      'Progressing',
      reason,
      available.message ? `${reason}: ${available.message}` : conditionText(available),
    );
  }
  return health(
    'Progressing',
    HealthReasons.waitingForStatus,
    'waiting for the aggregator to check availability',
  );
}
