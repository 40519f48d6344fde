/** Health of apiextensions.k8s.io CustomResourceDefinition. */
import { conditionsOf } from '../api/object.ts';
import type { KubeObject } from '../api/object.ts';
import { conditionText, findIn, isFalse, isTrue } from './fields.ts';
import { health, HealthReasons, reasonOr } from './result.ts';
import type { HealthResult } from './result.ts';

/** customResourceDefinitionHealth follows kstatus: a name conflict or a failed establishment is Degraded. */
export function customResourceDefinitionHealth(obj: KubeObject, _now: Date): HealthResult {
  const conditions = conditionsOf(obj);
  const names = findIn(conditions, 'NamesAccepted');
  if (isFalse(names)) {
    return health('Degraded', reasonOr(names.reason, HealthReasons.namesNotAccepted), conditionText(names));
  }
  const established = findIn(conditions, 'Established');
  // Installing is the normal, brief False between creation and the API server serving the kind.
  if (isFalse(established) && established.reason !== 'Installing') {
    return health(
      'Degraded',
      reasonOr(established.reason, HealthReasons.notEstablished),
      conditionText(established),
    );
  }
  if (isTrue(established))
    return health('Healthy', HealthReasons.established, 'names accepted and established');
  return health(
    'Progressing',
    HealthReasons.installing,
    established ? conditionText(established) : 'waiting for the API server to establish the kind',
  );
}
