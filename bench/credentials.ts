/**
 * Client credentials for many DataPlanes on one test-bed cluster: each gets a client certificate
 * of its own, signed with the cluster's CA key (the test bed keeps it in `<cluster dir>/pki/`), in
 * a kubeconfig of its own, as distinct tenants' data planes would have. Two openssl runs per
 * certificate (key and request, then signing), a few in parallel.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { Cluster } from '../testbed/cluster.ts';
import { PKI_VALIDITY_DAYS, pkiPaths } from '../testbed/pki.ts';

/** SIGN_CONCURRENCY bounds the parallel openssl runs. */
export const SIGN_CONCURRENCY = 4;

/** ClientIdentity is a certificate and key, base64 PEM, as a kubeconfig carries them. */
export interface ClientIdentity {
  certData: string;
  keyData: string;
}

function openssl(cwd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) =>
    execFile('openssl', args, { cwd }, (err, _stdout, stderr) =>
      err ? reject(new Error(`openssl ${args[0]} failed: ${stderr.trim()}`, { cause: err })) : resolve(),
    ),
  );
}

/**
 * mintClientIdentities signs `names.length` client certificates (`CN=<name>`, `O=system:masters`,
 * so every DataPlane may do what the admin may) with the CA of `cluster`.
 */
export async function mintClientIdentities(cluster: Cluster, names: string[]): Promise<ClientIdentity[]> {
  const pki = pkiPaths(join(cluster.dir, 'pki'));
  const dir = await mkdtemp(join(tmpdir(), 'bench-certs-'));
  try {
    const out: ClientIdentity[] = new Array<ClientIdentity>(names.length);
    let next = 0;
    const worker = async () => {
      while (next < names.length) {
        const i = next++;
        const base = `c${i}`;
        await openssl(dir, [
          'req',
          '-new',
          '-newkey',
          'ec',
          '-pkeyopt',
          'ec_paramgen_curve:prime256v1',
          '-nodes',
          '-keyout',
          `${base}.key`,
          '-subj',
          `/O=system:masters/CN=${names[i] ?? base}`,
          '-out',
          `${base}.csr`,
        ]);
        // A random serial instead of the CA's serial file, so certificates can be signed in parallel.
        await openssl(dir, [
          'x509',
          '-req',
          '-in',
          `${base}.csr`,
          '-CA',
          pki.caCert,
          '-CAkey',
          pki.caKey,
          '-set_serial',
          `0x${randomBytes(16).toString('hex')}`,
          '-days',
          String(PKI_VALIDITY_DAYS),
          '-sha256',
          '-extfile',
          join(pki.dir, 'client.ext'),
          '-out',
          `${base}.crt`,
        ]);
        out[i] = {
          certData: (await readFile(join(dir, `${base}.crt`))).toString('base64'),
          keyData: (await readFile(join(dir, `${base}.key`))).toString('base64'),
        };
      }
    };
    await Promise.all(Array.from({ length: Math.min(SIGN_CONCURRENCY, names.length) }, worker));
    return out;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** kubeconfigFor renders a kubeconfig reaching `cluster` as `identity`. */
export function kubeconfigFor(cluster: Cluster, user: string, identity: ClientIdentity): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: cluster.name,
        cluster: { server: cluster.server, 'certificate-authority-data': cluster.caData },
      },
    ],
    users: [
      {
        name: user,
        user: { 'client-certificate-data': identity.certData, 'client-key-data': identity.keyData },
      },
    ],
    contexts: [{ name: user, context: { cluster: cluster.name, user } }],
    'current-context': user,
  });
}
