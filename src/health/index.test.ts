import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { KubeObject } from '../api/object.ts';
import { HEALTH_STATUSES } from '../api/v1alpha1/constants.ts';
import type { HealthStatus } from '../api/v1alpha1/constants.ts';
import { genericHealth } from './generic.ts';
import {
  assessHealth,
  compareHealth,
  builtinHealthCheck,
  healthSeverity,
  isReadyHealth,
  MAX_MESSAGE_LENGTH,
  worstHealth,
} from './index.ts';
import type { HealthCheckResolver } from './index.ts';
import { reasonOr, truncateMessage } from './result.ts';
import type { HealthCheck } from './result.ts';

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

void describe('assessHealth on malformed objects', () => {
  // A data plane, or a broken cache, may hand anything to assessHealth; none of it may throw.
  const base = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'x', namespace: 'shop' } };
  const odd: unknown[] = [null, 'x', 1, true, [], NaN, { not: 'a', kube: 'object' }];
  const hostile: Array<[string, unknown]> = [
    ['null', null],
    ['a string', 'Deployment'],
    ['a number', 42],
    ['an array', [base]],
    ['no metadata', { apiVersion: 'v1', kind: 'ConfigMap' }],
    ['metadata null', { ...base, metadata: null }],
    ['metadata a string', { ...base, metadata: 'x' }],
    ['metadata an array', { ...base, metadata: [] }],
    ['apiVersion missing', { kind: 'Pod', metadata: { name: 'x' } }],
    ['apiVersion a number', { ...base, apiVersion: 1 }],
    ['kind missing', { apiVersion: 'v1', metadata: { name: 'x' } }],
    ['kind an object', { ...base, kind: { name: 'Deployment' } }],
    ['deletionTimestamp an object', { ...base, metadata: { name: 'x', deletionTimestamp: { t: 1 } } }],
    ['finalizers a string', { ...base, metadata: { name: 'x', deletionTimestamp: 'now', finalizers: 'f' } }],
    [
      'annotations a string',
      { apiVersion: 'keda.sh/v1alpha1', kind: 'ScaledObject', metadata: { name: 'x', annotations: 'y' } },
    ],
  ];
  // Every kind with a rule, and a few without, fed odd values in every field they read.
  const kinds: Array<[string, string]> = [
    ['apps/v1', 'Deployment'],
    ['apps/v1', 'StatefulSet'],
    ['apps/v1', 'DaemonSet'],
    ['v1', 'Pod'],
    ['v1', 'Service'],
    ['v1', 'PersistentVolumeClaim'],
    ['batch/v1', 'Job'],
    ['batch/v1', 'CronJob'],
    ['autoscaling/v2', 'HorizontalPodAutoscaler'],
    ['policy/v1', 'PodDisruptionBudget'],
    ['apiregistration.k8s.io/v1', 'APIService'],
    ['gateway.networking.k8s.io/v1', 'Gateway'],
    ['gateway.networking.k8s.io/v1', 'HTTPRoute'],
    ['cert-manager.io/v1', 'Certificate'],
    ['cert-manager.io/v1', 'CertificateRequest'],
    ['helm.toolkit.fluxcd.io/v2', 'HelmRelease'],
    ['source.toolkit.fluxcd.io/v1', 'HelmRepository'],
    ['argoproj.io/v1alpha1', 'Rollout'],
    ['argoproj.io/v1alpha1', 'Application'],
    ['external-secrets.io/v1beta1', 'ExternalSecret'],
    ['keda.sh/v1alpha1', 'ScaledObject'],
    ['s3.aws.upbound.io/v1beta1', 'Bucket'],
    ['serving.knative.dev/v1', 'Revision'],
    ['postgresql.cnpg.io/v1', 'Cluster'],
    ['kafka.strimzi.io/v1beta2', 'Kafka'],
    ['monitoring.coreos.com/v1', 'Prometheus'],
    ['example.com/v1', 'Widget'],
  ];
  for (const [apiVersion, kind] of kinds) {
    for (const value of odd) {
      hostile.push([
        `${kind} with spec and status ${JSON.stringify(value)}`,
        { apiVersion, kind, metadata: { name: 'x', generation: value }, spec: value, status: value },
      ]);
      hostile.push([
        `${kind} with every status field ${JSON.stringify(value)}`,
        {
          apiVersion,
          kind,
          metadata: { name: 'x', annotations: { 'crossplane.io/paused': value } },
          spec: { replicas: value, suspend: value, paused: value, type: value, forProvider: value },
          status: {
            conditions: [value, { type: 'Ready', status: value }, { type: value, status: 'True' }],
            phase: value,
            health: value,
            observedGeneration: value,
            loadBalancer: { ingress: [value] },
            containerStatuses: [value],
            pauseConditions: value,
            replicas: value,
            availableReplicas: value,
          },
        },
      ]);
    }
  }
  for (const [name, value] of hostile) {
    void test(`${name}: a result, never a throw`, () => {
      const result = assessHealth(value as KubeObject, NOW);
      assert.ok(HEALTH_STATUSES.includes(result.status), `status ${result.status}`);
      assert.equal(typeof result.reason, 'string');
      assert.equal(typeof result.message, 'string');
    });
  }

  void test('an object without metadata is Unknown/MalformedObject, naming what is missing', () => {
    assert.deepEqual(assessHealth({ apiVersion: 'v1', kind: 'ConfigMap' } as unknown as KubeObject, NOW), {
      status: 'Unknown',
      reason: 'MalformedObject',
      message: 'cannot assess health: ConfigMap has no metadata object',
    });
  });

  void test('a value that is not an object is Unknown/MalformedObject', () => {
    const result = assessHealth('Deployment' as unknown as KubeObject, NOW);
    assert.equal(result.status, 'Unknown');
    assert.equal(result.reason, 'MalformedObject');
  });
});

void describe('assessHealth precedence', () => {
  const certificate = obj('cert-manager.io/v1', 'Certificate', {
    status: { conditions: [{ type: 'Ready', status: 'True', reason: 'Ready', message: 'up to date' }] },
  });
  const operatorRule: HealthCheck = () => ({
    status: 'Degraded',
    reason: 'OperatorRule',
    message: 'rule said so',
  });
  // The shape the HealthRule engine uses: its own rule for the kinds it covers, ours for the rest.
  const withOperatorRules: HealthCheckResolver = (group, kind, o) =>
    group === 'cert-manager.io' && kind === 'Certificate' ? operatorRule : builtinHealthCheck(group, kind, o);

  void test('an operator rule wraps builtinHealthCheck and wins for its kind', () => {
    assert.equal(assessHealth(certificate, NOW, undefined, withOperatorRules).reason, 'OperatorRule');
    assert.equal(assessHealth(certificate, NOW).reason, 'Ready');
  });

  void test('other kinds keep the built-in rule, then the generic one', () => {
    const deployment = obj('apps/v1', 'Deployment', { spec: { paused: true } });
    assert.equal(assessHealth(deployment, NOW, undefined, withOperatorRules).reason, 'Paused');
    assert.equal(
      assessHealth(obj('example.com/v1', 'Widget'), NOW, undefined, withOperatorRules).reason,
      'NoHealthSignal',
    );
  });

  void test('the pre-checks apply to operator rules too', () => {
    const deleting = obj('cert-manager.io/v1', 'Certificate');
    deleting.metadata.deletionTimestamp = '2025-06-01T11:59:00Z';
    assert.equal(assessHealth(deleting, NOW, undefined, withOperatorRules).reason, 'Terminating');
    const throwing: HealthCheckResolver = () => () => {
      throw new Error('script error: attempt to index a nil value');
    };
    assert.deepEqual(assessHealth(certificate, NOW, undefined, throwing), {
      status: 'Unknown',
      reason: 'HealthCheckFailed',
      message: 'health check failed: script error: attempt to index a nil value',
    });
  });

  void test('a Crossplane-shaped object in a platform group gets the Crossplane rule', () => {
    const claim = obj('platform.example.org/v1alpha1', 'PostgreSQLInstance', {
      spec: { compositionRef: { name: 'aws' } },
      metadata: { name: 'db', namespace: 'shop', annotations: { 'crossplane.io/paused': 'true' } },
    });
    assert.equal(assessHealth(claim, NOW).reason, 'ReconcilePaused');
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

  void test('builtinHealthCheck falls back to the generic rule', () => {
    assert.equal(builtinHealthCheck('example.com', 'Widget', obj('example.com/v1', 'Widget')), genericHealth);
    assert.notEqual(builtinHealthCheck('apps', 'Deployment', obj('apps/v1', 'Deployment')), genericHealth);
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
