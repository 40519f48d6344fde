import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { KubeObject } from '../../api/object.ts';
import type { HealthStatus } from '../../api/v1alpha1/constants.ts';
import { ConditionTypes, Reasons } from '../../api/v1alpha1/constants.ts';
import type { Condition, ReleaseStatus, ResourceStatus } from '../../api/v1alpha1/schema.ts';
import type { DesiredObject, InvalidObject } from './desired.ts';
import type { ItemOutcome, ItemState } from './apply.ts';
import type { ConditionInput } from './status.ts';
import { jsonStringBytes } from '../../api/text.ts';
import { CONDITION_MESSAGE_MAX_BYTES, ENTRY_MESSAGE_MAX_BYTES } from './budget.ts';
import {
  appliedCondition,
  problemMessages,
  boundStatus,
  isTransitioning,
  readyCondition,
  resourceStatuses,
  setCondition,
  STATUS_BUDGET_BYTES,
  statusEquals,
} from './status.ts';

const T0 = new Date('2025-06-01T12:00:00Z');
const T1 = new Date('2025-06-01T12:00:30Z');

function desired(
  id: string,
  apiVersion: string,
  kind: string,
  name: string,
  namespace = '',
  index = 0,
): DesiredObject {
  const slash = apiVersion.indexOf('/');
  const [group, version] =
    slash < 0 ? ['', apiVersion] : [apiVersion.slice(0, slash), apiVersion.slice(slash + 1)];
  return {
    ok: true,
    id,
    index,
    group,
    version,
    kind,
    name,
    namespace,
    object: { apiVersion, kind, metadata: namespace ? { name, namespace } : { name } },
    hash: `hash-of-${id}`,
  };
}

function invalidItem(id: string, message: string, index = 0): InvalidObject {
  return {
    ok: false,
    id,
    index,
    group: '',
    version: 'v1',
    kind: 'ConfigMap',
    name: '',
    namespace: '',
    message,
  };
}

function deploymentLive(
  opts: { ready?: number; generation?: number; observedGeneration?: number } = {},
): KubeObject {
  const ready = opts.ready ?? 3;
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: 'customer-service',
      namespace: 'prod-data-plane',
      uid: 'c1d2e3f4-0000-4000-8000-000000000001',
      resourceVersion: '4711',
      generation: opts.generation ?? 2,
    },
    spec: { replicas: 3, selector: { matchLabels: { app: 'customer-service' } } },
    status: {
      observedGeneration: opts.observedGeneration ?? opts.generation ?? 2,
      replicas: 3,
      updatedReplicas: 3,
      readyReplicas: ready,
      availableReplicas: ready,
      conditions: [
        { type: 'Available', status: ready === 3 ? 'True' : 'False', reason: 'MinimumReplicasAvailable' },
        { type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable' },
      ],
    },
  };
}

function configMapLive(name = 'settings', namespace = 'prod-data-plane'): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace, uid: `uid-${name}`, resourceVersion: '12' },
    data: { LOG_LEVEL: 'info' },
  };
}

function namespaceLive(name: string): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name, uid: `uid-${name}`, resourceVersion: '5' },
    spec: { finalizers: ['kubernetes'] },
    status: { phase: 'Active' },
  };
}

function widgetLive(name: string, statusBytes: number): KubeObject {
  return {
    apiVersion: 'example.com/v1',
    kind: 'Widget',
    metadata: { name, namespace: 'shop', uid: `uid-${name}`, resourceVersion: '77' },
    spec: {},
    status: { report: 'x'.repeat(statusBytes) },
  };
}

function entry(id: string, healthStatus: HealthStatus, extra: Partial<ResourceStatus> = {}): ResourceStatus {
  return {
    id,
    group: 'apps',
    version: 'v1',
    kind: 'Deployment',
    name: id,
    namespace: 'shop',
    healthStatus,
    lastObservedTime: T0.toISOString(),
    ...extra,
  };
}

describe('resourceStatuses', () => {
  test('one entry per outcome, in spec order, with group "" for the core group', () => {
    const outcomes: ItemOutcome[] = [
      {
        item: desired('deployment', 'apps/v1', 'Deployment', 'customer-service', 'prod-data-plane', 0),
        state: 'applied',
        namespaced: true,
        live: deploymentLive(),
      },
      {
        item: desired('config', 'v1', 'ConfigMap', 'settings', 'prod-data-plane', 1),
        state: 'applied',
        namespaced: true,
        live: configMapLive(),
      },
    ];
    const statuses = resourceStatuses(outcomes, undefined, T0);
    assert.deepEqual(
      statuses.map((s) => [s.id, s.group, s.version, s.kind, s.name, s.namespace, s.healthStatus]),
      [
        ['deployment', 'apps', 'v1', 'Deployment', 'customer-service', 'prod-data-plane', 'Healthy'],
        ['config', '', 'v1', 'ConfigMap', 'settings', 'prod-data-plane', 'Healthy'],
      ],
    );
    assert.deepEqual(statuses[0]?.status, deploymentLive().status, 'the whole live status is copied');
    assert.ok(!('status' in (statuses[1] ?? {})), 'an object without status has none in the entry');
    for (const s of statuses) assert.equal(s.lastObservedTime, T0.toISOString());
  });

  test('namespace is "" for cluster-scoped kinds', () => {
    const [ns] = resourceStatuses(
      [
        {
          item: desired('ns', 'v1', 'Namespace', 'prod-data-plane'),
          state: 'applied',
          namespaced: false,
          live: namespaceLive('prod-data-plane'),
        },
      ],
      undefined,
      T0,
    );
    assert.equal(ns?.namespace, '');
    assert.equal(ns?.healthStatus, 'Healthy');
  });

  test('a cluster-scoped kind written with a namespace still reports namespace ""', () => {
    const [role] = resourceStatuses(
      [
        {
          item: desired('reader', 'rbac.authorization.k8s.io/v1', 'ClusterRole', 'reader', 'shop'),
          state: 'invalid',
          namespaced: false,
          message:
            'resource "reader": ClusterRole/reader is cluster-scoped but sets metadata.namespace "shop"; remove it',
        },
      ],
      undefined,
      T0,
    );
    assert.equal(role?.namespace, '');
    assert.equal(role?.group, 'rbac.authorization.k8s.io');
  });

  test('lastObservedTime is kept while status and health stay the same', () => {
    const outcome: ItemOutcome = {
      item: desired('deployment', 'apps/v1', 'Deployment', 'customer-service', 'prod-data-plane'),
      state: 'applied',
      namespaced: true,
      live: deploymentLive(),
    };
    const first = resourceStatuses([outcome], undefined, T0);
    // The same status with its keys in another order is the same status.
    const reordered = deploymentLive();
    reordered['status'] = Object.fromEntries(Object.entries(reordered['status'] as object).reverse());
    const second = resourceStatuses([{ ...outcome, live: reordered }], first, T1);
    assert.equal(second[0]?.lastObservedTime, T0.toISOString());
  });

  test('each entry records the proof of its object; a preview records nothing new and keeps what was', () => {
    const live = configMapLive();
    live.metadata.managedFields = [{ manager: 'release-controller', operation: 'Apply', apiVersion: 'v1' }];
    const created: ItemOutcome = {
      item: desired('config', 'v1', 'ConfigMap', 'settings', 'prod-data-plane'),
      state: 'applied',
      namespaced: true,
      live,
      created: true,
    };
    const [recorded] = resourceStatuses([created], undefined, T0, { releaseUid: 'uid-web' });
    assert.deepEqual(
      [recorded?.uid, recorded?.origin, recorded?.removal],
      ['uid-settings', 'Created', 'Delete'],
    );
    const replaced = { ...live, metadata: { ...live.metadata, uid: 'uid-other' } };
    const [previewed] = resourceStatuses([{ ...created, live: replaced }], recorded ? [recorded] : [], T1, {
      releaseUid: 'uid-web',
      preview: true,
    });
    assert.equal(previewed?.uid, 'uid-settings', 'a preview keeps the record');
    const [none] = resourceStatuses([created], undefined, T0);
    assert.equal(none?.uid, undefined, 'without the Release uid nothing is recorded');
  });

  test('lastObservedTime is renewed when the live status changes but health does not', () => {
    const outcome: ItemOutcome = {
      item: desired('config', 'example.com/v1', 'Widget', 'w', 'shop'),
      state: 'applied',
      namespaced: true,
      live: widgetLive('w', 10),
    };
    const first = resourceStatuses([outcome], undefined, T0);
    const second = resourceStatuses([{ ...outcome, live: widgetLive('w', 11) }], first, T1);
    assert.equal(first[0]?.healthStatus, second[0]?.healthStatus);
    assert.equal(second[0]?.lastObservedTime, T1.toISOString());
  });

  test('lastObservedTime is renewed when health changes', () => {
    const item = desired('deployment', 'apps/v1', 'Deployment', 'customer-service', 'prod-data-plane');
    const first = resourceStatuses(
      [{ item, state: 'applied', namespaced: true, live: deploymentLive() }],
      undefined,
      T0,
    );
    const prev: ResourceStatus[] = [{ ...first[0]!, healthStatus: 'Progressing' }];
    const second = resourceStatuses(
      [{ item, state: 'applied', namespaced: true, live: deploymentLive() }],
      prev,
      T1,
    );
    assert.equal(second[0]?.healthStatus, 'Healthy');
    assert.equal(second[0]?.lastObservedTime, T1.toISOString());
  });

  test('a previous entry of another id does not lend its time', () => {
    const item = desired('config', 'v1', 'ConfigMap', 'settings', 'prod-data-plane');
    const first = resourceStatuses(
      [{ item, state: 'applied', namespaced: true, live: configMapLive() }],
      undefined,
      T0,
    );
    const renamed: ItemOutcome = {
      item: { ...item, id: 'settings' },
      state: 'applied',
      namespaced: true,
      live: configMapLive(),
    };
    assert.equal(resourceStatuses([renamed], first, T1)[0]?.lastObservedTime, T1.toISOString());
  });

  const states: Array<{
    name: string;
    outcome: ItemOutcome;
    health: HealthStatus;
    healthReason?: string;
    message: string | RegExp;
  }> = [
    {
      name: 'invalid',
      outcome: {
        item: invalidItem('broken', 'resource "broken": object has no kind'),
        state: 'invalid',
        message: 'resource "broken": object has no kind',
      },
      health: 'Unknown',
      healthReason: 'InvalidResource',
      message: 'resource "broken": object has no kind',
    },
    {
      name: 'failed',
      outcome: {
        item: desired('web', 'apps/v1', 'Deployment', 'web', 'shop'),
        state: 'failed',
        namespaced: true,
        message: 'resource "web": Deployment/shop/web: namespaces "shop" not found',
      },
      health: 'Unknown',
      healthReason: 'ApplyFailed',
      message: 'resource "web": Deployment/shop/web: namespaces "shop" not found',
    },
    {
      name: 'refused as invalid by the data plane',
      outcome: {
        item: desired('web', 'apps/v1', 'Deployment', 'web', 'shop'),
        state: 'invalid',
        namespaced: true,
        failure: 'Invalid',
        message:
          'resource "web": Deployment/shop/web: the data plane refused the object: .spec.replicas: expected numeric',
      },
      health: 'Unknown',
      healthReason: 'InvalidResource',
      message:
        'resource "web": Deployment/shop/web: the data plane refused the object: .spec.replicas: expected numeric',
    },
    {
      name: 'of a kind the data plane does not serve',
      outcome: {
        item: desired('web', 'apps/v1', 'Deployment', 'web', 'shop'),
        state: 'invalid',
        namespaced: true,
        failure: 'UnknownKind',
        message:
          'resource "web": Widgit/shop/web: the data plane does not serve Widgit in example.com/v1: no kind Widgit in example.com/v1; did you mean Widget?',
      },
      health: 'Unknown',
      healthReason: 'UnknownKind',
      message:
        'resource "web": Widgit/shop/web: the data plane does not serve Widgit in example.com/v1: no kind Widgit in example.com/v1; did you mean Widget?',
    },
    {
      name: 'in a namespace that is missing',
      outcome: {
        item: desired('web', 'apps/v1', 'Deployment', 'web', 'shop'),
        state: 'failed',
        namespaced: true,
        failure: 'NamespaceMissing',
        message: 'resource "web": Deployment/shop/web: namespaces "shop" not found',
      },
      health: 'Unknown',
      healthReason: 'NamespaceMissing',
      message: 'resource "web": Deployment/shop/web: namespaces "shop" not found',
    },
    {
      name: 'changed under the write (409)',
      outcome: {
        item: desired('web', 'apps/v1', 'Deployment', 'web', 'shop'),
        state: 'failed',
        namespaced: true,
        failure: 'Conflict',
        message: 'resource "web": Deployment/shop/web: the object has been modified',
      },
      health: 'Unknown',
      healthReason: 'Conflict',
      message: 'resource "web": Deployment/shop/web: the object has been modified',
    },
    {
      name: 'forbidden by the RBAC of the data plane',
      outcome: {
        item: desired('web', 'apps/v1', 'Deployment', 'web', 'shop'),
        state: 'failed',
        namespaced: true,
        failure: 'Forbidden',
        message:
          'resource "web": Deployment/shop/web: forbidden: the data-plane credentials may not do this (...)',
      },
      health: 'Unknown',
      healthReason: 'Forbidden',
      message:
        'resource "web": Deployment/shop/web: forbidden: the data-plane credentials may not do this (...)',
    },
    {
      name: 'refused with the credentials (401)',
      outcome: {
        item: desired('web', 'apps/v1', 'Deployment', 'web', 'shop'),
        state: 'failed',
        namespaced: true,
        failure: 'Unauthorized',
        message:
          'resource "web": Deployment/shop/web: refused the DataPlane credentials (HTTP 401: Unauthorized)',
      },
      health: 'Unknown',
      healthReason: 'Unauthorized',
      message:
        'resource "web": Deployment/shop/web: refused the DataPlane credentials (HTTP 401: Unauthorized)',
    },
    {
      name: 'denied by admission',
      outcome: {
        item: desired('web', 'apps/v1', 'Deployment', 'web', 'shop'),
        state: 'failed',
        namespaced: true,
        failure: 'AdmissionDenied',
        message:
          'resource "web": Deployment/shop/web: the data plane refused the object: violates PodSecurity',
      },
      health: 'Unknown',
      healthReason: 'AdmissionDenied',
      message: 'resource "web": Deployment/shop/web: the data plane refused the object: violates PodSecurity',
    },
    {
      name: 'waiting for a webhook',
      outcome: {
        item: desired('web', 'apps/v1', 'Deployment', 'web', 'shop'),
        state: 'failed',
        namespaced: true,
        failure: 'WebhookUnavailable',
        message: 'resource "web": Deployment/shop/web: an admission webhook of the data plane did not answer',
      },
      health: 'Unknown',
      healthReason: 'WebhookUnavailable',
      message: 'resource "web": Deployment/shop/web: an admission webhook of the data plane did not answer',
    },
    {
      name: 'too large',
      outcome: {
        item: desired('web', 'apps/v1', 'Deployment', 'web', 'shop'),
        state: 'invalid',
        namespaced: true,
        failure: 'TooLarge',
        message: 'resource "web": Deployment/shop/web: object too large: etcdserver: request is too large',
      },
      health: 'Unknown',
      healthReason: 'TooLarge',
      message: 'resource "web": Deployment/shop/web: object too large: etcdserver: request is too large',
    },
    {
      name: 'changing an immutable field',
      outcome: {
        item: desired('web', 'apps/v1', 'Deployment', 'web', 'shop'),
        state: 'invalid',
        namespaced: true,
        failure: 'Immutable',
        message:
          'resource "web": Deployment/shop/web: field is immutable (immutable field changed: delete it yourself)',
      },
      health: 'Unknown',
      healthReason: 'Immutable',
      message:
        'resource "web": Deployment/shop/web: field is immutable (immutable field changed: delete it yourself)',
    },
    {
      name: 'not applied because the data plane did not answer',
      outcome: {
        item: desired('web', 'apps/v1', 'Deployment', 'web', 'shop'),
        state: 'failed',
        unreachable: true,
        message: 'resource "web": the data plane did not answer: connect ECONNREFUSED',
      },
      health: 'Unknown',
      healthReason: 'DataPlaneUnreachable',
      message: 'resource "web": the data plane did not answer: connect ECONNREFUSED',
    },
    {
      name: 'not allowed by the resource policy',
      outcome: {
        item: desired('role', 'rbac.authorization.k8s.io/v1', 'ClusterRole', 'admin', ''),
        state: 'notAllowed',
        message: 'resource "role": ClusterRole/admin: cluster-scoped kinds are not allowed',
      },
      health: 'Unknown',
      healthReason: 'NotAllowed',
      message: 'resource "role": ClusterRole/admin: cluster-scoped kinds are not allowed',
    },
    {
      name: 'conflict',
      outcome: {
        item: desired('config', 'v1', 'ConfigMap', 'settings', 'prod-data-plane'),
        state: 'conflict',
        namespaced: true,
        live: configMapLive(),
        message:
          'resource "config": ConfigMap/prod-data-plane/settings belongs to Release acme/other; not taken over',
      },
      health: 'Healthy',
      message:
        'resource "config": ConfigMap/prod-data-plane/settings belongs to Release acme/other; not taken over',
    },
    {
      name: 'waiting',
      outcome: {
        item: desired('widget', 'example.com/v1', 'Widget', 'w', 'shop'),
        state: 'waiting',
        message:
          'waiting for CustomResourceDefinition widgets.example.com (resource "crd") to be Established',
      },
      health: 'Progressing',
      healthReason: 'WaitingForCRD',
      message: 'waiting for CustomResourceDefinition widgets.example.com (resource "crd") to be Established',
    },
    {
      name: 'applied but missing from the cache',
      outcome: {
        item: desired('config', 'v1', 'ConfigMap', 'settings', 'shop'),
        state: 'applied',
        namespaced: true,
      },
      health: 'Unknown',
      healthReason: 'NotFound',
      message: 'object not found',
    },
  ];
  for (const s of states) {
    test(`an item that is ${s.name} says so`, () => {
      const [status] = resourceStatuses([s.outcome], undefined, T0);
      assert.equal(status?.id, s.outcome.item.id);
      assert.equal(status?.healthStatus, s.health);
      if (s.healthReason) assert.equal(status?.healthReason, s.healthReason);
      if (typeof s.message === 'string') assert.equal(status?.message, s.message);
      else assert.match(status?.message ?? '', s.message);
    });
  }

  test('an invalid item keeps what is known of it', () => {
    const item: InvalidObject = {
      ok: false,
      id: 'pod',
      index: 0,
      group: '',
      version: 'v1',
      kind: 'Pod',
      name: '',
      namespace: 'shop',
      message: 'resource "pod": Pod has no metadata.name',
    };
    const [status] = resourceStatuses([{ item, state: 'invalid', message: item.message }], undefined, T0);
    assert.deepEqual(
      [status?.group, status?.version, status?.kind, status?.name, status?.namespace],
      ['', 'v1', 'Pod', '', 'shop'],
    );
  });
});

describe('status budget', () => {
  const KIB = 1024;
  /** fitted is status.resources of the outcomes, fitted to the default budget. */
  const fitted = (outcomes: ItemOutcome[]) =>
    boundStatus({ resources: resourceStatuses(outcomes, undefined, T0) }, STATUS_BUDGET_BYTES, undefined)
      .resources ?? [];

  function widgets(sizes: number[]): ItemOutcome[] {
    return sizes.map((size, index): ItemOutcome => ({
      item: desired(`w${index}`, 'example.com/v1', 'Widget', `w${index}`, 'shop', index),
      state: 'applied',
      namespaced: true,
      live: widgetLive(`w${index}`, size),
    }));
  }

  test('small statuses are kept whole', () => {
    const statuses = fitted(widgets([2 * KIB, 40 * KIB, 100]));
    assert.ok(JSON.stringify(statuses).length < STATUS_BUDGET_BYTES, 'the test input fits the budget');
    for (const s of statuses) assert.ok(s.status !== undefined, `${s.id} keeps its live status`);
    for (const s of statuses) assert.doesNotMatch(s.message ?? '', /omitted/);
  });

  test('the largest live status is dropped first, with a message saying so', () => {
    const statuses = fitted(widgets([250 * KIB, 300 * KIB, KIB]));
    assert.ok(JSON.stringify(statuses).length <= STATUS_BUDGET_BYTES, 'the result fits the budget');
    assert.deepEqual(
      statuses.map((s) => s.status !== undefined),
      [true, false, true],
    );
    assert.ok(!('status' in statuses[1]!), 'the dropped status leaves no key behind');
    assert.match(
      statuses[1]?.message ?? '',
      /live status \(301 KiB\) omitted to keep the Release status under 512 KiB$/,
    );
    assert.equal(statuses[1]?.healthStatus, 'Healthy', 'health is still reported');
    assert.doesNotMatch(statuses[0]?.message ?? '', /omitted/);
  });

  test('as many of the largest as needed are dropped, and no more', () => {
    const sizes = [150, 160, 170, 140, 155].map((k) => k * KIB);
    const statuses = fitted(widgets(sizes));
    assert.ok(JSON.stringify(statuses).length <= STATUS_BUDGET_BYTES, 'the result fits the budget');
    assert.deepEqual(
      statuses.map((s) => s.status !== undefined),
      [true, false, false, true, true],
    );
    assert.deepEqual(
      statuses.map((s) => s.id),
      ['w0', 'w1', 'w2', 'w3', 'w4'],
      'spec order is kept',
    );
  });

  test('the note is appended to an existing message', () => {
    const outcomes = widgets([600 * KIB]);
    const live = outcomes[0]!.live!;
    live['status'] = {
      ...(live['status'] as object),
      conditions: [{ type: 'Ready', status: 'False', reason: 'Syncing', message: 'syncing shards' }],
    };
    const [status] = fitted(outcomes);
    assert.ok(status?.status === undefined, 'the oversized status is dropped');
    assert.match(status?.message ?? '', /^.+; live status \(\d+ KiB\) omitted/);
  });

  test('an entry whose live status stays omitted keeps its lastObservedTime, so nothing is rewritten', () => {
    const outcomes = widgets([300 * KIB, 300 * KIB]);
    const bound = (previous: ResourceStatus[] | undefined, now: Date) =>
      boundStatus({ resources: resourceStatuses(outcomes, previous, now) }, STATUS_BUDGET_BYTES, previous);
    const first = bound(undefined, T0);
    assert.deepEqual(
      first.resources?.map((r) => r.status === undefined),
      [true, false],
      'one of the two is omitted',
    );
    const second = bound(first.resources, T1);
    assert.ok(statusEquals(first, second), 'the next reconcile computes the same status');

    // What the entry shows changes: a new time.
    outcomes[0]!.live!['status'] = { report: 'small now' };
    const third = bound(second.resources, T1);
    assert.equal(third.resources?.[0]?.lastObservedTime, T1.toISOString());
    assert.deepEqual(third.resources?.[0]?.status, { report: 'small now' });
  });

  test('long messages are capped as entries are written, saying how much was cut', () => {
    const item = desired('cm', 'v1', 'ConfigMap', 'cm', 'shop');
    const message = `resource "cm": ${'refused <because> & '.repeat(200)}`;
    const [status] = resourceStatuses([{ item, state: 'failed', message }], undefined, T0);
    assert.ok(jsonStringBytes(status?.message ?? '') <= ENTRY_MESSAGE_MAX_BYTES, 'the message is capped');
    assert.match(
      status?.message ?? '',
      /^resource "cm": refused <because> & .+… \(truncated: \d+ more characters\)$/,
    );
  });
});

describe('setCondition', () => {
  const ready: ConditionInput = {
    type: ConditionTypes.ready,
    status: 'False',
    reason: Reasons.progressing,
    message: '1 of 2 resources not ready',
  };

  test('adds a new condition with the generation and the time of the transition', () => {
    const conditions = setCondition(undefined, ready, 4, T0);
    assert.deepEqual(conditions, [{ ...ready, observedGeneration: 4, lastTransitionTime: T0.toISOString() }]);
  });

  test('keeps lastTransitionTime while the status does not change, and updates the rest', () => {
    const before = setCondition(undefined, ready, 4, T0);
    const after = setCondition(
      before,
      { ...ready, reason: Reasons.degraded, message: 'web is Degraded' },
      5,
      T1,
    );
    assert.deepEqual(after, [
      {
        type: ConditionTypes.ready,
        status: 'False',
        reason: Reasons.degraded,
        message: 'web is Degraded',
        observedGeneration: 5,
        lastTransitionTime: T0.toISOString(),
      },
    ]);
  });

  test('renews lastTransitionTime when the status changes', () => {
    const before = setCondition(undefined, ready, 4, T0);
    const after = setCondition(before, { ...ready, status: 'True', reason: Reasons.ready }, 4, T1);
    assert.equal(after[0]?.lastTransitionTime, T1.toISOString());
  });

  test('replaces only the condition of its type, in place', () => {
    const applied: Condition = {
      type: ConditionTypes.resourcesApplied,
      status: 'True',
      reason: Reasons.applied,
      message: '2 resources applied',
      observedGeneration: 4,
      lastTransitionTime: T0.toISOString(),
    };
    const before = [applied, ...setCondition(undefined, ready, 4, T0)];
    const after = setCondition(before, { ...ready, status: 'True', reason: Reasons.ready }, 4, T1);
    assert.deepEqual(
      after.map((c) => [c.type, c.status]),
      [
        [ConditionTypes.resourcesApplied, 'True'],
        [ConditionTypes.ready, 'True'],
      ],
    );
    assert.equal(after[0], applied, 'the other condition is untouched');
    assert.equal(before[1]?.status, 'False', 'the input list is not modified');
  });

  test('bounds a very long message, saying how much was cut', () => {
    const [c] = setCondition(undefined, { ...ready, message: 'x<'.repeat(5000) }, 1, T0);
    assert.ok(
      jsonStringBytes(c?.message ?? '') <= CONDITION_MESSAGE_MAX_BYTES,
      `message of ${c?.message.length} characters`,
    );
    assert.match(c?.message ?? '', /^x<x<.+… \(truncated: \d+ more characters\)$/);
  });
});

describe('appliedCondition', () => {
  function outcome(id: string, state: ItemState, extra: Partial<ItemOutcome> = {}): ItemOutcome {
    return {
      item: desired(id, 'v1', 'ConfigMap', id, 'shop'),
      state,
      message: state === 'applied' ? undefined : `resource "${id}": ${state}`,
      ...extra,
    };
  }

  test('True with Applied when every item applied', () => {
    assert.deepEqual(appliedCondition([outcome('a', 'applied'), outcome('b', 'applied')]), {
      type: ConditionTypes.resourcesApplied,
      status: 'True',
      reason: Reasons.applied,
      message: '2 resources applied',
    });
    assert.equal(appliedCondition([outcome('a', 'applied')]).message, '1 resource applied');
    assert.equal(appliedCondition([]).status, 'True');
  });

  const priority: Array<{ name: string; outcomes: ItemOutcome[]; reason: string }> = [
    {
      name: 'an unreachable data plane beats everything',
      outcomes: [
        outcome('w', 'waiting'),
        outcome('f', 'failed'),
        outcome('c', 'conflict'),
        outcome('i', 'invalid'),
        outcome('u', 'failed', { unreachable: true }),
      ],
      reason: Reasons.dataPlaneUnreachable,
    },
    {
      name: 'an invalid resource beats conflicts and failures',
      outcomes: [
        outcome('w', 'waiting'),
        outcome('f', 'failed'),
        outcome('c', 'conflict'),
        outcome('i', 'invalid'),
      ],
      reason: Reasons.invalidResource,
    },
    {
      name: 'a conflict beats failures',
      outcomes: [outcome('w', 'waiting'), outcome('f', 'failed'), outcome('c', 'conflict')],
      reason: Reasons.conflict,
    },
    {
      name: 'a failure beats waiting',
      outcomes: [outcome('w', 'waiting'), outcome('f', 'failed')],
      reason: Reasons.applyFailed,
    },
    {
      name: 'recreating counts as a failed apply',
      outcomes: [outcome('w', 'waiting'), outcome('r', 'recreating')],
      reason: Reasons.applyFailed,
    },
    {
      name: 'waiting alone',
      outcomes: [outcome('a', 'applied'), outcome('w', 'waiting')],
      reason: Reasons.waitingForCRD,
    },
  ];
  for (const p of priority) {
    test(`reason: ${p.name}`, () => {
      const c = appliedCondition(p.outcomes);
      assert.equal(c.status, 'False');
      assert.equal(c.reason, p.reason);
    });
  }

  test('the message counts the problems and lists them', () => {
    const c = appliedCondition([
      outcome('a', 'applied'),
      outcome('bad', 'invalid', { message: 'resource "bad": object has no kind' }),
      outcome('cm', 'failed', { message: undefined }),
    ]);
    assert.equal(
      c.message,
      '2 of 3 resources not applied: resource "bad": object has no kind; resource "cm" not applied',
    );
  });

  test('long messages still let the condition name three objects', () => {
    const long = (id: string) =>
      outcome(id, 'failed', { message: `resource "${id}": ${id} ${'denied <= & '.repeat(150)}` });
    const c = appliedCondition(['a', 'b', 'c', 'd'].map(long));
    for (const id of ['a', 'b', 'c']) assert.match(c.message, new RegExp(`resource "${id}": ${id} denied`));
    assert.match(c.message, /; and 1 more$/);
    const [written] = setCondition(undefined, c, 1, T0);
    assert.equal(written?.message, c.message, 'it fits in a condition uncut');
  });

  test('the message lists at most three problems and counts the rest', () => {
    const c = appliedCondition(
      ['a', 'b', 'c', 'd', 'e'].map((id) =>
        outcome(id, 'failed', { message: `resource "${id}": ${id} failed` }),
      ),
    );
    assert.equal(
      c.message,
      '5 of 5 resources not applied: resource "a": a failed; resource "b": b failed; resource "c": c failed; and 2 more',
    );
  });

  test('a cause several resources share is said once, with their ids', () => {
    const down = 'the data plane did not answer: connect ECONNREFUSED 10.0.0.1:6443';
    const ids = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];
    const c = appliedCondition([
      ...ids.map((id) => outcome(id, 'failed', { unreachable: true, message: `resource "${id}": ${down}` })),
      // The object's own reference is not part of the shared cause either.
      ...['h', 'i'].map((id) =>
        outcome(id, 'failed', {
          failure: 'WebhookUnavailable',
          message: `resource "${id}": ConfigMap/shop/${id}: an admission webhook of the data plane did not answer`,
        }),
      ),
      outcome('j', 'invalid', {
        message: 'resource "j": ConfigMap/shop/j: the data plane refused the object: x',
      }),
    ]);
    assert.equal(
      c.message,
      `10 of 10 resources not applied: resources "a", "b", "c", "d", "e" and 2 more: ${down}; ` +
        'resources "h", "i": an admission webhook of the data plane did not answer; ' +
        'resource "j": ConfigMap/shop/j: the data plane refused the object: x',
    );
    assert.deepEqual(
      problemMessages([outcome('x', 'failed')]),
      ['resource "x": failed'],
      'one stays as it is',
    );
  });
});

describe('readyCondition', () => {
  const appliedTrue = appliedCondition([]);

  test('True when every resource is Healthy or Suspended', () => {
    const c = readyCondition(appliedTrue, [entry('web', 'Healthy'), entry('nightly', 'Suspended')]);
    assert.deepEqual(c, {
      type: ConditionTypes.ready,
      status: 'True',
      reason: Reasons.ready,
      message: 'all 2 resources are Healthy or Suspended',
    });
  });

  test('True for a Release without resources', () => {
    const c = readyCondition(appliedTrue, []);
    assert.equal(c.status, 'True');
    assert.equal(c.message, 'no resources');
  });

  test('Progressing names the objects that are not ready, with their messages', () => {
    const c = readyCondition(appliedTrue, [
      entry('web', 'Healthy'),
      entry('api', 'Progressing', { message: '1/3 replicas available' }),
    ]);
    assert.equal(c.status, 'False');
    assert.equal(c.reason, Reasons.progressing);
    assert.equal(
      c.message,
      '1 of 2 resources not ready: Deployment/shop/api: Progressing (1/3 replicas available)',
    );
  });

  test('Unknown alone is not ready and reads as Progressing', () => {
    const c = readyCondition(appliedTrue, [entry('web', 'Unknown', { message: 'object not found' })]);
    assert.equal(c.status, 'False');
    assert.equal(c.reason, Reasons.progressing);
  });

  test('Degraded beats Progressing, and the worst are named first, at most three', () => {
    const c = readyCondition(appliedTrue, [
      entry('p1', 'Progressing', { message: 'rolling out' }),
      entry('ok', 'Healthy'),
      entry('u1', 'Unknown'),
      entry('d1', 'Degraded', { message: 'CrashLoopBackOff' }),
      entry('p2', 'Progressing'),
      entry('ns', 'Degraded', { kind: 'Namespace', group: '', name: 'shop', namespace: '' }),
    ]);
    assert.equal(c.reason, Reasons.degraded);
    assert.equal(
      c.message,
      '5 of 6 resources not ready: Deployment/shop/d1: Degraded (CrashLoopBackOff); Namespace/shop: Degraded; Deployment/shop/u1: Unknown; and 2 more',
    );
  });

  test('long messages still let it name the three worst objects', () => {
    const message = 'Back-off pulling image <registry>/app & more: '.repeat(60);
    const c = readyCondition(
      appliedTrue,
      ['a', 'b', 'c', 'd'].map((id) => entry(id, 'Degraded', { message })),
    );
    for (const id of ['a', 'b', 'c'])
      assert.match(c.message, new RegExp(`Deployment/shop/${id}: Degraded \\(Back-off`));
    const [written] = setCondition(undefined, c, 1, T0);
    assert.equal(written?.message, c.message, 'it fits in a condition uncut');
  });

  test('follows ResourcesApplied when that is False', () => {
    const applied = appliedCondition([
      {
        item: desired('web', 'apps/v1', 'Deployment', 'web', 'shop'),
        state: 'failed',
        unreachable: true,
        message: 'resource "web": Deployment/shop/web: cannot reach the API server (ECONNREFUSED)',
      },
    ]);
    const c = readyCondition(applied, [entry('web', 'Healthy')]);
    assert.deepEqual(c, {
      type: ConditionTypes.ready,
      status: 'False',
      reason: Reasons.dataPlaneUnreachable,
      message: applied.message,
    });
  });
});

describe('isTransitioning', () => {
  const cases: Array<[HealthStatus[], boolean]> = [
    [[], false],
    [['Healthy', 'Suspended'], false],
    [['Healthy', 'Progressing'], true],
    [['Unknown'], true],
    [['Suspended', 'Degraded'], true],
  ];
  for (const [healths, want] of cases) {
    test(`[${healths.join(', ')}] -> ${want}`, () => {
      assert.equal(isTransitioning(healths.map((h, i) => entry(`r${i}`, h))), want);
    });
  }
});

describe('statusEquals', () => {
  const status: ReleaseStatus = {
    observedGeneration: 2,
    resources: [entry('web', 'Healthy', { status: { replicas: 3, readyReplicas: 3 } })],
    conditions: setCondition(undefined, appliedCondition([]), 2, T0),
  };

  test('equal statuses with keys in another order are equal', () => {
    const reordered = JSON.parse(
      JSON.stringify(status, (_k, v: unknown) =>
        v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).reverse()) : v,
      ),
    ) as ReleaseStatus;
    assert.ok(statusEquals(status, reordered), 'key order must not matter');
  });

  test('any change of value is a difference', () => {
    const changed = structuredClone(status);
    changed.resources![0]!.status = { replicas: 3, readyReplicas: 2 };
    assert.ok(!statusEquals(status, changed), 'a changed live status is a difference');
    assert.ok(
      !statusEquals(status, { ...status, observedGeneration: 3 }),
      'a new generation is a difference',
    );
  });

  test('no status equals an empty status', () => {
    assert.ok(statusEquals(undefined, {}), 'undefined and {} are the same');
    assert.ok(!statusEquals(undefined, status), 'undefined differs from a filled status');
  });
});

test('the status budget counts bytes, not characters', () => {
  const cjk: KubeObject = {
    apiVersion: 'example.com/v1',
    kind: 'Widget',
    metadata: { name: 'w', namespace: 'shop', uid: 'uid-w', resourceVersion: '1' },
    status: { report: '状'.repeat(400 * 1024) },
  };
  const outcome: ItemOutcome = {
    item: desired('w', 'example.com/v1', 'Widget', 'w', 'shop', 0),
    state: 'applied',
    namespaced: true,
    live: cjk,
  };
  const [entryOut] =
    boundStatus({ resources: resourceStatuses([outcome], undefined, T0) }, STATUS_BUDGET_BYTES, undefined)
      .resources ?? [];
  assert.equal(entryOut?.status, undefined, '400 Ki characters of 3 bytes each exceed 512 KiB');
  assert.ok(Buffer.byteLength(JSON.stringify([entryOut])) <= STATUS_BUDGET_BYTES, 'the result fits in bytes');
});
