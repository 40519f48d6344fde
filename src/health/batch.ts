/** Health of batch/v1 kinds: Job and CronJob. */
import { conditionsOf } from '../api/object.ts';
import type { KubeObject } from '../api/object.ts';
import {
  boolAt,
  conditionText,
  field,
  findIn,
  isTrue,
  numberAt,
  recordsAt,
  stringAt,
  timeAt,
} from './fields.ts';
import { health, HealthReasons, reasonOr } from './result.ts';
import type { HealthResult } from './result.ts';

/**
 * jobHealth reads the Job controller's terminal conditions, checking status True on each (Argo CD only
 * checks presence, so a resumed Job with Suspended=False reads as complete); a Job is Suspended only
 * while `spec.suspend` is true. FailureTarget and
 * SuccessCriteriaMet (1.31+) announce the outcome before the pods finish terminating.
 */
export function jobHealth(obj: KubeObject, _now: Date): HealthResult {
  const conditions = conditionsOf(obj);
  const failure = [findIn(conditions, 'Failed'), findIn(conditions, 'FailureTarget')].find(isTrue);
  if (failure)
    return health('Degraded', reasonOr(failure.reason, HealthReasons.jobFailed), conditionText(failure));

  // The Job controller sets SuccessCriteriaMet a moment before it moves the pod from
  // uncountedTerminatedPods into `succeeded`; count both so the message never says 0/1.
  const uncounted = field(obj, 'status', 'uncountedTerminatedPods', 'succeeded');
  const succeeded =
    (numberAt(obj, 'status', 'succeeded') ?? 0) + (Array.isArray(uncounted) ? uncounted.length : 0);
  const completions = numberAt(obj, 'spec', 'completions');
  const done = completions === undefined ? `${succeeded} succeeded` : `${succeeded}/${completions} succeeded`;
  if (isTrue(findIn(conditions, 'Complete')) || isTrue(findIn(conditions, 'SuccessCriteriaMet'))) {
    return health('Healthy', HealthReasons.complete, `completed: ${done}`);
  }
  // spec.suspend decides: after a resume the controller clears Suspended=True a moment later (or, on
  // some versions, never), and a Job that runs again must not read as paused.
  if (boolAt(obj, 'spec', 'suspend') === true) {
    const suspended = findIn(conditions, 'Suspended');
    return health(
      'Suspended',
      HealthReasons.suspended,
      isTrue(suspended) ? conditionText(suspended) : 'job is suspended (spec.suspend)',
    );
  }

  const active = numberAt(obj, 'status', 'active') ?? 0;
  const failedPods = numberAt(obj, 'status', 'failed') ?? 0;
  const failures = failedPods > 0 ? `, ${failedPods} failed` : '';
  return health('Progressing', HealthReasons.running, `${active} active, ${done}${failures}`);
}

/**
 * cronJobHealth follows upstream OpenChoreo (suspend -> Suspended, active jobs -> Progressing) and
 * adds Argo CD's last-run check: the most recent scheduled run did not succeed when it is newer than
 * the last success. Suspended, not Argo's Healthy: our Ready condition accepts Suspended, so a paused
 * schedule does not hold a Release back (the reason Argo avoided it, argo-cd#19126).
 */
export function cronJobHealth(obj: KubeObject, _now: Date): HealthResult {
  if (boolAt(obj, 'spec', 'suspend') === true) {
    return health('Suspended', HealthReasons.suspended, 'schedule is suspended');
  }
  const active = recordsAt(obj, 'status', 'active');
  if (active.length > 0) {
    const names = active.map((ref) => stringAt(ref, 'name') ?? '?').join(', ');
    return health('Progressing', HealthReasons.jobActive, `job running: ${names}`);
  }
  const lastSchedule = stringAt(obj, 'status', 'lastScheduleTime');
  const lastSuccess = stringAt(obj, 'status', 'lastSuccessfulTime');
  if (lastSchedule === undefined) {
    // Upstream says Progressing here, which would hold a weekly job's Release un-Ready for a week.
    return health('Healthy', HealthReasons.notYetScheduled, 'not scheduled yet');
  }
  const scheduledAt = timeAt(obj, 'status', 'lastScheduleTime') ?? 0;
  const succeededAt = timeAt(obj, 'status', 'lastSuccessfulTime');
  if (succeededAt === undefined || succeededAt < scheduledAt) {
    return health(
      'Degraded',
      HealthReasons.lastRunFailed,
      `run scheduled at ${lastSchedule} did not succeed (last success: ${lastSuccess ?? 'never'})`,
    );
  }
  return health('Healthy', HealthReasons.lastRunSucceeded, `last run succeeded at ${lastSuccess}`);
}
