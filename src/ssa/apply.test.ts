import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { pino } from 'pino';
import type { KubeObject } from '../api/object.ts';
import { CONTROLLER_NAME, Labels } from '../api/v1alpha1/constants.ts';
import { KubeApiError } from '../kube/client.ts';
import { FakeDataPlane, servedKind } from '../../test/support/fakedataplane.ts';
import { NAMESPACE_KIND } from '../dataplane/port.ts';
import { applyAll, type ApplyItem, type ApplyOptions, type ApplyResult } from './apply.ts';
import { ApplyMemory, recordKey } from './memory.ts';

const CONFIGMAP = servedKind({ group: '', version: 'v1', kind: 'ConfigMap' }, 'configmaps');
const CLUSTERROLE = servedKind(
  { group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'ClusterRole' },
  'clusterroles',
  false,
);
const FIELD_MANAGER = 'release-controller';

function item(
  id: string,
  object: Partial<KubeObject> & { metadata: KubeObject['metadata'] },
  hash = `h-${id}`,
): ApplyItem {
  const full: KubeObject = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    ...object,
    metadata: {
      ...object.metadata,
      labels: { [Labels.managedBy]: CONTROLLER_NAME, ...object.metadata.labels },
    },
  };
  const [group, version] = full.apiVersion.includes('/') ? full.apiVersion.split('/') : ['', full.apiVersion];
  return {
    id,
    group: group ?? '',
    version: version ?? '',
    kind: full.kind,
    name: full.metadata.name ?? '',
    namespace: full.metadata.namespace ?? '',
    object: full,
    hash,
  };
}

function cm(id: string, name: string, data: Record<string, string> = {}, namespace = 'apps'): ApplyItem {
  return item(id, { metadata: { name, namespace }, data }, `h-${id}-${JSON.stringify(data)}`);
}

function options(overrides: Partial<ApplyOptions<ApplyItem>> = {}): ApplyOptions<ApplyItem> {
  return {
    owner: { key: 'acme/web', uid: 'uid-web' },
    memory: new ApplyMemory(),
    fieldManager: FIELD_MANAGER,
    namespaceFieldManager: 'namespaces',
    signal: new AbortController().signal,
    logger: pino({ level: 'silent' }),
    ...overrides,
  };
}

void describe('applyAll', () => {
  void test('creates, then leaves unchanged without a request, then configures what changed', async () => {
    const dp = new FakeDataPlane('acme/dp', [CONFIGMAP]);
    const opts = options();
    const results: ApplyResult[] = [];
    opts.onResult = (_kind, r) => results.push(r);

    const first = await applyAll(dp, [cm('a', 'a'), cm('b', 'b')], opts);
    assert.deepEqual(
      first.map((e) => e.action),
      ['created', 'created'],
    );
    const requests = dp.requests.length;
    const second = await applyAll(dp, [cm('a', 'a'), cm('b', 'b')], opts);
    assert.deepEqual(
      second.map((e) => e.action),
      ['unchanged', 'unchanged'],
    );
    assert.equal(dp.requests.length, requests, 'no request for unchanged objects');

    const third = await applyAll(dp, [cm('a', 'a', { x: '1' }), cm('b', 'b')], opts);
    assert.deepEqual(
      third.map((e) => e.action),
      ['configured', 'unchanged'],
    );
    assert.deepEqual(dp.get(CONFIGMAP, 'apps', 'a')?.['data'], { x: '1' });
    // Applies run in parallel, so results arrive in any order.
    assert.deepEqual(results.sort(), [
      'applied',
      'applied',
      'applied',
      'unchanged',
      'unchanged',
      'unchanged',
    ]);
  });

  void test('a refusal of the guard skips the object and writes nothing', async () => {
    const dp = new FakeDataPlane('acme/dp', [CONFIGMAP]);
    const entries = await applyAll(
      dp,
      [cm('a', 'a'), cm('b', 'b')],
      options({ policy: { guard: (i) => (i.id === 'b' ? 'b is not ours' : undefined) } }),
    );
    assert.deepEqual(
      entries.map((e) => [e.action, e.message]),
      [
        ['created', undefined],
        ['skipped', 'b is not ours'],
      ],
    );
    assert.equal(dp.get(CONFIGMAP, 'apps', 'b'), undefined);
  });

  void test('an object someone else made is found by a create that writes nothing, read once, and shown to the guard as foreign', async () => {
    const dp = new FakeDataPlane('acme/dp', [CONFIGMAP]);
    dp.put(CONFIGMAP, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'b', namespace: 'apps' } });
    const seen: Array<[string, string]> = [];
    const opts = options({
      policy: {
        guard: (i, existing) => {
          seen.push([i.id, existing.foreign ? 'foreign' : existing.live ? 'live' : 'absent']);
          return existing.foreign ? `${i.id} is someone else's` : undefined;
        },
      },
    });
    const entries = await applyAll(dp, [cm('a', 'a'), cm('b', 'b')], opts);
    assert.deepEqual(
      entries.map((e) => e.action),
      ['created', 'skipped'],
    );
    // Both are first tried with a create-only apply (the guard lets an absent object through);
    // b exists, so that writes nothing, and b is read and shown to the guard as what it is.
    assert.deepEqual(seen, [
      ['a', 'absent'],
      ['b', 'absent'],
      ['b', 'foreign'],
    ]);
    assert.deepEqual(
      dp.requests.filter((r) => r.kind === 'ConfigMap').map((r) => `${r.verb} ${r.name}`),
      ['apply a', 'exists b', 'read b'],
    );
    assert.equal(
      dp.get(CONFIGMAP, 'apps', 'b')?.metadata.labels,
      undefined,
      'the foreign object is untouched',
    );

    dp.requests.length = 0;
    await applyAll(dp, [cm('a', 'a')], opts);
    assert.deepEqual(dp.requests, [], 'our own object is not read again');
  });

  void test('prepare decides what is sent, and its hash decides whether it is sent again', async () => {
    const dp = new FakeDataPlane('acme/dp', [CONFIGMAP]);
    let mark = 'one';
    const opts = options({
      policy: {
        prepare: (i) => {
          const object = { ...i.object, metadata: { ...i.object.metadata, annotations: { mark } } };
          return { object, hash: `${i.hash}+${mark}` };
        },
      },
    });
    await applyAll(dp, [cm('a', 'a')], opts);
    assert.deepEqual(dp.get(CONFIGMAP, 'apps', 'a')?.metadata.annotations, { mark: 'one' });
    assert.equal((await applyAll(dp, [cm('a', 'a')], opts))[0]?.action, 'unchanged');
    mark = 'two';
    assert.equal((await applyAll(dp, [cm('a', 'a')], opts))[0]?.action, 'configured');
  });

  void test('scope mistakes are invalid and name the field, without a request', async () => {
    const dp = new FakeDataPlane('acme/dp', [CONFIGMAP, CLUSTERROLE]);
    const role = item('role', {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: 'reader', namespace: 'apps' },
    });
    const entries = await applyAll(dp, [cm('cm', 'settings', {}, ''), role], options());
    assert.deepEqual(
      entries.map((e) => [e.action, e.message]),
      [
        ['invalid', 'resource "cm": ConfigMap/settings is namespaced but has no metadata.namespace'],
        [
          'invalid',
          'resource "role": ClusterRole/reader is cluster-scoped but sets metadata.namespace "apps"; remove it',
        ],
      ],
    );
    assert.deepEqual(dp.writes(), []);
  });

  void test('missing namespaces are created from the policy template, once', async () => {
    const dp = new FakeDataPlane('acme/dp', [CONFIGMAP]);
    const opts = options({
      policy: {
        namespace: (name) => ({
          apiVersion: 'v1',
          kind: 'Namespace',
          metadata: { name, labels: { t: 'x' } },
        }),
      },
    });
    await applyAll(dp, [cm('a', 'a', {}, 'one'), cm('b', 'b', {}, 'one'), cm('c', 'c', {}, 'two')], opts);
    assert.deepEqual(
      dp.requests
        .filter((r) => r.verb === 'create')
        .map((r) => r.name)
        .sort(),
      ['one', 'two'],
    );
    assert.deepEqual(dp.get(NAMESPACE_KIND, undefined, 'one')?.metadata.labels, { t: 'x' });
  });

  void test('a namespace that holds one of our cached objects is not created again (a restart sends no create)', async () => {
    const dp = new FakeDataPlane('acme/dp', [CONFIGMAP]);
    const policy = {
      namespace: (name: string): KubeObject => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } }),
    };
    await applyAll(dp, [cm('a', 'a', {}, 'one')], options({ policy }));
    const ensured: string[] = [];
    const ensure = dp.ensureNamespace.bind(dp);
    dp.ensureNamespace = (template, ...rest) => {
      ensured.push(template.metadata.name ?? '');
      return ensure(template, ...rest);
    };
    // A new process: nothing known of the namespaces, the cache listed what is there.
    dp.forgetNamespace('one');
    await applyAll(dp, [cm('a', 'a', {}, 'one'), cm('b', 'b', {}, 'two')], options({ policy }));
    assert.deepEqual(ensured, ['two'], 'only the namespace none of our cached objects is in');
    assert.ok(dp.get(NAMESPACE_KIND, undefined, 'two'), 'the missing one is created');
  });

  void test('an immutable field change recreates only where the policy allows it, and says how otherwise', async () => {
    const dp = new FakeDataPlane('acme/dp', [CONFIGMAP]);
    const opts = options({
      policy: { recreate: (i) => ({ allowed: i.id === 'a', hint: `hint for ${i.id}` }) },
    });
    await applyAll(dp, [cm('a', 'a'), cm('b', 'b')], opts);
    dp.refuse = () =>
      new KubeApiError('ConfigMap "x" is invalid: data: Forbidden: field is immutable', {
        statusCode: 422,
        reason: 'Invalid',
      });

    const entries = await applyAll(dp, [cm('a', 'a', { v: '2' }), cm('b', 'b', { v: '2' })], opts);

    assert.equal(entries[0]?.action, 'recreating');
    assert.equal(
      entries[0]?.message,
      'resource "a": immutable field changed; deleting ConfigMap/apps/a to recreate it',
    );
    assert.equal(dp.get(CONFIGMAP, 'apps', 'a'), undefined, 'deleted to be recreated');
    assert.equal(entries[1]?.action, 'invalid');
    assert.match(entries[1]?.message ?? '', /field is immutable \(immutable field changed: hint for b\)$/);
    assert.ok(dp.get(CONFIGMAP, 'apps', 'b'), 'not deleted without permission');
  });

  void test('an object the data plane refuses as written is not sent again until it changes or a fresh pass is asked for', async () => {
    const dp = new FakeDataPlane('acme/dp', [CONFIGMAP]);
    const opts = options();
    dp.refuse = (obj) =>
      obj.metadata.name === 'bad'
        ? new KubeApiError('ConfigMap "bad" is invalid: data: Invalid value', {
            statusCode: 422,
            reason: 'Invalid',
          })
        : undefined;
    const sends = () => dp.requests.filter((r) => r.name === 'bad' && r.verb !== 'read').length;

    const first = await applyAll(dp, [cm('good', 'good'), cm('bad', 'bad')], opts);
    assert.equal(first[1]?.action, 'invalid');
    const sent = sends();
    assert.ok(sent > 0, 'the object was sent once');

    const again = await applyAll(dp, [cm('good', 'good'), cm('bad', 'bad')], opts);
    assert.deepEqual(again[1], first[1], 'the same refusal, reported the same way');
    assert.equal(sends(), sent, 'not sent again: the answer cannot change');

    await applyAll(dp, [cm('good', 'good'), cm('bad', 'bad')], { ...opts, retryRefused: true });
    assert.ok(sends() > sent, 'a fresh pass asked for sends it again');

    const resent = sends();
    dp.refuse = () => undefined;
    const changed = await applyAll(dp, [cm('good', 'good'), cm('bad', 'bad', { v: 'fixed' })], opts);
    assert.equal(changed[1]?.action, 'created', 'the changed object is sent, and accepted');
    assert.ok(sends() > resent, 'the changed object was sent');
    assert.equal(opts.memory.refusalCount('acme/web'), 0, 'nothing refused is remembered any more');
  });

  void test('an unreachable data plane fails every object and marks it unreachable', async () => {
    const dp = new FakeDataPlane('acme/dp', [CONFIGMAP]);
    dp.unreachable = true;
    const entries = await applyAll(dp, [cm('a', 'a'), cm('b', 'b')], options());
    assert.deepEqual(
      entries.map((e) => [e.action, e.unreachable]),
      [
        ['failed', true],
        ['failed', true],
      ],
    );
  });

  void test('the first answer that never comes ends the pass: discovery is asked once, nothing is applied', async () => {
    const dp = new FakeDataPlane('acme/dp', [CONFIGMAP]);
    dp.unreachable = true;
    let resolves = 0;
    const resolveKind = dp.resolveKind.bind(dp);
    dp.resolveKind = (gvk) => {
      resolves++;
      return resolveKind(gvk);
    };
    const entries = await applyAll(dp, [cm('a', 'a'), cm('b', 'b'), cm('c', 'c')], options());
    assert.equal(resolves, 1, 'one silent answer is enough to know');
    assert.deepEqual(
      entries.map((e) => [e.item.id, e.action, e.unreachable]),
      [
        ['a', 'failed', true],
        ['b', 'failed', true],
        ['c', 'failed', true],
      ],
    );
    assert.match(entries[0]?.message ?? '', /ECONNREFUSED/);
    assert.match(entries[2]?.message ?? '', /^resource "c": not tried: the data plane stopped answering/);
  });

  void test('an apply that gets no answer ends the pass: later objects are not sent', async () => {
    const dp = new FakeDataPlane('acme/dp', [CONFIGMAP]);
    dp.refuse = (o) =>
      o.metadata.name === 'b'
        ? new KubeApiError('PATCH on acme/dp: timed out after 15000 ms', { statusCode: 0, reason: 'Timeout' })
        : undefined;
    const items = ['a', 'b', 'c', 'd'].map((n) => cm(n, n));
    const entries = await applyAll(dp, items, options({ concurrency: 1 }));
    assert.deepEqual(
      dp.requests.filter((r) => r.verb === 'apply').map((r) => r.name),
      ['a', 'b'],
      'nothing is sent after the first unanswered request',
    );
    assert.deepEqual(
      entries.map((e) => [e.item.id, e.action, e.unreachable ?? false]),
      [
        ['a', 'created', false],
        ['b', 'failed', true],
        ['c', 'failed', true],
        ['d', 'failed', true],
      ],
    );
    assert.match(entries[3]?.message ?? '', /not tried/);
  });

  void test('an object the policy does not admit is refused before any request, its namespace not created', async () => {
    const dp = new FakeDataPlane('acme/dp', [CONFIGMAP, NAMESPACE_KIND]);
    const opts = options({
      policy: {
        admit: (i) => (i.namespace === 'kube-system' ? `resource "${i.id}": not allowed` : undefined),
        namespace: (name) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } }),
      },
    });
    const entries = await applyAll(dp, [cm('a', 'a'), cm('b', 'b', {}, 'kube-system')], opts);
    assert.deepEqual(
      entries.map((e) => [e.action, e.message]),
      [
        ['created', undefined],
        ['refused', 'resource "b": not allowed'],
      ],
    );
    assert.deepEqual(
      dp.requests.filter((r) => r.name === 'b' || r.name === 'kube-system'),
      [],
      'nothing sent for the refused object',
    );
  });
});

void describe('applyAll: limits', () => {
  void test('an object over a limit is refused even when it is only observed: not read, not watched', async () => {
    const dp = new FakeDataPlane('acme/dp', [CONFIGMAP]);
    const opts = options({
      policy: {
        object: () => ({ write: 'Observe' }),
        limit: (i) => (i.id === 'over' ? `resource "over": beyond the limit` : undefined),
      },
    });
    const entries = await applyAll(dp, [cm('ok', 'ok'), cm('over', 'over')], opts);
    assert.deepEqual(
      entries.map((e) => [e.item.id, e.action, e.message]),
      [
        ['ok', 'observed', `ConfigMap/apps/ok does not exist; it is only observed (Observe), not created`],
        ['over', 'refused', 'resource "over": beyond the limit'],
      ],
    );
    assert.ok(
      dp.observedBy('acme/web').every((o) => !o.includes('over')),
      `only the one within the limit is observed: ${dp.observedBy('acme/web').join(', ')}`,
    );
    assert.ok(
      dp.requests.every((r) => r.name !== 'over'),
      'nothing sent for the one over the limit',
    );
  });
});

void describe('applyAll: object policies', () => {
  const withWrite = (write: 'CreateOnly' | 'Observe') =>
    options({ policy: { object: (i) => (i.id.startsWith('x') ? { write } : undefined) } });

  void test('CreateOnly creates a missing object, never updates it, and creates it again once deleted', async () => {
    const dp = new FakeDataPlane('acme/dp', [CONFIGMAP]);
    const opts = withWrite('CreateOnly');
    assert.equal((await applyAll(dp, [cm('x', 'seed', { v: '1' })], opts))[0]?.action, 'created');
    assert.deepEqual(dp.observedBy('acme/web'), [], 'created: ours, so watched with our objects');

    dp.requests.length = 0;
    const changed = await applyAll(dp, [cm('x', 'seed', { v: '2' })], opts);
    assert.equal(changed[0]?.action, 'unchanged');
    assert.deepEqual(dp.requests, [], 'a changed spec sends nothing');
    assert.deepEqual(dp.get(CONFIGMAP, 'apps', 'seed')?.['data'], { v: '1' });

    dp.remove(CONFIGMAP, 'apps', 'seed');
    assert.equal((await applyAll(dp, [cm('x', 'seed', { v: '2' })], opts))[0]?.action, 'created');
    assert.deepEqual(dp.get(CONFIGMAP, 'apps', 'seed')?.['data'], { v: '2' });
  });

  void test('CreateOnly leaves an object someone else made alone and observes it through a watch', async () => {
    const dp = new FakeDataPlane('acme/dp', [CONFIGMAP]);
    dp.put(CONFIGMAP, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'seed', namespace: 'apps' },
      data: { v: 'theirs' },
    });
    const opts = withWrite('CreateOnly');
    const [entry] = await applyAll(dp, [cm('x', 'seed', { v: '1' })], opts);
    assert.equal(entry?.action, 'observed');
    assert.deepEqual(entry?.live?.['data'], { v: 'theirs' });
    assert.deepEqual(dp.writes(), []);
    assert.deepEqual(dp.observedBy('acme/web'), ['/ConfigMap/apps/seed']);

    dp.requests.length = 0;
    await applyAll(dp, [cm('x', 'seed', { v: '1' })], opts);
    assert.deepEqual(dp.requests, [], 'the steady state sends nothing');
  });

  void test('Observe never writes, reports a missing object, and watches it until it leaves the set', async () => {
    const dp = new FakeDataPlane('acme/dp', [CONFIGMAP]);
    const opts = withWrite('Observe');
    const [missing] = await applyAll(dp, [cm('x', 'gateway')], opts);
    assert.equal(missing?.action, 'observed');
    assert.equal(missing?.live, undefined);
    assert.equal(
      missing?.message,
      'ConfigMap/apps/gateway does not exist; it is only observed (Observe), not created',
    );

    dp.put(CONFIGMAP, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'gateway', namespace: 'apps' },
      data: { v: 'shared' },
    });
    const [found] = await applyAll(dp, [cm('x', 'gateway', { v: 'ours' })], opts);
    assert.deepEqual(found?.live?.['data'], { v: 'shared' });
    assert.deepEqual(dp.writes(), [], 'never written');
    assert.deepEqual(
      dp.requests.map((r) => r.verb),
      ['watch'],
      'one watch, started once',
    );

    await applyAll(dp, [cm('a', 'a')], opts);
    assert.deepEqual(dp.observedBy('acme/web'), [], 'its watch stops when it leaves the set');
  });

  void test('Observe of one of our own objects reads it from the cache and stops writing it', async () => {
    const dp = new FakeDataPlane('acme/dp', [CONFIGMAP]);
    const opts = options();
    await applyAll(dp, [cm('x', 'mine', { v: '1' })], opts);
    dp.requests.length = 0;
    const [entry] = await applyAll(dp, [cm('x', 'mine', { v: '2' })], {
      ...opts,
      ...withWrite('Observe'),
      memory: opts.memory,
    });
    assert.equal(entry?.action, 'observed');
    assert.deepEqual(entry?.live?.['data'], { v: '1' });
    assert.deepEqual(dp.requests, []);
  });

  void test('ignored fields are not sent, and changing the list applies again', async () => {
    const dp = new FakeDataPlane('acme/dp', [CONFIGMAP]);
    let ignoreFields = ['/data/replicas', '/metadata/annotations/x'];
    const opts = options({ policy: { object: () => ({ ignoreFields }) } });
    const obj = item('a', {
      metadata: { name: 'a', namespace: 'apps', annotations: { x: '1', y: '2' } },
      data: { replicas: '3', other: '1' },
    });
    await applyAll(dp, [obj], opts);
    const live = dp.get(CONFIGMAP, 'apps', 'a');
    assert.deepEqual(live?.['data'], { other: '1' });
    assert.deepEqual(live?.metadata.annotations, { y: '2' });
    assert.equal((await applyAll(dp, [obj], opts))[0]?.action, 'unchanged');

    ignoreFields = ['/data/replicas'];
    assert.equal((await applyAll(dp, [obj], opts))[0]?.action, 'configured');
    assert.deepEqual(dp.get(CONFIGMAP, 'apps', 'a')?.metadata.annotations, { x: '1', y: '2' });
  });

  void test('a bad ignore-fields pointer makes the object invalid without a request', async () => {
    const dp = new FakeDataPlane('acme/dp', [CONFIGMAP]);
    const [entry] = await applyAll(
      dp,
      [cm('a', 'a')],
      options({ policy: { object: () => ({ ignoreFields: ['data'] }) } }),
    );
    assert.equal(entry?.action, 'invalid');
    assert.equal(
      entry?.message,
      'resource "a": ConfigMap/apps/a: "data" is not a JSON pointer (it must start with "/")',
    );
    assert.deepEqual(dp.writes(), []);
  });
});

void describe('applyAll: drift', () => {
  const setupDrift = async () => {
    const dp = new FakeDataPlane('acme/dp', [CONFIGMAP]);
    const opts = options();
    await applyAll(dp, [cm('a', 'a', { x: '1', y: '2' })], opts);
    dp.requests.length = 0;
    return { dp, opts, items: [cm('a', 'a', { x: '1', y: '2' })] };
  };

  void test('Correct applies a drifted object again and names the fields it took back', async () => {
    const { dp, opts, items } = await setupDrift();
    dp.edit(CONFIGMAP, 'apps', 'a', 'kubectl-edit', { '/data/x': 'edited', '/data/y': undefined });
    const [entry] = await applyAll(dp, items, opts);
    assert.equal(entry?.action, 'configured');
    assert.deepEqual(entry?.drift, { fields: [{ path: '/data/x' }, { path: '/data/y' }], corrected: true });
    assert.deepEqual(dp.get(CONFIGMAP, 'apps', 'a')?.['data'], { x: '1', y: '2' });

    dp.remove(CONFIGMAP, 'apps', 'a');
    const [again] = await applyAll(dp, items, opts);
    assert.equal(again?.action, 'created');
    assert.deepEqual(again?.drift, { fields: [], deleted: true, corrected: true });
  });

  void test('a cache that has not seen our correction yet does not make us apply it again', async () => {
    const { dp, opts, items } = await setupDrift();
    dp.edit(CONFIGMAP, 'apps', 'a', 'kubectl-edit', { '/data/x': 'edited' });
    const stale = structuredClone(dp.get(CONFIGMAP, 'apps', 'a'));
    // The watch delivers the edit, and not our apply after it.
    dp.cache = () => Promise.resolve({ get: () => stale, isBehind: () => true });
    const [corrected] = await applyAll(dp, items, opts);
    assert.equal(corrected?.action, 'configured');
    const requests = dp.requests.length;

    const [entry] = await applyAll(dp, items, opts);

    assert.equal(entry?.action, 'unchanged');
    assert.deepEqual(dp.requests.slice(requests), []);
  });

  void test('the apply answer is kept only while the watch is behind it', async () => {
    const dp = new FakeDataPlane('acme/dp', [CONFIGMAP]);
    const opts = options();
    const key = recordKey(dp.key, CONFIGMAP, 'apps', 'a');
    // The fake's watch has every write at once, as when the event comes before the answer.
    await applyAll(dp, [cm('a', 'a', { x: '1' })], opts);
    assert.equal(opts.memory.get(key)?.object, undefined, 'no copy of what the cache has already');
    dp.cache = () => Promise.resolve({ get: () => undefined, isBehind: () => true });
    await applyAll(dp, [cm('a', 'a', { x: '2' })], opts);
    assert.deepEqual(
      opts.memory.get(key)?.object?.['data'],
      { x: '2' },
      'the answer, until the watch has it',
    );
  });

  void test('a changed spec is an update, not a drift correction', async () => {
    const { dp, opts } = await setupDrift();
    dp.edit(CONFIGMAP, 'apps', 'a', 'kubectl-edit', { '/data/x': 'edited' });
    const [entry] = await applyAll(dp, [cm('a', 'a', { x: '2', y: '2' })], { ...opts, drift: 'Report' });
    assert.equal(entry?.action, 'configured');
    assert.equal(entry?.drift, undefined);
  });

  void test('Report writes nothing, names the fields and their new managers, and asks only once', async () => {
    const { dp, opts, items } = await setupDrift();
    const report = { ...opts, drift: 'Report' as const };
    dp.edit(CONFIGMAP, 'apps', 'a', 'kubectl-edit', { '/data/x': 'edited' });
    dp.edit(CONFIGMAP, 'apps', 'a', 'cleaner', { '/data/y': undefined });
    const [entry] = await applyAll(dp, items, report);
    assert.equal(entry?.action, 'drifted');
    assert.deepEqual(entry?.drift, {
      fields: [{ path: '/data/x', manager: 'kubectl-edit' }, { path: '/data/y' }],
    });
    assert.deepEqual(dp.get(CONFIGMAP, 'apps', 'a')?.['data'], { x: 'edited' }, 'not corrected');
    assert.deepEqual(
      dp.requests.map((r) => r.verb),
      ['dry-run', 'read'],
      'a dry run for our field set and a read for the other managers, no write',
    );

    dp.requests.length = 0;
    assert.equal((await applyAll(dp, items, report))[0]?.action, 'drifted');
    assert.deepEqual(dp.requests, [], 'a drift that stays costs nothing');

    dp.remove(CONFIGMAP, 'apps', 'a');
    const [gone] = await applyAll(dp, items, report);
    assert.deepEqual([gone?.action, gone?.drift], ['drifted', { fields: [], deleted: true }]);
    assert.deepEqual(dp.requests, [], 'a deleted object is seen in the cache alone');

    const [fixed] = await applyAll(dp, items, opts);
    assert.deepEqual(
      [fixed?.action, fixed?.drift?.corrected],
      ['created', true],
      'Correct again corrects at once',
    );
  });
});

void describe('applyAll: dry run', () => {
  const nsTemplate = {
    namespace: (name: string) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } }),
  };

  void test('plans Create, Update with the changed fields, Unchanged and Error, and changes nothing', async () => {
    const dp = new FakeDataPlane('acme/dp', [CONFIGMAP]);
    const real = options({ policy: nsTemplate });
    await applyAll(dp, [cm('same', 'same', { a: '1' }), cm('changed', 'changed', { a: '1', b: '2' })], real);
    const before = structuredClone([dp.get(CONFIGMAP, 'apps', 'same'), dp.get(CONFIGMAP, 'apps', 'changed')]);
    dp.refuse = (o) =>
      o.metadata.name === 'bad'
        ? new KubeApiError('ConfigMap "bad" is invalid: data: Invalid value:\n"x"\u0007 too\tlong', {
            statusCode: 422,
            reason: 'Invalid',
          })
        : undefined;
    dp.requests.length = 0;
    const dry = { ...real, dryRun: true };
    const items = [
      cm('same', 'same', { a: '1' }),
      cm('changed', 'changed', { a: '9', c: '3' }),
      cm('new', 'new', { a: '1' }),
      cm('bad', 'bad'),
      cm('elsewhere', 'elsewhere', {}, 'missing-ns'),
    ];

    const entries = await applyAll(dp, items, dry);

    assert.deepEqual(
      entries.map((e) => [e.action, e.plan]),
      [
        ['planned', { action: 'Unchanged' }],
        ['planned', { action: 'Update', fields: ['/data/a', '/data/c', '/data/b'] }],
        ['planned', { action: 'Create' }],
        [
          'planned',
          { action: 'Error', message: 'ConfigMap "bad" is invalid: data: Invalid value: "x" too long' },
        ],
        [
          'planned',
          {
            action: 'Create',
            message:
              'namespace missing-ns does not exist yet: a real apply creates it first (the controller); the object can be checked by the data plane only once it exists',
          },
        ],
      ],
    );
    assert.deepEqual(dp.writes(), [], 'nothing written, no namespace created');
    assert.equal(dp.get(NAMESPACE_KIND, undefined, 'missing-ns'), undefined);
    assert.deepEqual([dp.get(CONFIGMAP, 'apps', 'same'), dp.get(CONFIGMAP, 'apps', 'changed')], before);
    assert.equal(dp.get(CONFIGMAP, 'apps', 'new'), undefined);

    dp.requests.length = 0;
    await applyAll(dp, items, dry);
    assert.deepEqual(dp.requests, [], 'an unchanged preview sends nothing');

    dp.edit(CONFIGMAP, 'apps', 'same', 'kubectl-edit', { '/data/a': 'edited' });
    const [again] = await applyAll(dp, items.slice(0, 1), dry);
    assert.deepEqual(
      again?.plan,
      { action: 'Update', fields: ['/data/a'] },
      'a changed live object is previewed again',
    );

    dp.refuse = () => undefined;
    const applied = await applyAll(dp, items.slice(1, 3), real);
    assert.deepEqual(
      applied.map((e) => e.action),
      ['configured', 'created'],
      'without dry run, it applies for real',
    );
  });

  void test('a guard refusal is an Error plan, remembered: no read on every preview', async () => {
    const dp = new FakeDataPlane('acme/dp', [CONFIGMAP]);
    dp.put(CONFIGMAP, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'theirs', namespace: 'apps' },
    });
    const dry = options({ dryRun: true, policy: { guard: (_i, e) => (e.foreign ? 'not ours' : undefined) } });
    const [entry] = await applyAll(dp, [cm('x', 'theirs')], dry);
    assert.deepEqual(entry?.plan, { action: 'Error', message: 'not ours' });
    dp.requests.length = 0;
    await applyAll(dp, [cm('x', 'theirs')], dry);
    assert.deepEqual(dp.requests, []);
  });
});
