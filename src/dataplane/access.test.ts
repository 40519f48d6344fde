import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ClusterAccess } from '../kube/kubeconfig.ts';
import { grantedAccess, grantFingerprint, OPEN_GRANT, type AccessGrant } from './access.ts';
import { CredentialsError } from './credentials.ts';

const WHERE = 'DataPlane acme/dp: kubeconfig in Secret creds';
const access = (extra: Partial<ClusterAccess> = {}): ClusterAccess => ({
  server: 'https://secret-server.internal:6443',
  token: 't',
  ...extra,
});
const FORBIDDEN: AccessGrant = { insecureSkipTLSVerify: { refusedBy: 'the safe default' } };

void describe('grantedAccess', () => {
  void test('the open grant changes nothing', () => {
    const a = access({ insecureSkipTLSVerify: true, impersonate: { user: 'kube-as' } });
    assert.deepEqual(grantedAccess(a, OPEN_GRANT, WHERE), a);
  });
  void test('insecure-skip-tls-verify is refused by the rule, without quoting the server', () => {
    assert.throws(
      () => grantedAccess(access({ insecureSkipTLSVerify: true }), FORBIDDEN, WHERE),
      (err: unknown) =>
        err instanceof CredentialsError &&
        err.message.startsWith(
          'DataPlane acme/dp: kubeconfig in Secret creds sets clusters[].cluster.insecure-skip-tls-verify, which the safe default refuses',
        ) &&
        err.message.includes('TenantPolicy spec.insecureSkipTLSVerify: Allowed') &&
        !err.message.includes('secret-server'),
    );
  });
  void test('verified TLS passes a grant that refuses insecure TLS', () => {
    assert.deepEqual(grantedAccess(access(), FORBIDDEN, WHERE), access());
  });
  void test("the grant's identity replaces the kubeconfig's as, groups and uid", () => {
    const granted = grantedAccess(
      access({ impersonate: { user: 'admin', uid: 'u', groups: ['system:masters'] } }),
      { ...FORBIDDEN, impersonate: { user: 'openchoreo:org:acme', groups: ['orgs'] } },
      WHERE,
    );
    assert.deepEqual(granted.impersonate, { user: 'openchoreo:org:acme', groups: ['orgs'] });
  });
});

void describe('grantFingerprint', () => {
  void test('differs when the identity or the TLS rule changes, not with the wording of a rule', () => {
    const a = grantFingerprint({ ...FORBIDDEN, impersonate: { user: 'openchoreo:org:acme' } });
    assert.notEqual(a, grantFingerprint({ ...FORBIDDEN, impersonate: { user: 'openchoreo:org:globex' } }));
    assert.notEqual(
      a,
      grantFingerprint({ ...FORBIDDEN, impersonate: { user: 'openchoreo:org:acme', groups: ['g'] } }),
    );
    assert.notEqual(grantFingerprint(FORBIDDEN), grantFingerprint(OPEN_GRANT));
    assert.equal(
      grantFingerprint(FORBIDDEN),
      grantFingerprint({
        insecureSkipTLSVerify: { refusedBy: 'TenantPolicy p (spec.insecureSkipTLSVerify)' },
      }),
    );
  });
});
