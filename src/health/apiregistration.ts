/** Health of apiregistration.k8s.io APIService. */
import { findCondition } from '../api/object.ts';
import type { KubeObject } from '../api/object.ts';
import { conditionAge, conditionText, isTrue } from './fields.ts';
import { health, HealthReasons, reasonOr } from './result.ts';
import type { HealthResult } from './result.ts';

// Reasons the aggregator gives when the backing server cannot answer discovery. Each also appears
// while the backing pods start, so they become a failure only after DISCOVERY_DEADLINE_MS.
const DISCOVERY_FAILURES = new Set(['FailedDiscoveryCheck', 'MissingEndpoints', 'ServiceNotFound']);

/** DISCOVERY_DEADLINE_MS is how long an APIService may fail discovery before it is Degraded: the Deployment controller's default progress deadline (600 s), since the backing server is usually a Deployment. */
export const DISCOVERY_DEADLINE_MS = 600 * 1000;

/**
 * apiServiceHealth: Available=True is Healthy. MissingEndpoints, ServiceNotFound or
 * FailedDiscoveryCheck cannot tell a slow start from a broken server (Argo CD leaves them
 * Progressing for ever), so they are Progressing until the condition has held for
 * DISCOVERY_DEADLINE_MS and Degraded after (a broken metrics-server otherwise never shows). Without a
 * usable lastTransitionTime the age is unknown and the APIService stays Progressing.
 */
export function apiServiceHealth(obj: KubeObject, now: Date): HealthResult {
  const available = findCondition(obj, 'Available');
  if (isTrue(available)) return health('Healthy', HealthReasons.available, conditionText(available));
  if (available) {
    const reason = reasonOr(available.reason, HealthReasons.notAvailable);
    const detail = available.message ? `${reason}: ${available.message}` : conditionText(available);
    const age = conditionAge(available, now);
    if (
      available.status === 'False' &&
      available.reason !== undefined &&
      DISCOVERY_FAILURES.has(available.reason) &&
      age !== undefined &&
      age >= DISCOVERY_DEADLINE_MS
    ) {
      const minutes = Math.floor(age / 60_000);
      return health('Degraded', reason, `unavailable for ${minutes} min: ${detail}`);
    }
    return health('Progressing', reason, detail);
  }
  return health(
    'Progressing',
    HealthReasons.waitingForStatus,
    'waiting for the aggregator to check availability',
  );
}
