import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Plane } from '../../api/v1alpha1/schema.ts';
import { planeIdOf, proxyBase, refuseGatewayName, statusPath } from './path.ts';

function plane(kind: string, name: string, namespace?: string, planeID?: string): Plane {
  return {
    kind,
    metadata: { name, ...(namespace ? { namespace } : {}) },
    spec: { clusterAgent: { clientCA: { value: 'ca' } }, ...(planeID ? { planeID } : {}) },
  };
}

test('proxyBase: plane type from the kind, planeID or the name, the namespace or _cluster, then k8s', () => {
  const table: Array<[Plane, string, string]> = [
    [
      plane('DataPlane', 'dp', 'acme', 'prod-1'),
      'https://gw:8444',
      'https://gw:8444/api/proxy/dataplane/prod-1/acme/dp/k8s',
    ],
    [
      plane('DataPlane', 'dp', 'acme'),
      'https://gw:8444/',
      'https://gw:8444/api/proxy/dataplane/dp/acme/dp/k8s',
    ],
    [
      plane('ClusterDataPlane', 'shared'),
      'https://gw:8444',
      'https://gw:8444/api/proxy/dataplane/shared/_cluster/shared/k8s',
    ],
    [
      plane('ObservabilityPlane', 'op', 'acme', 'obs'),
      'https://gw',
      'https://gw/api/proxy/observabilityplane/obs/acme/op/k8s',
    ],
    [
      plane('ClusterObservabilityPlane', 'default'),
      'https://gw/base',
      'https://gw/base/api/proxy/observabilityplane/default/_cluster/default/k8s',
    ],
    // Every segment is escaped: a name the API server would refuse still cannot change the path.
    [plane('DataPlane', 'a b', 'x/y'), 'https://gw', 'https://gw/api/proxy/dataplane/a%20b/x%2Fy/a%20b/k8s'],
  ];
  for (const [p, url, want] of table) assert.equal(proxyBase(url, p), want);
});

test('statusPath and planeIdOf', () => {
  assert.equal(
    statusPath(plane('ClusterDataPlane', 'shared', undefined, 'p1')),
    '/api/v1/planes/dataplane/p1/status',
  );
  assert.equal(planeIdOf(plane('DataPlane', 'dp', 'acme', '')), 'dp');
});

test('refuseGatewayName: names the gateway would not carry intact are refused, others pass', () => {
  for (const bad of ['a?b', 'a#b', 'a/b', 'a%2Fb', '.', '..']) assert.ok(refuseGatewayName(bad), bad);
  for (const good of ['web', 'system:controller:foo', 'a.b-c_d', 'x..y'])
    assert.equal(refuseGatewayName(good), undefined, good);
  assert.ok(!refuseGatewayName('a?b\u0007')?.includes('\u0007'), 'no control characters echoed');
});
