/**
 * Resolve step: Release -> Environment (spec.environmentName) -> data plane (spec.dataPlaneRef) ->
 * the data-plane port of its cluster. The Environment is read in the Release's own namespace. Its
 * dataPlaneRef is upstream's `{kind: DataPlane|ClusterDataPlane, name}` or the earlier plain name of
 * a DataPlane; absent, a DataPlane named `default` in the namespace is used, then a ClusterDataPlane
 * named `default`. A DataPlane is always the Release's own namespace's, so a Release never reaches
 * another organization's DataPlane; a ClusterDataPlane is the platform operator's, shared by every
 * organization whose Environment names it (which organizations may is the tenancy policy's
 * business: see `planeAllowed`).
 */
import { Reasons } from '../../api/v1alpha1/constants.ts';
import { isRecord } from '../../api/object.ts';
import type { DataPlane, DataPlaneResourcePolicy, Environment, Release } from '../../api/v1alpha1/schema.ts';
import type { AccessGrant } from '../../dataplane/access.ts';
import { CredentialsError, type SecretLike } from '../../dataplane/credentials.ts';
import type { DataPlanePort } from '../../dataplane/port.ts';
import { clusterPlaneAccess, dataPlaneAccess } from './access.ts';
import type { ResolveFailure } from './status.ts';
import { SINGLE_TENANT, type Tenancy } from './tenancy.ts';

/** PlaneKinds are the kinds a data-plane reference may name. */
export const PlaneKinds = { dataPlane: 'DataPlane', clusterDataPlane: 'ClusterDataPlane' } as const;

/** DEFAULT_PLANE is the name of the plane used when an Environment names none. */
export const DEFAULT_PLANE = 'default';

/** PlaneRef names the data plane of an Environment. */
export interface PlaneRef {
  kind: (typeof PlaneKinds)[keyof typeof PlaneKinds];
  name: string;
}

/**
 * CLUSTER_REF_PREFIX starts the reference of a ClusterDataPlane in status.appliedTo and in the
 * pool's keys (`ClusterDataPlane/NAME`); a DataPlane's reference is its plain name, as before.
 */
export const CLUSTER_REF_PREFIX = `${PlaneKinds.clusterDataPlane}/`;

/** refString is how a plane reference is written in status.appliedTo: a name, or `ClusterDataPlane/NAME`. */
export function refString(ref: PlaneRef): string {
  return ref.kind === PlaneKinds.clusterDataPlane ? `${CLUSTER_REF_PREFIX}${ref.name}` : ref.name;
}

/** parseRefString reads a reference of status.appliedTo back. */
export function parseRefString(text: string): PlaneRef {
  return text.startsWith(CLUSTER_REF_PREFIX)
    ? { kind: PlaneKinds.clusterDataPlane, name: text.slice(CLUSTER_REF_PREFIX.length) }
    : { kind: PlaneKinds.dataPlane, name: text };
}

/**
 * declaredRef reads an Environment's spec.dataPlaneRef: a PlaneRef, undefined when absent or empty
 * (the `default` fallback applies), or a message saying what is wrong with it.
 */
export function declaredRef(environment: Environment): PlaneRef | undefined | { invalid: string } {
  const ref: unknown = environment.spec.dataPlaneRef;
  if (ref === undefined || ref === null || ref === '') return undefined;
  if (typeof ref === 'string') return { kind: PlaneKinds.dataPlane, name: ref };
  if (isRecord(ref)) {
    const { kind, name } = ref;
    if (
      (kind === PlaneKinds.dataPlane || kind === PlaneKinds.clusterDataPlane) &&
      typeof name === 'string' &&
      name
    ) {
      return { kind, name };
    }
    if (kind === undefined && name === undefined) return undefined;
  }
  return {
    invalid: `spec.dataPlaneRef of Environment ${environment.metadata.namespace}/${environment.metadata.name} must be {kind: DataPlane|ClusterDataPlane, name: NAME} or the name of a DataPlane`,
  };
}

/**
 * currentRef is the plane an Environment resolves to now (the default fallback applied), or
 * undefined when it names none that exists or names one wrongly.
 */
export function currentRef(
  environment: Environment,
  cp: Pick<ControlPlaneReader, 'dataPlane' | 'clusterDataPlane'>,
): PlaneRef | undefined {
  const declared = declaredRef(environment);
  if (declared && 'invalid' in declared) return undefined;
  if (declared) return declared;
  const ns = environment.metadata.namespace ?? '';
  if (cp.dataPlane(ns, DEFAULT_PLANE)) return { kind: PlaneKinds.dataPlane, name: DEFAULT_PLANE };
  if (cp.clusterDataPlane(DEFAULT_PLANE)) return { kind: PlaneKinds.clusterDataPlane, name: DEFAULT_PLANE };
  return undefined;
}

/** ControlPlaneReader reads the control-plane objects a Release depends on (from caches). */
export interface ControlPlaneReader {
  environment(namespace: string, name: string): Environment | undefined;
  dataPlane(namespace: string, name: string): DataPlane | undefined;
  /** clusterDataPlane returns a ClusterDataPlane (cluster-scoped, the platform operator's). */
  clusterDataPlane(name: string): DataPlane | undefined;
  /** secret returns a kubeconfig Secret, starting a watch on it when needed. */
  secret(namespace: string, name: string): Promise<SecretLike | undefined>;
  /** tenancy says how an organization (a namespace) is governed (tenancy.ts); single-tenant when absent. */
  tenancy?(namespace: string): Tenancy;
  /** dataPlanes lists the DataPlanes of a namespace (for the organization's DataPlane limit); none counted when absent. */
  dataPlanes?(namespace: string): DataPlane[];
}

/**
 * Connect returns the port of a DataPlane (cached; rebuilt when its spec, its Secret or the grant
 * changed). `grant` is what the organization's tenancy lets the connection do (access.ts).
 */
export type Connect = (
  dataPlane: DataPlane,
  secret: SecretLike | undefined,
  grant: AccessGrant,
) => Promise<DataPlanePort>;

/** Target is a resolved data plane. */
export interface Target {
  dataPlane: DataPlanePort;
  /** resourcePolicy is the DataPlane's spec.resourcePolicy: what its Releases may target. */
  resourcePolicy?: DataPlaneResourcePolicy;
  /** tenancy is how the Release's organization is governed (single-tenant when absent). */
  tenancy?: Tenancy;
  /**
   * deleting says the Environment or DataPlane resolved through is being deleted (it waits for
   * its Releases, protection.ts): the Release's PlaneDeleting condition.
   */
  deleting?: ResolveFailure;
}

/** DataPlaneResolver finds the data plane of a Release (injected, so tests can give their own). */
export interface DataPlaneResolver {
  /** resolve finds the data plane of a Release, or says exactly which link is missing. */
  resolve(release: Release): Promise<Target | ResolveFailure>;
  /**
   * dataPlane connects to a plane by its reference in status.appliedTo (a DataPlane name of the
   * namespace, or `ClusterDataPlane/NAME`), or says why not.
   */
  dataPlane(namespace: string, ref: string): Promise<Target | ResolveFailure>;
  /** get returns the port of a data plane by key, if one is connected. */
  get(key: string): DataPlanePort | undefined;
}

/** dataPlaneResolver resolves through control-plane caches and connects through `connect`. */
export function dataPlaneResolver(
  cp: ControlPlaneReader,
  connect: Connect,
  get: (key: string) => DataPlanePort | undefined,
): DataPlaneResolver {
  return {
    resolve: (release) => resolveTarget(release, cp, connect),
    dataPlane: (namespace, ref) =>
      connectPlane(namespace, parseRefString(ref), cp, connect, `status.appliedTo`),
    get,
  };
}

/** resolveTarget finds the data plane of a Release, or says exactly which link is missing. */
export async function resolveTarget(
  release: Release,
  cp: ControlPlaneReader,
  connect: Connect,
): Promise<Target | ResolveFailure> {
  const ns = release.metadata.namespace ?? '';
  const envName = release.spec.environmentName;
  const environment = cp.environment(ns, envName);
  if (!environment) {
    return {
      reason: Reasons.environmentNotFound,
      message: `Environment ${ns}/${envName} (spec.environmentName) not found; create it in namespace ${ns}`,
    };
  }
  const declared = declaredRef(environment);
  if (declared && 'invalid' in declared)
    return { reason: Reasons.dataPlaneNotFound, message: declared.invalid };
  const ref = currentRef(environment, cp);
  if (!ref) {
    return {
      reason: Reasons.dataPlaneNotFound,
      message: `Environment ${ns}/${envName} names no data plane (spec.dataPlaneRef), and neither a DataPlane ${ns}/${DEFAULT_PLANE} nor a ClusterDataPlane ${DEFAULT_PLANE} exists; set spec.dataPlaneRef or create one`,
    };
  }
  const target = await connectPlane(ns, ref, cp, connect, `spec.dataPlaneRef of Environment ${envName}`);
  if (isResolveFailure(target) || target.deleting || !environment.metadata.deletionTimestamp) return target;
  return {
    ...target,
    deleting: {
      reason: Reasons.environmentDeleting,
      message: `Environment ${ns}/${envName} is being deleted and waits until no Release names it: point spec.environmentName at another Environment, or delete this Release`,
    },
  };
}

/** connectPlane connects to a DataPlane of a namespace or a ClusterDataPlane; `via` says where its name came from, for the message. */
async function connectPlane(
  ns: string,
  ref: PlaneRef,
  cp: ControlPlaneReader,
  connect: Connect,
  via: string,
): Promise<Target | ResolveFailure> {
  const cluster = ref.kind === PlaneKinds.clusterDataPlane;
  const plane = cluster ? cp.clusterDataPlane(ref.name) : cp.dataPlane(ns, ref.name);
  if (!plane) {
    return {
      reason: Reasons.dataPlaneNotFound,
      message: cluster
        ? `ClusterDataPlane ${ref.name} (${via}) not found; the platform operator creates ClusterDataPlanes`
        : `DataPlane ${ns}/${ref.name} (${via}) not found; create it in namespace ${ns}`,
    };
  }
  const secretRef = plane.spec.kubernetesCluster?.secretRef;
  const tenancy = cp.tenancy?.(ns) ?? SINGLE_TENANT;
  try {
    if (cluster && secretRef) {
      // A cluster-scoped plane has no namespace of its own to hold the Secret in, and reading one
      // from an organization's namespace would let that organization choose the credentials.
      throw new CredentialsError(
        `ClusterDataPlane ${ref.name}: spec.kubernetesCluster.secretRef cannot be used on a cluster-scoped plane; use spec.clusterAgent or inline credentials`,
      );
    }
    const secret = secretRef ? await cp.secret(ns, secretRef.name) : undefined;
    // Before anything of the Secret is read: credentials, tunnel and limits are the operator's say.
    const access = cluster
      ? clusterPlaneAccess(tenancy, ref.name)
      : dataPlaneAccess(tenancy, plane, secret, cp.dataPlanes?.(ns) ?? []);
    if ('refused' in access) return { reason: Reasons.dataPlaneInvalid, message: access.refused };
    const port = await connect(plane, secret, access.grant);
    const { resourcePolicy } = plane.spec;
    const deleting = plane.metadata.deletionTimestamp && {
      reason: Reasons.dataPlaneDeleting,
      message: `${cluster ? `ClusterDataPlane ${ref.name}` : `DataPlane ${ns}/${ref.name}`} is being deleted and waits until no Release uses it: move this Release to an Environment of another data plane, or delete it`,
    };
    return {
      dataPlane: port,
      ...(resourcePolicy && { resourcePolicy }),
      tenancy,
      ...(deleting && { deleting }),
    };
  } catch (err) {
    if (err instanceof CredentialsError) return { reason: Reasons.dataPlaneInvalid, message: err.message };
    throw err;
  }
}

/** isResolveFailure narrows the result of resolveTarget. */
export function isResolveFailure(result: Target | ResolveFailure): result is ResolveFailure {
  return 'reason' in result;
}
