import { describe } from 'node:test';
import type { KubeObject } from '../api/object.ts';
import { apiServiceHealth } from './apiregistration.ts';
import { runTable } from '../../test/support/health-table.ts';

function apiService(conditions: unknown[] | undefined): KubeObject {
  return {
    apiVersion: 'apiregistration.k8s.io/v1',
    kind: 'APIService',
    metadata: { name: 'v1beta1.metrics.k8s.io' },
    spec: {
      group: 'metrics.k8s.io',
      version: 'v1beta1',
      groupPriorityMinimum: 100,
      versionPriority: 100,
      insecureSkipTLSVerify: true,
      service: { name: 'metrics-server', namespace: 'kube-system', port: 443 },
    },
    status: conditions ? { conditions } : {},
  };
}

const available = (status: string, reason: string, message: string) => ({
  type: 'Available',
  status,
  reason,
  message,
  lastTransitionTime: '2025-06-01T11:00:00Z',
});

void describe('apiServiceHealth', () => {
  runTable(apiServiceHealth, [
    {
      name: 'Available=True is Healthy',
      obj: apiService([available('True', 'Passed', 'all checks passed')]),
      status: 'Healthy',
      reason: 'Available',
    },
    {
      name: 'backing service without endpoints is Progressing with the reason',
      obj: apiService([
        available(
          'False',
          'MissingEndpoints',
          'endpoints for service/metrics-server in "kube-system" have no addresses with port name "https"',
        ),
      ]),
      status: 'Progressing',
      reason: 'MissingEndpoints',
      message: /^MissingEndpoints: endpoints for service\/metrics-server/,
    },
    {
      name: 'failing discovery is Progressing (per Argo CD)',
      obj: apiService([
        available(
          'False',
          'FailedDiscoveryCheck',
          'failing or missing response from https://10.96.0.20:443/apis/metrics.k8s.io/v1beta1: Get "https://10.96.0.20:443/apis/metrics.k8s.io/v1beta1": dial tcp 10.96.0.20:443: connect: connection refused',
        ),
      ]),
      status: 'Progressing',
      reason: 'FailedDiscoveryCheck',
    },
    {
      name: 'no condition yet is Progressing',
      obj: apiService(undefined),
      status: 'Progressing',
      reason: 'WaitingForStatus',
    },
  ]);
});
