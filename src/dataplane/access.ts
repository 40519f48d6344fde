/**
 * Access grant: what the platform operator lets one DataPlane's connection do with the credentials
 * it was given, decided above (the organization's TenantPolicy, controller/release/access.ts) and
 * applied here, where the kubeconfig is read. Two things: whose identity every request acts as
 * (impersonation, overriding any `as` of the kubeconfig, so the data plane's own RBAC is the final
 * authority) and whether the kubeconfig may skip verifying the API server's certificate.
 *
 * The grant is part of a connection's fingerprint: when the operator changes the policy, the
 * connection is rebuilt, and requests stop acting as the old identity.
 */
import type { Impersonation } from '../kube/impersonation.ts';
import type { ClusterAccess } from '../kube/kubeconfig.ts';
import { CredentialsError } from './credentials.ts';

/** AccessGrant is what the operator's policy grants one DataPlane's connection. */
export interface AccessGrant {
  /** impersonate, when set, replaces the credentials' own `as`: every request acts as this identity. */
  impersonate?: Impersonation;
  /**
   * insecureSkipTLSVerify says whether a kubeconfig may set `insecure-skip-tls-verify`: true, or
   * the rule that refuses it (for the message).
   */
  insecureSkipTLSVerify: true | { refusedBy: string };
}

/** OPEN_GRANT is everything the credentials say, as before tenancy (single-tenant). */
export const OPEN_GRANT: AccessGrant = { insecureSkipTLSVerify: true };

/**
 * grantedAccess applies a grant to what the credentials say: it refuses a kubeconfig that skips TLS
 * verification when the grant does not allow it, and replaces the impersonated identity. `where`
 * names the credentials (`DataPlane ns/name: kubeconfig in Secret x`); nothing of their content is
 * quoted.
 */
export function grantedAccess(access: ClusterAccess, grant: AccessGrant, where: string): ClusterAccess {
  if (access.insecureSkipTLSVerify && grant.insecureSkipTLSVerify !== true) {
    throw new CredentialsError(
      `${where} sets clusters[].cluster.insecure-skip-tls-verify, which ${grant.insecureSkipTLSVerify.refusedBy} refuses: ` +
        `without verifying the API server's certificate, anyone on the path (a rogue tunnel agent, a spoofed address) can act as the data plane. ` +
        `The platform operator must put the cluster's CA into certificate-authority-data instead, or allow it (TenantPolicy spec.insecureSkipTLSVerify: Allowed)`,
    );
  }
  if (!grant.impersonate) return access;
  return { ...access, impersonate: grant.impersonate };
}

/** grantFingerprint identifies a grant, as part of a connection's fingerprint (a changed grant rebuilds it). */
export function grantFingerprint(grant: AccessGrant): string {
  return JSON.stringify([
    grant.impersonate?.user ?? null,
    grant.impersonate?.groups ?? [],
    grant.insecureSkipTLSVerify === true,
  ]);
}
