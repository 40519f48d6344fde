import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { KubeObject } from '../api/object.ts';
import type { HealthStatus } from '../api/v1alpha1/constants.ts';
import { ingressHealth } from './networking.ts';
import type { HealthCheck } from './result.ts';

const NOW = new Date('2025-06-01T12:00:00Z');

interface Row {
  name: string;
  obj: KubeObject;
  now?: Date;
  status: HealthStatus;
  reason: string;
  message?: string | RegExp;
}

function runTable(check: HealthCheck, rows: Row[]): void {
  for (const row of rows) {
    void test(row.name, () => {
      const result = check(row.obj, row.now ?? NOW);
      assert.equal(result.status, row.status, result.message);
      assert.equal(result.reason, row.reason, result.message);
      if (typeof row.message === 'string') assert.equal(result.message, row.message);
      else if (row.message) assert.match(result.message, row.message);
    });
  }
}

function ingress(status: Record<string, unknown>): KubeObject {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name: 'api', namespace: 'shop', generation: 1 },
    spec: {
      ingressClassName: 'nginx',
      rules: [
        {
          host: 'api.example.com',
          http: {
            paths: [
              { path: '/', pathType: 'Prefix', backend: { service: { name: 'api', port: { number: 80 } } } },
            ],
          },
        },
      ],
    },
    status,
  };
}

void describe('ingressHealth', () => {
  runTable(ingressHealth, [
    {
      name: 'address published is Healthy',
      obj: ingress({ loadBalancer: { ingress: [{ ip: '203.0.113.7' }] } }),
      status: 'Healthy',
      reason: 'AddressAssigned',
      message: 'address 203.0.113.7',
    },
    {
      name: 'hostname published is Healthy',
      obj: ingress({ loadBalancer: { ingress: [{ hostname: 'k8s-shop-api.elb.amazonaws.com' }] } }),
      status: 'Healthy',
      reason: 'AddressAssigned',
    },
    {
      name: 'no address (controller that never writes status) is still Healthy, and says so',
      obj: ingress({ loadBalancer: {} }),
      status: 'Healthy',
      reason: 'NoAddressReported',
      message: /no load balancer address reported/,
    },
  ]);
});
