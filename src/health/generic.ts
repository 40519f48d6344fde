/** Health of every kind without a specific rule, from the conventions most controllers follow. */
import { conditionsOf } from '../api/object.ts';
import type { KubeObject, ObjectCondition } from '../api/object.ts';
import {
  boolAt,
  conditionText,
  findIn,
  generationLag,
  isFalse,
  isTrue,
  numberAt,
  stringAt,
} from './fields.ts';
import { health, HealthReasons, reasonOr } from './result.ts';
import type { HealthResult } from './result.ts';

// Abnormal-true conditions: True means the object failed (kstatus Stalled, common Failed/Degraded).
const FAILURE_CONDITIONS = [
  ['Stalled', HealthReasons.stalled],
  ['Failed', HealthReasons.failed],
  ['Degraded', HealthReasons.degraded],
] as const;

// A CamelCase word in a reason that names a failure, e.g. InstallFailed, ReconciliationError,
// InvalidSpec, ImagePullBackOff. Whole words only, so Failover or Errata do not match.
const FAILURE_WORD =
  /(?:^|[a-z0-9_])(?:Fail(?:ed|ure)?|Error|Invalid|Denied|Forbidden|Crash|Degraded|Back[Oo]ff)(?=[A-Z_]|$)/;

/** isFailureReason tells whether a condition reason names a failure rather than a wait. */
export function isFailureReason(reason: string | undefined): boolean {
  return reason !== undefined && FAILURE_WORD.test(reason);
}

// Crossplane (and controllers copying it) write Synced=False with this reason while the
// `crossplane.io/paused` annotation holds reconciliation on purpose.
const PAUSED_SYNC_REASON = 'ReconcilePaused';

// `status.phase` words, lower-cased, that say the same thing in every controller that uses them.
// Anything else (Bound? Deploying? Syncing?) is left to the other signals, so an unfamiliar word
// never raises an alarm.
const PHASES: ReadonlyMap<string, 'Healthy' | 'Progressing' | 'Degraded'> = new Map([
  ['failed', 'Degraded'],
  ['failure', 'Degraded'],
  ['error', 'Degraded'],
  ['pending', 'Progressing'],
  ['provisioning', 'Progressing'],
  ['creating', 'Progressing'],
  ['initializing', 'Progressing'],
  ['progressing', 'Progressing'],
  ['running', 'Healthy'],
  ['succeeded', 'Healthy'],
  ['completed', 'Healthy'],
  ['complete', 'Healthy'],
  ['active', 'Healthy'],
  ['ready', 'Healthy'],
  ['healthy', 'Healthy'],
  ['available', 'Healthy'],
]);

// The conditions that decide, in order, with the reasons for True and for not True.
const DECIDERS: Readonly<Record<string, readonly [string, string]>> = {
  Ready: [HealthReasons.ready, HealthReasons.notReady],
  Available: [HealthReasons.available, HealthReasons.notAvailable],
  Succeeded: [HealthReasons.succeeded, HealthReasons.notSucceeded],
};

function isStale(c: ObjectCondition, generation: number | undefined): boolean {
  return generation !== undefined && c.observedGeneration !== undefined && c.observedGeneration < generation;
}

/**
 * genericHealth applies kstatus's conventions (generation lag and Reconciling -> Progressing, Stalled
 * -> Degraded, Ready decides, nothing -> Healthy) with these additions, each a signal that means one
 * thing wherever it appears, so that a kind we have no rule for raises no false alarm:
 * - `spec.suspend` or `spec.paused` set to true is Suspended (Flux, Argo Rollouts, Prometheus
 *   operator, many others), before the generation lag a paused controller never clears;
 * - `Synced=False` is Degraded (Crossplane's "cannot reconcile"), Suspended when its reason says the
 *   object is paused;
 * - Ready decides, else Available, else Succeeded (Knative's condition for run-to-completion kinds,
 *   used by Tekton); False whose reason names a failure is Degraded: kstatus calls every
 *   Ready=False InProgress, which hides terminal errors of the many controllers that never set
 *   Stalled; a Ready condition written for an older generation is Progressing;
 * - without Ready or Available, a `status.phase` of Failed/Error is Degraded, Pending-like phases are
 *   Progressing, Running/Succeeded-like phases Healthy;
 * - without any of those, Deployment-like replica counts (`updatedReplicas`, `availableReplicas`,
 *   `readyReplicas` below the desired `replicas`) are Progressing.
 */
export function genericHealth(obj: KubeObject, _now: Date): HealthResult {
  const suspended = suspendField(obj);
  if (suspended) return health('Suspended', HealthReasons.suspended, `spec.${suspended} is true`);
  const lag = generationLag(obj, false);
  if (lag) return lag;
  const conditions = conditionsOf(obj);
  for (const [type, fallback] of FAILURE_CONDITIONS) {
    const c = findIn(conditions, type);
    if (isTrue(c)) return health('Degraded', reasonOr(c.reason, fallback), conditionText(c));
  }
  const synced = findIn(conditions, 'Synced');
  if (isFalse(synced)) {
    const status = synced.reason === PAUSED_SYNC_REASON ? 'Suspended' : 'Degraded';
    return health(status, reasonOr(synced.reason, HealthReasons.notSynced), conditionText(synced));
  }
  const reconciling = findIn(conditions, 'Reconciling');
  if (isTrue(reconciling)) {
    return health(
      'Progressing',
      reasonOr(reconciling.reason, HealthReasons.reconciling),
      conditionText(reconciling),
    );
  }

  const decider = Object.keys(DECIDERS)
    .map((type) => findIn(conditions, type))
    .find((c) => c !== undefined);
  if (decider) {
    const generation = numberAt(obj, 'metadata', 'generation');
    if (isStale(decider, generation)) {
      return health(
        'Progressing',
        HealthReasons.generationNotObserved,
        `${decider.type} describes generation ${decider.observedGeneration}, not ${generation}`,
      );
    }
    if (isTrue(decider)) {
      return health('Healthy', DECIDERS[decider.type]?.[0] ?? HealthReasons.ready, conditionText(decider));
    }
    const fallback = DECIDERS[decider.type]?.[1] ?? HealthReasons.notReady;
    // Succeeded=False is final (the run is over), whatever the reason: Failed, Cancelled, TimedOut.
    const failed = decider.type === 'Succeeded' || isFailureReason(decider.reason);
    const status = decider.status === 'False' && failed ? 'Degraded' : 'Progressing';
    return health(status, reasonOr(decider.reason, fallback), conditionText(decider));
  }
  return phaseHealth(obj) ?? replicaHealth(obj) ?? noSignal(obj);
}

function suspendField(obj: KubeObject): string | undefined {
  if (boolAt(obj, 'spec', 'suspend') === true) return 'suspend';
  if (boolAt(obj, 'spec', 'paused') === true) return 'paused';
  return undefined;
}

function phaseHealth(obj: KubeObject): HealthResult | undefined {
  const phase = stringAt(obj, 'status', 'phase');
  if (phase === undefined) return undefined;
  const status = PHASES.get(phase.toLowerCase());
  if (status === undefined) return undefined;
  const message = stringAt(obj, 'status', 'message') ?? stringAt(obj, 'status', 'reason');
  return health(
    status,
    reasonOr(phase, HealthReasons.phase),
    `phase ${phase}${message ? `: ${message}` : ''}`,
  );
}

function replicaHealth(obj: KubeObject): HealthResult | undefined {
  const desired = numberAt(obj, 'spec', 'replicas') ?? numberAt(obj, 'status', 'replicas');
  if (desired === undefined) return undefined;
  const reported: Array<[string, number]> = [];
  for (const name of ['updated', 'ready', 'available']) {
    const n = numberAt(obj, 'status', `${name}Replicas`);
    if (n !== undefined) reported.push([name, n]);
  }
  if (reported.length === 0) return undefined;
  const behind = reported.find(([, n]) => n < desired);
  if (behind) {
    return health(
      'Progressing',
      HealthReasons.replicasUnavailable,
      `${behind[1]}/${desired} replicas ${behind[0]}`,
    );
  }
  return health(
    'Healthy',
    HealthReasons.replicasAvailable,
    `${desired}/${desired} replicas ${reported.map(([name]) => name).join(', ')}`,
  );
}

function noSignal(obj: KubeObject): HealthResult {
  return health(
    'Healthy',
    HealthReasons.noHealthSignal,
    `no health signal; a ${obj.kind} that exists counts as healthy`,
  );
}
