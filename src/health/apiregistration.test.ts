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

// NOW is 2025-06-01T12:00:00Z: 11:58 is 2 minutes ago (within the deadline), 11:50 exactly 10.
const available = (status: string, reason: string, message: string, since = '2025-06-01T11:58:00Z') => ({
  type: 'Available',
  status,
  reason,
  message,
  lastTransitionTime: since,
});
const REFUSED =
  'failing or missing response from https://10.96.0.20:443/apis/metrics.k8s.io/v1beta1: Get "https://10.96.0.20:443/apis/metrics.k8s.io/v1beta1": dial tcp 10.96.0.20:443: connect: connection refused';

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
      name: 'failing discovery within the deadline is Progressing (per Argo CD)',
      obj: apiService([available('False', 'FailedDiscoveryCheck', REFUSED)]),
      status: 'Progressing',
      reason: 'FailedDiscoveryCheck',
    },
    {
      name: 'failing discovery for the whole deadline is Degraded',
      obj: apiService([available('False', 'FailedDiscoveryCheck', REFUSED, '2025-06-01T11:50:00Z')]),
      status: 'Degraded',
      reason: 'FailedDiscoveryCheck',
      message: /^unavailable for 10 min: FailedDiscoveryCheck: failing or missing response/,
    },
    {
      name: 'missing endpoints past the deadline are Degraded',
      obj: apiService([
        available(
          'False',
          'MissingEndpoints',
          'endpoints for service/metrics-server in "kube-system" have no addresses',
          '2025-06-01T10:00:00Z',
        ),
      ]),
      status: 'Degraded',
      reason: 'MissingEndpoints',
      message: /^unavailable for 120 min: MissingEndpoints/,
    },
    {
      name: 'a missing Service past the deadline is Degraded',
      obj: apiService([
        available(
          'False',
          'ServiceNotFound',
          'service/metrics-server in "kube-system" is not present',
          '2025-06-01T11:00:00Z',
        ),
      ]),
      status: 'Degraded',
      reason: 'ServiceNotFound',
    },
    {
      name: 'failing discovery without lastTransitionTime stays Progressing (age unknown)',
      obj: apiService([
        { type: 'Available', status: 'False', reason: 'FailedDiscoveryCheck', message: REFUSED },
      ]),
      status: 'Progressing',
      reason: 'FailedDiscoveryCheck',
    },
    {
      name: 'another reason past the deadline stays Progressing',
      obj: apiService([available('False', 'SomethingElse', 'checking', '2025-06-01T10:00:00Z')]),
      status: 'Progressing',
      reason: 'SomethingElse',
    },
    {
      name: 'Available=Unknown past the deadline stays Progressing',
      obj: apiService([available('Unknown', 'FailedDiscoveryCheck', REFUSED, '2025-06-01T10:00:00Z')]),
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
