/**
 * HealthRules on the test bed: a CRD served on the data plane, a HealthRule in CEL and one in Lua,
 * a Release of custom resources whose status is written through the status subresource; health
 * and Ready follow each change by watch; a rule changed while a Release uses it re-assesses it;
 * a broken rule is reported on the HealthRule and leaves the kind on the generic rule.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { KubeObject } from '../../src/api/object.ts';
import { API_VERSION } from '../../src/api/v1alpha1/constants.ts';
import type { HealthRule, Release, ResourceStatus } from '../../src/api/v1alpha1/schema.ts';
import { eventually } from '../support/eventually.ts';
import { condition, createOrg, getRelease, releaseObject, uniqueName } from '../support/fixtures.ts';
import type { TestKube } from '../support/kube.ts';
import { integrationSuite } from '../support/suite.ts';

const TIMEOUT_MS = 60_000;

function crd(group: string, kind: string, plural: string): KubeObject {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.${group}` },
    spec: {
      group,
      scope: 'Namespaced',
      names: { plural, singular: kind.toLowerCase(), kind, listKind: `${kind}List` },
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          subresources: { status: {} },
          schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
        },
      ],
    },
  };
}

// Argo CD style, as pasted from a resource_customizations/<group>/<kind>/health.lua.
const WIDGET_LUA = `hs = {}
if obj.status ~= nil then
  if obj.status.conditions ~= nil then
    for i, condition in ipairs(obj.status.conditions) do
      if condition.type == "Ready" and condition.status == "False" then
        hs.status = "Degraded"
        hs.message = condition.message
        return hs
      end
      if condition.type == "Ready" and condition.status == "True" then
        hs.status = "Healthy"
        hs.message = condition.message
        return hs
      end
    end
  end
end
hs.status = "Progressing"
hs.message = "Waiting for the widget"
return hs
`;

const GADGET_CEL = {
  inProgress: 'status.?observedGeneration.orValue(0) != metadata.generation',
  failed: 'status.?phase.orValue("") == "Failed"',
  current: 'status.?phase.orValue("") == "Running"',
  message: '"phase " + status.?phase.orValue("none")',
};

function healthRule(name: string, spec: HealthRule['spec']): KubeObject {
  return { apiVersion: API_VERSION, kind: 'HealthRule', metadata: { name }, spec };
}

describe('HealthRules', () => {
  const suite = integrationSuite({ org: false });

  async function established(dp: TestKube, name: string): Promise<void> {
    await eventually(
      async () => {
        const live = await dp.get('apiextensions.k8s.io/v1', 'CustomResourceDefinition', undefined, name);
        return JSON.stringify(live?.['status']).includes('"type":"Established","status":"True"');
      },
      { timeoutMs: TIMEOUT_MS, description: `CRD ${name} to be Established` },
    );
  }

  async function ruleReady(cp: TestKube, name: string, status: string, reason: RegExp): Promise<HealthRule> {
    return eventually(
      async () => {
        const rule = await cp.get<HealthRule>(API_VERSION, 'HealthRule', undefined, name);
        const ready = rule?.status?.conditions?.find((c) => c.type === 'Ready');
        assert.equal(ready?.status, status, `HealthRule ${name}: ${JSON.stringify(rule?.status)}`);
        assert.match(ready?.reason ?? '', reason);
        assert.equal(ready?.observedGeneration, rule?.metadata.generation);
        return rule as HealthRule;
      },
      { timeoutMs: TIMEOUT_MS, description: `HealthRule ${name} Ready=${status}` },
    );
  }

  test('CEL and Lua rules decide the health of custom resources, follow status changes, reload, and a broken rule falls back', async (t) => {
    const { cp, dp } = suite;
    const org = await createOrg(cp, suite.clusters.dp);
    const group = `g${randomBytes(3).toString('hex')}.rules.test`;
    const apiVersion = `${group}/v1`;
    const target = uniqueName('hr');
    const name = uniqueName('rel');
    const gadgetRule = `gadgets-${group}`;
    const widgetRule = `widgets-${group}`;
    for (const [kind, plural] of [
      ['Gadget', 'gadgets'],
      ['Widget', 'widgets'],
    ] as const) {
      await dp.apply(crd(group, kind, plural));
      t.after(() =>
        dp.delete('apiextensions.k8s.io/v1', 'CustomResourceDefinition', undefined, `${plural}.${group}`),
      );
      await established(dp, `${plural}.${group}`);
    }
    await cp.create(healthRule(gadgetRule, { apiVersion, kind: 'Gadget', cel: GADGET_CEL }));
    t.after(() => cp.delete(API_VERSION, 'HealthRule', undefined, gadgetRule));
    // The group alone: every version of Widget.
    await cp.create(healthRule(widgetRule, { apiVersion: group, kind: 'Widget', lua: WIDGET_LUA }));
    t.after(() => cp.delete(API_VERSION, 'HealthRule', undefined, widgetRule));
    await ruleReady(cp, gadgetRule, 'True', /^Compiled$/);
    await ruleReady(cp, widgetRule, 'True', /^Compiled$/);

    await cp.create(
      releaseObject(org, name, [
        {
          id: 'gadget',
          object: {
            apiVersion,
            kind: 'Gadget',
            metadata: { name: 'g', namespace: target },
            spec: { size: 1 },
          },
        },
        {
          id: 'widget',
          object: {
            apiVersion,
            kind: 'Widget',
            metadata: { name: 'w', namespace: target },
            spec: { size: 1 },
          },
        },
      ]),
    );
    const entries = (r: Release) =>
      new Map((r.status?.resources ?? []).map((e) => [e.id, e] as [string, ResourceStatus]));
    const observe = (
      description: string,
      check: (gadget: ResourceStatus | undefined, widget: ResourceStatus | undefined, r: Release) => void,
    ) =>
      eventually(
        async () => {
          const r = await getRelease(cp, org.namespace, name);
          assert.ok(r, 'the Release exists');
          const e = entries(r);
          try {
            check(e.get('gadget'), e.get('widget'), r);
          } catch (err) {
            throw new Error(
              `${(err as Error).message}\nstatus: ${JSON.stringify(r.status?.resources?.map(({ status: _s, ...rest }) => rest))}`,
              { cause: err },
            );
          }
          return r;
        },
        { timeoutMs: TIMEOUT_MS, description },
      );
    const writeStatus = (kind: string, objName: string, status: Record<string, unknown>) =>
      dp.patch(apiVersion, kind, target, objName, { status }, { subresource: 'status' });

    await observe('no status yet: both Progressing by their rules', (g, w, r) => {
      assert.deepEqual(
        [g?.healthStatus, g?.healthReason, g?.message],
        ['Progressing', 'RuleInProgress', 'phase none'],
      );
      assert.deepEqual(
        [w?.healthStatus, w?.healthReason, w?.message],
        ['Progressing', 'LuaProgressing', 'Waiting for the widget'],
      );
      assert.equal(condition(r, 'Ready')?.status, 'False');
    });

    await writeStatus('Gadget', 'g', { observedGeneration: 1, phase: 'Running' });
    await writeStatus('Widget', 'w', {
      conditions: [{ type: 'Ready', status: 'True', message: 'widget serving' }],
    });
    await observe('both Healthy by their rules, and the Release Ready', (g, w, r) => {
      assert.deepEqual(
        [g?.healthStatus, g?.healthReason, g?.message],
        ['Healthy', 'RuleCurrent', 'phase Running'],
      );
      assert.deepEqual(
        [w?.healthStatus, w?.healthReason, w?.message],
        ['Healthy', 'LuaHealthy', 'widget serving'],
      );
      assert.equal(condition(r, 'Ready')?.status, 'True');
    });

    await writeStatus('Gadget', 'g', { observedGeneration: 1, phase: 'Failed' });
    await observe('the Gadget Degraded by spec.cel.failed, and Ready False', (g, _w, r) => {
      assert.deepEqual(
        [g?.healthStatus, g?.healthReason, g?.message],
        ['Degraded', 'RuleFailed', 'phase Failed'],
      );
      assert.equal(condition(r, 'Ready')?.reason, 'Degraded');
    });

    // Hot reload: the object does not change, the rule does.
    await cp.patch(API_VERSION, 'HealthRule', undefined, gadgetRule, {
      spec: {
        cel: { ...GADGET_CEL, failed: 'false', message: '"reloaded " + status.?phase.orValue("none")' },
      },
    });
    await observe('the changed rule re-assesses the Release without any object change', (g) => {
      assert.deepEqual(
        [g?.healthStatus, g?.healthReason, g?.message],
        ['Progressing', 'RuleNoneTrue', 'reloaded Failed'],
      );
    });

    // A broken rule: reported on the HealthRule; the Gadget goes back to the generic rule.
    await cp.patch(API_VERSION, 'HealthRule', undefined, gadgetRule, {
      spec: { cel: { current: 'status.phase ==' } },
    });
    const broken = await ruleReady(cp, gadgetRule, 'False', /^InvalidCEL$/);
    assert.match(
      broken.status?.conditions?.[0]?.message ?? '',
      /^spec\.cel\.current: .*built-in or generic rule/,
    );
    await observe('the Gadget on the generic rule, the Widget still on its Lua rule', (g, w) => {
      assert.ok(g && !g.healthReason?.startsWith('Rule'), `generic reason, got ${g?.healthReason}`);
      assert.equal(w?.healthReason, 'LuaHealthy');
    });
  });
});
