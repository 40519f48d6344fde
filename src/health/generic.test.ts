import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { KubeObject } from '../api/object.ts';
import type { HealthStatus } from '../api/v1alpha1/constants.ts';
import { genericHealth, isFailureReason } from './generic.ts';

const NOW = new Date('2025-06-01T12:00:00Z');

interface Row {
  name: string;
  obj: KubeObject;
  status: HealthStatus;
  reason: string;
  message?: string | RegExp;
}

const c = (type: string, status: string, reason: string, message: string, observedGeneration?: number) => ({
  type,
  status,
  reason,
  message,
  lastTransitionTime: '2025-06-01T11:00:00Z',
  ...(observedGeneration === undefined ? {} : { observedGeneration }),
});

function custom(
  apiVersion: string,
  kind: string,
  status: Record<string, unknown> | undefined,
  generation = 3,
): KubeObject {
  return {
    apiVersion,
    kind,
    metadata: { name: 'app', namespace: 'shop', generation },
    spec: {},
    ...(status ? { status } : {}),
  };
}

const rows: Row[] = [
  {
    name: 'ConfigMap without status is Healthy with no signal',
    obj: {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'cfg', namespace: 'shop' },
      data: { a: 'b' },
    },
    status: 'Healthy',
    reason: 'NoHealthSignal',
    message: 'no health signal; a ConfigMap that exists counts as healthy',
  },
  {
    name: 'observedGeneration lag is Progressing',
    obj: custom('kustomize.toolkit.fluxcd.io/v1', 'Kustomization', {
      observedGeneration: 2,
      conditions: [c('Ready', 'True', 'ReconciliationSucceeded', 'Applied revision: main@sha1:1a2b')],
    }),
    status: 'Progressing',
    reason: 'GenerationNotObserved',
    message: 'waiting for the controller to observe generation 3 (observed 2)',
  },
  {
    name: 'Flux Ready=True is Healthy',
    obj: custom('kustomize.toolkit.fluxcd.io/v1', 'Kustomization', {
      observedGeneration: 3,
      conditions: [c('Ready', 'True', 'ReconciliationSucceeded', 'Applied revision: main@sha1:1a2b', 3)],
    }),
    status: 'Healthy',
    reason: 'Ready',
    message: 'Applied revision: main@sha1:1a2b',
  },
  {
    name: 'Stalled=True is Degraded with its reason',
    obj: custom('helm.toolkit.fluxcd.io/v2', 'HelmRelease', {
      observedGeneration: 3,
      conditions: [
        c(
          'Ready',
          'False',
          'InstallFailed',
          'Helm install failed for release shop/api with chart api@1.2.0',
          3,
        ),
        c('Stalled', 'True', 'RetriesExceeded', 'Failed to install after 1 attempt(s)', 3),
      ],
    }),
    status: 'Degraded',
    reason: 'RetriesExceeded',
    message: 'Failed to install after 1 attempt(s)',
  },
  {
    name: 'Failed=True is Degraded',
    obj: custom('example.com/v1', 'Backup', {
      conditions: [c('Failed', 'True', 'UploadFailed', 'bucket s3://backups not reachable')],
    }),
    status: 'Degraded',
    reason: 'UploadFailed',
  },
  {
    name: 'Reconciling=True is Progressing',
    obj: custom('source.toolkit.fluxcd.io/v1', 'GitRepository', {
      observedGeneration: 3,
      conditions: [
        c('Reconciling', 'True', 'Progressing', 'building artifact: new revision main@sha1:9f8e', 3),
        c('Ready', 'Unknown', 'Progressing', 'reconciliation in progress', 3),
      ],
    }),
    status: 'Progressing',
    reason: 'Progressing',
    message: 'building artifact: new revision main@sha1:9f8e',
  },
  {
    name: 'Ready=False with a waiting reason is Progressing',
    obj: custom('cert-manager.io/v1', 'Certificate', {
      conditions: [
        c('Ready', 'False', 'DoesNotExist', 'Issuing certificate as Secret does not exist', 3),
        c('Issuing', 'True', 'DoesNotExist', 'Issuing certificate as Secret does not exist', 3),
      ],
    }),
    status: 'Progressing',
    reason: 'DoesNotExist',
  },
  {
    name: 'Ready=False whose reason names a failure is Degraded',
    obj: custom('serving.knative.dev/v1', 'Service', {
      observedGeneration: 3,
      conditions: [
        c(
          'Ready',
          'False',
          'RevisionFailed',
          'Revision "api-00003" failed with message: Unable to fetch image',
          3,
        ),
      ],
    }),
    status: 'Degraded',
    reason: 'RevisionFailed',
  },
  {
    name: 'Ready=Unknown is Progressing',
    obj: custom('example.com/v1', 'Database', {
      conditions: [c('Ready', 'Unknown', 'Provisioning', 'creating instance')],
    }),
    status: 'Progressing',
    reason: 'Provisioning',
  },
  {
    name: 'Available decides when there is no Ready',
    obj: custom('example.com/v1', 'Cache', {
      conditions: [c('Available', 'True', 'AsExpected', 'all replicas up')],
    }),
    status: 'Healthy',
    reason: 'Available',
  },
  {
    name: 'Available=False with a waiting reason is Progressing',
    obj: custom('example.com/v1', 'Cache', {
      conditions: [c('Available', 'False', 'MinimumReplicasUnavailable', 'waiting for replicas')],
    }),
    status: 'Progressing',
    reason: 'MinimumReplicasUnavailable',
  },
  {
    name: 'Ready=True from an older generation is Progressing',
    obj: custom('example.com/v1', 'Database', {
      conditions: [c('Ready', 'True', 'Ready', 'instance ready', 2)],
    }),
    status: 'Progressing',
    reason: 'GenerationNotObserved',
    message: 'Ready describes generation 2, not 3',
  },
  {
    name: 'Ready with a free-text reason falls back to NotReady',
    obj: custom('example.com/v1', 'Database', {
      conditions: [c('Ready', 'False', 'waiting for disk', 'pending')],
    }),
    status: 'Progressing',
    reason: 'NotReady',
  },
  {
    name: 'conditions without Ready or Available is Healthy with no signal',
    obj: custom('example.com/v1', 'Widget', { conditions: [c('Synced', 'True', 'ReconcileSuccess', '')] }),
    status: 'Healthy',
    reason: 'NoHealthSignal',
  },
  {
    name: 'spec.suspend true is Suspended before the generation lag it causes',
    obj: { ...custom('example.com/v1', 'Backup', { observedGeneration: 2 }), spec: { suspend: true } },
    status: 'Suspended',
    reason: 'Suspended',
    message: 'spec.suspend is true',
  },
  {
    name: 'spec.paused true is Suspended',
    obj: { ...custom('example.com/v1', 'Pipeline', undefined), spec: { paused: true } },
    status: 'Suspended',
    reason: 'Suspended',
    message: 'spec.paused is true',
  },
  {
    name: 'spec.paused as a string is not a pause signal',
    obj: { ...custom('example.com/v1', 'Pipeline', undefined), spec: { paused: 'true' } },
    status: 'Healthy',
    reason: 'NoHealthSignal',
  },
  {
    name: 'Synced=False is Degraded even with Ready=True',
    obj: custom('db.example.org/v1', 'Database', {
      conditions: [
        c('Synced', 'False', 'ReconcileError', 'update failed: permission denied'),
        c('Ready', 'True', 'Available', ''),
      ],
    }),
    status: 'Degraded',
    reason: 'ReconcileError',
    message: 'update failed: permission denied',
  },
  {
    name: 'Synced=False because of a pause is Suspended',
    obj: custom('db.example.org/v1', 'Database', {
      conditions: [
        c('Synced', 'False', 'ReconcilePaused', 'Reconciliation is paused via the pause annotation'),
      ],
    }),
    status: 'Suspended',
    reason: 'ReconcilePaused',
  },
  {
    name: 'Synced=False with free text falls back to NotSynced',
    obj: custom('db.example.org/v1', 'Database', { conditions: [c('Synced', 'False', 'cannot sync', 'x')] }),
    status: 'Degraded',
    reason: 'NotSynced',
  },
  {
    name: 'Succeeded=Unknown is Progressing',
    obj: custom('tekton.dev/v1', 'TaskRun', {
      conditions: [c('Succeeded', 'Unknown', 'Running', 'step 1 of 3')],
    }),
    status: 'Progressing',
    reason: 'Running',
  },
  {
    name: 'Succeeded=False is Degraded whatever the reason',
    obj: custom('tekton.dev/v1', 'TaskRun', {
      conditions: [c('Succeeded', 'False', 'TaskRunTimeout', 'timed out')],
    }),
    status: 'Degraded',
    reason: 'TaskRunTimeout',
  },
  {
    name: 'phase Failed is Degraded with the status message',
    obj: custom('example.com/v1', 'Restore', { phase: 'Failed', message: 'snapshot not found' }),
    status: 'Degraded',
    reason: 'Failed',
    message: 'phase Failed: snapshot not found',
  },
  {
    name: 'phase Error (any case) is Degraded',
    obj: custom('example.com/v1', 'Restore', { phase: 'ERROR' }),
    status: 'Degraded',
    reason: 'ERROR',
  },
  {
    name: 'phase Pending is Progressing',
    obj: custom('example.com/v1', 'Volume', { phase: 'Pending' }),
    status: 'Progressing',
    reason: 'Pending',
  },
  {
    name: 'phase Running is Healthy',
    obj: custom('example.com/v1', 'VirtualMachine', { phase: 'Running' }),
    status: 'Healthy',
    reason: 'Running',
  },
  {
    name: 'phase Succeeded is Healthy',
    obj: custom('example.com/v1', 'Migration', { phase: 'Succeeded' }),
    status: 'Healthy',
    reason: 'Succeeded',
  },
  {
    name: 'an unfamiliar phase raises no alarm',
    obj: custom('example.com/v1', 'Migration', { phase: 'PartiallyFailed' }),
    status: 'Healthy',
    reason: 'NoHealthSignal',
  },
  {
    name: 'a phase of free text raises no alarm',
    obj: custom('example.com/v1', 'Migration', { phase: 'pending approval' }),
    status: 'Healthy',
    reason: 'NoHealthSignal',
  },
  {
    name: 'Ready decides over the phase',
    obj: custom('example.com/v1', 'Cluster', {
      phase: 'Failed',
      conditions: [c('Ready', 'True', 'Ready', 'all good')],
    }),
    status: 'Healthy',
    reason: 'Ready',
  },
  {
    name: 'fewer updated replicas than desired is Progressing',
    obj: {
      ...custom('example.com/v1', 'CloneSet', { replicas: 3, updatedReplicas: 1, availableReplicas: 3 }),
      spec: { replicas: 3 },
    },
    status: 'Progressing',
    reason: 'ReplicasUnavailable',
    message: '1/3 replicas updated',
  },
  {
    name: 'fewer available replicas than status.replicas is Progressing',
    obj: custom('example.com/v1', 'Pool', { replicas: 4, availableReplicas: 2 }),
    status: 'Progressing',
    reason: 'ReplicasUnavailable',
    message: '2/4 replicas available',
  },
  {
    name: 'all replicas updated, ready and available is Healthy',
    obj: {
      ...custom('example.com/v1', 'CloneSet', {
        replicas: 2,
        updatedReplicas: 2,
        readyReplicas: 2,
        availableReplicas: 2,
      }),
      spec: { replicas: 2 },
    },
    status: 'Healthy',
    reason: 'ReplicasAvailable',
    message: '2/2 replicas updated, ready, available',
  },
  {
    name: 'replicas alone (no counts to compare) is no signal',
    obj: { ...custom('example.com/v1', 'Cache', undefined), spec: { replicas: 3 } },
    status: 'Healthy',
    reason: 'NoHealthSignal',
  },
  {
    name: 'malformed status is tolerated',
    obj: custom('example.com/v1', 'Widget', { conditions: 'not-a-list', observedGeneration: 'three' }),
    status: 'Healthy',
    reason: 'NoHealthSignal',
  },
];

void describe('genericHealth', () => {
  for (const row of rows) {
    void test(row.name, () => {
      const result = genericHealth(row.obj, NOW);
      assert.equal(result.status, row.status, result.message);
      assert.equal(result.reason, row.reason, result.message);
      if (typeof row.message === 'string') assert.equal(result.message, row.message);
      else if (row.message) assert.match(result.message, row.message);
    });
  }
});

void describe('isFailureReason', () => {
  const cases: Array<[string, boolean]> = [
    ['InstallFailed', true],
    ['Failed', true],
    ['ReconciliationFailed', true],
    ['FailedCreate', true],
    ['ReconcileError', true],
    ['InvalidSpec', true],
    ['ImagePullBackOff', true],
    ['CrashLoop', true],
    ['Failover', false],
    ['FailoverInProgress', false],
    ['Errata', false],
    ['DependencyNotReady', false],
    ['Progressing', false],
    ['MinimumReplicasUnavailable', false],
  ];
  for (const [reason, expected] of cases) {
    void test(`${reason} -> ${expected}`, () => assert.equal(isFailureReason(reason), expected));
  }
  void test('undefined -> false', () => assert.equal(isFailureReason(undefined), false));
});
