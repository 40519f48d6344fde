/** Health of gateway.networking.k8s.io Gateway and routes (HTTPRoute, GRPCRoute and the other xRoutes). */
import { conditionsOf } from '../api/object.ts';
import type { KubeObject, ObjectCondition } from '../api/object.ts';
import {
  conditionList,
  conditionText,
  findIn,
  isFalse,
  isTrue,
  numberAt,
  recordsAt,
  stringAt,
} from './fields.ts';
import { health, HealthReasons, reasonOr } from './result.ts';
import type { HealthResult } from './result.ts';

// Conditions whose Degraded meaning is False (ResolvedRefs, Accepted) or True (Conflicted).
function failureOf(conditions: ObjectCondition[]): ObjectCondition | undefined {
  const refs = findIn(conditions, 'ResolvedRefs');
  if (isFalse(refs)) return refs;
  const accepted = findIn(conditions, 'Accepted');
  if (isFalse(accepted)) return accepted;
  const conflicted = findIn(conditions, 'Conflicted');
  return isTrue(conflicted) ? conflicted : undefined;
}

function failureReason(c: ObjectCondition): string {
  const fallback =
    c.type === 'ResolvedRefs'
      ? HealthReasons.refsNotResolved
      : c.type === 'Conflicted'
        ? HealthReasons.listenerConflicted
        : HealthReasons.notAccepted;
  return reasonOr(c.reason, fallback);
}

function isStale(c: ObjectCondition | undefined, generation: number | undefined): boolean {
  return (
    c !== undefined &&
    generation !== undefined &&
    c.observedGeneration !== undefined &&
    c.observedGeneration < generation
  );
}

/**
 * gatewayHealth follows Argo CD (ResolvedRefs or Accepted False on the Gateway or a listener -> Degraded;
 * Programmed not True -> Progressing) and adds two checks an operator expects: a listener Conflicted=True
 * serves nothing, so it is Degraded; and conditions written for an older generation say nothing
 * about the current spec, so they are Progressing, as for routes.
 */
export function gatewayHealth(obj: KubeObject, _now: Date): HealthResult {
  const generation = numberAt(obj, 'metadata', 'generation');
  const conditions = conditionsOf(obj);
  const accepted = findIn(conditions, 'Accepted');
  const programmed = findIn(conditions, 'Programmed');
  if (isStale(accepted, generation) || isStale(programmed, generation)) {
    return health(
      'Progressing',
      HealthReasons.generationNotObserved,
      `waiting for the gateway controller to observe generation ${generation}`,
    );
  }
  const failure = failureOf(conditions);
  if (failure) return health('Degraded', failureReason(failure), conditionText(failure));

  const listeners = recordsAt(obj, 'status', 'listeners').map((l) => ({
    name: stringAt(l, 'name') ?? '?',
    conditions: conditionList(l['conditions']),
  }));
  for (const listener of listeners) {
    const listenerFailure = failureOf(listener.conditions);
    if (listenerFailure) {
      return health(
        'Degraded',
        failureReason(listenerFailure),
        `listener ${listener.name}: ${conditionText(listenerFailure)}`,
      );
    }
  }
  if (programmed && !isTrue(programmed)) {
    return health(
      'Progressing',
      reasonOr(programmed.reason, HealthReasons.notProgrammed),
      conditionText(programmed),
    );
  }
  for (const listener of listeners) {
    const listenerProgrammed = findIn(listener.conditions, 'Programmed');
    if (listenerProgrammed && !isTrue(listenerProgrammed)) {
      return health(
        'Progressing',
        reasonOr(listenerProgrammed.reason, HealthReasons.notProgrammed),
        `listener ${listener.name}: ${conditionText(listenerProgrammed)}`,
      );
    }
  }
  if (conditions.length === 0 && listeners.length === 0) {
    return health('Progressing', HealthReasons.waitingForStatus, 'waiting for the gateway controller');
  }
  const addresses = recordsAt(obj, 'status', 'addresses')
    .map((a) => stringAt(a, 'value'))
    .filter((a): a is string => a !== undefined);
  return health(
    'Healthy',
    HealthReasons.programmed,
    addresses.length > 0 ? `programmed at ${addresses.join(', ')}` : 'programmed',
  );
}

interface RouteParent {
  name: string;
  conditions: ObjectCondition[];
}

/**
 * routeHealth serves HTTPRoute, GRPCRoute and the other xRoutes, as Argo CD does: only parents with a
 * condition for the current generation count (a controller that dropped the route leaves stale entries
 * behind); among them ResolvedRefs or Accepted False -> Degraded, Programmed not True -> Progressing,
 * and the route is Healthy once at least one current parent reports.
 */
export function routeHealth(obj: KubeObject, _now: Date): HealthResult {
  const generation = numberAt(obj, 'metadata', 'generation');
  const parents: RouteParent[] = recordsAt(obj, 'status', 'parents').map((p) => {
    const name = stringAt(p, 'parentRef', 'name') ?? '?';
    const section = stringAt(p, 'parentRef', 'sectionName');
    return { name: section ? `${name}/${section}` : name, conditions: conditionList(p['conditions']) };
  });
  const current = parents.filter(
    (p) =>
      p.conditions.length > 0 &&
      (generation === undefined || p.conditions.some((c) => c.observedGeneration === generation)),
  );
  for (const parent of current) {
    const failure = failureOf(parent.conditions);
    if (failure) {
      return health('Degraded', failureReason(failure), `parent ${parent.name}: ${conditionText(failure)}`);
    }
  }
  for (const parent of current) {
    const programmed = findIn(parent.conditions, 'Programmed');
    if (programmed && !isTrue(programmed)) {
      return health(
        'Progressing',
        reasonOr(programmed.reason, HealthReasons.notProgrammed),
        `parent ${parent.name}: ${conditionText(programmed)}`,
      );
    }
  }
  if (current.length > 0) {
    return health('Healthy', HealthReasons.accepted, `accepted by ${current.map((p) => p.name).join(', ')}`);
  }
  if (generation !== undefined && parents.some((p) => p.conditions.length > 0)) {
    return health(
      'Progressing',
      HealthReasons.generationNotObserved,
      `waiting for parents to observe generation ${generation}`,
    );
  }
  return health(
    'Progressing',
    HealthReasons.waitingForStatus,
    'waiting for a parent gateway to accept the route',
  );
}
