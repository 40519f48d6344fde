import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  Annotations,
  ConditionTypes,
  EventReasons,
  PruneModes,
  Reasons,
} from '../../api/v1alpha1/constants.ts';
import type { Condition, ReleaseStatus } from '../../api/v1alpha1/schema.ts';
import type { ManagedObject } from '../../dataplane/port.ts';
import type { ItemOutcome, ItemState } from './apply.ts';
import type { DesiredObject } from './desired.ts';
import { changeSetEvent, crdPrunedEvent, MAX_CHANGES_LISTED, reconcileEvents } from './events.ts';

function item(id: string, kind: string, namespace = 'shop'): DesiredObject {
  return {
    ok: true,
    id,
    index: 0,
    group: kind === 'Deployment' ? 'apps' : '',
    version: 'v1',
    kind,
    name: id,
    namespace,
    object: {
      apiVersion: 'v1',
      kind,
      metadata: { name: id, namespace },
      data: { password: 'hunter2' },
    },
    hash: `hash-of-${id}`,
  };
}

function outcome(id: string, state: ItemState, extra: Partial<ItemOutcome> = {}): ItemOutcome {
  return { item: item(id, 'ConfigMap'), state, namespaced: true, ...extra };
}

function pruned(name: string): ManagedObject {
  return {
    object: { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: 'shop' } },
    info: { group: '', version: 'v1', kind: 'Secret', resource: 'secrets', namespaced: true, verbs: [] },
  };
}

function applied(status: 'True' | 'False', reason: string, message: string, generation = 1): Condition {
  return {
    type: ConditionTypes.resourcesApplied,
    status,
    reason,
    message,
    observedGeneration: generation,
    lastTransitionTime: '2025-06-01T12:00:00Z',
  };
}

function ready(status: 'True' | 'False', reason: string, message: string, generation = 1): Condition {
  return { ...applied(status, reason, message, generation), type: ConditionTypes.ready };
}

describe('changeSetEvent', () => {
  test('counts what was created, configured and deleted and names them by kind and name', () => {
    const event = changeSetEvent(
      [
        outcome('web', 'applied', { created: true, item: item('web', 'Deployment') }),
        outcome('settings', 'applied', { configured: true }),
        outcome('same', 'applied'),
        outcome('ns', 'applied', { created: true, namespaced: false, item: item('ns', 'Namespace', '') }),
      ],
      [pruned('old')],
    );
    assert.deepEqual(event, {
      type: 'Normal',
      reason: EventReasons.changeSet,
      message:
        'created 2, configured 1, deleted 1: Deployment/shop/web created, Namespace/ns created, ConfigMap/shop/settings configured, Secret/shop/old deleted',
    });
  });

  test('nothing changed, no Event; an object unchanged, failed or only planned is no change', () => {
    assert.equal(changeSetEvent([outcome('a', 'applied'), outcome('b', 'invalid')], []), undefined);
  });

  test('a large change set names the first objects and counts the rest, never their contents', () => {
    const outcomes = Array.from({ length: 30 }, (_, i) => outcome(`cm-${i}`, 'applied', { created: true }));
    const event = changeSetEvent(outcomes, []);
    assert.ok(event, 'an Event');
    assert.match(event.message, /^created 30, configured 0, deleted 0: ConfigMap\/shop\/cm-0 created, /);
    assert.match(event.message, new RegExp(`and ${30 - MAX_CHANGES_LISTED} more$`));
    assert.doesNotMatch(event.message, /hunter2|password/);
  });

  test('reconcileEvents records the change set once per reconcile', () => {
    const events = reconcileEvents(
      {},
      {},
      [pruned('old')],
      [],
      [],
      [outcome('a', 'applied', { created: true })],
    );
    assert.equal(events.filter((e) => e.reason === EventReasons.changeSet).length, 1);
  });
});

describe('a failure that waits for the Release to change is told once', () => {
  const message =
    '1 of 1 resources not applied: resource "a": ConfigMap/shop/a: the data plane refused the object';
  const invalid = [outcome('a', 'invalid', { failure: 'Invalid', message: 'resource "a": refused' })];
  const failing: ReleaseStatus = {
    conditions: [
      applied('False', Reasons.invalidResource, message),
      ready('False', Reasons.invalidResource, message),
    ],
  };

  test('the first pass records one Warning, not one for ResourcesApplied and one for Ready', () => {
    const events = reconcileEvents({}, failing, [], [], [], invalid);
    assert.deepEqual(events, [{ type: 'Warning', reason: Reasons.invalidResource, message }]);
  });

  test('the next passes, with the same Release, record nothing', () => {
    assert.deepEqual(reconcileEvents(failing, failing, [], [], [], invalid), []);
  });

  test('a new generation that is still refused is told again', () => {
    const next: ReleaseStatus = {
      conditions: [
        applied('False', Reasons.invalidResource, message, 2),
        ready('False', Reasons.invalidResource, message, 2),
      ],
    };
    assert.equal(reconcileEvents(failing, next, [], [], [], invalid).length, 1);
  });

  test('an unknown kind (its CRD may arrive) and a failure that may pass repeat while they last', () => {
    const unknown = [
      outcome('a', 'invalid', {
        failure: 'UnknownKind',
        namespaced: undefined,
        message: 'resource "a": no kind',
      }),
    ];
    assert.equal(reconcileEvents(failing, failing, [], [], [], unknown).length, 1);
    const webhook = [
      outcome('a', 'failed', { failure: 'WebhookUnavailable', message: 'resource "a": webhook' }),
    ];
    assert.equal(reconcileEvents(failing, failing, [], [], [], webhook).length, 1);
  });
});

describe('crdPrunedEvent', () => {
  const crd = (id: string, prune?: string): ItemOutcome => ({
    item: {
      ...item(id, 'CustomResourceDefinition', ''),
      group: 'apiextensions.k8s.io',
      name: `widgets-${id}.example.com`,
      ...(prune && { policy: { prune: PruneModes.disabled } }),
    },
    state: 'applied',
    namespaced: false,
  });

  test('warns of a CRD pruned with the Release, once per generation, and says what to do', () => {
    const event = crdPrunedEvent({}, { observedGeneration: 1 }, [crd('a'), crd('b', 'Disabled')]);
    assert.equal(event?.type, 'Warning');
    assert.equal(event?.reason, EventReasons.crdPruned);
    assert.match(event?.message ?? '', /widgets-a\.example\.com \(resource "a"\)/);
    assert.doesNotMatch(event?.message ?? '', /widgets-b/, 'a CRD kept on prune is fine');
    assert.match(event?.message ?? '', new RegExp(`${Annotations.prune}: ${PruneModes.disabled}`));
    assert.equal(crdPrunedEvent({ observedGeneration: 1 }, { observedGeneration: 1 }, [crd('a')]), undefined);
  });

  test('no CRD, or every CRD kept, no warning', () => {
    assert.equal(crdPrunedEvent({}, { observedGeneration: 1 }, [crd('b', 'Disabled')]), undefined);
    assert.equal(crdPrunedEvent({}, { observedGeneration: 1 }, [outcome('a', 'applied')]), undefined);
  });
});
