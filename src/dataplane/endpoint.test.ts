import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { KubeClient, isKubeApiError } from '../kube/client.ts';
import {
  DEFAULT_ENDPOINT_POLICY,
  EndpointPolicy,
  LOOPBACK_CIDRS,
  parseCidr,
  type EndpointPolicySpec,
} from './endpoint.ts';

const policy = (spec: Partial<EndpointPolicySpec> = {}) =>
  new EndpointPolicy({ ...DEFAULT_ENDPOINT_POLICY, ...spec });

describe('EndpointPolicy.checkUrl', () => {
  const cases: Array<{ name: string; spec?: Partial<EndpointPolicySpec>; url: string; refused?: RegExp }> = [
    { name: 'a public https server', url: 'https://dp.example.com:6443' },
    { name: 'loopback by default (npm start)', url: 'https://127.0.0.1:6443' },
    {
      name: 'the metadata address',
      url: 'https://169.254.169.254',
      refused: /169\.254\.169\.254 is in the denied range 169\.254\.0\.0\/16 \(--dataplane-denied-cidrs\)/,
    },
    {
      name: 'the metadata address as IPv4-mapped IPv6',
      url: 'https://[::ffff:169.254.169.254]',
      refused: /denied range 169\.254\.0\.0\/16/,
    },
    {
      name: 'the metadata address through the NAT64 prefix',
      url: 'https://[64:ff9b::a9fe:a9fe]',
      refused: /denied range 169\.254\.0\.0\/16/,
    },
    {
      name: 'the metadata address as IPv4-mapped IPv6 in hex',
      url: 'https://[::ffff:a9fe:a9fe]',
      refused: /denied range 169\.254\.0\.0\/16/,
    },
    { name: 'AWS metadata over IPv6', url: 'https://[fd00:ec2::254]', refused: /fd00:ec2::254\/128/ },
    { name: 'IPv6 link-local', url: 'https://[fe80::1]:6443', refused: /fe80::\/10/ },
    {
      name: 'a denied metadata host name',
      url: 'https://metadata.google.internal',
      refused: /matches the denied host metadata\.google\.internal \(--dataplane-denied-hosts\)/,
    },
    {
      name: 'loopback when the chart denies it',
      spec: { deniedCidrs: [...LOOPBACK_CIDRS] },
      url: 'https://127.0.0.2:6443',
      refused: /127\.0\.0\.0\/8/,
    },
    {
      name: 'the unspecified address, which Linux connects to loopback',
      spec: { deniedCidrs: [...LOOPBACK_CIDRS] },
      url: 'https://0.0.0.0:6443',
      refused: /0\.0\.0\.0\/8/,
    },
    {
      name: 'plain http',
      url: 'http://dp.example.com',
      refused: /plain http:\/\/ is not allowed, use https:\/\/ \(--dataplane-allow-http allows it\)/,
    },
    { name: 'plain http when allowed', spec: { allowHttp: true }, url: 'http://dp.example.com' },
    {
      name: 'an address outside the allowed ranges',
      spec: { allowedCidrs: ['10.0.0.0/8'] },
      url: 'https://192.168.1.1',
      refused: /none of the allowed ranges/,
    },
    {
      name: 'an address inside the allowed ranges',
      spec: { allowedCidrs: ['10.0.0.0/8'] },
      url: 'https://10.1.2.3',
    },
    {
      name: 'a denied range inside an allowed one',
      spec: { allowedCidrs: ['169.254.0.0/16'] },
      url: 'https://169.254.169.254',
      refused: /denied range/,
    },
    { name: 'not a URL', url: 'unix:///var/run/x', refused: /unix:\/\/ is not https:\/\// },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const why = policy(c.spec).checkUrl(c.url);
      if (c.refused) assert.match(why ?? '(allowed)', c.refused);
      else assert.equal(why, undefined);
    });
  }

  test('a tunnelled server is checked for its scheme only', () => {
    const p = policy({ deniedCidrs: [...LOOPBACK_CIDRS] });
    assert.equal(p.checkUrl('https://127.0.0.1:6443', true), undefined);
    assert.match(p.checkUrl('http://127.0.0.1:6443', true) ?? '', /plain http/);
  });

  test('allowed hosts: a matching name needs no allowed range, any other name does', () => {
    const p = policy({ allowedHosts: ['*.clusters.example.com'], allowedCidrs: ['10.0.0.0/8'] });
    assert.equal(p.hostAllowed('eu.clusters.example.com'), true);
    assert.equal(p.hostAllowed('clusters.example.com.evil.io'), false);
    assert.equal(p.checkAddress('192.168.0.1', true), undefined);
    assert.match(p.checkAddress('192.168.0.1', false) ?? '', /none of the allowed ranges/);
    assert.match(
      p.checkAddress('169.254.169.254', true) ?? '',
      /denied range/,
      'a deny wins over an allowed host',
    );
  });

  test('parseCidr refuses what is not a CIDR', () => {
    assert.throws(() => parseCidr('10.0.0.0/33'), /not a CIDR/);
    assert.throws(() => parseCidr('example.com/8'), /not a CIDR/);
    assert.doesNotThrow(() => parseCidr('10.1.2.3'));
  });
});

describe('EndpointPolicy.lookup', () => {
  let server: Server;
  let port = 0;
  let requests = 0;
  before(async () => {
    server = createServer((_req, res) => {
      requests++;
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const address = server.address();
    port = typeof address === 'object' && address ? address.port : 0;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  test('a host name that resolves to a denied address is refused when the socket connects', async () => {
    const p = policy({ deniedCidrs: [...LOOPBACK_CIDRS], allowHttp: true });
    // The URL passes (a name, not an address): only the address it resolves to is denied.
    assert.equal(p.checkUrl(`http://localhost:${port}`), undefined);
    const client = new KubeClient({
      name: 'data plane acme/dp',
      server: `http://localhost:${port}`,
      maxRetries: 0,
      lookup: p.lookup('localhost'),
    });
    const before = requests;
    await assert.rejects(client.request({ method: 'GET', path: '/api' }), (err: unknown) => {
      assert.ok(isKubeApiError(err) && err.isUnreachable, 'no connection was made');
      assert.match(
        err.message,
        /endpoint policy refuses localhost: .* is in the denied range (127\.0\.0\.0\/8|::1\/128)/,
      );
      return true;
    });
    assert.equal(requests, before, 'the server saw no request');
    await client.close();
  });

  test('the same host name connects when the policy allows its address', async () => {
    const p = policy({ allowHttp: true });
    const client = new KubeClient({
      name: 'data plane acme/dp',
      server: `http://localhost:${port}`,
      maxRetries: 0,
      lookup: p.lookup('localhost'),
    });
    assert.deepEqual(await client.request({ method: 'GET', path: '/api' }), {});
    await client.close();
  });
});
