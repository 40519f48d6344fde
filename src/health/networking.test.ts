import { describe } from 'node:test';
import type { KubeObject } from '../api/object.ts';
import { ingressHealth } from './networking.ts';
import { runTable } from '../../test/support/health-table.ts';

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
