import { describe } from 'node:test';
import type { KubeObject } from '../api/object.ts';
import { daemonSetHealth, deploymentHealth, replicaSetHealth, statefulSetHealth } from './apps.ts';
import { runTable, captured } from '../../test/support/health-table.ts';

// Shaped like `kubectl get deploy -o json` from a 1.31 cluster.
function deployment(opts: {
  generation?: number;
  spec?: Record<string, unknown>;
  status: Record<string, unknown>;
}): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: 'api',
      namespace: 'shop',
      generation: opts.generation ?? 2,
      annotations: { 'deployment.kubernetes.io/revision': '2' },
    },
    spec: {
      replicas: 3,
      progressDeadlineSeconds: 600,
      revisionHistoryLimit: 10,
      selector: { matchLabels: { app: 'api' } },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } },
      template: {
        metadata: { labels: { app: 'api' } },
        spec: { containers: [{ name: 'api', image: 'registry.example.com/api:v2' }] },
      },
      ...opts.spec,
    },
    status: opts.status,
  };
}

const availableTrue = {
  type: 'Available',
  status: 'True',
  lastUpdateTime: '2025-06-01T11:00:00Z',
  lastTransitionTime: '2025-06-01T11:00:00Z',
  reason: 'MinimumReplicasAvailable',
  message: 'Deployment has minimum availability.',
};
const availableFalse = (since: string) => ({
  type: 'Available',
  status: 'False',
  lastUpdateTime: since,
  lastTransitionTime: since,
  reason: 'MinimumReplicasUnavailable',
  message: 'Deployment does not have minimum availability.',
});
const progressingComplete = {
  type: 'Progressing',
  status: 'True',
  lastUpdateTime: '2025-06-01T11:00:05Z',
  lastTransitionTime: '2025-06-01T10:59:30Z',
  reason: 'NewReplicaSetAvailable',
  message: 'ReplicaSet "api-6d8f7b9c4d" has successfully progressed.',
};
const progressingUpdated = {
  type: 'Progressing',
  status: 'True',
  lastUpdateTime: '2025-06-01T11:59:50Z',
  lastTransitionTime: '2025-06-01T11:59:40Z',
  reason: 'ReplicaSetUpdated',
  message: 'ReplicaSet "api-7c5b9d8f6d" is progressing.',
};

void describe('deploymentHealth', () => {
  runTable(deploymentHealth, [
    {
      name: 'complete rollout is Healthy',
      obj: deployment({
        status: {
          observedGeneration: 2,
          replicas: 3,
          updatedReplicas: 3,
          readyReplicas: 3,
          availableReplicas: 3,
          conditions: [availableTrue, progressingComplete],
        },
      }),
      status: 'Healthy',
      reason: 'ReplicasAvailable',
      message: '3/3 replicas available',
    },
    {
      name: 'spec.paused is Suspended even mid-rollout',
      obj: deployment({
        spec: { paused: true },
        status: {
          observedGeneration: 2,
          replicas: 3,
          updatedReplicas: 1,
          readyReplicas: 3,
          availableReplicas: 3,
          conditions: [
            availableTrue,
            {
              ...progressingUpdated,
              status: 'Unknown',
              reason: 'DeploymentPaused',
              message: 'Deployment is paused',
            },
          ],
        },
      }),
      status: 'Suspended',
      reason: 'Paused',
    },
    {
      name: 'replicas 0 is Suspended',
      obj: deployment({
        spec: { replicas: 0 },
        status: { observedGeneration: 2, conditions: [availableTrue, progressingComplete] },
      }),
      status: 'Suspended',
      reason: 'ScaledToZero',
    },
    {
      name: 'new generation not yet observed is Progressing',
      obj: deployment({
        generation: 3,
        status: {
          observedGeneration: 2,
          replicas: 3,
          updatedReplicas: 3,
          readyReplicas: 3,
          availableReplicas: 3,
          conditions: [availableTrue, progressingComplete],
        },
      }),
      status: 'Progressing',
      reason: 'GenerationNotObserved',
      message: 'waiting for the controller to observe generation 3 (observed 2)',
    },
    {
      name: 'freshly created, no status yet, is Progressing',
      obj: deployment({ generation: 1, status: {} }),
      status: 'Progressing',
      reason: 'GenerationNotObserved',
    },
    {
      name: 'mid-rollout: 1 of 3 updated',
      obj: deployment({
        status: {
          observedGeneration: 2,
          replicas: 4,
          updatedReplicas: 1,
          readyReplicas: 3,
          availableReplicas: 3,
          unavailableReplicas: 1,
          conditions: [availableTrue, progressingUpdated],
        },
      }),
      status: 'Progressing',
      reason: 'ReplicasNotUpdated',
      message: '1/3 replicas updated',
    },
    {
      name: 'all updated, old pod still terminating',
      obj: deployment({
        status: {
          observedGeneration: 2,
          replicas: 4,
          updatedReplicas: 3,
          readyReplicas: 3,
          availableReplicas: 3,
          conditions: [availableTrue, progressingUpdated],
        },
      }),
      status: 'Progressing',
      reason: 'OldReplicasPending',
      message: '1 old replica pending termination',
    },
    {
      name: 'all updated, 2 of 3 available',
      obj: deployment({
        status: {
          observedGeneration: 2,
          replicas: 3,
          updatedReplicas: 3,
          readyReplicas: 2,
          availableReplicas: 2,
          unavailableReplicas: 1,
          conditions: [availableTrue, progressingUpdated],
        },
      }),
      status: 'Progressing',
      reason: 'ReplicasUnavailable',
      message: '2/3 replicas available',
    },
    {
      name: 'ready but not yet available (minReadySeconds) is Progressing',
      obj: deployment({
        spec: { minReadySeconds: 30 },
        status: {
          observedGeneration: 2,
          replicas: 3,
          updatedReplicas: 3,
          readyReplicas: 3,
          availableReplicas: 2,
          unavailableReplicas: 1,
          conditions: [availableTrue, progressingUpdated],
        },
      }),
      status: 'Progressing',
      reason: 'ReplicasUnavailable',
      message: '2/3 replicas available',
    },
    {
      name: 'ProgressDeadlineExceeded is Degraded with the controller message',
      obj: deployment({
        status: {
          observedGeneration: 2,
          replicas: 4,
          updatedReplicas: 1,
          readyReplicas: 3,
          availableReplicas: 3,
          unavailableReplicas: 1,
          conditions: [
            availableTrue,
            {
              type: 'Progressing',
              status: 'False',
              lastUpdateTime: '2025-06-01T11:50:00Z',
              lastTransitionTime: '2025-06-01T11:50:00Z',
              reason: 'ProgressDeadlineExceeded',
              message: 'ReplicaSet "api-7c5b9d8f6d" has timed out progressing.',
            },
          ],
        },
      }),
      status: 'Degraded',
      reason: 'ProgressDeadlineExceeded',
      message: 'ReplicaSet "api-7c5b9d8f6d" has timed out progressing.',
    },
    {
      name: 'ReplicaFailure=True (quota) is Degraded',
      obj: deployment({
        status: {
          observedGeneration: 2,
          replicas: 0,
          unavailableReplicas: 3,
          conditions: [
            { ...availableFalse('2025-06-01T11:59:00Z') },
            progressingUpdated,
            {
              type: 'ReplicaFailure',
              status: 'True',
              lastUpdateTime: '2025-06-01T11:59:01Z',
              lastTransitionTime: '2025-06-01T11:59:01Z',
              reason: 'FailedCreate',
              message:
                'pods "api-7c5b9d8f6d-x2k9p" is forbidden: exceeded quota: compute, requested: limits.cpu=2, used: limits.cpu=8, limited: limits.cpu=8',
            },
          ],
        },
      }),
      status: 'Degraded',
      reason: 'ReplicaFailure',
      message: /exceeded quota: compute/,
    },
    {
      name: 'new Deployment: all updated, none available, rollout in progress',
      obj: deployment({
        generation: 1,
        status: {
          observedGeneration: 1,
          replicas: 3,
          updatedReplicas: 3,
          unavailableReplicas: 3,
          conditions: [
            availableFalse('2025-06-01T11:59:50Z'),
            {
              ...progressingUpdated,
              reason: 'ReplicaSetUpdated',
              message: 'ReplicaSet "api-7c5b9d8f6d" is progressing.',
            },
          ],
        },
      }),
      status: 'Progressing',
      reason: 'ReplicasUnavailable',
      message: '0/3 replicas available',
    },
    {
      name: 'all updated, none available after the rollout completed is Degraded',
      obj: deployment({
        status: {
          observedGeneration: 2,
          replicas: 3,
          updatedReplicas: 3,
          unavailableReplicas: 3,
          conditions: [availableFalse('2025-06-01T11:58:00Z'), progressingComplete],
        },
      }),
      status: 'Degraded',
      reason: 'NoReplicasAvailable',
      message: '0/3 replicas available after the rollout completed',
    },
    {
      name: 'below minimum availability after a finished rollout, within the progress deadline',
      obj: deployment({
        status: {
          observedGeneration: 2,
          replicas: 3,
          updatedReplicas: 3,
          readyReplicas: 2,
          availableReplicas: 2,
          unavailableReplicas: 1,
          conditions: [availableFalse('2025-06-01T11:58:00Z'), progressingComplete],
        },
      }),
      status: 'Progressing',
      reason: 'ReplicasUnavailable',
      message: '2/3 replicas available',
    },
    {
      name: 'below minimum availability for longer than progressDeadlineSeconds is Degraded',
      obj: deployment({
        status: {
          observedGeneration: 2,
          replicas: 3,
          updatedReplicas: 3,
          readyReplicas: 2,
          availableReplicas: 2,
          unavailableReplicas: 1,
          conditions: [availableFalse('2025-06-01T11:45:00Z'), progressingComplete],
        },
      }),
      status: 'Degraded',
      reason: 'MinimumReplicasUnavailable',
      message: '2/3 replicas available, below the minimum for 900s',
    },
    {
      name: 'spec.replicas absent defaults to 1',
      obj: {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'api', namespace: 'shop', generation: 1 },
        spec: { selector: { matchLabels: { app: 'api' } } },
        status: {
          observedGeneration: 1,
          replicas: 1,
          updatedReplicas: 1,
          readyReplicas: 1,
          availableReplicas: 1,
          conditions: [availableTrue, progressingComplete],
        },
      },
      status: 'Healthy',
      reason: 'ReplicasAvailable',
      message: '1/1 replicas available',
    },
    {
      name: 'captured: new Deployment whose ready pods wait out minReadySeconds is Progressing',
      ...captured('deployment-new-unavailable.json'),
      status: 'Progressing',
      reason: 'ReplicasUnavailable',
      message: '0/2 replicas available',
    },
    {
      name: 'captured: rolling update with one new pod surged is Progressing',
      ...captured('deployment-rolling-update.json'),
      status: 'Progressing',
      reason: 'ReplicasNotUpdated',
      message: '1/2 replicas updated',
    },
    {
      name: 'captured: finished rollout is Healthy',
      ...captured('deployment-complete.json'),
      status: 'Healthy',
      reason: 'ReplicasAvailable',
      message: '2/2 replicas available',
    },
    {
      name: 'captured: unschedulable pods past progressDeadlineSeconds are Degraded',
      ...captured('deployment-progress-deadline-exceeded.json'),
      status: 'Degraded',
      reason: 'ProgressDeadlineExceeded',
      message: /has timed out progressing/,
    },
  ]);
});

function statefulSet(opts: { spec?: Record<string, unknown>; status: Record<string, unknown> }): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'db', namespace: 'shop', generation: 2 },
    spec: {
      replicas: 3,
      serviceName: 'db',
      podManagementPolicy: 'OrderedReady',
      selector: { matchLabels: { app: 'db' } },
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 0 } },
      ...opts.spec,
    },
    status: opts.status,
  };
}

const stsSteady = {
  observedGeneration: 2,
  replicas: 3,
  readyReplicas: 3,
  availableReplicas: 3,
  currentReplicas: 3,
  updatedReplicas: 3,
  currentRevision: 'db-5d8b9c7f4',
  updateRevision: 'db-5d8b9c7f4',
  collisionCount: 0,
};

void describe('statefulSetHealth', () => {
  runTable(statefulSetHealth, [
    {
      name: 'steady state is Healthy',
      obj: statefulSet({ status: stsSteady }),
      status: 'Healthy',
      reason: 'ReplicasAvailable',
      message: '3/3 replicas ready',
    },
    {
      name: 'replicas 0 is Suspended',
      obj: statefulSet({ spec: { replicas: 0 }, status: { ...stsSteady, replicas: 0 } }),
      status: 'Suspended',
      reason: 'ScaledToZero',
    },
    {
      name: 'generation lag is Progressing',
      obj: statefulSet({ status: { ...stsSteady, observedGeneration: 1 } }),
      status: 'Progressing',
      reason: 'GenerationNotObserved',
    },
    {
      name: 'scaling up: 1/3 ready',
      obj: statefulSet({ status: { ...stsSteady, replicas: 2, readyReplicas: 1, availableReplicas: 1 } }),
      status: 'Progressing',
      reason: 'ReplicasNotReady',
      message: '1/3 replicas ready',
    },
    {
      name: 'rolling update in progress (revisions differ)',
      obj: statefulSet({
        status: {
          ...stsSteady,
          currentReplicas: 2,
          updatedReplicas: 1,
          updateRevision: 'db-7f6c5d9b8',
        },
      }),
      status: 'Progressing',
      reason: 'ReplicasNotUpdated',
      message: '1/3 replicas updated',
    },
    {
      name: 'all pods updated but currentRevision not yet advanced',
      obj: statefulSet({ status: { ...stsSteady, currentReplicas: 0, updateRevision: 'db-7f6c5d9b8' } }),
      status: 'Progressing',
      reason: 'RolloutInProgress',
      message: 'rolling out revision db-7f6c5d9b8',
    },
    {
      name: 'partitioned rollout that reached its partition is Healthy',
      obj: statefulSet({
        spec: { updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 2 } } },
        status: { ...stsSteady, currentReplicas: 2, updatedReplicas: 1, updateRevision: 'db-7f6c5d9b8' },
      }),
      status: 'Healthy',
      reason: 'ReplicasAvailable',
      message: '3/3 replicas ready, 1 updated (partition 2)',
    },
    {
      name: 'partitioned rollout still short of its partition is Progressing',
      obj: statefulSet({
        spec: { updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 1 } } },
        status: { ...stsSteady, currentReplicas: 2, updatedReplicas: 1, updateRevision: 'db-7f6c5d9b8' },
      }),
      status: 'Progressing',
      reason: 'ReplicasNotUpdated',
      message: '1/2 replicas updated (partition 1)',
    },
    {
      name: 'OnDelete with pods on the old revision is Healthy',
      obj: statefulSet({
        spec: { updateStrategy: { type: 'OnDelete' } },
        status: { ...stsSteady, updatedReplicas: 0, updateRevision: 'db-7f6c5d9b8' },
      }),
      status: 'Healthy',
      reason: 'ReplicasAvailable',
      message: '3/3 replicas ready; 3 on the old revision until their pods are deleted',
    },
    {
      name: 'scale-down: extra replicas terminating',
      obj: statefulSet({ spec: { replicas: 2 }, status: { ...stsSteady } }),
      status: 'Progressing',
      reason: 'ExtraReplicas',
      message: '1 extra replica pending termination',
    },
    {
      name: 'captured: ready StatefulSet is Healthy',
      ...captured('statefulset-ready.json'),
      status: 'Healthy',
      reason: 'ReplicasAvailable',
      message: '2/2 replicas ready',
    },
  ]);
});

function daemonSet(opts: { spec?: Record<string, unknown>; status: Record<string, unknown> }): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: 'node-agent', namespace: 'kube-system', generation: 4 },
    spec: {
      selector: { matchLabels: { app: 'node-agent' } },
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } },
      ...opts.spec,
    },
    status: opts.status,
  };
}

const dsSteady = {
  observedGeneration: 4,
  currentNumberScheduled: 3,
  desiredNumberScheduled: 3,
  numberAvailable: 3,
  numberMisscheduled: 0,
  numberReady: 3,
  updatedNumberScheduled: 3,
};

void describe('daemonSetHealth', () => {
  runTable(daemonSetHealth, [
    {
      name: 'every node runs an available updated pod',
      obj: daemonSet({ status: dsSteady }),
      status: 'Healthy',
      reason: 'ReplicasAvailable',
      message: '3/3 pods available',
    },
    {
      name: 'generation lag',
      obj: daemonSet({ status: { ...dsSteady, observedGeneration: 3 } }),
      status: 'Progressing',
      reason: 'GenerationNotObserved',
    },
    {
      name: 'rolling update: 1/3 updated',
      obj: daemonSet({
        status: { ...dsSteady, updatedNumberScheduled: 1, numberAvailable: 2, numberUnavailable: 1 },
      }),
      status: 'Progressing',
      reason: 'ReplicasNotUpdated',
      message: '1/3 pods updated',
    },
    {
      name: 'updated but not yet available',
      obj: daemonSet({ status: { ...dsSteady, numberAvailable: 2, numberReady: 2, numberUnavailable: 1 } }),
      status: 'Progressing',
      reason: 'ReplicasUnavailable',
      message: '2/3 pods available',
    },
    {
      name: 'OnDelete ignores pods on the old template',
      obj: daemonSet({
        spec: { updateStrategy: { type: 'OnDelete' } },
        status: { ...dsSteady, updatedNumberScheduled: 0 },
      }),
      status: 'Healthy',
      reason: 'ReplicasAvailable',
    },
    {
      name: 'no eligible nodes is Healthy',
      obj: daemonSet({
        status: {
          observedGeneration: 4,
          currentNumberScheduled: 0,
          desiredNumberScheduled: 0,
          numberMisscheduled: 0,
          numberReady: 0,
        },
      }),
      status: 'Healthy',
      reason: 'ReplicasAvailable',
      message: 'no nodes are eligible to run the pods',
    },
    {
      name: 'captured: DaemonSet on the kwok node is Healthy',
      ...captured('daemonset-ready.json'),
      status: 'Healthy',
      reason: 'ReplicasAvailable',
      message: '1/1 pods available',
    },
  ]);
});

function replicaSet(opts: { spec?: Record<string, unknown>; status: Record<string, unknown> }): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: { name: 'api-7c5b9d8f6d', namespace: 'shop', generation: 1 },
    spec: { replicas: 3, selector: { matchLabels: { app: 'api' } }, ...opts.spec },
    status: opts.status,
  };
}

void describe('replicaSetHealth', () => {
  runTable(replicaSetHealth, [
    {
      name: 'all replicas available',
      obj: replicaSet({
        status: {
          observedGeneration: 1,
          replicas: 3,
          fullyLabeledReplicas: 3,
          readyReplicas: 3,
          availableReplicas: 3,
        },
      }),
      status: 'Healthy',
      reason: 'ReplicasAvailable',
      message: '3/3 replicas available',
    },
    {
      name: 'ReplicaFailure=True is Degraded',
      obj: replicaSet({
        status: {
          observedGeneration: 1,
          replicas: 0,
          conditions: [
            {
              type: 'ReplicaFailure',
              status: 'True',
              lastTransitionTime: '2025-06-01T11:59:00Z',
              reason: 'FailedCreate',
              message:
                'pods "api-7c5b9d8f6d-" is forbidden: error looking up service account shop/api: serviceaccount "api" not found',
            },
          ],
        },
      }),
      status: 'Degraded',
      reason: 'ReplicaFailure',
      message: /serviceaccount "api" not found/,
    },
    {
      name: 'scaling up',
      obj: replicaSet({
        status: {
          observedGeneration: 1,
          replicas: 3,
          fullyLabeledReplicas: 3,
          readyReplicas: 1,
          availableReplicas: 1,
        },
      }),
      status: 'Progressing',
      reason: 'ReplicasUnavailable',
      message: '1/3 replicas available',
    },
    {
      name: 'generation lag',
      obj: replicaSet({ status: { observedGeneration: 0, replicas: 0 } }),
      status: 'Progressing',
      reason: 'GenerationNotObserved',
    },
    {
      name: 'replicas 0 is Suspended',
      obj: replicaSet({ spec: { replicas: 0 }, status: { observedGeneration: 1, replicas: 0 } }),
      status: 'Suspended',
      reason: 'ScaledToZero',
    },
    {
      name: 'scaling down: extra replicas terminating',
      obj: replicaSet({
        spec: { replicas: 1 },
        status: { observedGeneration: 1, replicas: 3, readyReplicas: 3, availableReplicas: 3 },
      }),
      status: 'Progressing',
      reason: 'ExtraReplicas',
      message: '2 extra replicas pending termination',
    },
    {
      name: 'captured: the available ReplicaSet of a Deployment is Healthy',
      ...captured('replicaset-available.json'),
      status: 'Healthy',
      reason: 'ReplicasAvailable',
      message: '2/2 replicas available',
    },
  ]);
});
