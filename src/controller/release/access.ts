/**
 * Data-plane access of an organization (issue "Tenancy", invariants 6 and 7): which credentials a
 * DataPlane may use, where its tunnel may lead, how many DataPlanes the organization may use, and
 * what its connection is granted (impersonation, insecure TLS). Pure: the caller gives the
 * organization's tenancy, the DataPlane, the metadata of the Secret it names and the organization's
 * DataPlanes; the result is a refusal (a message for a `DataPlaneInvalid` condition) or the grant
 * to connect with.
 *
 * Messages name the DataPlane, the field and the rule (a TenantPolicy's field, or the safe
 * default) and say what to do; they never quote anything from a Secret (its server, its data): the
 * Secret is the operator's, and the tenant may not be able to read it.
 */
import { TenancyKeys } from '../../api/v1alpha1/constants.ts';
import type { DataPlane } from '../../api/v1alpha1/schema.ts';
import { OPEN_GRANT, type AccessGrant } from '../../dataplane/access.ts';
import type { SecretLike } from '../../dataplane/credentials.ts';
import { globMatch } from './resourcepolicy.ts';
import { describeTenancy, expand, limitOf, type Tenancy } from './tenancy.ts';

/** DEFAULT_TUNNEL_HOSTS are the agent hosts an organization may route to when its policy names none. */
export const DEFAULT_TUNNEL_HOSTS: readonly string[] = ['{organization}', '{organization}.*'];

/** Access is what an organization's DataPlane may connect with, or why it may not. */
export type Access = { grant: AccessGrant } | { refused: string };

/**
 * dataPlaneAccess decides whether an organization may use a DataPlane and with what grant: its
 * place within the DataPlane limit, its credentials (an operator-marked Secret of an allowed
 * cluster, or inline credentials the policy allows), its tunnel host, then impersonation and
 * insecure TLS. `organizationDataPlanes` are the DataPlanes of its namespace (for the limit).
 */
export function dataPlaneAccess(
  tenancy: Tenancy,
  dp: DataPlane,
  secret: SecretLike | undefined,
  organizationDataPlanes: readonly DataPlane[],
): Access {
  if (tenancy.mode === 'single-tenant') return { grant: OPEN_GRANT };
  const where = `DataPlane ${dp.metadata.namespace}/${dp.metadata.name}`;
  if (tenancy.mode === 'conflict') return conflictRefusal(where, tenancy);
  const refused =
    dataPlaneLimitRefusal(tenancy, dp, organizationDataPlanes) ??
    credentialsRefusal(tenancy, dp, secret) ??
    tunnelRefusal(tenancy, dp);
  if (refused !== undefined) return { refused: `${where}: ${refused}` };
  const grant = accessGrant(tenancy);
  return 'refused' in grant ? { refused: `${where}: ${grant.refused}` } : { grant };
}

/**
 * clusterPlaneAccess decides whether an organization may use a ClusterDataPlane: the operator's
 * own plane, so its credentials and tunnel are not the organization's choice; a TenantPolicy's
 * `clusters` patterns, when set, name the ClusterDataPlanes its organizations may use.
 */
export function clusterPlaneAccess(tenancy: Tenancy, name: string): Access {
  if (tenancy.mode === 'single-tenant') return { grant: OPEN_GRANT };
  const where = `ClusterDataPlane ${name}`;
  if (tenancy.mode === 'conflict') return conflictRefusal(where, tenancy);
  const clusters = tenancy.mode === 'policy' ? tenancy.spec.clusters : undefined;
  if (clusters && !clusters.some((p) => globMatch(expand(p, tenancy.organization), name)))
    return {
      refused: `${where} is not among the clusters ${ruleOf(tenancy, 'clusters')} lets organization ${tenancy.organization} use`,
    };
  const grant = accessGrant(tenancy);
  return 'refused' in grant ? { refused: `${where}: ${grant.refused}` } : { grant };
}

/** conflictRefusal refuses every plane of an organization two TenantPolicies select. */
function conflictRefusal(where: string, tenancy: Tenancy): Access {
  return {
    refused: `${where} is not used: ${describeTenancy(tenancy)}; the platform operator must make only one of them select it (spec.organizations)`,
  };
}

/** ruleOf names a field of the organization's TenantPolicy, or the safe default when none governs it. */
function ruleOf(tenancy: Tenancy, field: string): string {
  return tenancy.mode === 'policy' ? `TenantPolicy ${tenancy.policy} (spec.${field})` : 'the safe default';
}

/**
 * dataPlaneLimitRefusal refuses a DataPlane beyond the organization's limit: the oldest
 * (creationTimestamp, then name) count first, so creating another never takes a working one away.
 */
export function dataPlaneLimitRefusal(
  tenancy: Tenancy,
  dp: DataPlane,
  organizationDataPlanes: readonly DataPlane[],
): string | undefined {
  const limit = limitOf(tenancy, 'dataPlanesPerOrganization');
  if (!limit) return undefined;
  const name = dp.metadata.name ?? '';
  const others = organizationDataPlanes.filter((d) => d.metadata.name !== name);
  const ordered = [...others, dp].sort(
    (a, b) =>
      (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? '') ||
      (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''),
  );
  const place = ordered.findIndex((d) => d.metadata.name === name);
  if (place < limit.limit) return undefined;
  return (
    `the organization has ${ordered.length} DataPlanes and ${limit.rule} allows ${limit.limit}; ` +
    `this one is beyond the limit (the oldest count first), so it is not used. Delete a DataPlane the organization no longer needs, or ask the platform operator to raise the limit`
  );
}

/**
 * credentialsRefusal refuses credentials the operator did not provide: a Secret without the
 * credentials label (or whose cluster the policy does not allow), or inline credentials unless the
 * policy allows them. A missing Secret is left to the connection, which says so.
 */
export function credentialsRefusal(
  tenancy: Tenancy,
  dp: DataPlane,
  secret: SecretLike | undefined,
): string | undefined {
  if (tenancy.mode === 'single-tenant' || tenancy.mode === 'conflict') return undefined;
  const spec = tenancy.mode === 'policy' ? tenancy.spec : undefined;
  // Through the cluster gateway (spec.clusterAgent) the controller holds no credentials of the plane.
  if (!dp.spec.kubernetesCluster) return undefined;
  const ref = dp.spec.kubernetesCluster.secretRef;
  if (!ref) {
    if (spec?.inlineCredentials === 'Allowed') return undefined;
    return (
      `spec.kubernetesCluster.credentials (inline credentials) are refused by ${ruleOf(tenancy, 'inlineCredentials')}: ` +
      `an organization reaches a data plane only with credentials the platform operator provides. Use spec.kubernetesCluster.secretRef ` +
      `naming a Secret the operator made and labelled ${TenancyKeys.dataPlaneCredentials}=<cluster>, or ask the operator to allow inline credentials (TenantPolicy spec.inlineCredentials: Allowed)`
    );
  }
  if (!secret) return undefined;
  const secretName = `Secret ${dp.metadata.namespace}/${ref.name}`;
  const cluster = secret.metadata.labels?.[TenancyKeys.dataPlaneCredentials];
  const label = (value: string) =>
    `kubectl label secret -n ${dp.metadata.namespace} ${ref.name} ${TenancyKeys.dataPlaneCredentials}=${value}`;
  if (cluster === undefined)
    return (
      `${secretName} (spec.kubernetesCluster.secretRef) is not marked as data-plane credentials, so the controller neither uses nor protects it (${describeTenancy(tenancy)}). ` +
      `If the platform operator made it for this organization, the operator marks it with the cluster's name: ${label('<cluster>')}`
    );
  if (cluster === '')
    return `${secretName} (spec.kubernetesCluster.secretRef) carries the label ${TenancyKeys.dataPlaneCredentials} without a cluster name; the platform operator must set it to the cluster's name: ${label('<cluster> --overwrite')}`;
  const clusters = spec?.clusters;
  if (clusters && !clusters.some((p) => globMatch(expand(p, tenancy.organization), cluster)))
    return (
      `${secretName} (spec.kubernetesCluster.secretRef) holds credentials of cluster ${cluster}, which ${ruleOf(tenancy, 'clusters')} does not let organization ${tenancy.organization} use. ` +
      `Use a DataPlane of an allowed cluster, or ask the platform operator to add the cluster to the policy`
    );
  return undefined;
}

/**
 * tunnelRefusal refuses a tunnel host the policy does not give the organization, so one
 * organization cannot route through another's agent (agents are named after organizations; default
 * `{organization}` and `{organization}.*`).
 */
export function tunnelRefusal(tenancy: Tenancy, dp: DataPlane): string | undefined {
  if (tenancy.mode === 'single-tenant' || tenancy.mode === 'conflict') return undefined;
  const host = dp.spec.kubernetesCluster?.tunnel?.host;
  if (host === undefined) return undefined;
  const org = tenancy.organization;
  const patterns = (tenancy.mode === 'policy' ? tenancy.spec.tunnelHosts : undefined) ?? DEFAULT_TUNNEL_HOSTS;
  if (patterns.some((p) => globMatch(expand(p, org), host))) return undefined;
  const rule =
    tenancy.mode === 'policy' && tenancy.spec.tunnelHosts
      ? ruleOf(tenancy, 'tunnelHosts')
      : `${ruleOf(tenancy, 'tunnelHosts')} (${org} or ${org}.*)`;
  return (
    `spec.kubernetesCluster.tunnel.host ${host} is not an agent of organization ${org} by ${rule}, so it is not used: ` +
    `an organization routes only to its own agents. Use the host of the agent the platform operator started for the organization`
  );
}

/**
 * accessGrant is what the organization's connections are granted: the TenantPolicy's
 * impersonation (with the organization placeholder expanded) and whether insecure TLS is allowed.
 */
export function accessGrant(tenancy: Tenancy): AccessGrant | { refused: string } {
  if (tenancy.mode !== 'policy' && tenancy.mode !== 'default') return OPEN_GRANT;
  const spec = tenancy.mode === 'policy' ? tenancy.spec : undefined;
  const insecureSkipTLSVerify: AccessGrant['insecureSkipTLSVerify'] =
    spec?.insecureSkipTLSVerify === 'Allowed'
      ? true
      : { refusedBy: ruleOf(tenancy, 'insecureSkipTLSVerify') };
  const impersonation = spec?.impersonation;
  if (!impersonation) return { insecureSkipTLSVerify };
  const org = tenancy.organization;
  const user = expand(impersonation.user, org);
  const groups = (impersonation.groups ?? []).map((g) => expand(g, org));
  if ([user, ...groups].some(headerUnsafe))
    return {
      refused: `${ruleOf(tenancy, 'impersonation')} names a user or group with control characters or surrounding spaces, which cannot be sent as an Impersonate header; the platform operator must correct the policy`,
    };
  return {
    insecureSkipTLSVerify,
    impersonate: { user, ...(groups.length > 0 ? { groups } : {}) },
  };
}

/** headerUnsafe tells whether an identity cannot go into a header unchanged (kube/kubeconfig.ts has the same rule for `as`). */
function headerUnsafe(value: string): boolean {
  if (value === '' || value.trim() !== value) return true;
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}
