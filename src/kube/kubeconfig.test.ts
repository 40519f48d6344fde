import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { accessFromKubeconfig, controlPlaneConfig, KubeconfigError, NEEDS_PLUGIN } from './kubeconfig.ts';

const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const b64 = (text: string) => Buffer.from(text).toString('base64');

function kubeconfig(user: Record<string, unknown>, cluster: Record<string, unknown> = {}): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'c', cluster: { server: 'https://127.0.0.1:6443', ...cluster } }],
    users: [{ name: 'u', user }],
    contexts: [
      { name: 'other', context: { cluster: 'missing', user: 'u' } },
      { name: 'x', context: { cluster: 'c', user: 'u' } },
    ],
    'current-context': 'x',
  });
}

test('reads the current context with inline data', async () => {
  const access = await accessFromKubeconfig(
    kubeconfig(
      { 'client-certificate-data': b64(PEM), 'client-key-data': b64('key'), token: 't' },
      { 'certificate-authority-data': b64(PEM), 'tls-server-name': 'api' },
    ),
    { source: 'test' },
  );
  assert.ok(access !== NEEDS_PLUGIN, 'no plugin needed');
  assert.equal(access.server, 'https://127.0.0.1:6443');
  assert.equal(access.ca?.toString(), PEM);
  assert.equal(access.key?.toString(), 'key');
  assert.equal(access.token, 't');
  assert.equal(access.tlsServerName, 'api');
});

test('reads file references relative to the kubeconfig only when allowed', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kc-'));
  writeFileSync(join(dir, 'ca.crt'), PEM);
  const text = kubeconfig({ 'token-file': 'token' }, { 'certificate-authority': 'ca.crt' });
  const access = await accessFromKubeconfig(text, { source: 'test', baseDir: dir });
  assert.ok(access !== NEEDS_PLUGIN, 'no plugin needed');
  assert.equal(access.ca?.toString(), PEM);
  assert.equal(access.tokenFile, join(dir, 'token'));
  await assert.rejects(accessFromKubeconfig(text, { source: 'tenant kubeconfig' }), (err: unknown) => {
    assert.ok(err instanceof KubeconfigError, 'a KubeconfigError');
    assert.match(err.message, /^tenant kubeconfig refers to a local file/);
    return true;
  });
});

test('a credential plugin is reported, not run', async () => {
  const text = kubeconfig({ exec: { command: 'aws', apiVersion: 'client.authentication.k8s.io/v1' } });
  assert.equal(await accessFromKubeconfig(text, { source: 'test', baseDir: '/' }), NEEDS_PLUGIN);
});

test('broken kubeconfigs name what is missing', async () => {
  await assert.rejects(accessFromKubeconfig('a: [', { source: 'k' }), /k is not valid YAML/);
  await assert.rejects(
    accessFromKubeconfig(stringify({ contexts: [] }), { source: 'k' }),
    /k has no current-context/,
  );
  await assert.rejects(
    accessFromKubeconfig(stringify({ 'current-context': 'nope', contexts: [] }), { source: 'k' }),
    /k: no contexts entry named "nope"/,
  );
});

test('the control plane is found as client-go does: flag, $KUBECONFIG, in-cluster, ~/.kube/config', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kc-'));
  const flag = join(dir, 'flag.yaml');
  const env = join(dir, 'env.yaml');
  writeFileSync(flag, kubeconfig({ token: 'from-flag' }));
  writeFileSync(env, kubeconfig({ token: 'from-env' }));
  const fromFlag = await controlPlaneConfig(flag, { KUBECONFIG: env });
  assert.equal(fromFlag.source, '--kubeconfig');
  assert.equal(fromFlag.access !== NEEDS_PLUGIN && fromFlag.access.token, 'from-flag');
  const fromEnv = await controlPlaneConfig('', {
    KUBECONFIG: `${env}:${flag}`,
    KUBERNETES_SERVICE_HOST: '10.0.0.1',
  });
  assert.equal(fromEnv.source, '$KUBECONFIG');
  assert.equal(fromEnv.access !== NEEDS_PLUGIN && fromEnv.access.token, 'from-env');
  await assert.rejects(
    controlPlaneConfig(join(dir, 'missing'), {}),
    /cannot read the kubeconfig .*missing \(--kubeconfig\)/,
  );
});

test('reads the impersonation fields of the user', async () => {
  const access = await accessFromKubeconfig(
    kubeconfig({
      token: 't',
      as: 'jane',
      'as-uid': '42',
      'as-groups': ['dev', 'ops'],
      'as-user-extra': { scopes: ['view', 'edit'], 'acme.dev/team': ['a'] },
    }),
    { source: 'test' },
  );
  assert.ok(access !== NEEDS_PLUGIN, 'no plugin needed');
  assert.deepEqual(access.impersonate, {
    user: 'jane',
    uid: '42',
    groups: ['dev', 'ops'],
    extra: { scopes: ['view', 'edit'], 'acme.dev/team': ['a'] },
  });
});

test('a user without impersonation fields, or with empty ones, impersonates nobody', async () => {
  for (const user of [{ token: 't' }, { token: 't', as: '', 'as-groups': null, 'as-user-extra': {} }]) {
    const access = await accessFromKubeconfig(kubeconfig(user), { source: 'test' });
    assert.ok(access !== NEEDS_PLUGIN, 'no plugin needed');
    assert.equal(access.impersonate, undefined);
  }
});

test('malformed impersonation fields are refused, naming the field and never quoting the value', async () => {
  const SECRET = 'eyJhbGciOiJSUzI1NiJ9';
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [{ as: 7 }, /users\[\]\.user\.as must be a string/],
    [{ as: ['jane'] }, /users\[\]\.user\.as must be a string/],
    [{ as: `${SECRET}\r\nX-Evil: 1` }, /users\[\]\.user\.as must be a string without control characters/],
    [{ as: ` ${SECRET}` }, /users\[\]\.user\.as must be a string without .*surrounding spaces/],
    [{ as: 'jane', 'as-uid': { id: SECRET } }, /users\[\]\.user\.as-uid must be a string/],
    [{ as: 'jane', 'as-groups': SECRET }, /users\[\]\.user\.as-groups must be a list of non-empty strings/],
    [{ as: 'jane', 'as-groups': ['dev', 3] }, /users\[\]\.user\.as-groups must be a list/],
    [{ as: 'jane', 'as-groups': ['dev', ''] }, /users\[\]\.user\.as-groups must be a list of non-empty/],
    [{ as: 'jane', 'as-user-extra': [SECRET] }, /users\[\]\.user\.as-user-extra must be a map/],
    [{ as: 'jane', 'as-user-extra': { scopes: SECRET } }, /users\[\]\.user\.as-user-extra must be a list/],
    [
      { as: 'jane', 'as-user-extra': { '': ['x'] } },
      /users\[\]\.user\.as-user-extra must be a map whose keys/,
    ],
    [{ 'as-groups': ['dev'] }, /users\[\]\.user\.as-groups must be accompanied by users\[\]\.user\.as/],
    [{ 'as-uid': '42' }, /users\[\]\.user\.as-uid must be accompanied by users\[\]\.user\.as/],
    [{ 'as-user-extra': { k: ['v'] } }, /users\[\]\.user\.as-user-extra must be accompanied/],
  ];
  for (const [fields, message] of cases) {
    await assert.rejects(
      accessFromKubeconfig(kubeconfig({ token: 't', ...fields }), { source: 'tenant kubeconfig' }),
      (err: unknown) => {
        assert.ok(err instanceof KubeconfigError, 'a KubeconfigError');
        assert.match(err.message, /^tenant kubeconfig: /);
        assert.match(err.message, message);
        assert.ok(!err.message.includes(SECRET), `the value is not quoted: ${err.message}`);
        return true;
      },
    );
  }
});
