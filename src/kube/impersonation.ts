/**
 * Impersonation: the `Impersonate-*` request headers of a kubeconfig user's `as`, `as-uid`,
 * `as-groups` and `as-user-extra`, written as client-go writes them so that the API server reads
 * the same identity kubectl would act as.
 */

/** Impersonation is the identity every request acts as; the credentials only authenticate. */
export interface Impersonation {
  /** user is sent as Impersonate-User; the API server refuses the others without it. */
  user: string;
  uid?: string;
  groups?: string[];
  /** extra holds user-extra values by key; a key may carry several values. */
  extra?: Record<string, string[]>;
}

/**
 * HEADER_TOKEN_CHARS are the characters an HTTP header name may hold (RFC 7230 `tchar`) apart
 * from `%`, which is encoded too: the API server percent-decodes the key, and a bare `%` would
 * not decode.
 */
const HEADER_TOKEN_CHARS = /^[A-Za-z0-9!#$&'*+\-.^_`|~]$/;

/**
 * escapeExtraKey percent-encodes an extra key for its header name, byte by byte of its UTF-8
 * form, as the API server expects (it decodes and lowercases the key: keys are case-insensitive).
 */
export function escapeExtraKey(key: string): string {
  let out = '';
  for (const byte of Buffer.from(key, 'utf8')) {
    const char = String.fromCharCode(byte);
    out += HEADER_TOKEN_CHARS.test(char) ? char : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/**
 * wireValue is a header value as Node sends it: Node writes header strings as Latin-1, so the
 * UTF-8 bytes of a value are passed one character per byte and arrive as UTF-8, as from client-go.
 */
function wireValue(value: string): string {
  return Buffer.from(value, 'utf8').toString('latin1');
}

/**
 * impersonationHeaders are the request headers of an Impersonation: one Impersonate-Group header
 * per group and one Impersonate-Extra-<key> header per value (an array value makes Node send the
 * header once per element; a comma-joined list would be read as one group).
 */
export function impersonationHeaders(imp: Impersonation): Record<string, string | string[]> {
  const headers: Record<string, string | string[]> = { 'Impersonate-User': wireValue(imp.user) };
  if (imp.uid) headers['Impersonate-Uid'] = wireValue(imp.uid);
  if (imp.groups?.length) headers['Impersonate-Group'] = imp.groups.map(wireValue);
  for (const [key, values] of Object.entries(imp.extra ?? {})) {
    if (values.length > 0) headers[`Impersonate-Extra-${escapeExtraKey(key)}`] = values.map(wireValue);
  }
  return headers;
}
