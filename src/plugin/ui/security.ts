/**
 * The local server's guard, as Jupyter's: the server listens on 127.0.0.1 only; a request must
 * name exactly that address and port in its Host header (a page of another site that rebinds its
 * DNS name to 127.0.0.1 still sends its own name), and must carry the random token, either in the
 * URL the command printed (the first load, answered with a cookie and a redirect that drops the
 * token from the address bar) or in that HttpOnly SameSite=Strict cookie afterwards. Tokens are
 * compared in constant time. Every answer carries a strict Content-Security-Policy. Pure: request
 * facts in, a decision out (server.ts does the I/O).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** TOKEN_BYTES is the token's entropy: 256 bits, as hex in the URL. */
const TOKEN_BYTES = 32;

/** TOKEN_PARAM is the query parameter of the printed URL. */
export const TOKEN_PARAM = 'token';

/** newToken makes a random token for one run of the server. */
export function newToken(): string {
  return randomBytes(TOKEN_BYTES).toString('hex');
}

/**
 * cookieName is the session cookie of the server on one port: cookies do not separate ports, so
 * two servers on 127.0.0.1 would otherwise overwrite each other's.
 */
export function cookieName(port: number): string {
  return `release_ui_${port}`;
}

/** sameToken compares two tokens in constant time (hashing first makes the lengths equal). */
export function sameToken(given: string, token: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(token).digest();
  return timingSafeEqual(a, b) && given.length === token.length;
}

/** RequestFacts are what the guard looks at. */
export interface RequestFacts {
  method: string;
  host: string | undefined;
  /** url is the request target, e.g. `/?token=...`. */
  url: string;
  cookie: string | undefined;
  /** fetchSite is the Sec-Fetch-Site header, which browsers send: `cross-site` is refused. */
  fetchSite: string | undefined;
}

/** Decision is what to do with a request. */
export type Decision =
  | { allow: true; path: string; query: URLSearchParams }
  /** login: the URL carried the right token: set the cookie and redirect to the same path without it. */
  | { allow: false; login: true; location: string; setCookie: string }
  | { allow: false; login: false; status: number; message: string };

/** checkRequest decides whether a request may be served. */
export function checkRequest(facts: RequestFacts, server: { port: number; token: string }): Decision {
  const expectedHost = `127.0.0.1:${server.port}`;
  if (facts.host !== expectedHost) {
    return deny(421, `this server answers only to ${expectedHost} (Host header refused)`);
  }
  if (facts.fetchSite === 'cross-site' || facts.fetchSite === 'same-site') {
    return deny(403, 'requests from other sites are refused');
  }
  if (facts.method !== 'GET' && facts.method !== 'HEAD') {
    return deny(405, 'only GET is served: the view is read-only');
  }
  const url = new URL(facts.url, `http://${expectedHost}`);
  const fromUrl = url.searchParams.get(TOKEN_PARAM);
  if (fromUrl !== null) {
    if (!sameToken(fromUrl, server.token)) return deny(403, 'wrong token: use the URL the command printed');
    url.searchParams.delete(TOKEN_PARAM);
    return {
      allow: false,
      login: true,
      location: `${url.pathname}${url.search}`,
      setCookie: `${cookieName(server.port)}=${server.token}; HttpOnly; SameSite=Strict; Path=/`,
    };
  }
  const fromCookie = readCookie(facts.cookie, cookieName(server.port));
  if (fromCookie === undefined) {
    return deny(401, 'no token: open the URL that `kubectl release ui` printed (it carries the token)');
  }
  if (!sameToken(fromCookie, server.token)) {
    return deny(403, 'wrong token: open the URL that `kubectl release ui` printed');
  }
  return { allow: true, path: url.pathname, query: url.searchParams };
}

/** readCookie reads one cookie of a Cookie header. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/**
 * SECURITY_HEADERS go on every answer: scripts, styles and connections from this origin only (no
 * inline script, no other origin), no framing, no sniffing, no referrer (the first URL holds the
 * token), nothing cached. No CORS header is ever sent, so other origins cannot read answers.
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy': [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; '),
  'X-Frame-Options': 'DENY',
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Cache-Control': 'no-store',
};

function deny(status: number, message: string): Decision {
  return { allow: false, login: false, status, message };
}
