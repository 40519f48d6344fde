import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { KubeObject } from '../api/object.ts';
import type { HealthStatus } from '../api/v1alpha1/constants.ts';
import { genericHealth } from './generic.ts';
import {
  assessHealth,
  compareHealth,
  healthCheckFor,
  healthSeverity,
  isReadyHealth,
  MAX_MESSAGE_LENGTH,
  worstHealth,
} from './index.ts';
import { reasonOr, truncateMessage } from './result.ts';

const NOW = new Date('2025-06-01T12:00:00Z');

function obj(apiVersion: string, kind: string, rest: Record<string, unknown> = {}): KubeObject {
  return { apiVersion, kind, metadata: { name: 'x', namespace: 'shop', generation: 1 }, ...rest };
}

void describe('assessHealth pre-checks', () => {
  void test('a missing object is Unknown/NotFound', () => {
    assert.deepEqual(assessHealth(undefined, NOW), {
      status: 'Unknown',
      reason: 'NotFound',
      message: 'object not found',
    });
  });

  void test('deletionTimestamp wins over the kind rule and names the finalizers', () => {
    const deployment = obj('apps/v1', 'Deployment', { spec: { replicas: 0 } });
    deployment.metadata.deletionTimestamp = '2025-06-01T11:59:00Z';
    deployment.metadata.finalizers = ['foregroundDeletion'];
    assert.deepEqual(assessHealth(deployment, NOW), {
      status: 'Progressing',
      reason: 'Terminating',
      message: 'deletion requested at 2025-06-01T11:59:00Z; waiting for finalizers: foregroundDeletion',
    });
  });

  void test('a terminating Namespace is Progressing via the pre-check', () => {
    const ns: KubeObject = {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'shop', deletionTimestamp: '2025-06-01T11:59:00Z' },
      spec: { finalizers: ['kubernetes'] },
      status: { phase: 'Terminating' },
    };
    const result = assessHealth(ns, NOW);
    assert.equal(result.status, 'Progressing');
    assert.equal(result.reason, 'Terminating');
  });

  void test('a rule that throws on hostile input yields Unknown/HealthCheckFailed', () => {
    const hostile = obj('apps/v1', 'Deployment');
    Object.defineProperty(hostile, 'spec', {
      enumerable: true,
      get() {
        throw new Error('boom');
      },
    });
    assert.deepEqual(assessHealth(hostile, NOW), {
      status: 'Unknown',
      reason: 'HealthCheckFailed',
      message: 'health check failed: boom',
    });
  });

  void test('now defaults to the current time', () => {
    assert.equal(assessHealth(obj('v1', 'ConfigMap')).status, 'Healthy');
  });
});

void describe('assessHealth dispatch by group and kind', () => {
  const rows: Array<{ name: string; obj: KubeObject; status: HealthStatus; reason: string }> = [
    {
      name: 'apps/v1 Deployment',
      obj: obj('apps/v1', 'Deployment', { spec: { replicas: 0 } }),
      status: 'Suspended',
      reason: 'ScaledToZero',
    },
    {
      name: 'apps/v1 StatefulSet',
      obj: obj('apps/v1', 'StatefulSet', { spec: { replicas: 0 } }),
      status: 'Suspended',
      reason: 'ScaledToZero',
    },
    {
      name: 'apps/v1 DaemonSet',
      obj: obj('apps/v1', 'DaemonSet', { status: {} }),
      status: 'Progressing',
      reason: 'GenerationNotObserved',
    },
    {
      name: 'apps/v1 ReplicaSet',
      obj: obj('apps/v1', 'ReplicaSet', { spec: { replicas: 0 } }),
      status: 'Suspended',
      reason: 'ScaledToZero',
    },
    {
      name: 'extensions/v1beta1 Deployment (old manifests)',
      obj: obj('extensions/v1beta1', 'Deployment', { spec: { paused: true } }),
      status: 'Suspended',
      reason: 'Paused',
    },
    {
      name: 'v1 ReplicationController uses the ReplicaSet rule',
      obj: obj('v1', 'ReplicationController', { spec: { replicas: 0 } }),
      status: 'Suspended',
      reason: 'ScaledToZero',
    },
    {
      name: 'v1 Pod',
      obj: obj('v1', 'Pod', { status: { phase: 'Succeeded' } }),
      status: 'Healthy',
      reason: 'PodSucceeded',
    },
    {
      name: 'v1 Service',
      obj: obj('v1', 'Service', { spec: { type: 'LoadBalancer' }, status: { loadBalancer: {} } }),
      status: 'Progressing',
      reason: 'WaitingForLoadBalancer',
    },
    {
      name: 'v1 PersistentVolumeClaim',
      obj: obj('v1', 'PersistentVolumeClaim', { status: { phase: 'Lost' } }),
      status: 'Degraded',
      reason: 'ClaimLost',
    },
    {
      name: 'v1 Namespace',
      obj: obj('v1', 'Namespace', { status: { phase: 'Active' } }),
      status: 'Healthy',
      reason: 'Active',
    },
    {
      name: 'v1 ConfigMap falls to the generic rule',
      obj: obj('v1', 'ConfigMap', { data: {} }),
      status: 'Healthy',
      reason: 'NoHealthSignal',
    },
    {
      name: 'batch/v1 Job',
      obj: obj('batch/v1', 'Job', { status: { active: 1 } }),
      status: 'Progressing',
      reason: 'Running',
    },
    {
      name: 'batch/v1 CronJob',
      obj: obj('batch/v1', 'CronJob', { spec: { suspend: true } }),
      status: 'Suspended',
      reason: 'Suspended',
    },
    {
      name: 'networking.k8s.io/v1 Ingress',
      obj: obj('networking.k8s.io/v1', 'Ingress', { status: { loadBalancer: {} } }),
      status: 'Healthy',
      reason: 'NoAddressReported',
    },
    {
      name: 'extensions/v1beta1 Ingress',
      obj: obj('extensions/v1beta1', 'Ingress', { status: { loadBalancer: {} } }),
      status: 'Healthy',
      reason: 'NoAddressReported',
    },
    {
      name: 'autoscaling/v2 HorizontalPodAutoscaler',
      obj: obj('autoscaling/v2', 'HorizontalPodAutoscaler', { status: {} }),
      status: 'Progressing',
      reason: 'WaitingForAutoscaler',
    },
    {
      name: 'autoscaling/v1 HorizontalPodAutoscaler',
      obj: obj('autoscaling/v1', 'HorizontalPodAutoscaler', { status: {} }),
      status: 'Progressing',
      reason: 'WaitingForAutoscaler',
    },
    {
      name: 'policy/v1 PodDisruptionBudget',
      obj: obj('policy/v1', 'PodDisruptionBudget', { status: { observedGeneration: 1 } }),
      status: 'Progressing',
      reason: 'WaitingForController',
    },
    {
      name: 'apiextensions.k8s.io/v1 CustomResourceDefinition',
      obj: obj('apiextensions.k8s.io/v1', 'CustomResourceDefinition', { status: {} }),
      status: 'Progressing',
      reason: 'Installing',
    },
    {
      name: 'apiregistration.k8s.io/v1 APIService',
      obj: obj('apiregistration.k8s.io/v1', 'APIService', { status: {} }),
      status: 'Progressing',
      reason: 'WaitingForStatus',
    },
    {
      name: 'gateway.networking.k8s.io/v1 Gateway',
      obj: obj('gateway.networking.k8s.io/v1', 'Gateway', { status: {} }),
      status: 'Progressing',
      reason: 'WaitingForStatus',
    },
    {
      name: 'gateway.networking.k8s.io/v1 HTTPRoute',
      obj: obj('gateway.networking.k8s.io/v1', 'HTTPRoute', { status: { parents: [] } }),
      status: 'Progressing',
      reason: 'WaitingForStatus',
    },
    {
      name: 'gateway.networking.k8s.io/v1 GRPCRoute',
      obj: obj('gateway.networking.k8s.io/v1', 'GRPCRoute', { status: { parents: [] } }),
      status: 'Progressing',
      reason: 'WaitingForStatus',
    },
    {
      name: 'a Deployment kind in another group is not an apps Deployment',
      obj: obj('example.com/v1', 'Deployment', { spec: { replicas: 0 } }),
      status: 'Healthy',
      reason: 'NoHealthSignal',
    },
    {
      name: 'a custom resource uses the generic rule',
      obj: obj('example.com/v1', 'Database', {
        status: { conditions: [{ type: 'Ready', status: 'True', reason: 'Available', message: 'up' }] },
      }),
      status: 'Healthy',
      reason: 'Ready',
    },
  ];
  for (const row of rows) {
    void test(row.name, () => {
      const result = assessHealth(row.obj, NOW);
      assert.equal(result.status, row.status, result.message);
      assert.equal(result.reason, row.reason, result.message);
    });
  }

  void test('healthCheckFor falls back to the generic rule', () => {
    assert.equal(healthCheckFor('example.com', 'Widget'), genericHealth);
    assert.notEqual(healthCheckFor('apps', 'Deployment'), genericHealth);
  });
});

void describe('aggregation', () => {
  void test('severity order is Healthy < Suspended < Progressing < Unknown < Degraded', () => {
    const ordered: HealthStatus[] = ['Healthy', 'Suspended', 'Progressing', 'Unknown', 'Degraded'];
    assert.deepEqual(
      ordered.map((s) => healthSeverity(s)),
      [0, 1, 2, 3, 4],
    );
  });

  const worst: Array<[HealthStatus[], HealthStatus]> = [
    [[], 'Healthy'],
    [['Healthy', 'Healthy'], 'Healthy'],
    [['Healthy', 'Suspended'], 'Suspended'],
    [['Suspended', 'Progressing'], 'Progressing'],
    [['Progressing', 'Unknown'], 'Unknown'],
    [['Unknown', 'Degraded', 'Healthy'], 'Degraded'],
  ];
  for (const [statuses, expected] of worst) {
    void test(`worstHealth(${JSON.stringify(statuses)}) = ${expected}`, () => {
      assert.equal(worstHealth(statuses), expected);
    });
  }

  void test('compareHealth sorts worst first', () => {
    const statuses: HealthStatus[] = ['Healthy', 'Degraded', 'Suspended', 'Unknown', 'Progressing'];
    assert.deepEqual(statuses.sort(compareHealth), [
      'Degraded',
      'Unknown',
      'Progressing',
      'Suspended',
      'Healthy',
    ]);
  });

  void test('only Healthy and Suspended let a Release be Ready', () => {
    assert.deepEqual(
      (['Healthy', 'Suspended', 'Progressing', 'Unknown', 'Degraded'] as const).map(isReadyHealth),
      [true, true, false, false, false],
    );
  });
});

void describe('result helpers', () => {
  void test('truncateMessage keeps short messages and collapses whitespace', () => {
    assert.equal(truncateMessage('  a\n  b  '), 'a b');
  });
  void test('truncateMessage caps at MAX_MESSAGE_LENGTH with an ellipsis', () => {
    const out = truncateMessage('y'.repeat(500));
    assert.equal(out.length, MAX_MESSAGE_LENGTH);
    assert.ok(out.endsWith('…'), 'expected out.endsWith("…")');
  });
  void test('reasonOr keeps CamelCase reasons and replaces free text', () => {
    assert.equal(reasonOr('BackoffLimitExceeded', 'JobFailed'), 'BackoffLimitExceeded');
    assert.equal(reasonOr('back off', 'JobFailed'), 'JobFailed');
    assert.equal(reasonOr('', 'JobFailed'), 'JobFailed');
    assert.equal(reasonOr(undefined, 'JobFailed'), 'JobFailed');
  });
});

void test('a condition message with terminal escapes is reported without its control characters', () => {
  const result = assessHealth({
    apiVersion: 'example.com/v1',
    kind: 'Widget',
    metadata: { name: 'w', namespace: 'apps', generation: 1 },
    status: {
      observedGeneration: 1,
      conditions: [
        {
          type: 'Ready',
          status: 'False',
          reason: 'Broken',
          message: 'bad\u001b]0;pwned\u0007\u001b[2J\u009b31mthing',
        },
      ],
    },
  });
  assert.equal(result.message, 'bad ]0;pwned [2J 31mthing');
});
