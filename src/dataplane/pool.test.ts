import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import type { DataPlane } from '../api/v1alpha1/schema.ts';
import { CredentialsError } from './credentials.ts';
import { DataPlanePool } from './pool.ts';

const pem = (what: string) =>
  Buffer.from(`-----BEGIN ${what}-----\nAAAA\n-----END ${what}-----\n`).toString('base64');

function dataPlane(tunnel?: { host: string }): DataPlane {
  return {
    apiVersion: 'openchoreo.dev/v1alpha1',
    kind: 'DataPlane',
    metadata: { namespace: 'org', name: 'dp' },
    spec: {
      kubernetesCluster: {
        name: 'eu',
        credentials: {
          apiServerURL: 'https://kubernetes.default.svc:443',
          caCert: pem('CERTIFICATE'),
          clientCert: pem('CERTIFICATE'),
          clientKey: pem('PRIVATE KEY'),
        },
        ...(tunnel ? { tunnel } : {}),
      },
    },
  };
}

const pool = (withProxy: boolean) =>
  new DataPlanePool({
    logger: pino({ level: 'silent' }),
    requestTimeoutMs: 1_000,
    onEvent: () => {},
    ...(withProxy
      ? { tunnel: { address: 'proxy:8090', caFile: '/ca', certFile: '/crt', keyFile: '/key' } }
      : {}),
  });

test('a DataPlane asking for a tunnel on a controller without a proxy server is invalid, naming the flag', async () => {
  const p = pool(false);
  await assert.rejects(
    p.connect(dataPlane({ host: 'eu-1' }), undefined),
    (err: unknown) =>
      err instanceof CredentialsError &&
      /DataPlane org\/dp: spec.kubernetesCluster.tunnel is set, .*--tunnel-proxy-address/.test(err.message),
  );
  await p.close();
});

test('a tunnel host that is not a DNS name is refused before it reaches a CONNECT line', async () => {
  const p = pool(true);
  await assert.rejects(
    p.connect(dataPlane({ host: 'eu-1:443\r\nX-Injected: 1' }), undefined),
    (err: unknown) =>
      err instanceof CredentialsError && /tunnel.host is not a lowercase DNS name/.test(err.message),
  );
  await p.close();
});

test('a tunnel change rebuilds the connection; the same spec reuses it', async () => {
  const p = pool(true);
  const first = await p.connect(dataPlane({ host: 'eu-1' }), undefined);
  assert.equal(await p.connect(dataPlane({ host: 'eu-1' }), undefined), first);
  const moved = await p.connect(dataPlane({ host: 'eu-2' }), undefined);
  assert.notEqual(moved, first, 'another tunnel host is another connection');
  await p.close();
});
