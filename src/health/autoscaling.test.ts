import { describe } from 'node:test';
import type { KubeObject } from '../api/object.ts';
import { horizontalPodAutoscalerHealth, V1_CONDITIONS_ANNOTATION } from './autoscaling.ts';
import { runTable } from '../../test/support/health-table.ts';

const hpaCondition = (
  type: string,
  status: string,
  reason: string,
  message: string,
  since = '2025-06-01T11:00:00Z',
) => ({
  type,
  status,
  reason,
  message,
  lastTransitionTime: since,
});

function hpa(conditions: unknown[] | undefined, status: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: { name: 'api', namespace: 'shop' },
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'api' },
      minReplicas: 2,
      maxReplicas: 10,
      metrics: [
        {
          type: 'Resource',
          resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } },
        },
      ],
    },
    status: { currentReplicas: 3, desiredReplicas: 3, ...status, ...(conditions ? { conditions } : {}) },
  };
}

const ableTrue = hpaCondition(
  'AbleToScale',
  'True',
  'ReadyForNewScale',
  'recommended size matches current size',
);
const activeTrue = hpaCondition(
  'ScalingActive',
  'True',
  'ValidMetricFound',
  'the HPA was able to successfully calculate a replica count from cpu resource utilization (percentage of request)',
);
const limitedFalse = hpaCondition(
  'ScalingLimited',
  'False',
  'DesiredWithinRange',
  'the desired count is within the acceptable range',
);
const metricsFailed = (since: string) =>
  hpaCondition(
    'ScalingActive',
    'False',
    'FailedGetResourceMetric',
    'the HPA was unable to compute the replica count: failed to get cpu utilization: unable to get metrics for resource cpu: no metrics returned from resource metrics API',
    since,
  );

void describe('horizontalPodAutoscalerHealth', () => {
  runTable(horizontalPodAutoscalerHealth, [
    {
      name: 'scaling normally is Healthy',
      obj: hpa([ableTrue, activeTrue, limitedFalse]),
      status: 'Healthy',
      reason: 'ScalingActive',
      message: '3 replicas (desired 3, range 2-10)',
    },
    {
      name: 'at maxReplicas is Healthy and says so',
      obj: hpa([
        ableTrue,
        activeTrue,
        hpaCondition(
          'ScalingLimited',
          'True',
          'TooManyReplicas',
          'the desired replica count is more than the maximum replica count',
        ),
      ]),
      status: 'Healthy',
      reason: 'ScalingLimited',
      message: 'the desired replica count is more than the maximum replica count',
    },
    {
      name: 'no conditions yet is Progressing',
      obj: hpa(undefined, { currentReplicas: 0, desiredReplicas: 0 }),
      status: 'Progressing',
      reason: 'WaitingForAutoscaler',
    },
    {
      name: 'FailedGetScale is Degraded',
      obj: hpa([
        hpaCondition(
          'AbleToScale',
          'False',
          'FailedGetScale',
          'the HPA controller was unable to get the target\'s current scale: deployments/scale.apps "api" not found',
        ),
      ]),
      status: 'Degraded',
      reason: 'FailedGetScale',
      message: /deployments\/scale.apps "api" not found/,
    },
    {
      name: 'metrics failing for longer than the grace is Degraded',
      obj: hpa([
        hpaCondition(
          'AbleToScale',
          'True',
          'SucceededGetScale',
          "the HPA controller was able to get the target's current scale",
        ),
        metricsFailed('2025-06-01T11:50:00Z'),
      ]),
      status: 'Degraded',
      reason: 'FailedGetResourceMetric',
      message: /unable to get metrics for resource cpu/,
    },
    {
      name: 'metrics failing right after creation is Progressing',
      obj: hpa([
        hpaCondition(
          'AbleToScale',
          'True',
          'SucceededGetScale',
          "the HPA controller was able to get the target's current scale",
        ),
        metricsFailed('2025-06-01T11:59:30Z'),
      ]),
      status: 'Progressing',
      reason: 'WaitingForMetrics',
    },
    {
      name: 'invalid selector is Degraded',
      obj: hpa([
        ableTrue,
        hpaCondition(
          'ScalingActive',
          'False',
          'InvalidSelector',
          "the HPA target's scale is missing a selector",
        ),
      ]),
      status: 'Degraded',
      reason: 'InvalidSelector',
    },
    {
      name: 'target scaled to zero (ScalingDisabled) is Suspended',
      obj: hpa([
        ableTrue,
        hpaCondition(
          'ScalingActive',
          'False',
          'ScalingDisabled',
          'scaling is disabled since the replica count of the target is zero',
        ),
      ]),
      status: 'Suspended',
      reason: 'ScalingDisabled',
    },
    {
      name: 'backoff (AbleToScale=False, stabilization) waits',
      obj: hpa([
        hpaCondition(
          'AbleToScale',
          'False',
          'BackoffBoth',
          'the time since the previous scale is still within both the downscale and upscale forbidden windows',
        ),
        activeTrue,
      ]),
      status: 'Progressing',
      reason: 'WaitingForAutoscaler',
      message: /forbidden windows/,
    },
    {
      name: 'autoscaling/v1 reads conditions from the annotation',
      obj: {
        apiVersion: 'autoscaling/v1',
        kind: 'HorizontalPodAutoscaler',
        metadata: {
          name: 'api',
          namespace: 'shop',
          annotations: {
            [V1_CONDITIONS_ANNOTATION]: JSON.stringify([
              hpaCondition(
                'AbleToScale',
                'True',
                'SucceededGetScale',
                "the HPA controller was able to get the target's current scale",
              ),
              metricsFailed('2025-06-01T11:00:00Z'),
            ]),
          },
        },
        spec: {
          scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'api' },
          maxReplicas: 10,
          targetCPUUtilizationPercentage: 70,
        },
        status: { currentReplicas: 2, desiredReplicas: 2 },
      },
      status: 'Degraded',
      reason: 'FailedGetResourceMetric',
    },
    {
      name: 'autoscaling/v1 with a malformed annotation is Progressing',
      obj: {
        apiVersion: 'autoscaling/v1',
        kind: 'HorizontalPodAutoscaler',
        metadata: {
          name: 'api',
          namespace: 'shop',
          annotations: { [V1_CONDITIONS_ANNOTATION]: '[{not json' },
        },
        spec: { maxReplicas: 10 },
        status: { currentReplicas: 2, desiredReplicas: 2 },
      },
      status: 'Progressing',
      reason: 'WaitingForAutoscaler',
    },
  ]);
});
