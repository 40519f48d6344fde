/**
 * Cost per health evaluation of each engine on a realistic object (a cert-manager Certificate of
 * about 2 KiB with managedFields stripped, as the controller holds it): the built-in/generic rule,
 * a CEL rule and an Argo CD-style Lua rule, each in process, and through the worker sandbox the
 * controller uses (one request per reconcile, 1 and 20 objects), and a cached lookup.
 *
 *   npm run bench -- --health-rules
 */
import { performance } from 'node:perf_hooks';
import type { KubeObject } from '../src/api/object.ts';
import type { HealthRule } from '../src/api/v1alpha1/schema.ts';
import { assessHealth } from '../src/health/index.ts';
import { compileCel, evaluateCel } from '../src/health/rules/cel.ts';
import { LuaRuleEngine } from '../src/health/rules/lua.ts';
import { HealthRuleRegistry } from '../src/health/rules/registry.ts';
import { RuleSandbox } from '../src/health/rules/sandbox.ts';

const CEL = {
  inProgress: 'status.?conditions.orValue([]).exists(c, c.type == "Issuing" && c.status == "True")',
  failed:
    'status.?conditions.orValue([]).exists(c, c.type == "Ready" && c.status == "False" && c.reason != "DoesNotExist")',
  current: 'status.?conditions.orValue([]).exists(c, c.type == "Ready" && c.status == "True")',
  message: 'status.?conditions.orValue([]).filter(c, c.type == "Ready").map(c, c.message).join(", ")',
};

const LUA = `local hs = {}
if obj.status ~= nil then
  if obj.status.conditions ~= nil then
    for i, condition in ipairs(obj.status.conditions) do
      if condition.type == "Issuing" and condition.status == "True" then
        hs.status = "Progressing"
        hs.message = condition.message
        return hs
      end
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
hs.message = "Waiting for certificate"
return hs
`;

function certificate(i: number): KubeObject {
  return {
    apiVersion: 'cert-manager.io/v1',
    kind: 'Certificate',
    metadata: {
      name: `web-${i}`,
      namespace: 'shop',
      uid: `0b8f3c1e-0000-4000-8000-${String(i).padStart(12, '0')}`,
      resourceVersion: String(1000 + i),
      generation: 3,
      creationTimestamp: '2026-11-02T10:00:00Z',
      labels: {
        'openchoreo.dev/managed-by': 'release-controller',
        'openchoreo.dev/release-resource-id': 'tls',
        'openchoreo.dev/release-name': 'shop-prod',
        'openchoreo.dev/release-namespace': 'acme',
        'openchoreo.dev/release-uid': '5d5b4f2a-1111-4000-8000-000000000001',
      },
      annotations: { 'cert-manager.io/issue-temporary-certificate': 'true' },
    },
    spec: {
      secretName: `web-${i}-tls`,
      dnsNames: ['shop.example.com', 'www.shop.example.com'],
      issuerRef: { name: 'letsencrypt', kind: 'ClusterIssuer', group: 'cert-manager.io' },
      privateKey: { algorithm: 'ECDSA', size: 256, rotationPolicy: 'Always' },
      duration: '2160h0m0s',
      renewBefore: '360h0m0s',
      usages: ['digital signature', 'key encipherment'],
    },
    status: {
      conditions: [
        {
          type: 'Issuing',
          status: 'False',
          reason: 'Issued',
          message: 'Issued',
          observedGeneration: 3,
          lastTransitionTime: '2026-11-02T10:01:00Z',
        },
        {
          type: 'Ready',
          status: 'True',
          reason: 'Ready',
          message: 'Certificate is up to date and has not expired',
          observedGeneration: 3,
          lastTransitionTime: '2026-11-02T10:01:00Z',
        },
      ],
      notAfter: '2027-01-31T10:01:00Z',
      notBefore: '2026-11-02T10:01:00Z',
      renewalTime: '2027-01-16T10:01:00Z',
      revision: 4,
    },
  };
}

// Median of rounds of `n` calls each, in microseconds per call.
async function measure(n: number, fn: () => unknown): Promise<number> {
  for (let i = 0; i < Math.min(n, 200); i++) await fn();
  const rounds: number[] = [];
  for (let r = 0; r < 7; r++) {
    const start = performance.now();
    for (let i = 0; i < n; i++) await fn();
    rounds.push(((performance.now() - start) * 1000) / n);
  }
  rounds.sort((a, b) => a - b);
  return rounds[3] ?? 0;
}

/** runHealthRulesBench measures each engine and returns a Markdown table. */
export async function runHealthRulesBench(): Promise<string> {
  const obj = certificate(0);
  const raw = obj as unknown as Record<string, unknown>;
  const now = new Date();
  const cel = compileCel(CEL);
  const lua = await LuaRuleEngine.create();
  lua.compile('cert', LUA);
  const sandbox = new RuleSandbox();
  const registry = new HealthRuleRegistry(sandbox);
  const rule = (name: string, spec: HealthRule['spec']): HealthRule => ({
    apiVersion: 'openchoreo.dev/v1alpha1',
    kind: 'HealthRule',
    metadata: { name, uid: name, generation: 1 },
    spec,
  });
  await registry.upsert(rule('cel', { apiVersion: 'cert-manager.io', kind: 'Certificate', cel: CEL }));
  await registry.upsert(rule('lua', { apiVersion: 'cert-manager.io', kind: 'Issuer', lua: LUA }));
  let rv = 10_000;
  // A new resourceVersion each call: nothing cached, the worker evaluates.
  const fresh = (kind: string, n: number) =>
    Array.from({ length: n }, (_, i) => {
      const o = certificate(i) as KubeObject & { metadata: { resourceVersion?: string } };
      o.kind = kind;
      o.metadata.resourceVersion = String(++rv);
      return o;
    });
  const rows: Array<[string, number]> = [
    [
      'built-in (generic rule: Ready condition), in process',
      await measure(20_000, () => assessHealth(obj, now)),
    ],
    ['CEL, in process', await measure(20_000, () => evaluateCel(cel, raw, 'cel'))],
    ['Lua, in process', await measure(2_000, () => lua.evaluate('cert', raw))],
    [
      'CEL through the worker, 1 object per request',
      await measure(500, () => registry.prepare(fresh('Certificate', 1))),
    ],
    [
      'Lua through the worker, 1 object per request',
      await measure(500, () => registry.prepare(fresh('Issuer', 1))),
    ],
    [
      'CEL through the worker, 20 objects per request (per object)',
      (await measure(50, () => registry.prepare(fresh('Certificate', 20)))) / 20,
    ],
    [
      'Lua through the worker, 20 objects per request (per object)',
      (await measure(50, () => registry.prepare(fresh('Issuer', 20)))) / 20,
    ],
  ];
  const cached = fresh('Certificate', 1);
  await registry.prepare(cached);
  rows.push([
    'cached result (object unchanged), per object',
    await measure(20_000, () => registry.prepare(cached)),
  ]);
  await sandbox.close();
  const size = JSON.stringify(obj).length;
  return [
    `## Health evaluation cost (object: a Certificate of ${size} bytes of JSON; median of 7 rounds)`,
    '',
    '| engine | µs per evaluation |',
    '|---|---:|',
    ...rows.map(([name, us]) => `| ${name} | ${us.toFixed(us < 10 ? 2 : 1)} |`),
  ].join('\n');
}
