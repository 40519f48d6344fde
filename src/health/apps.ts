/** Health of apps/v1 workloads: Deployment, StatefulSet, DaemonSet, ReplicaSet (and core ReplicationController). */
import { conditionsOf } from '../api/object.ts';
import type { KubeObject } from '../api/object.ts';
import {
  boolAt,
  conditionAge,
  conditionText,
  findIn,
  generationLag,
  isTrue,
  numberAt,
  plural,
  stringAt,
} from './fields.ts';
import { health, HealthReasons } from './result.ts';
import type { HealthResult } from './result.ts';

// The Deployment controller's default for spec.progressDeadlineSeconds.
const DEFAULT_PROGRESS_DEADLINE_SECONDS = 600;

function desiredReplicas(obj: KubeObject): number {
  return numberAt(obj, 'spec', 'replicas') ?? 1;
}

function statusCount(obj: KubeObject, name: string): number {
  return numberAt(obj, 'status', name) ?? 0;
}

/**
 * deploymentHealth follows upstream OpenChoreo (paused or 0 replicas -> Suspended; deadline exceeded,
 * ReplicaFailure, or nothing available after a finished rollout -> Degraded) and Argo CD's rollout
 * checks for the Progressing messages.
 */
export function deploymentHealth(obj: KubeObject, now: Date): HealthResult {
  if (boolAt(obj, 'spec', 'paused') === true) {
    return health('Suspended', HealthReasons.paused, 'rollout is paused');
  }
  const desired = desiredReplicas(obj);
  if (desired === 0) return health('Suspended', HealthReasons.scaledToZero, 'scaled to 0 replicas');
  const lag = generationLag(obj, true);
  if (lag) return lag;

  const conditions = conditionsOf(obj);
  const progressing = findIn(conditions, 'Progressing');
  if (progressing?.reason === 'ProgressDeadlineExceeded') {
    return health('Degraded', HealthReasons.progressDeadlineExceeded, conditionText(progressing));
  }
  const replicaFailure = findIn(conditions, 'ReplicaFailure');
  if (isTrue(replicaFailure)) {
    return health('Degraded', HealthReasons.replicaFailure, conditionText(replicaFailure));
  }

  const replicas = statusCount(obj, 'replicas');
  const updated = statusCount(obj, 'updatedReplicas');
  const ready = statusCount(obj, 'readyReplicas');
  const available = statusCount(obj, 'availableReplicas');
  const unavailable = statusCount(obj, 'unavailableReplicas');
  // NewReplicaSetAvailable means the controller declared the rollout complete and stopped tracking
  // its deadline, so it will never report ProgressDeadlineExceeded for what goes wrong afterwards.
  const rolloutFinished = progressing?.reason === 'NewReplicaSetAvailable';

  if (updated === desired && available === 0) {
    if (isTrue(progressing) && !rolloutFinished) {
      return health('Progressing', HealthReasons.replicasUnavailable, `0/${desired} replicas available`);
    }
    const why = rolloutFinished ? 'after the rollout completed' : 'and the rollout is not progressing';
    return health('Degraded', HealthReasons.noReplicasAvailable, `0/${desired} replicas available ${why}`);
  }

  // Upstream marks any Available!=True with some pods up as Degraded at once, which flaps on every
  // HPA scale-up. We apply the Deployment's own progress deadline where the controller no longer does.
  const availableCond = findIn(conditions, 'Available');
  if (rolloutFinished && availableCond && !isTrue(availableCond) && unavailable > 0) {
    const deadlineMs =
      (numberAt(obj, 'spec', 'progressDeadlineSeconds') ?? DEFAULT_PROGRESS_DEADLINE_SECONDS) * 1000;
    const age = conditionAge(availableCond, now);
    if (age !== undefined && age >= deadlineMs) {
      return health(
        'Degraded',
        HealthReasons.minimumReplicasUnavailable,
        `${available}/${desired} replicas available, below the minimum for ${Math.round(age / 1000)}s`,
      );
    }
  }

  if (updated < desired) {
    return health('Progressing', HealthReasons.replicasNotUpdated, `${updated}/${desired} replicas updated`);
  }
  if (replicas > updated) {
    return health(
      'Progressing',
      HealthReasons.oldReplicasPending,
      `${plural(replicas - updated, 'old replica')} pending termination`,
    );
  }
  if (available < desired || unavailable > 0) {
    return health(
      'Progressing',
      HealthReasons.replicasUnavailable,
      `${available}/${desired} replicas available`,
    );
  }
  if (ready < desired) {
    return health('Progressing', HealthReasons.replicasNotReady, `${ready}/${desired} replicas ready`);
  }
  return health('Healthy', HealthReasons.replicasAvailable, `${available}/${desired} replicas available`);
}

/**
 * statefulSetHealth adds to upstream OpenChoreo's revision and replica checks the update strategies
 * it ignores: OnDelete and partitioned rollouts are finished when the operator says so, not when
 * every pod runs the new revision, so they must not stay Progressing forever.
 */
export function statefulSetHealth(obj: KubeObject, _now: Date): HealthResult {
  const desired = desiredReplicas(obj);
  if (desired === 0) return health('Suspended', HealthReasons.scaledToZero, 'scaled to 0 replicas');
  const lag = generationLag(obj, true);
  if (lag) return lag;

  const replicas = statusCount(obj, 'replicas');
  const ready = statusCount(obj, 'readyReplicas');
  const updated = statusCount(obj, 'updatedReplicas');
  // availableReplicas arrived in 1.22 (minReadySeconds); older servers do not write it.
  const available = numberAt(obj, 'status', 'availableReplicas');
  if (ready < desired) {
    return health('Progressing', HealthReasons.replicasNotReady, `${ready}/${desired} replicas ready`);
  }
  if (available !== undefined && available < desired) {
    return health(
      'Progressing',
      HealthReasons.replicasUnavailable,
      `${available}/${desired} replicas available`,
    );
  }
  if (replicas > desired) {
    return health(
      'Progressing',
      HealthReasons.extraReplicas,
      `${plural(replicas - desired, 'extra replica')} pending termination`,
    );
  }

  const currentRevision = stringAt(obj, 'status', 'currentRevision');
  const updateRevision = stringAt(obj, 'status', 'updateRevision');
  const revisionsDiffer =
    currentRevision !== undefined && updateRevision !== undefined && currentRevision !== updateRevision;

  if (stringAt(obj, 'spec', 'updateStrategy', 'type') === 'OnDelete') {
    const stale = revisionsDiffer
      ? `; ${desired - updated} on the old revision until their pods are deleted`
      : '';
    return health('Healthy', HealthReasons.replicasAvailable, `${ready}/${desired} replicas ready${stale}`);
  }
  const partition = numberAt(obj, 'spec', 'updateStrategy', 'rollingUpdate', 'partition') ?? 0;
  if (partition > 0) {
    const target = Math.max(desired - partition, 0);
    if (updated < target) {
      return health(
        'Progressing',
        HealthReasons.replicasNotUpdated,
        `${updated}/${target} replicas updated (partition ${partition})`,
      );
    }
    return health(
      'Healthy',
      HealthReasons.replicasAvailable,
      `${ready}/${desired} replicas ready, ${updated} updated (partition ${partition})`,
    );
  }
  if (updated < desired) {
    return health('Progressing', HealthReasons.replicasNotUpdated, `${updated}/${desired} replicas updated`);
  }
  if (revisionsDiffer) {
    return health('Progressing', HealthReasons.rolloutInProgress, `rolling out revision ${updateRevision}`);
  }
  return health('Healthy', HealthReasons.replicasAvailable, `${ready}/${desired} replicas ready`);
}

/** daemonSetHealth requires every eligible node to run an updated, available pod (OnDelete skips "updated"). */
export function daemonSetHealth(obj: KubeObject, _now: Date): HealthResult {
  const lag = generationLag(obj, true);
  if (lag) return lag;
  const desired = statusCount(obj, 'desiredNumberScheduled');
  const updated = statusCount(obj, 'updatedNumberScheduled');
  const available = statusCount(obj, 'numberAvailable');
  if (stringAt(obj, 'spec', 'updateStrategy', 'type') !== 'OnDelete' && updated < desired) {
    return health('Progressing', HealthReasons.replicasNotUpdated, `${updated}/${desired} pods updated`);
  }
  if (available < desired) {
    return health('Progressing', HealthReasons.replicasUnavailable, `${available}/${desired} pods available`);
  }
  const message =
    desired === 0 ? 'no nodes are eligible to run the pods' : `${available}/${desired} pods available`;
  return health('Healthy', HealthReasons.replicasAvailable, message);
}

/**
 * replicaSetHealth serves ReplicaSet and ReplicationController (same status shape). ReplicaFailure is
 * Degraded, as in Argo CD: kstatus calls it InProgress, but quota or admission denials do not heal
 * by waiting. Zero replicas is Suspended, as for Deployment, so all workload kinds agree.
 */
export function replicaSetHealth(obj: KubeObject, _now: Date): HealthResult {
  const desired = desiredReplicas(obj);
  if (desired === 0) return health('Suspended', HealthReasons.scaledToZero, 'scaled to 0 replicas');
  const lag = generationLag(obj, true);
  if (lag) return lag;
  const replicaFailure = findIn(conditionsOf(obj), 'ReplicaFailure');
  if (isTrue(replicaFailure)) {
    return health('Degraded', HealthReasons.replicaFailure, conditionText(replicaFailure));
  }
  const replicas = statusCount(obj, 'replicas');
  const ready = statusCount(obj, 'readyReplicas');
  const available = statusCount(obj, 'availableReplicas');
  if (available < desired) {
    return health(
      'Progressing',
      HealthReasons.replicasUnavailable,
      `${available}/${desired} replicas available`,
    );
  }
  if (ready < desired) {
    return health('Progressing', HealthReasons.replicasNotReady, `${ready}/${desired} replicas ready`);
  }
  if (replicas > desired) {
    return health(
      'Progressing',
      HealthReasons.extraReplicas,
      `${plural(replicas - desired, 'extra replica')} pending termination`,
    );
  }
  return health('Healthy', HealthReasons.replicasAvailable, `${available}/${desired} replicas available`);
}
