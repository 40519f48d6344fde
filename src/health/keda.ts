/** Health of keda.sh kinds: ScaledObject and ScaledJob. */
import type { KubeObject } from '../api/object.ts';
import { annotationIs, readyConditionHealth, trueCondition } from './conditions.ts';
import { conditionText, field } from './fields.ts';
import { health, HealthReasons, reasonOr } from './result.ts';
import type { HealthResult } from './result.ts';

const PAUSED_ANNOTATION = 'autoscaling.keda.sh/paused';
const PAUSED_REPLICAS_ANNOTATION = 'autoscaling.keda.sh/paused-replicas';

/**
 * kedaHealth: a pause (the `autoscaling.keda.sh/paused` or `paused-replicas` annotation, reported as
 * `Paused=True`) is Suspended; `Fallback=True` is Degraded (the scaler fails and KEDA holds the
 * fallback replica count); then Ready decides (False is `ScaledObjectCheckFailed` or a trigger error).
 * `Active=False` is normal: no events, scaled to the minimum.
 */
export function kedaHealth(obj: KubeObject, _now: Date): HealthResult {
  const paused = trueCondition(obj, 'Paused');
  const pausedReplicas = field(obj, 'metadata', 'annotations', PAUSED_REPLICAS_ANNOTATION);
  if (paused || annotationIs(obj, PAUSED_ANNOTATION, 'true') || typeof pausedReplicas === 'string') {
    return health(
      'Suspended',
      HealthReasons.paused,
      paused
        ? conditionText(paused)
        : `autoscaling paused${typeof pausedReplicas === 'string' ? ` at ${pausedReplicas} replicas` : ''}`,
    );
  }
  const fallback = trueCondition(obj, 'Fallback');
  if (fallback) {
    return health(
      'Degraded',
      reasonOr(fallback.reason, HealthReasons.fallbackActive),
      conditionText(fallback),
    );
  }
  return readyConditionHealth(obj, { waiting: `waiting for KEDA to check the ${obj.kind}` });
}
