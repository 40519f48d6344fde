/** Health of serving.knative.dev kinds: Service, Route, Configuration, Revision. */
import type { KubeObject } from '../api/object.ts';
import { readyConditionHealth } from './conditions.ts';
import { generationLag } from './fields.ts';
import type { HealthResult } from './result.ts';

/**
 * knativeHealth follows Knative's condition contract (knative.dev/pkg/apis/duck): a spec not yet
 * observed is Progressing; Ready is the happy condition that summarises the others, so True is
 * Healthy, Unknown is Progressing (Deploying, a Revision not yet ready) and False is Degraded
 * (RevisionFailed, RevisionMissing, ContainerMissing, ProgressDeadlineExceeded). Conditions with a
 * Warning or Info severity do not feed Ready and are ignored, and a Revision scaled to zero
 * (`Active=False`, NoTraffic) stays Ready.
 */
export function knativeHealth(obj: KubeObject, _now: Date): HealthResult {
  const lag = generationLag(obj, true);
  if (lag) return lag;
  return readyConditionHealth(obj, { waiting: `waiting for Knative to reconcile the ${obj.kind}` });
}
