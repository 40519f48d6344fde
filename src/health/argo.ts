/** Health of argoproj.io kinds: Argo Rollouts' Rollout and Argo CD's Application. */
import { conditionsOf } from '../api/object.ts';
import type { KubeObject } from '../api/object.ts';
import { boolAt, conditionText, field, findIn, isTrue, numberAt, recordsAt, stringAt } from './fields.ts';
import { health, HealthReasons, reasonOr } from './result.ts';
import type { HealthResult } from './result.ts';

function observedGeneration(obj: KubeObject): number | undefined {
  // Rollouts before v1.0 wrote status.observedGeneration as a string (a pod-template hash in v0.x);
  // only a decimal string is a generation.
  const v = field(obj, 'status', 'observedGeneration');
  if (typeof v === 'number') return v;
  return typeof v === 'string' && /^[0-9]+$/.test(v) ? Number(v) : undefined;
}

/**
 * rolloutHealth follows Argo Rollouts' own assessment (rollout/health.go, written to `status.phase`
 * since v1.0): a spec not yet observed is Progressing; `status.abort` or `InvalidSpec=True` or a
 * Progressing condition with `ProgressDeadlineExceeded` is Degraded; a pause (`spec.paused` or
 * `status.pauseConditions`, e.g. a canary step waiting for promotion) is Suspended; then the phase
 * the controller wrote decides, and without one the replica counts do, as for a Deployment.
 */
export function rolloutHealth(obj: KubeObject, _now: Date): HealthResult {
  const generation = numberAt(obj, 'metadata', 'generation');
  const observed = observedGeneration(obj);
  if (observed === undefined || (generation !== undefined && generation > observed)) {
    return health(
      'Progressing',
      HealthReasons.generationNotObserved,
      'waiting for the rollout controller to observe the spec',
    );
  }
  const conditions = conditionsOf(obj);
  const invalid = findIn(conditions, 'InvalidSpec');
  if (isTrue(invalid))
    return health('Degraded', reasonOr(invalid.reason, HealthReasons.invalidSpec), conditionText(invalid));
  if (boolAt(obj, 'status', 'abort') === true) {
    const message = stringAt(obj, 'status', 'message');
    return health('Degraded', HealthReasons.aborted, `rollout aborted${message ? `: ${message}` : ''}`);
  }
  const progressing = findIn(conditions, 'Progressing');
  if (progressing?.reason === 'ProgressDeadlineExceeded') {
    return health('Degraded', HealthReasons.progressDeadlineExceeded, conditionText(progressing));
  }
  const pauses = recordsAt(obj, 'status', 'pauseConditions');
  if (boolAt(obj, 'spec', 'paused') === true || pauses.length > 0) {
    const why = pauses.map((p) => stringAt(p, 'reason') ?? '?').join(', ');
    return health('Suspended', HealthReasons.paused, `rollout is paused${why ? ` (${why})` : ''}`);
  }
  const phase = stringAt(obj, 'status', 'phase');
  const message = stringAt(obj, 'status', 'message');
  switch (phase) {
    case 'Healthy':
      return health('Healthy', HealthReasons.ready, message ?? 'rollout is healthy');
    case 'Degraded':
      return health('Degraded', HealthReasons.degraded, message ?? 'rollout is degraded');
    case 'Paused':
      return health('Suspended', HealthReasons.paused, message ?? 'rollout is paused');
    case 'Progressing':
      return health('Progressing', HealthReasons.rolloutInProgress, message ?? 'rollout in progress');
    default:
      return rolloutReplicaHealth(obj);
  }
}

function rolloutReplicaHealth(obj: KubeObject): HealthResult {
  const desired = numberAt(obj, 'spec', 'replicas') ?? 1;
  const updated = numberAt(obj, 'status', 'updatedReplicas') ?? 0;
  const available = numberAt(obj, 'status', 'availableReplicas') ?? 0;
  const total = numberAt(obj, 'status', 'replicas') ?? 0;
  if (updated < desired) {
    return health('Progressing', HealthReasons.replicasNotUpdated, `${updated}/${desired} replicas updated`);
  }
  if (total > updated) {
    return health(
      'Progressing',
      HealthReasons.oldReplicasPending,
      `${total - updated} old replicas pending termination`,
    );
  }
  if (available < updated) {
    return health(
      'Progressing',
      HealthReasons.replicasUnavailable,
      `${available}/${updated} updated replicas available`,
    );
  }
  const stable = stringAt(obj, 'status', 'stableRS');
  const current = stringAt(obj, 'status', 'currentPodHash');
  if (stable !== undefined && current !== undefined && stable !== current) {
    return health(
      'Progressing',
      HealthReasons.rolloutInProgress,
      `waiting for revision ${current} to become stable`,
    );
  }
  return health('Healthy', HealthReasons.replicasAvailable, `${available}/${desired} replicas available`);
}

const ERROR_CONDITIONS = new Set(['ComparisonError', 'InvalidSpecError']);

const APPLICATION_HEALTH = new Map([
  ['Healthy', 'Healthy'],
  ['Progressing', 'Progressing'],
  ['Degraded', 'Degraded'],
  ['Suspended', 'Suspended'],
  // Argo CD's Missing (the app's resources do not exist yet) and Unknown both mean "cannot vouch".
  ['Missing', 'Unknown'],
  ['Unknown', 'Unknown'],
] as const);

/**
 * applicationHealth reads the health Argo CD computed for an Application (`status.health.status`),
 * as Argo CD's own app-of-apps check does; a failed or errored sync operation is Degraded even while
 * the old resources stay healthy, since the declared state was not applied, and so is a
 * ComparisonError or InvalidSpecError condition while the health is unknown.
 */
export function applicationHealth(obj: KubeObject, _now: Date): HealthResult {
  const operation = stringAt(obj, 'status', 'operationState', 'phase');
  if (operation === 'Failed' || operation === 'Error') {
    const message = stringAt(obj, 'status', 'operationState', 'message');
    return health(
      'Degraded',
      operation === 'Failed' ? HealthReasons.syncFailed : HealthReasons.syncError,
      `sync ${operation.toLowerCase()}${message ? `: ${message}` : ''}`,
    );
  }
  // Application conditions carry no status field (their presence is the signal), so they are read
  // as plain records rather than through conditionsOf.
  const comparisonError = recordsAt(obj, 'status', 'conditions').find((c) =>
    ERROR_CONDITIONS.has(stringAt(c, 'type') ?? ''),
  );
  const app = stringAt(obj, 'status', 'health', 'status');
  const status = app === undefined ? undefined : APPLICATION_HEALTH.get(app as 'Healthy');
  if (comparisonError && (status === undefined || status === 'Unknown')) {
    // Argo CD cannot even render the desired state (repository or manifest error): nothing it
    // reports about health can be current.
    const type = stringAt(comparisonError, 'type') ?? 'ComparisonError';
    return health(
      'Degraded',
      reasonOr(type, HealthReasons.failed),
      stringAt(comparisonError, 'message') ?? type,
    );
  }
  if (status === undefined) {
    return health(
      'Progressing',
      HealthReasons.waitingForStatus,
      'waiting for Argo CD to assess the application',
    );
  }
  const sync = stringAt(obj, 'status', 'sync', 'status');
  const detail = stringAt(obj, 'status', 'health', 'message');
  const message = `application ${app}${sync ? `, sync ${sync}` : ''}${detail ? `: ${detail}` : ''}`;
  return health(status, reasonOr(app, HealthReasons.ready), message);
}
