import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { TenancyKeys } from '../../api/v1alpha1/constants.ts';
import type { DataPlane } from '../../api/v1alpha1/schema.ts';
import type { TenantPolicySpec } from '../../api/v1alpha1/tenancy.ts';
import { OPEN_GRANT } from '../../dataplane/access.ts';
import type { SecretLike } from '../../dataplane/credentials.ts';
import {
  accessGrant,
  credentialsRefusal,
  dataPlaneAccess,
  dataPlaneLimitRefusal,
  tunnelRefusal,
} from './access.ts';
import { SINGLE_TENANT, type Tenancy } from './tenancy.ts';

const DEFAULT: Tenancy = { mode: 'default', organization: 'acme' };
const policy = (spec: Omit<TenantPolicySpec, 'organizations'>): Tenancy => ({
  mode: 'policy',
  organization: 'acme',
  policy: 'teams',
  spec: { organizations: { names: ['acme'] }, ...spec },
});

const dataPlane = (
  name: string,
  options: { secret?: string; tunnel?: string; created?: string } = { secret: 'creds' },
): DataPlane => ({
  apiVersion: 'openchoreo.dev/v1alpha1',
  kind: 'DataPlane',
  metadata: {
    name,
    namespace: 'acme',
    ...(options.created ? { creationTimestamp: options.created } : {}),
  },
  spec: {
    kubernetesCluster: {
      name: 'east',
      ...(options.secret
        ? { secretRef: { name: options.secret } }
        : {
            credentials: {
              apiServerURL: 'https://tenant.example:6443',
              caCert: 'a',
              clientCert: 'b',
              clientKey: 'c',
            },
          }),
      ...(options.tunnel ? { tunnel: { host: options.tunnel } } : {}),
    },
  },
});

const secret = (cluster?: string): SecretLike => ({
  metadata: {
    name: 'creds',
    namespace: 'acme',
    ...(cluster === undefined ? {} : { labels: { [TenancyKeys.dataPlaneCredentials]: cluster } }),
  },
  // A server in the data: no refusal may quote it.
  data: { kubeconfig: Buffer.from('server: https://secret-server.internal:6443').toString('base64') },
});

void describe('credentialsRefusal', () => {
  const cases: Array<{
    name: string;
    tenancy: Tenancy;
    dp: DataPlane;
    secret?: SecretLike;
    refused?: RegExp;
  }> = [
    { name: 'single-tenant uses any Secret', tenancy: SINGLE_TENANT, dp: dataPlane('dp'), secret: secret() },
    {
      name: 'default: an unmarked Secret is refused, saying how to mark it',
      tenancy: DEFAULT,
      dp: dataPlane('dp'),
      secret: secret(),
      refused:
        /^Secret acme\/creds \(spec\.kubernetesCluster\.secretRef\) is not marked as data-plane credentials, so the controller neither uses nor protects it \(no TenantPolicy selects organization acme, so the safe default applies\)\. If the platform operator made it for this organization, the operator marks it with the cluster's name: kubectl label secret -n acme creds openchoreo\.dev\/data-plane-credentials=<cluster>$/,
    },
    {
      name: 'default: a marked Secret of any cluster',
      tenancy: DEFAULT,
      dp: dataPlane('dp'),
      secret: secret('east'),
    },
    {
      name: 'a mark without a cluster name is refused',
      tenancy: DEFAULT,
      dp: dataPlane('dp'),
      secret: secret(''),
      refused: /carries the label openchoreo\.dev\/data-plane-credentials without a cluster name/,
    },
    {
      name: 'policy: a marked Secret of an allowed cluster (placeholder expanded)',
      tenancy: policy({ clusters: ['{organization}-*', 'shared'] }),
      dp: dataPlane('dp'),
      secret: secret('acme-east'),
    },
    {
      name: 'policy: a marked Secret of another cluster is refused, naming the rule',
      tenancy: policy({ clusters: ['{organization}-*'] }),
      dp: dataPlane('dp'),
      secret: secret('globex-east'),
      refused:
        /holds credentials of cluster globex-east, which TenantPolicy teams \(spec\.clusters\) does not let organization acme use/,
    },
    {
      name: 'a missing Secret is left to the connection (which says it does not exist)',
      tenancy: DEFAULT,
      dp: dataPlane('dp'),
    },
    {
      name: 'default: inline credentials are refused',
      tenancy: DEFAULT,
      dp: dataPlane('dp', {}),
      refused:
        /^spec\.kubernetesCluster\.credentials \(inline credentials\) are refused by the safe default: .*TenantPolicy spec\.inlineCredentials: Allowed\)$/,
    },
    {
      name: 'policy without inlineCredentials: refused, naming the field',
      tenancy: policy({}),
      dp: dataPlane('dp', {}),
      refused: /are refused by TenantPolicy teams \(spec\.inlineCredentials\)/,
    },
    {
      name: 'policy with inlineCredentials: Allowed',
      tenancy: policy({ inlineCredentials: 'Allowed' }),
      dp: dataPlane('dp', {}),
    },
    { name: 'single-tenant: inline credentials as before', tenancy: SINGLE_TENANT, dp: dataPlane('dp', {}) },
  ];
  for (const c of cases) {
    void test(c.name, () => {
      const refused = credentialsRefusal(c.tenancy, c.dp, c.secret);
      if (!c.refused) assert.equal(refused, undefined);
      else {
        assert.match(refused ?? '', c.refused);
        assert.doesNotMatch(refused ?? '', /secret-server|tenant\.example/, 'no server is quoted');
      }
    });
  }
});

void describe('tunnelRefusal', () => {
  const cases: Array<{ name: string; tenancy: Tenancy; host: string; refused?: RegExp }> = [
    { name: 'default: the agent named after the organization', tenancy: DEFAULT, host: 'acme' },
    { name: 'default: a sub-name of the organization', tenancy: DEFAULT, host: 'acme.eu-west' },
    {
      name: "default: another organization's agent is refused",
      tenancy: DEFAULT,
      host: 'globex',
      refused:
        /^spec\.kubernetesCluster\.tunnel\.host globex is not an agent of organization acme by the safe default \(acme or acme\.\*\), so it is not used/,
    },
    {
      name: 'default: a prefix is not a sub-name',
      tenancy: DEFAULT,
      host: 'acme-evil',
      refused: /is not an agent of organization acme/,
    },
    { name: 'single-tenant: any host', tenancy: SINGLE_TENANT, host: 'globex' },
    {
      name: "policy's own patterns replace the default",
      tenancy: policy({ tunnelHosts: ['agent-{organization}.dp'] }),
      host: 'agent-acme.dp',
    },
    {
      name: "policy's patterns: the default ones no longer apply",
      tenancy: policy({ tunnelHosts: ['agent-{organization}.dp'] }),
      host: 'acme',
      refused: /by TenantPolicy teams \(spec\.tunnelHosts\), so it is not used/,
    },
  ];
  for (const c of cases) {
    void test(c.name, () => {
      const refused = tunnelRefusal(c.tenancy, dataPlane('dp', { secret: 'creds', tunnel: c.host }));
      if (!c.refused) assert.equal(refused, undefined);
      else assert.match(refused ?? '', c.refused);
    });
  }
  void test('no tunnel: nothing to check', () => {
    assert.equal(tunnelRefusal(DEFAULT, dataPlane('dp')), undefined);
  });
});

void describe('dataPlaneLimitRefusal', () => {
  const limited = policy({ limits: { dataPlanesPerOrganization: 2 } });
  const all = [
    dataPlane('c', { secret: 'creds', created: '2026-01-01T00:00:00Z' }),
    dataPlane('b', { secret: 'creds', created: '2026-01-02T00:00:00Z' }),
    dataPlane('a', { secret: 'creds', created: '2026-01-02T00:00:00Z' }),
  ];
  const cases: Array<{ name: string; tenancy: Tenancy; dp: string; refused?: RegExp }> = [
    { name: 'the oldest is within the limit', tenancy: limited, dp: 'c' },
    { name: 'same age: by name, a before b', tenancy: limited, dp: 'a' },
    {
      name: 'the newest beyond the limit is refused, naming the limit',
      tenancy: limited,
      dp: 'b',
      refused:
        /^the organization has 3 DataPlanes and TenantPolicy teams \(spec\.limits\.dataPlanesPerOrganization\) allows 2; this one is beyond the limit/,
    },
    { name: 'no limit in the policy', tenancy: policy({}), dp: 'b' },
    { name: 'the default has no limit', tenancy: DEFAULT, dp: 'b' },
    {
      name: 'a limit of 0 refuses every DataPlane',
      tenancy: policy({ limits: { dataPlanesPerOrganization: 0 } }),
      dp: 'c',
      refused: /allows 0/,
    },
  ];
  for (const c of cases) {
    void test(c.name, () => {
      const dp = all.find((d) => d.metadata.name === c.dp) ?? assert.fail(c.dp);
      const refused = dataPlaneLimitRefusal(c.tenancy, dp, all);
      if (!c.refused) assert.equal(refused, undefined);
      else assert.match(refused ?? '', c.refused);
    });
  }
  void test('a DataPlane missing from the list (not cached yet) is counted once', () => {
    const fresh = dataPlane('d', { secret: 'creds', created: '2026-01-03T00:00:00Z' });
    assert.match(dataPlaneLimitRefusal(limited, fresh, all) ?? '', /has 4 DataPlanes/);
  });
});

void describe('accessGrant', () => {
  void test('single-tenant: the credentials as they are', () => {
    assert.deepEqual(accessGrant(SINGLE_TENANT), OPEN_GRANT);
  });
  void test('default: no impersonation, insecure TLS refused by the safe default', () => {
    assert.deepEqual(accessGrant(DEFAULT), { insecureSkipTLSVerify: { refusedBy: 'the safe default' } });
  });
  void test('policy: impersonation with the organization expanded in user and groups', () => {
    const grant = accessGrant(
      policy({
        impersonation: {
          user: 'openchoreo:org:{organization}',
          groups: ['openchoreo:orgs', 'team-{organization}'],
        },
        insecureSkipTLSVerify: 'Allowed',
      }),
    );
    assert.deepEqual(grant, {
      insecureSkipTLSVerify: true,
      impersonate: { user: 'openchoreo:org:acme', groups: ['openchoreo:orgs', 'team-acme'] },
    });
  });
  void test('policy: insecure TLS refused by its field when not Allowed', () => {
    assert.deepEqual(accessGrant(policy({ insecureSkipTLSVerify: 'Forbidden' })), {
      insecureSkipTLSVerify: { refusedBy: 'TenantPolicy teams (spec.insecureSkipTLSVerify)' },
    });
  });
  void test('an identity that cannot be a header is refused, naming the policy', () => {
    const grant = accessGrant(policy({ impersonation: { user: 'org:{organization}\r\nX-Evil: 1' } }));
    assert.ok('refused' in grant, 'refused');
    assert.match(
      grant.refused,
      /^TenantPolicy teams \(spec\.impersonation\) names a user or group with control characters/,
    );
  });
});

void describe('dataPlaneAccess', () => {
  void test('names the DataPlane in a refusal, and returns the grant otherwise', () => {
    assert.deepEqual(dataPlaneAccess(DEFAULT, dataPlane('dp'), secret('east'), [dataPlane('dp')]), {
      grant: { insecureSkipTLSVerify: { refusedBy: 'the safe default' } },
    });
    const refused = dataPlaneAccess(DEFAULT, dataPlane('dp'), secret(), []);
    assert.ok('refused' in refused, 'refused');
    assert.match(refused.refused, /^DataPlane acme\/dp: Secret acme\/creds/);
  });
  void test('the limit is checked first, then credentials, then the tunnel', () => {
    const tenancy = policy({ limits: { dataPlanesPerOrganization: 0 } });
    const refused = dataPlaneAccess(tenancy, dataPlane('dp', { tunnel: 'globex' }), secret(), []);
    assert.ok('refused' in refused, 'refused');
    assert.match(refused.refused, /allows 0/);
    const tunnel = dataPlaneAccess(
      DEFAULT,
      dataPlane('dp', { secret: 'creds', tunnel: 'globex' }),
      secret('east'),
      [],
    );
    assert.ok('refused' in tunnel, 'refused');
    assert.match(tunnel.refused, /tunnel\.host globex/);
  });
  void test('conflicting policies: the DataPlane is not used', () => {
    const refused = dataPlaneAccess(
      { mode: 'conflict', organization: 'acme', policies: ['a', 'b'] },
      dataPlane('dp'),
      secret('east'),
      [],
    );
    assert.ok('refused' in refused, 'refused');
    assert.match(
      refused.refused,
      /^DataPlane acme\/dp is not used: TenantPolicies a, b all select organization acme; the platform operator must make only one of them select it/,
    );
  });
  void test('single-tenant: everything as before', () => {
    assert.deepEqual(dataPlaneAccess(SINGLE_TENANT, dataPlane('dp', {}), undefined, []), {
      grant: OPEN_GRANT,
    });
  });
});
