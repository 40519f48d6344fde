import { describe } from 'node:test';
import type { KubeObject } from '../api/object.ts';
import { podDisruptionBudgetHealth } from './policy.ts';
import { runTable } from '../../test/support/health-table.ts';

function pdb(status: Record<string, unknown>, generation = 1): KubeObject {
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: { name: 'api', namespace: 'shop', generation },
    spec: { minAvailable: 2, selector: { matchLabels: { app: 'api' } } },
    status,
  };
}

const allowed = (status: string, reason: string, message = '') => ({
  type: 'DisruptionAllowed',
  status,
  reason,
  message,
  observedGeneration: 1,
  lastTransitionTime: '2025-06-01T11:00:00Z',
});

void describe('podDisruptionBudgetHealth', () => {
  runTable(podDisruptionBudgetHealth, [
    {
      name: 'disruptions allowed is Healthy',
      obj: pdb({
        observedGeneration: 1,
        currentHealthy: 3,
        desiredHealthy: 2,
        disruptionsAllowed: 1,
        expectedPods: 3,
        conditions: [allowed('True', 'SufficientPods')],
      }),
      status: 'Healthy',
      reason: 'SufficientPods',
      message: '1 disruption allowed (3/3 pods healthy, 2 required)',
    },
    {
      name: 'zero disruptions allowed while the workload is short is still Healthy',
      obj: pdb({
        observedGeneration: 1,
        currentHealthy: 1,
        desiredHealthy: 2,
        disruptionsAllowed: 0,
        expectedPods: 3,
        conditions: [allowed('False', 'InsufficientPods')],
      }),
      status: 'Healthy',
      reason: 'InsufficientPods',
      message: '0 disruptions allowed (1/3 pods healthy, 2 required)',
    },
    {
      name: 'selector matching no pods is Healthy and says so',
      obj: pdb({
        observedGeneration: 1,
        currentHealthy: 0,
        desiredHealthy: 2,
        disruptionsAllowed: 0,
        expectedPods: 0,
        conditions: [allowed('False', 'InsufficientPods')],
      }),
      status: 'Healthy',
      reason: 'InsufficientPods',
      message: 'no pods match the selector',
    },
    {
      name: 'SyncFailed is Degraded',
      obj: pdb({
        observedGeneration: 1,
        currentHealthy: 0,
        desiredHealthy: 0,
        disruptionsAllowed: 0,
        expectedPods: 0,
        conditions: [
          allowed(
            'False',
            'SyncFailed',
            'Failed to calculate the number of expected pods: found no controllers for pod "standalone-0"',
          ),
        ],
      }),
      status: 'Degraded',
      reason: 'SyncFailed',
      message: /found no controllers/,
    },
    {
      name: 'not yet processed is Progressing',
      obj: pdb({ currentHealthy: 0, desiredHealthy: 0, disruptionsAllowed: 0, expectedPods: 0 }),
      status: 'Progressing',
      reason: 'GenerationNotObserved',
    },
    {
      name: 'generation lag is Progressing',
      obj: pdb({ observedGeneration: 1, conditions: [allowed('True', 'SufficientPods')] }, 2),
      status: 'Progressing',
      reason: 'GenerationNotObserved',
    },
    {
      name: 'observed but no condition is Progressing',
      obj: pdb({
        observedGeneration: 1,
        currentHealthy: 3,
        desiredHealthy: 2,
        disruptionsAllowed: 1,
        expectedPods: 3,
      }),
      status: 'Progressing',
      reason: 'WaitingForController',
    },
  ]);
});
