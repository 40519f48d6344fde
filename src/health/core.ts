/** Health of core/v1 kinds: Pod, Service, PersistentVolumeClaim, Namespace. Other core kinds use the generic rule. */
import { conditionsOf, findCondition, isRecord } from '../api/object.ts';
import type { KubeObject } from '../api/object.ts';
import {
  conditionText,
  field,
  findIn,
  isFalse,
  isTrue,
  numberAt,
  recordsAt,
  stringAt,
  timeAt,
} from './fields.ts';
import { health, HealthReasons, reasonOr } from './result.ts';
import type { HealthResult } from './result.ts';

// Waiting reasons that need a human (bad image, missing config, crash loop); the rest
// (ContainerCreating, PodInitializing) are normal start-up. Argo CD's suffix/prefix rule plus the
// image errors it misses.
const FAILURE_WAITING_REASONS = new Set([
  'InvalidImageName',
  'RegistryUnavailable',
  'SignatureValidationFailed',
]);

function isFailureWaitingReason(reason: string): boolean {
  return (
    reason.startsWith('Err') ||
    reason.endsWith('BackOff') ||
    reason.endsWith('Error') ||
    FAILURE_WAITING_REASONS.has(reason)
  );
}

// The kubelet's maximum crash back-off: a container that crashed within it is still crash-looping
// even while it is briefly Running between back-offs.
const RECENT_RESTART_MS = 5 * 60 * 1000;

interface ContainerStatus {
  /** label names the container in messages: `container api` or `init container migrate`. */
  label: string;
  init: boolean;
  status: Record<string, unknown>;
}

function containerStatuses(obj: KubeObject): ContainerStatus[] {
  const read = (init: boolean) => (status: Record<string, unknown>) => ({
    label: `${init ? 'init container' : 'container'} ${stringAt(status, 'name') ?? '?'}`,
    init,
    status,
  });
  return [
    ...recordsAt(obj, 'status', 'initContainerStatuses').map(read(true)),
    ...recordsAt(obj, 'status', 'containerStatuses').map(read(false)),
  ];
}

function lastExit(s: Record<string, unknown>): string {
  const code = numberAt(s, 'lastState', 'terminated', 'exitCode');
  if (code === undefined) return '';
  const reason = stringAt(s, 'lastState', 'terminated', 'reason');
  return ` after exit code ${code}${reason ? ` (${reason})` : ''}`;
}

/**
 * podHealth follows upstream OpenChoreo, which reports crash loops and image errors as Degraded, and
 * applies that to init containers and to Pending pods too (an image that cannot be pulled keeps the
 * pod Pending forever).
 */
export function podHealth(obj: KubeObject, now: Date): HealthResult {
  const containers = containerStatuses(obj);
  for (const { label, status } of containers) {
    const reason = stringAt(status, 'state', 'waiting', 'reason');
    if (reason !== undefined && isFailureWaitingReason(reason)) {
      const detail = stringAt(status, 'state', 'waiting', 'message');
      return health(
        'Degraded',
        reasonOr(reason, HealthReasons.podFailed),
        `${label}: ${reason}${lastExit(status)}${detail ? `: ${detail}` : ''}`,
      );
    }
  }

  const phase = stringAt(obj, 'status', 'phase');
  switch (phase) {
    case 'Failed':
      return failedPodHealth(obj, containers);
    case 'Succeeded':
      return health('Healthy', HealthReasons.podSucceeded, 'pod completed successfully');
    case 'Running':
      return runningPodHealth(obj, containers, now);
    case 'Pending':
      return pendingPodHealth(obj, containers);
    default: {
      const message = stringAt(obj, 'status', 'message');
      return health(
        'Unknown',
        HealthReasons.phaseUnknown,
        `pod phase is ${phase ?? 'not reported'}${message ? `: ${message}` : ''}`,
      );
    }
  }
}

function failedPodHealth(obj: KubeObject, containers: ContainerStatus[]): HealthResult {
  // Pod-level reasons (Evicted, DeadlineExceeded, NodeLost) explain more than a container's exit code.
  const podReason = stringAt(obj, 'status', 'reason');
  const podMessage = stringAt(obj, 'status', 'message');
  if (podReason !== undefined || podMessage !== undefined) {
    return health(
      'Degraded',
      reasonOr(podReason, HealthReasons.podFailed),
      podMessage ?? `pod failed: ${podReason}`,
    );
  }
  for (const { label, status } of containers) {
    const code = numberAt(status, 'state', 'terminated', 'exitCode');
    if (code !== undefined && code !== 0) {
      const reason = stringAt(status, 'state', 'terminated', 'reason');
      const message = stringAt(status, 'state', 'terminated', 'message');
      return health(
        'Degraded',
        reasonOr(reason, HealthReasons.podFailed),
        `${label} terminated with exit code ${code}${reason ? ` (${reason})` : ''}${message ? `: ${message}` : ''}`,
      );
    }
  }
  return health('Degraded', HealthReasons.podFailed, 'pod failed');
}

function runningPodHealth(obj: KubeObject, containers: ContainerStatus[], now: Date): HealthResult {
  const regular = containers.filter((c) => !c.init);
  const readyCount = regular.filter((c) => c.status['ready'] === true).length;
  const readyCond = findCondition(obj, 'Ready');
  // The Ready condition also covers readiness gates; fall back to container flags when it is absent.
  const ready = readyCond ? isTrue(readyCond) : regular.length > 0 && readyCount === regular.length;
  if (ready) {
    return health('Healthy', HealthReasons.podReady, `${readyCount}/${regular.length} containers ready`);
  }

  const restartPolicy = stringAt(obj, 'spec', 'restartPolicy') ?? 'Always';
  for (const { label, status } of regular) {
    if (status['ready'] === true) continue;
    const finished = timeAt(status, 'lastState', 'terminated', 'finishedAt');
    const code = numberAt(status, 'lastState', 'terminated', 'exitCode');
    if (finished === undefined || code === undefined) continue;
    // Between back-offs a crash-looping container runs unready; calling that Progressing would make
    // the pod flap between Degraded and Progressing. Exit 0 under OnFailure is a normal finish.
    const restartsOnSuccess = restartPolicy === 'Always';
    if (now.getTime() - finished < RECENT_RESTART_MS && (code !== 0 || restartsOnSuccess)) {
      const restarts = numberAt(status, 'restartCount') ?? 0;
      return health(
        'Degraded',
        HealthReasons.containerRestarted,
        `${label} restarted ${restarts} times${lastExit(status)} and is not ready`,
      );
    }
  }
  const message = readyCond ? conditionText(readyCond) : `${readyCount}/${regular.length} containers ready`;
  return health('Progressing', HealthReasons.containersNotReady, message);
}

function pendingPodHealth(obj: KubeObject, containers: ContainerStatus[]): HealthResult {
  const scheduled = findCondition(obj, 'PodScheduled');
  // Unschedulable stays Progressing: a cluster autoscaler routinely resolves it by adding a node.
  if (isFalse(scheduled) && scheduled.reason === 'Unschedulable') {
    return health('Progressing', HealthReasons.unschedulable, `unschedulable: ${conditionText(scheduled)}`);
  }
  for (const { label, init, status } of containers) {
    const waiting = stringAt(status, 'state', 'waiting', 'reason');
    if (waiting !== undefined) return health('Progressing', HealthReasons.podPending, `${label}: ${waiting}`);
    if (init && isRecord(field(status, 'state', 'running'))) {
      return health('Progressing', HealthReasons.podPending, `${label} is running`);
    }
  }
  return health('Progressing', HealthReasons.podPending, 'pod is pending');
}

/**
 * serviceHealth waits only for a LoadBalancer to be provisioned; other Service types are usable once
 * created. Any `status.loadBalancer.ingress` entry means provisioned: some cloud controllers write an
 * entry with only `ports` or `ipMode` (no ip, no hostname), and waiting for an address would then
 * wait forever.
 */
export function serviceHealth(obj: KubeObject, _now: Date): HealthResult {
  const type = stringAt(obj, 'spec', 'type') ?? 'ClusterIP';
  if (type !== 'LoadBalancer') return health('Healthy', HealthReasons.serviceReady, `${type} service`);
  const entries = recordsAt(obj, 'status', 'loadBalancer', 'ingress');
  if (entries.length === 0) {
    return health('Progressing', HealthReasons.waitingForLoadBalancer, 'waiting for load balancer address');
  }
  const addresses = loadBalancerAddresses(obj);
  return health(
    'Healthy',
    HealthReasons.loadBalancerReady,
    addresses.length > 0
      ? `load balancer at ${addresses.join(', ')}`
      : 'load balancer provisioned (it reports no ip or hostname)',
  );
}

/** loadBalancerAddresses lists the ip or hostname of each `status.loadBalancer.ingress` entry (Service, Ingress). */
export function loadBalancerAddresses(obj: KubeObject): string[] {
  return recordsAt(obj, 'status', 'loadBalancer', 'ingress')
    .map((entry) => stringAt(entry, 'ip') ?? stringAt(entry, 'hostname'))
    .filter((address): address is string => address !== undefined);
}

/** persistentVolumeClaimHealth maps the claim's phase: Bound is Healthy, Lost is Degraded, Pending waits. */
export function persistentVolumeClaimHealth(obj: KubeObject, _now: Date): HealthResult {
  const phase = stringAt(obj, 'status', 'phase');
  const volume = stringAt(obj, 'spec', 'volumeName');
  switch (phase) {
    case 'Bound': {
      const capacity = stringAt(obj, 'status', 'capacity', 'storage');
      return health(
        'Healthy',
        HealthReasons.bound,
        `bound to volume ${volume ?? '?'}${capacity ? ` (${capacity})` : ''}`,
      );
    }
    case 'Lost':
      return health('Degraded', HealthReasons.claimLost, `bound volume ${volume ?? '?'} no longer exists`);
    case 'Pending': {
      const node = obj.metadata.annotations?.['volume.kubernetes.io/selected-node'];
      if (node) {
        return health('Progressing', HealthReasons.provisioning, `provisioning a volume for node ${node}`);
      }
      return health(
        'Progressing',
        HealthReasons.waitingForVolume,
        'waiting for a volume; with a WaitForFirstConsumer storage class it binds once a pod uses the claim',
      );
    }
    default:
      return health('Unknown', HealthReasons.phaseUnknown, `claim phase is ${phase ?? 'not reported'}`);
  }
}

/** namespaceHealth is Progressing while the namespace terminates, naming what still blocks it. */
export function namespaceHealth(obj: KubeObject, _now: Date): HealthResult {
  if (stringAt(obj, 'status', 'phase') !== 'Terminating') {
    return health('Healthy', HealthReasons.active, 'namespace is active');
  }
  const conditions = conditionsOf(obj);
  const blocker =
    findIn(conditions, 'NamespaceFinalizersRemaining') ?? findIn(conditions, 'NamespaceContentRemaining');
  const detail = blocker && isTrue(blocker) ? `: ${conditionText(blocker)}` : '';
  return health('Progressing', HealthReasons.terminating, `namespace is terminating${detail}`);
}
