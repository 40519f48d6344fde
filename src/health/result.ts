import type { KubeObject } from '../api/object.ts';
import { oneLine } from '../api/text.ts';
import type { HealthStatus } from '../api/v1alpha1/constants.ts';

/** HealthResult is the health of one live object: a status, a short CamelCase reason and a human message. */
export interface HealthResult {
  status: HealthStatus;
  reason: string;
  message: string;
}

/** HealthCheck computes the health of one kind; `now` is passed in so time-based rules stay pure. */
export type HealthCheck = (obj: KubeObject, now: Date) => HealthResult;

/**
 * HealthReasons lists every reason the health functions originate. Failure reasons copied from an
 * object's own condition or container state (for example `BackoffLimitExceeded`, `CrashLoopBackOff`)
 * pass through unchanged, so operators can search for the words the cluster itself uses.
 */
export const HealthReasons = {
  notFound: 'NotFound',
  terminating: 'Terminating',
  checkFailed: 'HealthCheckFailed',
  noHealthSignal: 'NoHealthSignal',
  generationNotObserved: 'GenerationNotObserved',
  // Workloads (Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController).
  paused: 'Paused',
  scaledToZero: 'ScaledToZero',
  progressDeadlineExceeded: 'ProgressDeadlineExceeded',
  replicaFailure: 'ReplicaFailure',
  noReplicasAvailable: 'NoReplicasAvailable',
  minimumReplicasUnavailable: 'MinimumReplicasUnavailable',
  replicasNotUpdated: 'ReplicasNotUpdated',
  oldReplicasPending: 'OldReplicasPending',
  extraReplicas: 'ExtraReplicas',
  replicasUnavailable: 'ReplicasUnavailable',
  replicasNotReady: 'ReplicasNotReady',
  rolloutInProgress: 'RolloutInProgress',
  replicasAvailable: 'ReplicasAvailable',
  // Pod.
  podFailed: 'PodFailed',
  podSucceeded: 'PodSucceeded',
  podReady: 'PodReady',
  podPending: 'PodPending',
  unschedulable: 'Unschedulable',
  containersNotReady: 'ContainersNotReady',
  containerRestarted: 'ContainerRestarted',
  phaseUnknown: 'PhaseUnknown',
  // Service, Ingress.
  waitingForLoadBalancer: 'WaitingForLoadBalancer',
  loadBalancerReady: 'LoadBalancerReady',
  serviceReady: 'ServiceReady',
  addressAssigned: 'AddressAssigned',
  noAddressReported: 'NoAddressReported',
  // PersistentVolumeClaim, Namespace.
  bound: 'Bound',
  claimLost: 'ClaimLost',
  waitingForVolume: 'WaitingForVolume',
  provisioning: 'Provisioning',
  active: 'Active',
  // Job, CronJob.
  jobFailed: 'JobFailed',
  complete: 'Complete',
  suspended: 'Suspended',
  running: 'Running',
  jobActive: 'JobActive',
  lastRunFailed: 'LastRunFailed',
  lastRunSucceeded: 'LastRunSucceeded',
  notYetScheduled: 'NotYetScheduled',
  // HorizontalPodAutoscaler.
  waitingForAutoscaler: 'WaitingForAutoscaler',
  waitingForMetrics: 'WaitingForMetrics',
  scalingDisabled: 'ScalingDisabled',
  scalingActive: 'ScalingActive',
  scalingLimited: 'ScalingLimited',
  scalingFailed: 'ScalingFailed',
  // PodDisruptionBudget.
  sufficientPods: 'SufficientPods',
  insufficientPods: 'InsufficientPods',
  disruptionCheckFailed: 'DisruptionCheckFailed',
  waitingForController: 'WaitingForController',
  // CustomResourceDefinition, APIService.
  established: 'Established',
  namesNotAccepted: 'NamesNotAccepted',
  notEstablished: 'NotEstablished',
  installing: 'Installing',
  available: 'Available',
  notAvailable: 'NotAvailable',
  // Gateway API.
  programmed: 'Programmed',
  notProgrammed: 'NotProgrammed',
  notAccepted: 'NotAccepted',
  refsNotResolved: 'RefsNotResolved',
  listenerConflicted: 'ListenerConflicted',
  accepted: 'Accepted',
  waitingForStatus: 'WaitingForStatus',
  // Generic conditions.
  stalled: 'Stalled',
  failed: 'Failed',
  degraded: 'Degraded',
  reconciling: 'Reconciling',
  ready: 'Ready',
  notReady: 'NotReady',
  notSynced: 'NotSynced',
  phase: 'Phase',
  // Malformed objects (assessHealth's own checks).
  malformedObject: 'MalformedObject',
  // Custom resources (src/health/ rules of CRD families).
  issuing: 'Issuing',
  renewalFailed: 'RenewalFailed',
  aborted: 'Aborted',
  fallbackActive: 'FallbackActive',
  hibernated: 'Hibernated',
  reconcilePaused: 'ReconcilePaused',
  unrecoverable: 'Unrecoverable',
  invalidSpec: 'InvalidSpec',
  unhealthy: 'Unhealthy',
  reconciliationFailed: 'ReconciliationFailed',
  syncFailed: 'SyncFailed',
  syncError: 'SyncError',
  succeeded: 'Succeeded',
  notSucceeded: 'NotSucceeded',
} as const;

/** MAX_MESSAGE_LENGTH bounds a health message: it lands in Release status and Events, which must stay small. */
export const MAX_MESSAGE_LENGTH = 200;

/** truncateMessage shortens a message to MAX_MESSAGE_LENGTH, marking the cut with an ellipsis. */
export function truncateMessage(message: string): string {
  // Control characters too, not only white space: a condition message of the data plane's choosing
  // ends up in status, Events and the plugin's terminal output.
  return oneLine(message, MAX_MESSAGE_LENGTH);
}

/** health builds a HealthResult with a bounded, single-line message. */
export function health(status: HealthStatus, reason: string, message: string): HealthResult {
  return { status, reason, message: truncateMessage(message) };
}

// metav1.Condition's reason pattern; anything else (free text, empty) is not a usable machine reason.
const REASON_PATTERN = /^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$/;

/** reasonOr returns a reason taken from the cluster when it is a valid CamelCase reason, else the fallback. */
export function reasonOr(reason: string | undefined, fallback: string): string {
  return reason !== undefined && REASON_PATTERN.test(reason) && reason.length <= 64 ? reason : fallback;
}
