/**
 * Bad input gets a clear answer naming the resource id and the problem; the valid resources of
 * the same Release are still applied; nothing already applied is deleted because a new object
 * is bad; credentials never reach logs or conditions.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { API_VERSION } from '../../src/api/v1alpha1/constants.ts';
import type { KubeObject } from '../../src/api/object.ts';
import type { Release, ReleaseResource } from '../../src/api/v1alpha1/schema.ts';
import { metricValue } from '../support/controller.ts';
import { eventually } from '../support/eventually.ts';
import {
  condition,
  configMap,
  getRelease,
  releaseObject,
  uniqueName,
  waitReady,
} from '../support/fixtures.ts';
import { integrationSuite } from '../support/suite.ts';

describe('bad input', () => {
  const suite = integrationSuite({ credentials: 'inline' });
  // Runs after the suite's `after` has ended the controller. Whatever happened above, no credential
  // may have reached the log.
  after(() => {
    if (!suite.ready) return;
    const { clusters, controller } = suite;
    const log = controller.logTail(100_000);
    assert.ok(!log.includes(clusters.dp.keyData.slice(0, 40)), 'the client key must not appear in the log');
    assert.ok(!log.includes('PRIVATE KEY'), 'no private key may appear in the log');
  });

  /** entry returns the status entry of one id once the controller reported on the Release. */
  const settled = (name: string) =>
    eventually(
      async () => {
        const r = await getRelease(suite.cp, suite.org.namespace, name);
        assert.ok(
          r?.status?.resources?.length === r?.spec.resources?.length,
          'every resource has a status entry',
        );
        assert.equal(
          r?.status?.observedGeneration,
          r?.metadata.generation,
          'status is for the current generation',
        );
        return r!;
      },
      { description: `Release ${name} to be reported` },
    );
  const entry = (r: Release, id: string) => r.status?.resources?.find((e) => e.id === id);

  test('each unusable object is reported by id while the valid ones are applied', async () => {
    const { cp, dp, org } = suite;
    const ns = uniqueName('bad');
    const bad: Array<{ id: string; object: Record<string, unknown>; expect: RegExp; reason?: string }> = [
      {
        id: 'no-api-version',
        object: { kind: 'ConfigMap', metadata: { name: 'a', namespace: ns } },
        expect: /resource "no-api-version": object has no apiVersion/,
      },
      {
        id: 'no-kind',
        object: { apiVersion: 'v1', metadata: { name: 'b', namespace: ns } },
        expect: /resource "no-kind": object has no kind/,
      },
      {
        id: 'no-name',
        object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { namespace: ns } },
        expect: /resource "no-name": ConfigMap has no metadata.name/,
      },
      {
        id: 'no-namespace',
        object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' } },
        expect: /resource "no-namespace": ConfigMap\/c is namespaced but has no metadata.namespace/,
      },
      {
        id: 'cluster-scoped-with-namespace',
        object: {
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'ClusterRole',
          metadata: { name: uniqueName('cr'), namespace: ns },
          rules: [],
        },
        expect: /ClusterRole\/.* is cluster-scoped but sets metadata.namespace/,
      },
      {
        id: 'kind-not-served',
        object: { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w', namespace: ns } },
        expect: /does not serve Widget in example.com\/v1/,
        reason: 'UnknownKind',
      },
      {
        id: 'kind-typo',
        object: { apiVersion: 'apps/v1', kind: 'Deploymnet', metadata: { name: 'd', namespace: ns } },
        expect: /no kind Deploymnet in apps\/v1; did you mean Deployment\?/,
        reason: 'UnknownKind',
      },
      {
        id: 'version-not-served',
        object: {
          apiVersion: 'policy/v1beta1',
          kind: 'PodDisruptionBudget',
          metadata: { name: 'p', namespace: ns },
          spec: { minAvailable: 1 },
        },
        expect:
          /does not serve PodDisruptionBudget in policy\/v1beta1: API version policy\/v1beta1 is not served/,
        reason: 'UnknownKind',
      },
      {
        id: 'rejected-by-schema',
        object: {
          apiVersion: 'v1',
          kind: 'Service',
          metadata: { name: 'svc', namespace: ns },
          spec: { ports: [{ port: 99999 }] },
        },
        expect:
          /resource "rejected-by-schema": Service\/.*\/svc: .*spec.ports\[0\].port: Invalid value: 99999/,
      },
      {
        // Server-side apply answers a type error with a 500 (not 422): still the object's fault.
        id: 'wrong-type',
        object: {
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          metadata: { name: 'web', namespace: ns },
          spec: {
            replicas: 'three',
            selector: { matchLabels: { app: 'web' } },
            template: {
              metadata: { labels: { app: 'web' } },
              spec: { containers: [{ name: 'web', image: 'nginx' }] },
            },
          },
        },
        expect:
          /resource "wrong-type": Deployment\/.*\/web: the data plane refused the object: .*\.spec\.replicas: expected numeric/,
      },
      {
        id: 'too-large',
        object: {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: 'huge', namespace: ns },
          data: { blob: 'x'.repeat(1_100_000) },
        },
        expect: /resource "too-large": ConfigMap\/.*\/huge: .*(Too long|too large)/i,
      },
    ];
    const good = configMap('good', ns, 'good');
    const name = uniqueName('rel');
    await cp.create(releaseObject(org, name, [good, ...bad.map(({ id, object }) => ({ id, object }))]));
    const r = await eventually(
      async () => {
        const rel = await settled(name);
        for (const b of bad) assert.match(entry(rel, b.id)?.message ?? '', b.expect, `message of ${b.id}`);
        return rel;
      },
      { description: 'a message for every bad resource' },
    );
    for (const b of bad)
      assert.equal(entry(r, b.id)?.healthReason, b.reason ?? 'InvalidResource', `healthReason of ${b.id}`);
    assert.equal(entry(r, 'good')?.healthStatus, 'Healthy');
    assert.ok(await dp.get('v1', 'ConfigMap', ns, 'good'), 'the valid resource is applied');
    const applied = condition(r, 'ResourcesApplied');
    assert.equal(applied?.status, 'False');
    assert.equal(applied?.reason, 'InvalidResource');
    assert.match(
      applied?.message ?? '',
      /11 of 12 resources not applied: resource "no-api-version": object has no apiVersion/,
    );
    assert.equal(condition(r, 'Ready')?.reason, 'InvalidResource');
    // A bad object waits for the Release to change: the reconcile is not an error to retry.
    const key = `${org.namespace}/${name}`;
    const errors = suite.controller
      .logTail(100_000)
      .split('\n')
      .filter((line) => line.includes('"Reconciler error"') && line.includes(key));
    assert.deepEqual(errors, [], 'no reconcile of the Release failed');
    // Events are recorded after the status write, by the recorder's own queue.
    await eventually(
      async () => {
        const events = await cp.list('events.k8s.io/v1', 'Event', org.namespace);
        assert.ok(
          events.some(
            (e) =>
              (e as KubeObject & { reason?: string; regarding?: { name?: string } }).regarding?.name ===
                name && (e as { reason?: string }).reason === 'InvalidResource',
          ),
          'a Warning Event InvalidResource is recorded on the Release',
        );
      },
      { description: 'the InvalidResource Event' },
    );
  });

  test('a resource that is not a JSON object is refused by the API server, naming the field', async () => {
    const { cp, org } = suite;
    const release = releaseObject(org, uniqueName('rel'), [
      { id: 'x', object: 'not an object' as unknown as Record<string, unknown> },
    ]);
    await assert.rejects(
      cp.create(release),
      /spec.resources\[0\].object: Invalid value: "string": spec.resources\[0\].object in body must be of type object/,
    );
  });

  test('the API server refuses duplicate ids, an id that is not a label value, and a bad interval', async () => {
    const { cp, org } = suite;
    const ns = uniqueName('dup');
    await assert.rejects(
      cp.create(
        releaseObject(org, uniqueName('rel'), [configMap('same', ns, 'a'), configMap('same', ns, 'b')]),
      ),
      /spec.resources\[1\]: Duplicate value: \{"id":"same"\}/,
    );
    await assert.rejects(
      cp.create(releaseObject(org, uniqueName('rel'), [configMap('not/a label', ns, 'a')])),
      /spec.resources\[0\].id in body should match/,
    );
    await assert.rejects(
      cp.create(releaseObject(org, uniqueName('rel'), [], { interval: '5 minutes' })),
      /spec.interval in body should match/,
    );
    const name = uniqueName('rel');
    await cp.create(releaseObject(org, name, []));
    await assert.rejects(
      cp.patch(API_VERSION, 'Release', org.namespace, name, {
        spec: { owner: { projectName: 'other', componentName: 'x' } },
      }),
      /spec.owner is immutable/,
    );
  });

  test('an object that turns bad keeps its applied predecessor', async () => {
    const { cp, dp, org } = suite;
    const ns = uniqueName('keep');
    const name = uniqueName('rel');
    await cp.create(
      releaseObject(org, name, [
        configMap('cm', ns, 'settings', { v: '1' }),
        configMap('other', ns, 'other'),
      ]),
    );
    await waitReady(cp, org, name);
    // The new object under id cm lost its name; id other is removed from the spec at the same time.
    await cp.patch(API_VERSION, 'Release', org.namespace, name, {
      spec: {
        resources: [
          {
            id: 'cm',
            object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { namespace: ns }, data: { v: '2' } },
          },
        ],
      },
    });
    const r = await eventually(async () => {
      const rel = await settled(name);
      assert.match(entry(rel, 'cm')?.message ?? '', /has no metadata.name/);
      return rel;
    });
    assert.equal(condition(r, 'ResourcesApplied')?.reason, 'InvalidResource');
    const kept = await dp.get<KubeObject & { data?: Record<string, string> }>(
      'v1',
      'ConfigMap',
      ns,
      'settings',
    );
    assert.equal(kept?.data?.['v'], '1', 'the object applied before stays as it was');
    await eventually(async () =>
      assert.equal(await dp.get('v1', 'ConfigMap', ns, 'other'), undefined, 'the removed id is still pruned'),
    );
  });

  test('an object the data plane refuses as written is not retried like an outage: sent again only when it changes or a reconcile is requested', async () => {
    const { cp, dp, org } = suite;
    const ns = uniqueName('typo');
    const name = uniqueName('rel');
    const service = (port: number): ReleaseResource => ({
      id: 'svc',
      object: {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'web', namespace: ns },
        spec: { ports: [{ port }] },
      },
    });
    // Refusals of Services by the data plane's API server, whoever sent them.
    const refusals = async () =>
      metricValue(await dp.metrics(), 'apiserver_request_total', { resource: 'services', code: '422' });
    const passes = async () =>
      metricValue(await suite.controller.metrics(), 'controller_runtime_reconcile_total', {});
    await cp.create(
      releaseObject(org, name, [configMap('cm', ns, 'settings'), service(99999)], {
        interval: '1s',
        progressingInterval: '1s',
      }),
    );
    await eventually(async () => assert.match(entry(await settled(name), 'svc')?.message ?? '', /99999/));
    const refused = await refusals();
    assert.ok(refused >= 1, 'the data plane refused the Service');
    const before = await passes();
    await eventually(async () => assert.ok((await passes()) >= before + 4, 'several passes since'), {
      timeoutMs: 30_000,
      description: 'the controller to pass over its Releases a few times',
    });
    assert.equal(
      await refusals(),
      refused,
      'the refused Service was not sent again: the answer cannot change',
    );
    const r = await settled(name);
    assert.match(entry(r, 'svc')?.message ?? '', /99999/, 'the refusal is still reported');
    assert.equal(condition(r, 'ResourcesApplied')?.reason, 'InvalidResource');

    // kubectl release reconcile (or any client setting the annotation) sends it again, once.
    const requested = new Date().toISOString();
    await cp.patch(API_VERSION, 'Release', org.namespace, name, {
      metadata: { annotations: { 'openchoreo.dev/reconcile-requested-at': requested } },
    });
    await eventually(async () =>
      assert.equal((await getRelease(cp, org.namespace, name))?.status?.lastHandledReconcileAt, requested),
    );
    assert.ok((await refusals()) > refused, 'a requested pass sends the refused object again');

    // A fixed object is sent at once and accepted.
    await cp.patch(API_VERSION, 'Release', org.namespace, name, {
      spec: { resources: [configMap('cm', ns, 'settings'), service(8080)] },
    });
    await waitReady(cp, org, name);
    assert.ok(await dp.get('v1', 'Service', ns, 'web'), 'the fixed Service is applied');
  });

  test('an immutable field change says so, and recreates only when the object asks for it', async () => {
    const { cp, dp, org } = suite;
    const ns = uniqueName('imm');
    const name = uniqueName('rel');
    const deployment = (app: string, recreate: boolean): ReleaseResource => ({
      id: 'web',
      object: {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: {
          name: 'web',
          namespace: ns,
          annotations: recreate ? { 'openchoreo.dev/recreate-on-immutable-change': 'true' } : {},
        },
        spec: {
          replicas: 0,
          selector: { matchLabels: { app } },
          template: { metadata: { labels: { app } }, spec: { containers: [{ name: 'c', image: 'img' }] } },
        },
      },
    });
    await cp.create(releaseObject(org, name, [deployment('one', false)]));
    const first = await eventually(async () => {
      const d = await dp.get('apps/v1', 'Deployment', ns, 'web');
      assert.ok(d, 'the Deployment is applied');
      return d;
    });
    await cp.patch(API_VERSION, 'Release', org.namespace, name, {
      spec: { resources: [deployment('two', false)] },
    });
    await eventually(async () => {
      const rel = await settled(name);
      assert.match(entry(rel, 'web')?.message ?? '', /field is immutable.*recreate-on-immutable-change/);
    });
    assert.equal(
      (await dp.get('apps/v1', 'Deployment', ns, 'web'))?.metadata.uid,
      first.metadata.uid,
      'not recreated without the annotation',
    );

    await cp.patch(API_VERSION, 'Release', org.namespace, name, {
      spec: { resources: [deployment('two', true)] },
    });
    await eventually(
      async () => {
        const d = await dp.get<KubeObject & { spec: { selector: { matchLabels: Record<string, string> } } }>(
          'apps/v1',
          'Deployment',
          ns,
          'web',
        );
        assert.notEqual(d?.metadata.uid, first.metadata.uid, 'recreated');
        assert.equal(d?.spec.selector.matchLabels['app'], 'two');
        assert.equal(
          condition(await getRelease(cp, org.namespace, name), 'ResourcesApplied')?.status,
          'True',
        );
      },
      { timeoutMs: 60_000, description: 'the Deployment recreated with the new selector' },
    );
  });
});
