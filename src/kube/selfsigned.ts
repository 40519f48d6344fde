/**
 * selfSigned writes a self-signed certificate (its own CA) for 127.0.0.1 with openssl, for tests
 * that run TLS servers of their own (misbehaving API servers, proxies).
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

/** selfSigned writes `<name>.crt` and `<name>.key` into dir and returns their paths. */
export function selfSigned(dir: string, name: string): { cert: string; key: string } {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  execFileSync('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-days',
    '1',
    '-subj',
    `/CN=${name}`,
    '-addext',
    'subjectAltName=IP:127.0.0.1',
    '-keyout',
    key,
    '-out',
    cert,
  ]);
  return { cert, key };
}
