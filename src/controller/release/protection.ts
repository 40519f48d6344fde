/**
 * In-use protection: while a Release resolves through an Environment, a DataPlane or a DataPlane's
 * kubeconfig Secret, that object carries the finalizer `openchoreo.dev/in-use-by-releases`, as
 * Kubernetes protects a PersistentVolumeClaim a Pod uses. Deleting an organization's namespace then
 * deletes everything in it at once, but what the Releases' cleanup needs to reach their data plane
 * stays readable (Terminating) until the last Release of the namespace is gone; only then does the
 * finalizer come off. A DataPlane is needed by a Release while it is its current one (through its
 * Environment) or one it still has objects on (status.appliedTo).
 *
 * One reconcile per namespace: the Releases of a namespace are compared with what carries the
 * finalizer there. The Environments and DataPlanes come from the caches; Secrets are not cached
 * (only the one a DataPlane names is watched), so the protected ones carry a label to be listed by.
 *
 * Outside single-tenant mode a Secret is protected only if the platform operator marked it as
 * data-plane credentials (access.ts): a tenant naming any other Secret of its namespace in a
 * DataPlane gets neither the Secret used nor our finalizer and label put on it.
 */
import type { KubeObject } from '../../api/object.ts';
import { IN_USE_FINALIZER, TenancyKeys } from '../../api/v1alpha1/constants.ts';
import type { DataPlane, Environment, Release } from '../../api/v1alpha1/schema.ts';
import { SINGLE_TENANT, type Tenancy } from './tenancy.ts';
import { placementsOf } from './placement.ts';
import { declaredRef, DEFAULT_PLANE, parseRefString, PlaneKinds } from './resolve.ts';

/** ProtectedKind is a kind of control-plane object a Release resolves through. */
export type ProtectedKind = 'Environment' | 'DataPlane' | 'Secret';

/** ProtectionLookup reads Environments and DataPlanes (from caches). */
export interface ProtectionLookup {
  environment(namespace: string, name: string): Environment | undefined;
  dataPlane(namespace: string, name: string): DataPlane | undefined;
}

/** protectionKey names an object of a namespace: `Kind/name`. */
export function protectionKey(kind: ProtectedKind, name: string): string {
  return `${kind}/${name}`;
}

/**
 * dependenciesOf lists what a Release resolves through, as protection keys of its own namespace:
 * its Environment, the DataPlane it names, every DataPlane it still has objects on, and the
 * kubeconfig Secret of each of those DataPlanes.
 */
export function dependenciesOf(release: Release, lookup: ProtectionLookup): string[] {
  const ns = release.metadata.namespace ?? '';
  const keys = [protectionKey('Environment', release.spec.environmentName)];
  const dataPlanes = new Set(placementsOf(release).map((p) => p.dataPlane));
  const env = lookup.environment(ns, release.spec.environmentName);
  const declared = env && declaredRef(env);
  // Only the organization's own DataPlanes are protected here; a ClusterDataPlane is the operator's.
  if (declared && !('invalid' in declared) && declared.kind === PlaneKinds.dataPlane)
    dataPlanes.add(declared.name);
  else if (env && declared === undefined && lookup.dataPlane(ns, DEFAULT_PLANE))
    dataPlanes.add(DEFAULT_PLANE);
  for (const name of [...dataPlanes].sort()) {
    // Only the organization's DataPlanes (observability planes and cluster-scoped planes are not protected).
    if (parseRefString(name).kind !== PlaneKinds.dataPlane) continue;
    keys.push(protectionKey('DataPlane', name));
    const secret = lookup.dataPlane(ns, name)?.spec.kubernetesCluster?.secretRef?.name;
    if (secret) keys.push(protectionKey('Secret', secret));
  }
  return keys;
}

/**
 * coveredByOthers tells whether everything `release` resolves through is needed by another
 * Release of its namespace as well. Then its arrival or its departure changes nothing the
 * namespace's protection keeps, and the namespace need not be reconciled (for its Secrets, a list
 * on the API server): deleting a thousand Releases of one organization reconciles it once, for the
 * last. It stops at the first Releases that cover it all.
 */
export function coveredByOthers(
  release: Release,
  releases: Iterable<Release>,
  lookup: ProtectionLookup,
): boolean {
  const uncovered = new Set(dependenciesOf(release, lookup));
  for (const r of releases) {
    if (r.metadata.namespace !== release.metadata.namespace || r.metadata.uid === release.metadata.uid)
      continue;
    for (const key of dependenciesOf(r, lookup)) uncovered.delete(key);
    if (uncovered.size === 0) return true;
  }
  return false;
}

/**
 * protectionInputsChanged tells whether an update of an Environment or a DataPlane changed what
 * protection reads of it: its spec (the DataPlane it names, the Secret it names), its finalizers or
 * its deletion. A status write (the plane controller's count of users, on every Release created or
 * deleted) changes none of them and needs no protection reconcile.
 */
export function protectionInputsChanged(
  old: KubeObject & { spec?: unknown },
  now: KubeObject & { spec?: unknown },
): boolean {
  return (
    old.metadata.deletionTimestamp !== now.metadata.deletionTimestamp ||
    JSON.stringify(old.metadata.finalizers) !== JSON.stringify(now.metadata.finalizers) ||
    JSON.stringify(old.spec) !== JSON.stringify(now.spec)
  );
}

/** neededIn is every protection key the Releases of one namespace resolve through. */
export function neededIn(
  namespace: string,
  releases: Iterable<Release>,
  lookup: ProtectionLookup,
): Set<string> {
  const needed = new Set<string>();
  for (const r of releases) {
    if (r.metadata.namespace !== namespace) continue;
    for (const key of dependenciesOf(r, lookup)) needed.add(key);
  }
  return needed;
}

/** Protectable is an object that may carry the finalizer. */
export interface Protectable {
  kind: ProtectedKind;
  object: KubeObject;
}

/** ProtectionChange is one finalizer to add (`protect`) or remove. */
export interface ProtectionChange extends Protectable {
  protect: boolean;
}

/**
 * isProtectable tells whether an object may carry our finalizer: any Environment or DataPlane, and
 * a Secret only in single-tenant mode or when the operator marked it as data-plane credentials.
 */
export function isProtectable(p: Protectable, tenancy: Tenancy): boolean {
  if (p.kind !== 'Secret' || tenancy.mode === 'single-tenant') return true;
  return Boolean(p.object.metadata.labels?.[TenancyKeys.dataPlaneCredentials]);
}

/**
 * protectionChanges compares what is needed with what carries the finalizer. No finalizer is added
 * to an object already being deleted (the API server refuses it, and it is too late to protect),
 * nor to a Secret the organization's tenancy does not let it use (isProtectable).
 */
export function protectionChanges(
  objects: Protectable[],
  needed: ReadonlySet<string>,
  tenancy: Tenancy = SINGLE_TENANT,
): ProtectionChange[] {
  const changes: ProtectionChange[] = [];
  for (const p of objects) {
    const has = p.object.metadata.finalizers?.includes(IN_USE_FINALIZER) ?? false;
    const want = needed.has(protectionKey(p.kind, p.object.metadata.name ?? '')) && isProtectable(p, tenancy);
    if (want && !has && !p.object.metadata.deletionTimestamp) changes.push({ ...p, protect: true });
    else if (!want && has) changes.push({ ...p, protect: false });
  }
  return changes;
}

/** ProtectionStore reads and writes the protected objects of a namespace on the control plane. */
export interface ProtectionStore {
  /** protectedSecrets lists the Secrets of a namespace that carry our protection label. */
  protectedSecrets(namespace: string, signal: AbortSignal): Promise<KubeObject[]>;
  /** secret reads one Secret (metadata is enough), or undefined when it does not exist. */
  secret(namespace: string, name: string, signal: AbortSignal): Promise<KubeObject | undefined>;
  /** setProtection adds or removes the finalizer, failing on a stale copy. */
  setProtection(change: ProtectionChange, signal: AbortSignal): Promise<void>;
}

/** ProtectionContext is what one reconcile of a namespace's protection needs. */
export interface ProtectionContext {
  namespace: string;
  releases: Iterable<Release>;
  environments: Iterable<Environment>;
  dataPlanes: Iterable<DataPlane>;
  lookup: ProtectionLookup;
  store: ProtectionStore;
  signal: AbortSignal;
  /** tenancy is how the namespace's organization is governed; single-tenant when absent. */
  tenancy?: Tenancy;
}

/** reconcileProtection brings the finalizers of one namespace in line with its Releases, and returns the changes made. */
export async function reconcileProtection(ctx: ProtectionContext): Promise<ProtectionChange[]> {
  const { namespace, store, signal } = ctx;
  const needed = neededIn(namespace, ctx.releases, ctx.lookup);
  const inNamespace = <T extends KubeObject>(objects: Iterable<T>) =>
    [...objects].filter((o) => o.metadata.namespace === namespace);
  const objects: Protectable[] = [
    ...inNamespace(ctx.environments).map((object) => ({ kind: 'Environment' as const, object })),
    ...inNamespace(ctx.dataPlanes).map((object) => ({ kind: 'DataPlane' as const, object })),
  ];
  const secrets = new Map((await store.protectedSecrets(namespace, signal)).map((s) => [s.metadata.name, s]));
  for (const key of needed) {
    const [kind, name = ''] = splitKey(key);
    if (kind !== 'Secret' || secrets.has(name)) continue;
    const secret = await store.secret(namespace, name, signal);
    if (secret) secrets.set(name, secret);
  }
  for (const object of secrets.values()) objects.push({ kind: 'Secret', object });
  const changes = protectionChanges(objects, needed, ctx.tenancy);
  for (const change of changes) await store.setProtection(change, signal);
  return changes;
}

function splitKey(key: string): [string, string | undefined] {
  const i = key.indexOf('/');
  return [key.slice(0, i), key.slice(i + 1)];
}
