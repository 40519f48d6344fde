import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { APPLY_STAGES, applyStage, DEFAULT_STAGE, deleteOrder, groupByStage } from './order.ts';

interface Item {
  id: string;
  kind: string;
}

const kindOf = (i: Item) => i.kind;
const item = (kind: string, id = kind): Item => ({ id, kind });

describe('applyStage', () => {
  // Each row must be applied strictly before the next one.
  const ordered: string[][] = [
    ['Namespace', 'CustomResourceDefinition'],
    ['ClusterRole', 'ClusterRoleBinding', 'PriorityClass', 'StorageClass', 'IngressClass', 'GatewayClass'],
    ['ServiceAccount', 'Role', 'RoleBinding', 'ResourceQuota', 'LimitRange', 'NetworkPolicy'],
    ['ConfigMap', 'Secret', 'PersistentVolumeClaim', 'PersistentVolume'],
    ['Service', 'EndpointSlice'],
    ['Widget', 'Certificate', 'ServiceMonitor'],
    ['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job', 'CronJob', 'Pod'],
    ['HorizontalPodAutoscaler', 'PodDisruptionBudget', 'Ingress', 'HTTPRoute', 'Gateway'],
    [
      'ValidatingWebhookConfiguration',
      'MutatingWebhookConfiguration',
      'ValidatingAdmissionPolicy',
      'APIService',
    ],
  ];
  for (let row = 0; row + 1 < ordered.length; row++) {
    const before = ordered[row] ?? [];
    const after = ordered[row + 1] ?? [];
    test(`${before.join(', ')} go before ${after.join(', ')}`, () => {
      for (const a of before) {
        for (const b of after) {
          assert.ok(
            applyStage(a) < applyStage(b),
            `${a} (stage ${applyStage(a)}) before ${b} (stage ${applyStage(b)})`,
          );
        }
      }
    });
  }

  test('namespaces and CRDs are first, webhooks and APIServices last', () => {
    assert.equal(applyStage('Namespace'), 0);
    assert.equal(applyStage('CustomResourceDefinition'), 0);
    const last = APPLY_STAGES.length - 1;
    for (const kind of ['MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration', 'APIService']) {
      assert.equal(applyStage(kind), last, kind);
    }
  });

  test('kinds not listed are custom resources, between Services and workloads', () => {
    assert.equal(applyStage('Widget'), DEFAULT_STAGE);
    assert.ok(applyStage('Service') < DEFAULT_STAGE, 'Services before custom resources');
    assert.ok(DEFAULT_STAGE < applyStage('Deployment'), 'custom resources before workloads');
  });

  test('every kind is listed once', () => {
    const kinds = APPLY_STAGES.flat();
    assert.equal(new Set(kinds).size, kinds.length);
  });
});

describe('groupByStage', () => {
  test('splits items into stages in apply order, leaving out empty stages', () => {
    const items = [
      item('ValidatingWebhookConfiguration'),
      item('Deployment'),
      item('Widget'),
      item('Service'),
      item('ConfigMap'),
      item('ServiceAccount'),
      item('ClusterRole'),
      item('CustomResourceDefinition'),
      item('Namespace'),
    ];
    assert.deepEqual(
      groupByStage(items, kindOf).map((stage) => stage.map((i) => i.kind)),
      [
        ['CustomResourceDefinition', 'Namespace'],
        ['ClusterRole'],
        ['ServiceAccount'],
        ['ConfigMap'],
        ['Service'],
        ['Widget'],
        ['Deployment'],
        ['ValidatingWebhookConfiguration'],
      ],
    );
  });

  test('keeps spec order within a stage', () => {
    const items = [
      item('Deployment', 'api'),
      item('ConfigMap', 'settings'),
      item('StatefulSet', 'db'),
      item('Secret', 'creds'),
      item('Deployment', 'worker'),
      item('ConfigMap', 'flags'),
    ];
    assert.deepEqual(
      groupByStage(items, kindOf).map((stage) => stage.map((i) => i.id)),
      [
        ['settings', 'creds', 'flags'],
        ['api', 'db', 'worker'],
      ],
    );
  });

  test('no items, no stages', () => {
    assert.deepEqual(groupByStage([], kindOf), []);
  });
});

describe('deleteOrder', () => {
  test('is the reverse of apply order', () => {
    const items = [
      item('Namespace'),
      item('CustomResourceDefinition'),
      item('ClusterRole'),
      item('ConfigMap'),
      item('Service'),
      item('Widget'),
      item('Deployment'),
      item('HorizontalPodAutoscaler'),
      item('MutatingWebhookConfiguration'),
    ];
    assert.deepEqual(
      deleteOrder(items, kindOf).map((i) => i.kind),
      [
        'MutatingWebhookConfiguration',
        'HorizontalPodAutoscaler',
        'Deployment',
        'Widget',
        'Service',
        'ConfigMap',
        'ClusterRole',
        'Namespace',
        'CustomResourceDefinition',
      ],
    );
  });

  test('keeps input order within a stage and does not modify its input', () => {
    const items = [
      item('ConfigMap', 'settings'),
      item('Deployment', 'api'),
      item('Secret', 'creds'),
      item('Deployment', 'worker'),
    ];
    const before = [...items];
    assert.deepEqual(
      deleteOrder(items, kindOf).map((i) => i.id),
      ['api', 'worker', 'settings', 'creds'],
    );
    assert.deepEqual(items, before);
  });
});
