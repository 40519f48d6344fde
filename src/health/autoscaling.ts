/** Health of autoscaling HorizontalPodAutoscaler (v2 conditions, v1 conditions annotation). */
import { conditionsOf } from '../api/object.ts';
import type { KubeObject, ObjectCondition } from '../api/object.ts';
import { conditionAge, conditionList, conditionText, findIn, isFalse, isTrue, numberAt } from './fields.ts';
import { health, HealthReasons, reasonOr } from './result.ts';
import type { HealthResult } from './result.ts';

/** V1_CONDITIONS_ANNOTATION carries the v2 conditions, as JSON, on an HPA read through autoscaling/v1. */
export const V1_CONDITIONS_ANNOTATION = 'autoscaling.alpha.kubernetes.io/conditions';

// AbleToScale=False reasons that mean the HPA cannot act on its target (Argo CD's list); the others
// (BackoffBoth, BackoffDownscale, BackoffUpscale) are stabilization windows and pass.
const SCALE_FAILURES = new Set(['FailedGetScale', 'FailedUpdateScale']);

// A new HPA, or pods right after a rollout, have no metrics until the metrics pipeline scrapes them
// (metrics-server resolution is 15-60 s); failing to read metrics only counts after this grace.
const METRICS_GRACE_MS = 2 * 60 * 1000;

function hpaConditions(obj: KubeObject): ObjectCondition[] {
  const v2 = conditionsOf(obj);
  if (v2.length > 0) return v2;
  const raw = obj.metadata.annotations?.[V1_CONDITIONS_ANNOTATION];
  if (raw === undefined) return [];
  try {
    const parsed: unknown = JSON.parse(raw);
    return conditionList(parsed);
  } catch {
    return [];
  }
}

/**
 * horizontalPodAutoscalerHealth is Degraded when the HPA cannot scale or compute a replica count, as in
 * Argo CD, but widens Argo's list to every ScalingActive=False reason except ScalingDisabled, which is
 * Suspended: the target was scaled to zero on purpose, as a Deployment with 0 replicas is.
 */
export function horizontalPodAutoscalerHealth(obj: KubeObject, now: Date): HealthResult {
  const conditions = hpaConditions(obj);
  if (conditions.length === 0) {
    return health(
      'Progressing',
      HealthReasons.waitingForAutoscaler,
      'waiting for the autoscaler to report status',
    );
  }
  const able = findIn(conditions, 'AbleToScale');
  if (isFalse(able) && able.reason !== undefined && SCALE_FAILURES.has(able.reason)) {
    return health('Degraded', reasonOr(able.reason, HealthReasons.scalingFailed), conditionText(able));
  }
  const active = findIn(conditions, 'ScalingActive');
  if (isFalse(active)) {
    if (active.reason === 'ScalingDisabled') {
      return health('Suspended', HealthReasons.scalingDisabled, conditionText(active));
    }
    const age = conditionAge(active, now);
    if (age !== undefined && age < METRICS_GRACE_MS) {
      return health('Progressing', HealthReasons.waitingForMetrics, conditionText(active));
    }
    return health('Degraded', reasonOr(active.reason, HealthReasons.scalingFailed), conditionText(active));
  }
  const limited = findIn(conditions, 'ScalingLimited');
  if (isTrue(limited)) return health('Healthy', HealthReasons.scalingLimited, conditionText(limited));
  if (isTrue(able)) {
    const current = numberAt(obj, 'status', 'currentReplicas') ?? 0;
    const desired = numberAt(obj, 'status', 'desiredReplicas') ?? current;
    const min = numberAt(obj, 'spec', 'minReplicas') ?? 1;
    const max = numberAt(obj, 'spec', 'maxReplicas');
    const range = max === undefined ? '' : `, range ${min}-${max}`;
    return health('Healthy', HealthReasons.scalingActive, `${current} replicas (desired ${desired}${range})`);
  }
  return health(
    'Progressing',
    HealthReasons.waitingForAutoscaler,
    able ? `waiting to autoscale: ${conditionText(able)}` : 'waiting to autoscale',
  );
}
