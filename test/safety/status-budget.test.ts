/**
 * Bounded status: a Release whose status would not fit in etcd still gets it written. The data
 * plane refuses ConfigMaps with a ValidatingAdmissionPolicy whose message is about 1.5 KB (with
 * `<`, `>` and `&`, which the API server's JSON encoder writes as six bytes each), so every
 * refused resource brings a long message. 1000 of them, or a few hundred beside 1 MiB of spec,
 * used to make a status the API server could not store ("etcdserver: request is too large"), and
 * the Release never showed its state.
 */
import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { API_VERSION } from '../../src/api/v1alpha1/constants.ts';
import type { KubeObject } from '../../src/api/object.ts';
import type { Release, ReleaseResource } from '../../src/api/v1alpha1/schema.ts';
import { isKubeApiError } from '../../src/kube/client.ts';
import { eventually } from '../support/eventually.ts';
import { condition, configMap, deleteRelease, releaseObject, uniqueName } from '../support/fixtures.ts';
import { integrationSuite } from '../support/suite.ts';

/** ETCD_DEFAULT_MAX_REQUEST_BYTES is etcd's default --max-request-bytes (1.5 MiB), which bounds a stored object. */
const ETCD_DEFAULT_MAX_REQUEST_BYTES = 1.5 * 1024 * 1024;
/** ENTRY_MESSAGE_BOUND is the most characters an entry message may have here (the controller caps it at 1 KiB). */
const ENTRY_MESSAGE_BOUND = 1024;
const TIMEOUT_MS = 240_000;

/** REFUSAL is the policy's explanation: about 1.5 KB, with characters JSON encoders may escape. */
const REFUSAL = Array.from(
  { length: 14 },
  (_, i) => `rule ${i}: replicas must be <= 10 & > 0, and <owner> must name a team that exists;`,
).join(' ');

describe('bounded status', () => {
  const suite = integrationSuite();
  const token = uniqueName('refuse');
  const LABEL = 'status-budget.test/refuse';
  const ns = uniqueName('budget');

  before(async () => {
    const { dp } = suite;
    await dp.create({
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingAdmissionPolicy',
      metadata: { name: token },
      spec: {
        failurePolicy: 'Fail',
        matchConstraints: {
          resourceRules: [
            {
              apiGroups: [''],
              apiVersions: ['v1'],
              operations: ['CREATE', 'UPDATE'],
              resources: ['configmaps'],
            },
          ],
        },
        validations: [
          {
            expression: 'false',
            messageExpression: `'ConfigMap ' + object.metadata.name + ' refused: ' + ${JSON.stringify(REFUSAL)}`,
            reason: 'Invalid',
          },
        ],
      },
    });
    await dp.create({
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingAdmissionPolicyBinding',
      metadata: { name: token },
      spec: {
        policyName: token,
        validationActions: ['Deny'],
        matchResources: { objectSelector: { matchLabels: { [LABEL]: token } } },
      },
    });
    await dp.ensureNamespace(ns);
    // The API server picks policies up from an informer: wait until a dry run is refused.
    await eventually(
      async () => {
        try {
          await dp.client.request({
            method: 'POST',
            path: `/api/v1/namespaces/${ns}/configmaps`,
            query: { dryRun: 'All' },
            body: refused('probe').object,
          });
        } catch (err) {
          if (isKubeApiError(err) && err.message.includes('refused: rule 0')) return true;
          throw err;
        }
        return false;
      },
      { description: 'the admission policy to refuse ConfigMaps' },
    );
  });

  after(async () => {
    if (!suite.ready) return;
    const { dp } = suite;
    await dp.delete('admissionregistration.k8s.io/v1', 'ValidatingAdmissionPolicyBinding', undefined, token);
    await dp.delete('admissionregistration.k8s.io/v1', 'ValidatingAdmissionPolicy', undefined, token);
    await dp.delete('v1', 'Namespace', undefined, ns);
  });

  /** refused is a ConfigMap the data plane's admission policy refuses with a long message. */
  function refused(id: string): ReleaseResource {
    const resource = configMap(id, ns, id, { key: 'value' });
    (resource.object as KubeObject).metadata.labels = { [LABEL]: token };
    return resource;
  }

  /** rawRelease reads a Release as the API server serves it, and its size in bytes. */
  async function rawRelease(name: string): Promise<{ release: Release; bytes: number }> {
    const text = await suite.cp.client.text({
      method: 'GET',
      path: `/apis/${API_VERSION}/namespaces/${suite.org.namespace}/releases/${name}`,
    });
    return { release: JSON.parse(text) as Release, bytes: Buffer.byteLength(text) };
  }

  /** reported waits until the Release's status covers its current generation and `check` holds. */
  function reported(name: string, check: (r: Release) => void): Promise<{ release: Release; bytes: number }> {
    return eventually(
      async () => {
        const got = await rawRelease(name);
        const r = got.release;
        if (r.status?.observedGeneration !== r.metadata.generation) {
          // The controller's log says why (before the fix: "etcdserver: request is too large").
          const why = suite.controller
            .logTail(5000)
            .split('\n')
            .findLast((l) => l.includes(name) && /too large|status/i.test(l));
          assert.fail(`status is not for the current generation (controller log: ${why?.slice(0, 400)})`);
        }
        assert.equal(r.status?.resources?.length, r.spec.resources?.length, 'every resource has an entry');
        check(r);
        return got;
      },
      { timeoutMs: TIMEOUT_MS, intervalMs: 1000, description: `the status of Release ${name}` },
    );
  }

  /** assertRefusedEntry checks that an entry names its refusal and says how much of it was cut. */
  function assertRefusedEntry(r: Release, id: string): void {
    const entry = r.status?.resources?.find((e) => e.id === id);
    assert.ok(entry, `resource ${id} has an entry`);
    const message = entry.message ?? '';
    assert.ok(message.length <= ENTRY_MESSAGE_BOUND, `${id}: message of ${message.length} characters`);
    assert.match(message, new RegExp(`ConfigMap ${id} refused: rule 0`), `${id} names its refusal`);
    assert.match(message, /… \(truncated: \d+ more characters\)$/, `${id} says what was cut`);
    assert.notEqual(entry.healthStatus, 'Healthy');
  }

  /** report tells the size of a Release and of its status, and the longest entry message. */
  function report(t: TestContext, release: Release, bytes: number): void {
    const messages = (release.status?.resources ?? []).map((e) => (e.message ?? '').length);
    t.diagnostic(
      `Release ${bytes} bytes (limit ${ETCD_DEFAULT_MAX_REQUEST_BYTES}), status ${Buffer.byteLength(JSON.stringify(release.status))} bytes, spec ${Buffer.byteLength(JSON.stringify(release.spec))} bytes, entry messages ${Math.min(...messages)}-${Math.max(...messages)} characters`,
    );
  }

  test('1000 resources refused with 1.5 KB messages: the status is written, bounded, and names the failures', async (t) => {
    const { cp, org } = suite;
    const name = uniqueName('refused');
    const ids = Array.from({ length: 1000 }, (_, i) => `cm-${String(i).padStart(4, '0')}`);
    await cp.create(releaseObject(org, name, ids.map(refused)));
    try {
      const { release, bytes } = await reported(name, (r) => {
        assert.equal(condition(r, 'ResourcesApplied')?.status, 'False');
      });
      const applied = condition(release, 'ResourcesApplied');
      assert.match(applied?.message ?? '', /^1000 of 1000 resources not applied: /);
      assert.match(applied?.message ?? '', /ConfigMap cm-0000 refused: rule 0/, 'names the first failure');
      assert.equal(condition(release, 'Ready')?.status, 'False');
      report(t, release, bytes);
      for (const id of ids) assertRefusedEntry(release, id);
      assert.ok(bytes < ETCD_DEFAULT_MAX_REQUEST_BYTES, `the Release is ${bytes} bytes`);
    } finally {
      await deleteRelease(cp, org.namespace, name, TIMEOUT_MS);
    }
  });

  test('a Release with 1 MiB of spec still gets its status written', async (t) => {
    const { cp, dp, org } = suite;
    const name = uniqueName('bigspec');
    // 16 ConfigMaps of 64 KiB each are applied; 400 more are refused with long messages.
    const big = Array.from({ length: 16 }, (_, i) =>
      configMap(`big-${i}`, ns, `big-${i}`, { blob: 'x'.repeat(64 * 1024) }),
    );
    const bad = Array.from({ length: 400 }, (_, i) => refused(`bad-${String(i).padStart(3, '0')}`));
    await cp.create(releaseObject(org, name, [...big, ...bad]));
    try {
      const { release, bytes } = await reported(name, (r) => {
        assert.equal(condition(r, 'ResourcesApplied')?.status, 'False');
      });
      assert.ok(JSON.stringify(release.spec).length > 1024 * 1024, 'the spec holds more than 1 MiB');
      for (const e of big) {
        const entry = release.status?.resources?.find((s) => s.id === e.id);
        assert.equal(entry?.healthStatus, 'Healthy', `${e.id} is applied and Healthy`);
      }
      report(t, release, bytes);
      for (const e of bad) assertRefusedEntry(release, e.id);
      assert.match(
        condition(release, 'ResourcesApplied')?.message ?? '',
        /^400 of 416 resources not applied: /,
      );
      assert.ok(bytes < ETCD_DEFAULT_MAX_REQUEST_BYTES, `the Release is ${bytes} bytes`);
      const applied = await dp.get('v1', 'ConfigMap', ns, 'big-0');
      assert.ok(applied, 'the big ConfigMaps reached the data plane');
    } finally {
      await deleteRelease(cp, org.namespace, name, TIMEOUT_MS);
    }
  });
});
