/**
 * Tenancy: which TenantPolicy governs an organization (a namespace of the control plane), and what
 * it lets the organization do on a data plane. Pure: the caller gives the policies, the
 * organization namespace's labels and the live Namespace objects of the data plane.
 *
 * Three modes (docs/tenancy.md):
 * - `single-tenant` (the operator's --single-tenant switch): every organization is trusted as the
 *   platform itself, as before tenancy existed; only a DataPlane's own resourcePolicy narrows.
 * - `policy`: exactly one TenantPolicy selects the organization, and its rules apply.
 * - `default`: no TenantPolicy selects it: namespaced objects only in namespaces the organization
 *   owns (created for it by the controller), Namespaces, nothing else cluster-scoped, no adoption.
 * Two policies selecting one organization is `conflict`: everything is refused until the operator
 * settles it, since neither can be trusted to be the one meant.
 *
 * Ownership of a data-plane namespace is a label naming the organization plus a seal: a keyed hash
 * (HMAC-SHA256 with the operator's ownership key) of the cluster, the namespace and the
 * organization. Nobody without the key can forge it, so relabelling a namespace on the data plane
 * cannot hand it to another organization; stripping it makes the namespace nobody's (refused to
 * all), never someone else's.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { KubeObject } from '../../api/object.ts';
import { ORGANIZATION_PLACEHOLDER, TenancyKeys } from '../../api/v1alpha1/constants.ts';
import type { LabelSelector, TenantPolicy, TenantPolicySpec } from '../../api/v1alpha1/tenancy.ts';
import type { NamespaceState } from '../../ssa/apply.ts';
import { globMatch, matchesKind } from './resourcepolicy.ts';

/** Tenancy is how one organization is governed. */
export type Tenancy =
  | { mode: 'single-tenant' }
  | { mode: 'default'; organization: string }
  | { mode: 'policy'; organization: string; policy: string; spec: TenantPolicySpec }
  | { mode: 'conflict'; organization: string; policies: string[] };

/** SINGLE_TENANT is the tenancy of every organization under --single-tenant. */
export const SINGLE_TENANT: Tenancy = { mode: 'single-tenant' };

/** selectsOrganization tells whether a TenantPolicy governs an organization with these namespace labels. */
export function selectsOrganization(
  spec: TenantPolicySpec,
  organization: string,
  labels: Record<string, string> | undefined,
): boolean {
  const { names, namespaceSelector } = spec.organizations;
  if (names?.includes(organization)) return true;
  return namespaceSelector !== undefined && matchesSelector(namespaceSelector, labels ?? {});
}

/** matchesSelector evaluates a metav1.LabelSelector; an empty one matches everything. */
export function matchesSelector(selector: LabelSelector, labels: Record<string, string>): boolean {
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (labels[key] !== value) return false;
  }
  for (const e of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, e.key);
    const value = labels[e.key];
    const inValues = has && value !== undefined && (e.values ?? []).includes(value);
    if (e.operator === 'In' && !inValues) return false;
    if (e.operator === 'NotIn' && inValues) return false;
    if (e.operator === 'Exists' && !has) return false;
    if (e.operator === 'DoesNotExist' && has) return false;
  }
  return true;
}

/** tenancyOf finds how an organization is governed, from every TenantPolicy and its namespace's labels. */
export function tenancyOf(
  organization: string,
  labels: Record<string, string> | undefined,
  policies: readonly TenantPolicy[],
): Tenancy {
  const governing = policies
    .filter((p) => selectsOrganization(p.spec, organization, labels))
    .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
  const [only] = governing;
  if (!only) return { mode: 'default', organization };
  if (governing.length > 1)
    return { mode: 'conflict', organization, policies: governing.map((p) => p.metadata.name) };
  return { mode: 'policy', organization, policy: only.metadata.name, spec: only.spec };
}

/** describeTenancy names what governs an organization, for messages. */
export function describeTenancy(tenancy: Tenancy): string {
  switch (tenancy.mode) {
    case 'single-tenant':
      return 'the controller runs --single-tenant';
    case 'default':
      return `no TenantPolicy selects organization ${tenancy.organization}, so the safe default applies`;
    case 'policy':
      return `TenantPolicy ${tenancy.policy}`;
    case 'conflict':
      return `TenantPolicies ${tenancy.policies.join(', ')} all select organization ${tenancy.organization}`;
  }
}

/** expand replaces the organization placeholder in a pattern or identity. */
export function expand(pattern: string, organization: string): string {
  return pattern.split(ORGANIZATION_PLACEHOLDER).join(organization);
}

/** Target is what one object would touch: its kind and, for namespaced objects and Namespaces, a namespace. */
export interface Target {
  group: string;
  kind: string;
  /** namespace is the object's namespace, or a Namespace's own name; "" for other cluster-scoped objects. */
  namespace: string;
  namespaced: boolean;
}

/**
 * admission says why an organization may not write an object of this kind into this namespace at
 * all (the rules that need no data-plane state), or undefined. Namespace ownership is checked
 * later, against the live Namespace (namespaceAccess).
 */
export function admission(tenancy: Tenancy, target: Target, reserved: readonly string[]): string | undefined {
  if (tenancy.mode === 'single-tenant') return undefined;
  if (tenancy.mode === 'conflict')
    return `${describeTenancy(tenancy)}; the platform operator must make only one of them select it (spec.organizations)`;
  const org = tenancy.organization;
  const spec = tenancy.mode === 'policy' ? tenancy.spec : undefined;
  const rule = (field: string) =>
    spec
      ? `TenantPolicy ${tenancy.mode === 'policy' ? tenancy.policy : ''} (spec.${field})`
      : 'the safe default';
  const kindName = `${target.group === '' ? 'core' : target.group}/${target.kind}`;
  const kinds = spec?.kinds;
  if (kinds) {
    const denied = kinds.deny?.find((p) => matchesKind(expand(p, org), target.group, target.kind));
    if (denied !== undefined) return `kind ${kindName} is denied by ${rule('kinds.deny')}`;
    if (kinds.allow && !kinds.allow.some((p) => matchesKind(expand(p, org), target.group, target.kind)))
      return `kind ${kindName} is not in ${rule('kinds.allow')}`;
  }
  const isNamespace = target.group === '' && target.kind === 'Namespace';
  if (!target.namespaced && !isNamespace) {
    const allowed = (spec?.clusterScopedKinds ?? []).some((p) =>
      matchesKind(expand(p, org), target.group, target.kind),
    );
    if (!allowed)
      return `cluster-scoped kind ${kindName} is not allowed by ${rule('clusterScopedKinds')}: an organization may create Namespaces and namespaced objects only, unless the operator lists the kind`;
    return undefined;
  }
  const ns = target.namespace;
  const namespaces = spec?.namespaces;
  const denied = namespaces?.deny?.find((p) => globMatch(expand(p, org), ns));
  if (denied !== undefined) return `namespace ${ns} is denied by ${rule('namespaces.deny')}`;
  // A reserved namespace needs the operator to name it exactly: a pattern such as "*" never grants it.
  const isReserved = reserved.some((p) => globMatch(p, ns));
  if (isReserved && !(namespaces?.allow ?? []).some((p) => expand(p, org) === ns))
    return `namespace ${ns} is reserved (--reserved-namespaces); only a TenantPolicy that names it in spec.namespaces.allow grants it`;
  return undefined;
}

/** OwnershipSeal computes and checks namespace ownership seals with the operator's key. */
export interface OwnershipSeal {
  /** seal is the seal of a namespace of a cluster for an organization. */
  seal(cluster: string, namespace: string, organization: string): string;
}

/** hmacSeal seals with HMAC-SHA256 under a key (the ownership key Secret). */
export function hmacSeal(key: Buffer): OwnershipSeal {
  return {
    seal: (cluster, namespace, organization) =>
      createHmac('sha256', key)
        .update(`release-controller/namespace-owner/v1\n${cluster}\n${namespace}\n${organization}`)
        .digest('base64url'),
  };
}

/** ownerOf reads which organization a live Namespace belongs to: one whose seal checks out, or undefined. */
export function ownerOf(live: KubeObject, cluster: string, sealer: OwnershipSeal): string | undefined {
  const organization = live.metadata.labels?.[TenancyKeys.organization];
  const seal = live.metadata.annotations?.[TenancyKeys.organizationSeal];
  if (!organization || !seal) return undefined;
  const expected = sealer.seal(cluster, live.metadata.name ?? '', organization);
  const given = Buffer.from(seal);
  const wanted = Buffer.from(expected);
  return given.length === wanted.length && timingSafeEqual(given, wanted) ? organization : undefined;
}

/** ownershipMarks are the label and annotation that make a namespace the organization's. */
export function ownershipMarks(
  cluster: string,
  namespace: string,
  organization: string,
  sealer: OwnershipSeal,
): { labels: Record<string, string>; annotations: Record<string, string> } {
  return {
    labels: { [TenancyKeys.organization]: organization },
    annotations: { [TenancyKeys.organizationSeal]: sealer.seal(cluster, namespace, organization) },
  };
}

/**
 * namespaceAccess says why an organization may not write into a namespace as the data plane has
 * it, or undefined: one it owns, or has just been created for it, is fine; one another
 * organization owns never is; one nobody owns only when the operator's policy names it.
 */
export function namespaceAccess(
  tenancy: Tenancy,
  namespace: string,
  state: NamespaceState,
  cluster: string,
  sealer: OwnershipSeal,
): string | undefined {
  if (tenancy.mode === 'single-tenant' || state.created || !state.live) return undefined;
  if (tenancy.mode === 'conflict')
    return admission(tenancy, { group: '', kind: 'Namespace', namespace, namespaced: false }, []);
  const org = tenancy.organization;
  const owner = ownerOf(state.live, cluster, sealer);
  if (owner === org) return undefined;
  if (owner !== undefined)
    return `namespace ${namespace} belongs to another organization on this data plane; choose another namespace`;
  const granted =
    tenancy.mode === 'policy' &&
    (tenancy.spec.namespaces?.allow ?? []).some((p) => globMatch(expand(p, org), namespace));
  if (granted) return undefined;
  return (
    `namespace ${namespace} already exists on the data plane and was not created for organization ${org}, ` +
    `so it is not the organization's to write into (${describeTenancy(tenancy)}). Use a new namespace (the controller creates it), ` +
    `or ask the platform operator to grant this one in a TenantPolicy (spec.namespaces.allow)`
  );
}

/** adoptionAllowed tells whether the organization may adopt objects it did not create. */
export function adoptionAllowed(tenancy: Tenancy): boolean {
  if (tenancy.mode === 'single-tenant') return true;
  return tenancy.mode === 'policy' && tenancy.spec.adoption === 'Allowed';
}

/** isObservableBy tells whether a data-plane object opts in to being observed by an organization. */
export function isObservableBy(object: KubeObject, organization: string): boolean {
  return object.metadata.labels?.[`${TenancyKeys.observablePrefix}${organization}`] === 'true';
}

/** limitOf reads one of a policy's limits (undefined: unlimited). */
export function limitOf(
  tenancy: Tenancy,
  name: keyof NonNullable<TenantPolicySpec['limits']>,
): { limit: number; rule: string } | undefined {
  if (tenancy.mode !== 'policy') return undefined;
  const limit = tenancy.spec.limits?.[name];
  return limit === undefined
    ? undefined
    : { limit, rule: `TenantPolicy ${tenancy.policy} (spec.limits.${name})` };
}
