/**
 * Digests of what the controller compares, made with the one-shot `crypto.hash`: no Hash object
 * per call (a third of `createHash`'s cost on the reconcile path, and nothing native left for the
 * collector to find).
 */
import { hash } from 'node:crypto';

/** digest128 is the first 128 bits of the SHA-256 of `data`, base64url (22 characters). */
export function digest128(data: string): string {
  return Buffer.from(hash('sha256', data, 'hex').slice(0, 32), 'hex').toString('base64url');
}

/** digest256 is the SHA-256 of `data`, base64url (43 characters). */
export function digest256(data: string): string {
  return hash('sha256', data, 'base64url');
}
