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
