/**
 * The test bed's certificates, made with the openssl command line because Node's crypto cannot issue
 * certificates. One CA signs the API server's serving certificate and the admin client certificate;
 * an RSA key pair signs service-account tokens. The recipe is testbed-notes.md section 5.
 */
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Pki names the files of one cluster's certificates and keys, all PEM. */
export interface Pki {
  dir: string;
  caCert: string;
  caKey: string;
  apiserverCert: string;
  apiserverKey: string;
  adminCert: string;
  adminKey: string;
  /** saKey is the RSA private key the API server signs service-account tokens with. */
  saKey: string;
  /** saPub is the public half the API server and controllers verify tokens with. */
  saPub: string;
}

/** PKI_VALIDITY_DAYS is how long every certificate is valid; test clusters are short-lived. */
export const PKI_VALIDITY_DAYS = 7;

/** pkiPaths returns where the certificates of the PKI folder `dir` are (or will be). */
export function pkiPaths(dir: string): Pki {
  return {
    dir,
    caCert: join(dir, 'ca.crt'),
    caKey: join(dir, 'ca.key'),
    apiserverCert: join(dir, 'apiserver.crt'),
    apiserverKey: join(dir, 'apiserver.key'),
    adminCert: join(dir, 'admin.crt'),
    adminKey: join(dir, 'admin.key'),
    saKey: join(dir, 'sa.key'),
    saPub: join(dir, 'sa.pub'),
  };
}

/**
 * generatePki writes a fresh CA, API server serving certificate (for 127.0.0.1, localhost, the first
 * service IP 10.0.0.1 and the in-cluster `kubernetes.*` names), admin client certificate
 * (`CN=admin, O=system:masters`) and service-account key pair into `dir`.
 */
export async function generatePki(dir: string): Promise<Pki> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const p = pkiPaths(dir);
  const days = String(PKI_VALIDITY_DAYS);
  const leaf = ['basicConstraints=critical,CA:FALSE', 'keyUsage=critical,digitalSignature,keyEncipherment'];
  await writeFile(
    join(dir, 'server.ext'),
    [
      ...leaf,
      'extendedKeyUsage=serverAuth',
      'subjectAltName=IP:127.0.0.1,DNS:localhost,IP:10.0.0.1,DNS:kubernetes,DNS:kubernetes.default,' +
        'DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local',
      '',
    ].join('\n'),
  );
  await writeFile(join(dir, 'client.ext'), [...leaf, 'extendedKeyUsage=clientAuth', ''].join('\n'));

  const ec = (out: string) => ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', out];
  const sign = (csr: string, ext: string, out: string) => [
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-days',
    days,
    '-sha256',
    '-extfile',
    ext,
    '-out',
    out,
  ];

  await openssl(dir, ec('ca.key'));
  await openssl(dir, [
    'req',
    '-x509',
    '-new',
    '-key',
    'ca.key',
    '-sha256',
    '-days',
    days,
    '-subj',
    '/O=testbed/CN=testbed-ca',
    '-out',
    'ca.crt',
  ]);
  // The leaves share the CA serial file, so they are signed one after the other; the RSA key, the
  // slowest step, is made meanwhile.
  const sa = (async () => {
    await openssl(dir, ['genrsa', '-out', 'sa.key', '2048']);
    await openssl(dir, ['rsa', '-in', 'sa.key', '-pubout', '-out', 'sa.pub']);
  })();
  await openssl(dir, ec('apiserver.key'));
  await openssl(dir, [
    'req',
    '-new',
    '-key',
    'apiserver.key',
    '-subj',
    '/CN=kube-apiserver',
    '-out',
    'apiserver.csr',
  ]);
  await openssl(dir, sign('apiserver.csr', 'server.ext', 'apiserver.crt'));
  await openssl(dir, ec('admin.key'));
  await openssl(dir, [
    'req',
    '-new',
    '-key',
    'admin.key',
    '-subj',
    '/O=system:masters/CN=admin',
    '-out',
    'admin.csr',
  ]);
  await openssl(dir, sign('admin.csr', 'client.ext', 'admin.crt'));
  await sa;
  return p;
}

/** openssl runs one openssl command in `cwd` and fails with its output when it fails. */
function openssl(cwd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('openssl', args, { cwd }, (err, _stdout, stderr) => {
      if (!err) return resolve();
      const hint =
        (err as NodeJS.ErrnoException).code === 'ENOENT'
          ? ' (openssl is not installed: install it, e.g. `apt-get install openssl`)'
          : '';
      reject(
        new Error(`testbed: \`openssl ${args.join(' ')}\` in ${cwd} failed${hint}: ${stderr.trim()}`, {
          cause: err,
        }),
      );
    });
  });
}

/** ProxyPki names the files of the test bed's apiserver-network-proxy certificates, all PEM. */
export interface ProxyPki {
  dir: string;
  /** frontendCa signs the proxy server's frontend certificate and the controller's client certificate. */
  frontendCa: string;
  frontendCert: string;
  frontendKey: string;
  controllerCert: string;
  controllerKey: string;
  /** agentCa signs the proxy server's agent-side certificate and the agents' client certificate. */
  agentCa: string;
  clusterCert: string;
  clusterKey: string;
  agentCert: string;
  agentKey: string;
}

/** PROXY_AGENT_SIDE_NAME is the name agents dial the proxy server by (its agent-side certificate's name). */
export const PROXY_AGENT_SIDE_NAME = 'tunnel-proxy.testbed';

/**
 * generateProxyPki writes the certificates of a proxy server and its clients into `dir`. Two CAs, as
 * a production setup should have: one for the frontend (the controller), one for the agents, so an
 * agent's certificate cannot open tunnels and the controller's cannot pose as an agent.
 */
export async function generateProxyPki(dir: string): Promise<ProxyPki> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const f = (name: string) => join(dir, name);
  const days = String(PKI_VALIDITY_DAYS);
  const leaf = 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n';
  const ca = async (name: string) => {
    await openssl(dir, ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${name}.key`]);
    await openssl(dir, [
      'req',
      '-x509',
      '-new',
      '-key',
      `${name}.key`,
      '-sha256',
      '-days',
      days,
      '-subj',
      `/O=testbed/CN=${name}`,
      '-out',
      `${name}.crt`,
    ]);
  };
  const issue = async (issuer: string, name: string, subject: string, ext: string) => {
    await writeFile(f(`${name}.ext`), leaf + ext + '\n');
    await openssl(dir, ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${name}.key`]);
    await openssl(dir, ['req', '-new', '-key', `${name}.key`, '-subj', subject, '-out', `${name}.csr`]);
    await openssl(dir, [
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      `${issuer}.crt`,
      '-CAkey',
      `${issuer}.key`,
      '-CAcreateserial',
      '-days',
      days,
      '-sha256',
      '-extfile',
      `${name}.ext`,
      '-out',
      `${name}.crt`,
    ]);
  };
  await ca('frontend-ca');
  await issue(
    'frontend-ca',
    'frontend',
    '/CN=proxy-server',
    'extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost',
  );
  await issue('frontend-ca', 'controller', '/CN=release-controller', 'extendedKeyUsage=clientAuth');
  await ca('agent-ca');
  await issue(
    'agent-ca',
    'cluster',
    '/CN=proxy-server',
    `extendedKeyUsage=serverAuth\nsubjectAltName=DNS:${PROXY_AGENT_SIDE_NAME}`,
  );
  await issue('agent-ca', 'agent', '/CN=proxy-agent', 'extendedKeyUsage=clientAuth');
  return {
    dir,
    frontendCa: f('frontend-ca.crt'),
    frontendCert: f('frontend.crt'),
    frontendKey: f('frontend.key'),
    controllerCert: f('controller.crt'),
    controllerKey: f('controller.key'),
    agentCa: f('agent-ca.crt'),
    clusterCert: f('cluster.crt'),
    clusterKey: f('cluster.key'),
    agentCert: f('agent.crt'),
    agentKey: f('agent.key'),
  };
}
