/**
 * The test bed's HTTP(S) probe: one request on a fresh connection. Clusters on 127.0.0.1 call
 * `request` directly; an isolated cluster's API server is reachable only inside its network
 * namespace, so there the same request runs as `ip netns exec NS node testbed/http.ts` (this file
 * as a script: the request as JSON on stdin, the answer as JSON on stdout). Only erasable
 * TypeScript here, so Node runs the file without a loader.
 */
import { spawn } from 'node:child_process';
import http from 'node:http';
import https from 'node:https';
import { fileURLToPath } from 'node:url';

/** TlsClient is the TLS identity of a probe: the CA to trust and an optional client certificate. */
export interface TlsClient {
  ca: string;
  cert?: string;
  key?: string;
}

/** HttpAnswer is a probe's status and body. */
export interface HttpAnswer {
  status: number;
  body: string;
}

/** RequestOptions tune one probe. */
export interface RequestOptions {
  method?: string;
  tls?: TlsClient | 'insecure';
  body?: string;
  timeoutMs?: number;
}

/** request makes one HTTP(S) request on a fresh connection (no agent keeps sockets around). */
export function request(url: string, opts: RequestOptions = {}): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const base = {
      method: opts.method ?? 'GET',
      agent: false as const,
      timeout: opts.timeoutMs ?? 3_000,
      headers: opts.body ? { 'content-type': 'application/json', accept: 'application/json' } : {},
    };
    const onResponse = (res: http.IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
      );
      res.on('error', reject);
    };
    let req: http.ClientRequest;
    if (u.protocol === 'https:') {
      const tls =
        opts.tls === 'insecure' || opts.tls === undefined
          ? { rejectUnauthorized: false }
          : { ca: opts.tls.ca, cert: opts.tls.cert, key: opts.tls.key };
      req = https.request(u, { ...base, ...tls }, onResponse);
    } else {
      req = http.request(u, base, onResponse);
    }
    req.on('timeout', () => req.destroy(new Error(`timed out after ${base.timeout} ms`)));
    req.on('error', reject);
    req.end(opts.body);
  });
}

const SELF = fileURLToPath(import.meta.url);

/** requestInNamespace runs `request` inside the network namespace `netns` (needs root). */
export function requestInNamespace(
  netns: string,
  url: string,
  opts: RequestOptions = {},
): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', netns, process.execPath, SELF], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) {
        reject(
          new Error(`in network namespace ${netns}: ${err.trim().split('\n').at(-1) ?? `exit ${code}`}`),
        );
        return;
      }
      try {
        resolve(JSON.parse(out) as HttpAnswer);
      } catch {
        reject(new Error(`in network namespace ${netns}: the probe printed no answer`));
      }
    });
    child.stdin.end(JSON.stringify({ url, opts }));
  });
}

if (process.argv[1] === SELF) {
  let input = '';
  process.stdin.on('data', (c: Buffer) => (input += c.toString()));
  process.stdin.on('end', () => {
    const { url, opts } = JSON.parse(input) as { url: string; opts: RequestOptions };
    request(url, opts).then(
      (answer) => process.stdout.write(JSON.stringify(answer)),
      (e: unknown) => {
        process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
        process.exit(1);
      },
    );
  });
}
