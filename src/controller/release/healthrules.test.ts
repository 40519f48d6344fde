import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { HealthRule, Release } from '../../api/v1alpha1/schema.ts';
import { releasesUsingKind, ruleReadyCondition } from './healthrules.ts';

const release = (name: string, entries: Array<{ group: string; kind: string }>): Release =>
  ({
    apiVersion: 'openchoreo.dev/v1alpha1',
    kind: 'Release',
    metadata: { name, namespace: 'acme' },
    spec: { owner: { projectName: 'p', componentName: 'c' }, environmentName: 'dev', resources: [] },
    status: {
      resources: entries.map((e, i) => ({
        id: `r${i}`,
        version: 'v1',
        name: 'x',
        namespace: 'n',
        healthStatus: 'Healthy',
        ...e,
      })),
    },
  }) as unknown as Release;

test('releasesUsingKind: the Releases whose status lists an object of the group and kind', () => {
  const releases = [
    release('certs', [{ group: 'cert-manager.io', kind: 'Certificate' }]),
    release('issuer', [{ group: 'cert-manager.io', kind: 'Issuer' }]),
    release('core', [{ group: '', kind: 'Service' }]),
    release('none', []),
  ];
  assert.deepEqual(
    releasesUsingKind(releases, 'cert-manager.io', 'Certificate').map((r) => r.metadata.name),
    ['certs'],
  );
  assert.deepEqual(
    releasesUsingKind(releases, '', 'Service').map((r) => r.metadata.name),
    ['core'],
  );
  assert.deepEqual(releasesUsingKind(releases, 'other.io', 'Certificate'), []);
});

test('ruleReadyCondition: observedGeneration of the rule; the transition time kept while the status holds', () => {
  const T0 = new Date('2026-12-01T00:00:00Z');
  const T1 = new Date('2026-12-01T01:00:00Z');
  const rule: HealthRule = {
    apiVersion: 'openchoreo.dev/v1alpha1',
    kind: 'HealthRule',
    metadata: { name: 'r', generation: 3 },
    spec: { apiVersion: 'v1', kind: 'Service', cel: { current: 'true' } },
  };
  const first = ruleReadyCondition(
    rule,
    { ready: false, reason: 'InvalidCEL', message: 'spec.cel.current: x' },
    T0,
  );
  assert.deepEqual(first, {
    type: 'Ready',
    status: 'False',
    reason: 'InvalidCEL',
    message: 'spec.cel.current: x',
    observedGeneration: 3,
    lastTransitionTime: T0.toISOString(),
  });
  const withStatus = { ...rule, status: { conditions: [first] } };
  assert.equal(
    ruleReadyCondition(withStatus, { ready: false, reason: 'InvalidCEL', message: 'y' }, T1)
      .lastTransitionTime,
    T0.toISOString(),
  );
  assert.equal(
    ruleReadyCondition(withStatus, { ready: true, reason: 'Compiled', message: 'ok' }, T1).lastTransitionTime,
    T1.toISOString(),
  );
});
