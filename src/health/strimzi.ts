/** Health of kafka.strimzi.io kinds: Kafka, KafkaTopic, KafkaUser. */
import type { KubeObject } from '../api/object.ts';
import { annotationIs, trueCondition } from './conditions.ts';
import { conditionText, generationLag } from './fields.ts';
import { health, HealthReasons, reasonOr } from './result.ts';
import type { HealthResult } from './result.ts';

const PAUSE_ANNOTATION = 'strimzi.io/pause-reconciliation';

// Strimzi puts the Java exception's simple class name into the NotReady reason when a reconciliation
// fails (InvalidResourceException, TimeoutException after operationTimeoutMs, ...); a new Kafka's
// first status is NotReady with the plain reason Deploying.
function isFailure(reason: string | undefined): boolean {
  return reason !== undefined && /(Exception|Error|Failed|Failure)$/.test(reason);
}

/**
 * strimziHealth: `strimzi.io/pause-reconciliation` (condition `ReconciliationPaused=True`) is
 * Suspended; a spec not yet observed is Progressing; `Ready=True` is Healthy (a `Warning` condition,
 * such as a deprecated field, rides along in the message); `NotReady=True` is Degraded when its reason
 * is an exception, else Progressing.
 */
export function strimziHealth(obj: KubeObject, _now: Date): HealthResult {
  const paused = trueCondition(obj, 'ReconciliationPaused');
  if (paused || annotationIs(obj, PAUSE_ANNOTATION, 'true')) {
    return health(
      'Suspended',
      HealthReasons.reconcilePaused,
      paused ? conditionText(paused) : `reconciliation paused (${PAUSE_ANNOTATION})`,
    );
  }
  // Not `requireObserved`: Strimzi's first status (NotReady, Deploying) says observedGeneration 0.
  const lag = generationLag(obj, false);
  if (lag) return lag;
  const ready = trueCondition(obj, 'Ready');
  if (ready) {
    const warning = trueCondition(obj, 'Warning');
    return health(
      'Healthy',
      HealthReasons.ready,
      warning ? `ready; warning: ${conditionText(warning)}` : conditionText(ready),
    );
  }
  const notReady = trueCondition(obj, 'NotReady');
  if (notReady) {
    return health(
      isFailure(notReady.reason) ? 'Degraded' : 'Progressing',
      reasonOr(notReady.reason, HealthReasons.notReady),
      conditionText(notReady),
    );
  }
  return health(
    'Progressing',
    HealthReasons.waitingForStatus,
    `waiting for Strimzi to reconcile the ${obj.kind}`,
  );
}
