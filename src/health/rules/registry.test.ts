import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../api/object.ts';
import type { HealthRule } from '../../api/v1alpha1/schema.ts';
import { assessHealth } from '../index.ts';
import { HealthRuleRegistry, parseTarget } from './registry.ts';
import { RuleReasons } from './result.ts';
import { RuleSandbox } from './sandbox.ts';

const sandbox = new RuleSandbox({ lua: { timeoutMs: 50, memoryBytes: 8 * 1024 * 1024 }, watchdogMs: 1000 });
after(() => sandbox.close());

let uid = 0;
const rule = (name: string, spec: HealthRule['spec'], generation = 1): HealthRule => ({
  apiVersion: 'openchoreo.dev/v1alpha1',
  kind: 'HealthRule',
  metadata: { name, uid: `rule-${name}`, generation },
  spec,
});
const widget = (apiVersion: string, status: Record<string, unknown>, rv = '1'): KubeObject => ({
  apiVersion,
  kind: 'Widget',
  metadata: { name: `w${++uid}`, namespace: 'app', uid: `u${uid}`, resourceVersion: rv },
  status,
});

test('parseTarget: group/version, a group for every version, a bare version for the core group', () => {
  assert.deepEqual(parseTarget('example.com/v1', 'Widget'), {
    group: 'example.com',
    version: 'v1',
    kind: 'Widget',
  });
  assert.deepEqual(parseTarget('example.com', 'Widget'), { group: 'example.com', kind: 'Widget' });
  assert.deepEqual(parseTarget('v1', 'Service'), { group: '', version: 'v1', kind: 'Service' });
  assert.deepEqual(parseTarget('apps', 'Deployment'), { group: 'apps', kind: 'Deployment' });
});

test('registry: operator rules win over the built-in rules; a versioned rule over an unversioned one; the first by name among equals', async () => {
  const registry = new HealthRuleRegistry(sandbox);
  assert.equal(
    (
      await registry.upsert(
        rule('any', {
          apiVersion: 'example.com',
          kind: 'Widget',
          cel: { current: 'status.?ok.orValue(false)' },
        }),
      )
    ).ready,
    true,
  );
  assert.equal(
    (
      await registry.upsert(
        rule('b-v2', {
          apiVersion: 'example.com/v2',
          kind: 'Widget',
          lua: 'return {status = "Degraded", message = "b"}',
        }),
      )
    ).ready,
    true,
  );
  const superseded = await registry.upsert(
    rule('c-v2', { apiVersion: 'example.com/v2', kind: 'Widget', cel: { current: 'true' } }),
  );
  assert.equal(superseded.reason, 'Superseded');
  assert.match(superseded.message, /HealthRule b-v2 has the same target/);

  const v1 = widget('example.com/v1', { ok: true });
  const v2 = widget('example.com/v2', { ok: true });
  const other = widget('other.com/v1', {
    conditions: [{ type: 'Ready', status: 'False', reason: 'Broken', message: 'm' }],
  });
  const rules = await registry.prepare([v1, v2, other, undefined]);
  assert.equal(assessHealth(v1, new Date(), rules).reason, RuleReasons.current);
  assert.deepEqual(assessHealth(v2, new Date(), rules), {
    status: 'Degraded',
    reason: 'LuaDegraded',
    message: 'b',
  });
  // Not covered: the generic rule, as before.
  assert.equal(assessHealth(other, new Date(), rules).status, assessHealth(other).status);

  await registry.remove('b-v2');
  assert.equal(registry.stateOf('c-v2')?.ready, true, 'the next by name takes over');
  const after = await registry.prepare([v2]);
  assert.equal(assessHealth(v2, new Date(), after).reason, RuleReasons.current);
});

test('registry: a broken rule is reported and leaves its kind on the built-in rule', async () => {
  const registry = new HealthRuleRegistry(sandbox);
  const state = await registry.upsert(
    rule('broken', { apiVersion: 'example.com/v1', kind: 'Widget', cel: { current: 'status.ready ==' } }),
  );
  assert.equal(state.ready, false);
  assert.equal(state.reason, 'InvalidCEL');
  assert.match(
    state.message,
    /^spec\.cel\.current: .*Releases keep the built-in or generic rule for example\.com\/v1 Widget/,
  );
  const lua = await registry.upsert(
    rule('broken-lua', { apiVersion: 'example.com/v1', kind: 'Widget', lua: 'if then' }),
  );
  assert.equal(lua.reason, 'InvalidLua');
  const w = widget('example.com/v1', {});
  const rules = await registry.prepare([w]);
  assert.equal(rules(w), undefined);
});

test('registry: results are cached by object resourceVersion and rule generation', async () => {
  const registry = new HealthRuleRegistry(sandbox);
  await registry.upsert(
    rule('count', {
      apiVersion: 'example.com/v1',
      kind: 'Widget',
      cel: { current: 'status.n > 1', message: '"n=" + string(status.n)' },
    }),
  );
  const w = widget('example.com/v1', { n: 2 }, '7');
  assert.equal((await registry.prepare([w]))(w)?.message, 'n=2');
  // Same uid and resourceVersion: the cached result, even if the copy differs (it cannot, on a real server).
  const same = { ...w, status: { n: 0 } } as KubeObject;
  assert.equal((await registry.prepare([same]))(same)?.message, 'n=2');
  // A new generation of the rule evaluates again.
  await registry.upsert(
    rule(
      'count',
      {
        apiVersion: 'example.com/v1',
        kind: 'Widget',
        cel: { current: 'status.n > 1', message: '"now " + string(status.n)' },
      },
      2,
    ),
  );
  assert.equal((await registry.prepare([same]))(same)?.message, 'now 0');
});

test('sandbox: a rule that blocks the worker (a backtracking regular expression) is stopped, and the worker is replaced with every rule', async () => {
  const registry = new HealthRuleRegistry(sandbox);
  await registry.upsert(
    rule('redos', {
      apiVersion: 'example.com/v1',
      kind: 'Gadget',
      cel: { current: 'status.name.matches("^(a+)+$")' },
    }),
  );
  await registry.upsert(
    rule('fine', {
      apiVersion: 'example.com/v1',
      kind: 'Widget',
      lua: 'return {status = "Healthy", message = "fine"}',
    }),
  );
  const restarts = sandbox.restarts;
  const slow = { ...widget('example.com/v1', { name: `${'a'.repeat(40)}!` }), kind: 'Gadget' } as KubeObject;
  const stopped = (await registry.prepare([slow]))(slow);
  assert.equal(stopped?.status, 'Unknown');
  assert.equal(stopped?.reason, RuleReasons.limitExceeded);
  assert.match(stopped?.message ?? '', /did not answer within \d+ ms and was restarted/);
  assert.equal(sandbox.restarts, restarts + 1);
  const w = widget('example.com/v1', {});
  assert.equal((await registry.prepare([w]))(w)?.message, 'fine', 'the replacement worker has the rules');
});
