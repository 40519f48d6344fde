import { describe } from 'node:test';
import type { KubeObject } from '../api/object.ts';
import { gatewayHealth, routeHealth } from './gateway.ts';
import { runTable } from '../../test/support/health-table.ts';

const c = (type: string, status: string, reason: string, message: string, observedGeneration = 1) => ({
  type,
  status,
  reason,
  message,
  observedGeneration,
  lastTransitionTime: '2025-06-01T11:00:00Z',
});

function gateway(status: Record<string, unknown>, generation = 1): KubeObject {
  return {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'Gateway',
    metadata: { name: 'public', namespace: 'shop', generation },
    spec: {
      gatewayClassName: 'envoy',
      listeners: [
        { name: 'http', port: 80, protocol: 'HTTP' },
        {
          name: 'https',
          port: 443,
          protocol: 'HTTPS',
          tls: { mode: 'Terminate', certificateRefs: [{ name: 'public-tls' }] },
        },
      ],
    },
    status,
  };
}

const listener = (name: string, conditions: unknown[]) => ({
  name,
  attachedRoutes: 1,
  supportedKinds: [{ group: 'gateway.networking.k8s.io', kind: 'HTTPRoute' }],
  conditions,
});

const listenerOk = (name: string) =>
  listener(name, [
    c('Programmed', 'True', 'Programmed', 'Sending translated listener configuration to the data plane'),
    c('Accepted', 'True', 'Accepted', 'Listener has been successfully translated'),
    c('ResolvedRefs', 'True', 'ResolvedRefs', 'Listener references have been resolved'),
  ]);

const gatewayOk = [
  c('Accepted', 'True', 'Accepted', 'The Gateway has been scheduled by Envoy Gateway'),
  c('Programmed', 'True', 'Programmed', 'Address assigned to the Gateway, 1/1 envoy replicas available'),
];

void describe('gatewayHealth', () => {
  runTable(gatewayHealth, [
    {
      name: 'accepted and programmed is Healthy',
      obj: gateway({
        addresses: [{ type: 'IPAddress', value: '203.0.113.20' }],
        conditions: gatewayOk,
        listeners: [listenerOk('http'), listenerOk('https')],
      }),
      status: 'Healthy',
      reason: 'Programmed',
      message: 'programmed at 203.0.113.20',
    },
    {
      name: 'API-server defaults before any controller (Unknown/Pending) is Progressing',
      obj: gateway({
        conditions: [
          {
            type: 'Accepted',
            status: 'Unknown',
            reason: 'Pending',
            message: 'Waiting for controller',
            lastTransitionTime: '1970-01-01T00:00:00Z',
          },
          {
            type: 'Programmed',
            status: 'Unknown',
            reason: 'Pending',
            message: 'Waiting for controller',
            lastTransitionTime: '1970-01-01T00:00:00Z',
          },
        ],
      }),
      status: 'Progressing',
      reason: 'Pending',
      message: 'Waiting for controller',
    },
    {
      name: 'Accepted=False is Degraded',
      obj: gateway({
        conditions: [
          c('Accepted', 'False', 'InvalidParameters', 'Specified parametersRef is not found'),
          c('Programmed', 'False', 'Invalid', 'The Gateway is not accepted'),
        ],
      }),
      status: 'Degraded',
      reason: 'InvalidParameters',
      message: 'Specified parametersRef is not found',
    },
    {
      name: 'listener with an invalid certificate is Degraded',
      obj: gateway({
        conditions: gatewayOk,
        listeners: [
          listenerOk('http'),
          listener('https', [
            c('Programmed', 'False', 'Invalid', 'Listener is invalid, see other Conditions for details.'),
            c('Accepted', 'True', 'Accepted', 'Listener has been successfully translated'),
            c('ResolvedRefs', 'False', 'InvalidCertificateRef', 'Secret shop/public-tls does not exist.'),
          ]),
        ],
      }),
      status: 'Degraded',
      reason: 'InvalidCertificateRef',
      message: 'listener https: Secret shop/public-tls does not exist.',
    },
    {
      name: 'conflicted listener is Degraded',
      obj: gateway({
        conditions: gatewayOk,
        listeners: [
          listener('http', [
            c(
              'Conflicted',
              'True',
              'HostnameConflict',
              'All listeners for a given port must use a unique hostname',
            ),
            c('Programmed', 'False', 'Invalid', 'Listener is invalid, see other Conditions for details.'),
          ]),
        ],
      }),
      status: 'Degraded',
      reason: 'HostnameConflict',
    },
    {
      name: 'accepted but not yet programmed is Progressing',
      obj: gateway({
        conditions: [
          c('Accepted', 'True', 'Accepted', 'The Gateway has been scheduled by Envoy Gateway'),
          c('Programmed', 'False', 'AddressNotAssigned', 'No addresses have been assigned to the Gateway'),
        ],
        listeners: [listenerOk('http')],
      }),
      status: 'Progressing',
      reason: 'AddressNotAssigned',
    },
    {
      name: 'listener not yet programmed is Progressing',
      obj: gateway({
        conditions: gatewayOk,
        listeners: [
          listener('http', [
            c('Programmed', 'Unknown', 'Pending', 'Waiting for the data plane'),
            c('Accepted', 'True', 'Accepted', 'Listener has been successfully translated'),
          ]),
        ],
      }),
      status: 'Progressing',
      reason: 'Pending',
      message: 'listener http: Waiting for the data plane',
    },
    {
      name: 'conditions from an older generation are Progressing',
      obj: gateway({ conditions: gatewayOk, listeners: [listenerOk('http')] }, 2),
      status: 'Progressing',
      reason: 'GenerationNotObserved',
      message: 'waiting for the gateway controller to observe generation 2',
    },
    {
      name: 'no status at all is Progressing',
      obj: gateway({}),
      status: 'Progressing',
      reason: 'WaitingForStatus',
    },
  ]);
});

function route(kind: string, parents: unknown[] | undefined, generation = 2): KubeObject {
  return {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind,
    metadata: { name: 'api', namespace: 'shop', generation },
    spec: {
      parentRefs: [{ name: 'public', sectionName: 'https' }],
      rules: [{ backendRefs: [{ name: 'api', port: 80 }] }],
    },
    status: parents ? { parents } : {},
  };
}

const parent = (
  name: string,
  conditions: unknown[],
  controllerName = 'gateway.envoyproxy.io/gatewayclass-controller',
) => ({
  parentRef: {
    group: 'gateway.networking.k8s.io',
    kind: 'Gateway',
    name,
    namespace: 'shop',
    sectionName: 'https',
  },
  controllerName,
  conditions,
});

const routeAccepted = (gen: number) => [
  c('Accepted', 'True', 'Accepted', 'Route is accepted', gen),
  c('ResolvedRefs', 'True', 'ResolvedRefs', 'Resolved all the Object references for the Route', gen),
];

void describe('routeHealth', () => {
  runTable(routeHealth, [
    {
      name: 'HTTPRoute accepted by its gateway is Healthy',
      obj: route('HTTPRoute', [parent('public', routeAccepted(2))]),
      status: 'Healthy',
      reason: 'Accepted',
      message: 'accepted by public/https',
    },
    {
      name: 'GRPCRoute accepted by its gateway is Healthy',
      obj: route('GRPCRoute', [parent('public', routeAccepted(2))]),
      status: 'Healthy',
      reason: 'Accepted',
    },
    {
      name: 'backend not found is Degraded',
      obj: route('HTTPRoute', [
        parent('public', [
          c('Accepted', 'True', 'Accepted', 'Route is accepted', 2),
          c(
            'ResolvedRefs',
            'False',
            'BackendNotFound',
            'Failed to process route rule 0 backendRef 0: service shop/api not found.',
            2,
          ),
        ]),
      ]),
      status: 'Degraded',
      reason: 'BackendNotFound',
      message:
        'parent public/https: Failed to process route rule 0 backendRef 0: service shop/api not found.',
    },
    {
      name: 'not allowed by the listener is Degraded',
      obj: route('HTTPRoute', [
        parent('public', [
          c(
            'Accepted',
            'False',
            'NotAllowedByListeners',
            'No listeners included by this parent ref allowed this attachment.',
            2,
          ),
          c('ResolvedRefs', 'True', 'ResolvedRefs', 'Resolved all the Object references for the Route', 2),
        ]),
      ]),
      status: 'Degraded',
      reason: 'NotAllowedByListeners',
    },
    {
      name: 'a stale failing parent is ignored when a current parent accepts',
      obj: route('HTTPRoute', [
        parent(
          'old-gateway',
          [c('Accepted', 'False', 'NoMatchingParent', 'No matching parent', 1)],
          'example.com/old',
        ),
        parent('public', routeAccepted(2)),
      ]),
      status: 'Healthy',
      reason: 'Accepted',
      message: 'accepted by public/https',
    },
    {
      name: 'only stale parents is Progressing',
      obj: route('HTTPRoute', [parent('public', routeAccepted(1))]),
      status: 'Progressing',
      reason: 'GenerationNotObserved',
      message: 'waiting for parents to observe generation 2',
    },
    {
      name: 'Programmed present and not True is Progressing',
      obj: route('HTTPRoute', [
        parent('public', [
          ...routeAccepted(2),
          c('Programmed', 'False', 'Pending', 'Route is still being programmed', 2),
        ]),
      ]),
      status: 'Progressing',
      reason: 'Pending',
      message: 'parent public/https: Route is still being programmed',
    },
    {
      name: 'no status yet is Progressing',
      obj: route('HTTPRoute', undefined),
      status: 'Progressing',
      reason: 'WaitingForStatus',
    },
    {
      name: 'empty parents list is Progressing',
      obj: route('HTTPRoute', []),
      status: 'Progressing',
      reason: 'WaitingForStatus',
    },
  ]);
});
