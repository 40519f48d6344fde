import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { stringify } from 'yaml';
import type { DataPlane } from '../api/v1alpha1/schema.ts';
import type { SecretLike } from './credentials.ts';
import { accessFromInline, accessFromSecret, CredentialsError } from './credentials.ts';

// A real private key, so that the "never in a message" checks look for real key material.
const KEY_PEM = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({
  type: 'pkcs8',
  format: 'pem',
}) as string;
// Syntactically valid certificate PEM (the loaders never parse the DER inside).
const certPem = (cn: string) =>
  `-----BEGIN CERTIFICATE-----\n${Buffer.concat([Buffer.from(cn), randomBytes(300)])
    .toString('base64')
    .replace(/.{64}/g, '$&\n')}\n-----END CERTIFICATE-----\n`;
const CA_PEM = certPem('dataplane-ca');
const CLIENT_PEM = certPem('release-controller');
const b64 = (text: string) => Buffer.from(text).toString('base64');
const TOKEN = 'eyJhbGciOiJSUzI1NiIsImtpZCI6InRlc3QifQ.c2VjcmV0LXNlcnZpY2UtYWNjb3VudC10b2tlbg.c2lnbmF0dXJl';

/** SECRETS are the strings no error message may contain. */
const SECRETS = [
  KEY_PEM,
  b64(KEY_PEM),
  KEY_PEM.split('\n')[1] ?? '',
  b64(CLIENT_PEM),
  TOKEN,
  'refresh-token-value',
  'oidc-client-secret',
  'AKIAEXAMPLESECRET',
];

function assertNoSecret(message: string): void {
  for (const secret of SECRETS) {
    assert.ok(secret.length > 0 && !message.includes(secret), `the message leaks secret data: ${message}`);
  }
}

/** refuses asserts a CredentialsError whose message matches and holds no secret data. */
async function refuses(fn: () => unknown, message: RegExp): Promise<void> {
  await assert.rejects(
    () => Promise.resolve().then(fn),
    (err: unknown) => {
      assert.ok(err instanceof CredentialsError, `expected a CredentialsError, got ${String(err)}`);
      assert.match(err.message, message);
      assertNoSecret(err.message);
      return true;
    },
  );
}

function inlineDataPlane(
  overrides: Partial<Record<'caCert' | 'clientCert' | 'clientKey', string>> = {},
): DataPlane {
  return {
    apiVersion: 'openchoreo.dev/v1alpha1',
    kind: 'DataPlane',
    metadata: { name: 'dp-prod', namespace: 'acme' },
    spec: {
      kubernetesCluster: {
        name: 'prod-eu-1',
        credentials: {
          apiServerURL: 'https://10.0.0.10:6443',
          caCert: b64(CA_PEM),
          clientCert: b64(CLIENT_PEM),
          clientKey: b64(KEY_PEM),
          ...overrides,
        },
      },
    },
  };
}

function secretDataPlane(key?: string): DataPlane {
  return {
    apiVersion: 'openchoreo.dev/v1alpha1',
    kind: 'DataPlane',
    metadata: { name: 'dp-prod', namespace: 'acme' },
    spec: {
      kubernetesCluster: {
        name: 'prod-eu-1',
        secretRef: { name: 'dp-prod-kubeconfig', ...(key ? { key } : {}) },
      },
    },
  };
}

interface UserEntry {
  [field: string]: unknown;
}

function kubeconfig(user: UserEntry, cluster: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: 'prod-eu-1',
        cluster: {
          server: 'https://prod-eu-1.example.com:6443',
          'certificate-authority-data': b64(CA_PEM),
          ...cluster,
        },
      },
    ],
    users: [{ name: 'release-controller', user }],
    contexts: [{ name: 'prod', context: { cluster: 'prod-eu-1', user: 'release-controller' } }],
    'current-context': 'prod',
  };
}

function secret(text: string, key = 'kubeconfig'): SecretLike {
  return {
    metadata: { name: 'dp-prod-kubeconfig', namespace: 'acme', resourceVersion: '311' },
    data: { [key]: b64(text) },
  };
}

const CERT_USER: UserEntry = { 'client-certificate-data': b64(CLIENT_PEM), 'client-key-data': b64(KEY_PEM) };

describe('kubeConfigFromInline', () => {
  test('decodes the base64 PEM credentials', () => {
    const access = accessFromInline(inlineDataPlane());
    assert.equal(access.server, 'https://10.0.0.10:6443');
    assert.equal(access.ca?.toString(), CA_PEM);
    assert.equal(access.insecureSkipTLSVerify, undefined);
    assert.equal(access.cert?.toString(), CLIENT_PEM);
    assert.equal(access.key?.toString(), KEY_PEM);
  });

  test('accepts base64 wrapped over several lines', () => {
    const wrapped = b64(CA_PEM).replace(/.{76}/g, '$&\n');
    assert.doesNotThrow(() => accessFromInline(inlineDataPlane({ caCert: wrapped })));
  });

  for (const field of ['caCert', 'clientCert', 'clientKey'] as const) {
    const raw = field === 'clientKey' ? KEY_PEM : field === 'caCert' ? CA_PEM : CLIENT_PEM;
    test(`a raw PEM in ${field} is refused with how to encode it`, async () => {
      await refuses(
        () => accessFromInline(inlineDataPlane({ [field]: raw })),
        new RegExp(
          `^DataPlane acme/dp-prod: spec\\.kubernetesCluster\\.credentials\\.${field} is not base64-encoded PEM \\(encode the PEM file with 'base64 -w0'\\)$`,
        ),
      );
    });
  }

  test('a server that is not an http(s) URL is DataPlaneInvalid, not a retry loop', async () => {
    for (const server of ['unix:///var/run/k8s.sock', 'dataplane.example:6443']) {
      const kubeconfig = stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'dp', cluster: { server } }],
        users: [{ name: 'u', user: { token: TOKEN } }],
        contexts: [{ name: 'c', context: { cluster: 'dp', user: 'u' } }],
        'current-context': 'c',
      });
      await refuses(
        () => accessFromSecret(secretDataPlane(), secret(kubeconfig)),
        /kubeconfig in Secret .*: server is not an https:\/\/ URL/,
      );
    }
  });

  test('a mistyped kubeconfig field that holds a token is refused without quoting it', async () => {
    const kubeconfig = stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'dp', cluster: { server: 'https://dp.example:6443' } }],
      users: [{ name: 'u', user: { [`token:${TOKEN}`]: null } }],
      contexts: [{ name: 'c', context: { cluster: 'dp', user: 'u' } }],
      'current-context': 'c',
    });
    await refuses(
      () => accessFromSecret(secretDataPlane(), secret(kubeconfig)),
      /uses users\[\]\.user\.a field that no kubeconfig has \(not shown: a mistyped field may hold a secret\)/,
    );
  });

  test('base64 that is not PEM is refused, naming the field', async () => {
    await refuses(
      () => accessFromInline(inlineDataPlane({ clientKey: b64('AKIAEXAMPLESECRET not a key') })),
      /credentials\.clientKey is not base64-encoded PEM/,
    );
  });

  test('base64 of DER (the PEM body) is refused, naming the field', async () => {
    await refuses(
      () => accessFromInline(inlineDataPlane({ clientKey: KEY_PEM.split('\n')[1] ?? '' })),
      /credentials\.clientKey is not base64-encoded PEM/,
    );
  });

  test('garbage is refused, naming the field', async () => {
    await refuses(
      () => accessFromInline(inlineDataPlane({ caCert: 'not base64 at all!' })),
      /credentials\.caCert is not base64-encoded PEM/,
    );
  });

  test('a DataPlane without inline credentials is refused', async () => {
    await refuses(
      () => accessFromInline(secretDataPlane()),
      /^DataPlane acme\/dp-prod has no spec\.kubernetesCluster\.credentials$/,
    );
  });
});

describe('kubeConfigFromSecret', () => {
  test('loads a kubeconfig with inline client certificates', async () => {
    const access = await accessFromSecret(secretDataPlane(), secret(stringify(kubeconfig(CERT_USER))));
    assert.equal(access.server, 'https://prod-eu-1.example.com:6443');
    assert.equal(access.ca?.toString(), CA_PEM);
    assert.equal(access.cert?.toString(), CLIENT_PEM);
    assert.equal(access.key?.toString(), KEY_PEM);
  });

  test('loads a kubeconfig with a bearer token, written as JSON, under a custom key', async () => {
    const text = JSON.stringify(kubeconfig({ token: TOKEN }));
    const access = await accessFromSecret(secretDataPlane('config.json'), secret(text, 'config.json'));
    assert.equal(access.token, TOKEN);
  });

  test('a DataPlane without secretRef is refused', async () => {
    await refuses(
      () => accessFromSecret(inlineDataPlane(), secret(stringify(kubeconfig(CERT_USER)))),
      /^DataPlane acme\/dp-prod has no spec\.kubernetesCluster\.secretRef$/,
    );
  });

  test('a missing Secret is named', async () => {
    await refuses(
      () => accessFromSecret(secretDataPlane(), undefined),
      /^DataPlane acme\/dp-prod: Secret acme\/dp-prod-kubeconfig named by spec\.kubernetesCluster\.secretRef does not exist$/,
    );
  });

  test('a missing key is named, with the field that chooses it', async () => {
    const s = secret(stringify(kubeconfig(CERT_USER)), 'value');
    await refuses(
      () => accessFromSecret(secretDataPlane(), s),
      /Secret acme\/dp-prod-kubeconfig has no key 'kubeconfig' \(set spec\.kubernetesCluster\.secretRef\.key\)$/,
    );
    await refuses(() => accessFromSecret(secretDataPlane('config'), s), /has no key 'config'/);
  });

  test('a Secret without data is refused', async () => {
    await refuses(
      () => accessFromSecret(secretDataPlane(), { metadata: { name: 'dp-prod-kubeconfig' } }),
      /has no key 'kubeconfig'/,
    );
  });

  test('text that is not YAML is refused without echoing it', async () => {
    const text = `apiVersion: v1\nusers:\n- name: x\n  user: {token: ${TOKEN}\n  client-key-data: ${b64(KEY_PEM)}\n`;
    await refuses(
      () => accessFromSecret(secretDataPlane(), secret(text)),
      /^DataPlane acme\/dp-prod: key 'kubeconfig' of Secret dp-prod-kubeconfig is not a valid kubeconfig \(YAML parse error\)$/,
    );
  });

  test('YAML that is not a mapping is refused', async () => {
    await refuses(
      () => accessFromSecret(secretDataPlane(), secret(TOKEN)),
      /kubeconfig in Secret dp-prod-kubeconfig is not a kubeconfig document$/,
    );
  });

  const unsafe: Array<{
    name: string;
    user?: UserEntry;
    cluster?: Record<string, unknown>;
    message: RegExp;
  }> = [
    {
      name: 'an exec credential plugin',
      user: {
        exec: {
          apiVersion: 'client.authentication.k8s.io/v1beta1',
          command: 'aws',
          args: ['eks', 'get-token', '--cluster-name', 'prod'],
          env: [{ name: 'AWS_SECRET_ACCESS_KEY', value: 'AKIAEXAMPLESECRET' }],
        },
      },
      message:
        /uses exec or auth-provider credentials, which the controller refuses to run; use client certificates or a token$/,
    },
    {
      name: 'an auth-provider',
      user: {
        'auth-provider': {
          name: 'oidc',
          config: {
            'client-id': 'kubernetes',
            'client-secret': 'oidc-client-secret',
            'id-token': TOKEN,
            'refresh-token': 'refresh-token-value',
            'idp-issuer-url': 'https://accounts.example.com',
          },
        },
      },
      message: /uses exec or auth-provider credentials/,
    },
    {
      name: 'a client-certificate file',
      user: { 'client-certificate': '/var/run/secrets/client.crt', 'client-key-data': b64(KEY_PEM) },
      message:
        /uses users\[\]\.user\.client-certificate, which would read a local file of the controller; embed the data instead/,
    },
    {
      name: 'a client-key file',
      user: { 'client-certificate-data': b64(CLIENT_PEM), 'client-key': '/var/run/secrets/client.key' },
      message:
        /uses users\[\]\.user\.client-key, which would read a local file of the controller; embed the data instead/,
    },
    {
      name: 'a tokenFile',
      user: { tokenFile: '/var/run/secrets/kubernetes.io/serviceaccount/token' },
      message: /uses users\[\]\.user\.tokenFile, which would read a local file of the controller/,
    },
    {
      // client-node reads `token-file` from disk and would send the controller's own token.
      name: 'a token-file',
      user: { 'token-file': '/var/run/secrets/kubernetes.io/serviceaccount/token' },
      message: /uses users\[\]\.user\.token-file, which would read a local file of the controller/,
    },
    {
      name: 'a certificate-authority file',
      user: { token: TOKEN },
      cluster: {
        'certificate-authority': '/etc/kubernetes/pki/ca.crt',
        'certificate-authority-data': undefined,
      },
      message:
        /uses clusters\[\]\.cluster\.certificate-authority, which the controller does not accept; use server and certificate-authority-data/,
    },
  ];
  for (const u of unsafe) {
    test(`a kubeconfig with ${u.name} is refused without its secrets`, async () => {
      const text = stringify(kubeconfig(u.user ?? CERT_USER, u.cluster));
      await refuses(() => accessFromSecret(secretDataPlane(), secret(text)), u.message);
      await refuses(
        () => accessFromSecret(secretDataPlane(), secret(text)),
        /^DataPlane acme\/dp-prod: kubeconfig in Secret dp-prod-kubeconfig /,
      );
    });
  }

  test('an unsafe user is refused even when the current context does not use it', async () => {
    const doc = kubeconfig(CERT_USER);
    (doc['users'] as unknown[]).push({
      name: 'admin',
      user: { exec: { command: 'cat', args: ['/etc/shadow'] } },
    });
    await refuses(() => accessFromSecret(secretDataPlane(), secret(stringify(doc))), /exec or auth-provider/);
  });

  test('a kubeconfig whose cluster has no server is refused, naming the cluster', async () => {
    const doc = kubeconfig(CERT_USER);
    doc['clusters'] = [{ name: 'prod-eu-1', cluster: { 'certificate-authority-data': b64(CA_PEM) } }];
    await refuses(
      () => accessFromSecret(secretDataPlane(), secret(stringify(doc))),
      /kubeconfig in Secret dp-prod-kubeconfig: cluster "prod-eu-1" has no server$/,
    );
  });

  test('a kubeconfig that impersonates keeps its identity for every request', async () => {
    const text = stringify(kubeconfig({ token: TOKEN, as: 'deployer', 'as-groups': ['team-a'] }));
    const access = await accessFromSecret(secretDataPlane(), secret(text));
    assert.deepEqual(access.impersonate, { user: 'deployer', groups: ['team-a'] });
  });

  test('a malformed impersonation field is DataPlaneInvalid, naming the field but not its value', async () => {
    const text = stringify(kubeconfig({ token: TOKEN, as: 'deployer', 'as-groups': TOKEN }));
    await refuses(
      () => accessFromSecret(secretDataPlane(), secret(text)),
      /^DataPlane acme\/dp-prod: kubeconfig in Secret dp-prod-kubeconfig: users\[\]\.user\.as-groups must be a list of non-empty strings/,
    );
  });

  test('a kubeconfig without a current context is refused', async () => {
    const doc = kubeconfig(CERT_USER);
    delete doc['current-context'];
    await refuses(
      () => accessFromSecret(secretDataPlane(), secret(stringify(doc))),
      /kubeconfig in Secret dp-prod-kubeconfig has no current-context$/,
    );
  });
});
