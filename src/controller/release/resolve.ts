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
import { profileOf } from '../../api/v1alpha1/profile.ts';
import type {
  DataPlane,
  DataPlaneResourcePolicy,
  Environment,
  ObservabilityPlane,
  Release,
} from '../../api/v1alpha1/schema.ts';
import type { AccessGrant } from '../../dataplane/access.ts';
import { CredentialsError, type SecretLike } from '../../dataplane/credentials.ts';
import type { DataPlanePort } from '../../dataplane/port.ts';
import { clusterPlaneAccess, dataPlaneAccess } from './access.ts';
import type { ResolveFailure } from './status.ts';
import { SINGLE_TENANT, type Tenancy } from './tenancy.ts';

/**
 * PlaneKinds are the kinds of plane a Release may be applied through: an Environment's data plane,
 * or (a RenderedRelease with targetPlane observabilityplane) that data plane's observability plane.
 */
export const PlaneKinds = {
  dataPlane: 'DataPlane',
  clusterDataPlane: 'ClusterDataPlane',
  observabilityPlane: 'ObservabilityPlane',
  clusterObservabilityPlane: 'ClusterObservabilityPlane',
} as const;

/** CLUSTER_PLANE_KINDS are the cluster-scoped plane kinds (the platform operator's, shared). */
const CLUSTER_PLANE_KINDS: ReadonlySet<string> = new Set([
  PlaneKinds.clusterDataPlane,
  PlaneKinds.clusterObservabilityPlane,
]);

/** PREFIXED_KINDS are the plane kinds whose reference carries its kind (all but DataPlane, as before). */
const PREFIXED_KINDS = [
  PlaneKinds.clusterDataPlane,
  PlaneKinds.observabilityPlane,
  PlaneKinds.clusterObservabilityPlane,
] as const;

/** DEFAULT_PLANE is the name of the plane used when an Environment names none. */
export const DEFAULT_PLANE = 'default';

/** PlaneRef names a plane: the data plane of an Environment, or an observability plane. */
export interface PlaneRef {
  kind: (typeof PlaneKinds)[keyof typeof PlaneKinds];
  name: string;
}

/** DataPlaneRef names the data plane of an Environment. */
export interface DataPlaneRef extends PlaneRef {
  kind: typeof PlaneKinds.dataPlane | typeof PlaneKinds.clusterDataPlane;
}

/**
 * CLUSTER_REF_PREFIX starts the reference of a ClusterDataPlane in status.appliedTo and in the
 * pool's keys (`ClusterDataPlane/NAME`); a DataPlane's reference is its plain name, as before.
 */
export const CLUSTER_REF_PREFIX = `${PlaneKinds.clusterDataPlane}/`;

/**
 * refString is how a plane reference is written in status.appliedTo: a DataPlane's name, else
 * `KIND/NAME` (`ClusterDataPlane/NAME`, `ObservabilityPlane/NAME` of the Release's namespace,
 * `ClusterObservabilityPlane/NAME`).
 */
export function refString(ref: PlaneRef): string {
  return ref.kind === PlaneKinds.dataPlane ? ref.name : `${ref.kind}/${ref.name}`;
}

/** parseRefString reads a reference of status.appliedTo back. */
export function parseRefString(text: string): PlaneRef {
  const kind = PREFIXED_KINDS.find((k) => text.startsWith(`${k}/`));
  return kind ? { kind, name: text.slice(kind.length + 1) } : { kind: PlaneKinds.dataPlane, name: text };
}

/** isClusterPlane tells whether a reference names a cluster-scoped plane. */
export function isClusterPlane(ref: PlaneRef): boolean {
  return CLUSTER_PLANE_KINDS.has(ref.kind);
}

/**
 * planeOfKey reads a pool key (dataplane/transport.ts planeKey) back: the reference status.appliedTo
 * writes for that plane, and the namespace of a namespaced plane.
 */
export function planeOfKey(key: string): { ref: PlaneRef; namespace?: string } {
  const cluster = [...CLUSTER_PLANE_KINDS].find((k) => key.startsWith(`${k}/`));
  if (cluster) return { ref: parseRefString(key) };
  const observability = key.startsWith(`${PlaneKinds.observabilityPlane}/`);
  const rest = observability ? key.slice(PlaneKinds.observabilityPlane.length + 1) : key;
  const slash = rest.indexOf('/');
  return {
    ref: {
      kind: observability ? PlaneKinds.observabilityPlane : PlaneKinds.dataPlane,
      name: rest.slice(slash + 1),
    },
    namespace: rest.slice(0, slash),
  };
}

/**
 * declaredRef reads an Environment's spec.dataPlaneRef: a PlaneRef, undefined when absent or empty
 * (the `default` fallback applies), or a message saying what is wrong with it.
 */
export function declaredRef(environment: Environment): DataPlaneRef | undefined | { invalid: string } {
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
): DataPlaneRef | undefined {
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
  /** observabilityPlane and clusterObservabilityPlane return observability planes; none when absent. */
  observabilityPlane?(namespace: string, name: string): ObservabilityPlane | undefined;
  clusterObservabilityPlane?(name: string): ObservabilityPlane | undefined;
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
  const via = `spec.dataPlaneRef of Environment ${envName}`;
  // An Environment being deleted waits for its Releases: each says so while its plane still answers.
  const environmentDeleting = (target: Target | ResolveFailure): Target | ResolveFailure =>
    isResolveFailure(target) || target.deleting || !environment.metadata.deletionTimestamp
      ? target
      : {
          ...target,
          deleting: {
            reason: Reasons.environmentDeleting,
            message: `Environment ${ns}/${envName} is being deleted and waits until no Release names it: point spec.environmentName at another Environment, or delete this Release`,
          },
        };
  if (profileOf(release).targetsObservabilityPlane(release)) {
    const dataPlane =
      ref.kind === PlaneKinds.clusterDataPlane ? cp.clusterDataPlane(ref.name) : cp.dataPlane(ns, ref.name);
    if (!dataPlane) return connectPlane(ns, ref, cp, connect, via);
    const observability = observabilityRef(ns, dataPlane, cp);
    if ('reason' in observability) return observability;
    return environmentDeleting(
      await connectPlane(
        ns,
        observability,
        cp,
        connect,
        `spec.observabilityPlaneRef of ${describePlane(ns, ref)}`,
      ),
    );
  }
  return environmentDeleting(await connectPlane(ns, ref, cp, connect, via));
}

/**
 * observabilityRef is the observability plane of a data plane: its spec.observabilityPlaneRef, or
 * absent an ObservabilityPlane `default` of the namespace, then a ClusterObservabilityPlane `default`
 * (upstream's resolution); or why there is none.
 */
export function observabilityRef(
  ns: string,
  dataPlane: DataPlane,
  cp: Pick<ControlPlaneReader, 'observabilityPlane' | 'clusterObservabilityPlane'>,
): PlaneRef | ResolveFailure {
  const declared = dataPlane.spec.observabilityPlaneRef;
  // The CRD admits only these two kinds; a cache filled some other way is not trusted.
  if (
    declared?.kind === PlaneKinds.observabilityPlane ||
    declared?.kind === PlaneKinds.clusterObservabilityPlane
  )
    return { kind: declared.kind, name: declared.name };
  if (cp.observabilityPlane?.(ns, DEFAULT_PLANE))
    return { kind: PlaneKinds.observabilityPlane, name: DEFAULT_PLANE };
  if (cp.clusterObservabilityPlane?.(DEFAULT_PLANE))
    return { kind: PlaneKinds.clusterObservabilityPlane, name: DEFAULT_PLANE };
  const where = describePlane(ns, {
    kind: dataPlane.metadata.namespace ? PlaneKinds.dataPlane : PlaneKinds.clusterDataPlane,
    name: dataPlane.metadata.name,
  });
  return {
    reason: Reasons.dataPlaneNotFound,
    message: `${where} names no observability plane (spec.observabilityPlaneRef), and neither an ObservabilityPlane ${ns}/${DEFAULT_PLANE} nor a ClusterObservabilityPlane ${DEFAULT_PLANE} exists; set spec.observabilityPlaneRef or create one`,
  };
}

/** planeOf reads the plane a reference names from the caches. */
function planeOf(
  ns: string,
  ref: PlaneRef,
  cp: ControlPlaneReader,
): DataPlane | ObservabilityPlane | undefined {
  switch (ref.kind) {
    case PlaneKinds.dataPlane:
      return cp.dataPlane(ns, ref.name);
    case PlaneKinds.clusterDataPlane:
      return cp.clusterDataPlane(ref.name);
    case PlaneKinds.observabilityPlane:
      return cp.observabilityPlane?.(ns, ref.name);
    case PlaneKinds.clusterObservabilityPlane:
      return cp.clusterObservabilityPlane?.(ref.name);
  }
}

/** describePlane names a plane as `Kind/namespace/name` (namespaced) or `Kind/name`. */
function describePlane(ns: string, ref: PlaneRef): string {
  return isClusterPlane(ref) ? `${ref.kind} ${ref.name}` : `${ref.kind} ${ns}/${ref.name}`;
}

/** connectPlane connects to a DataPlane of a namespace or a ClusterDataPlane; `via` says where its name came from, for the message. */
async function connectPlane(
  ns: string,
  ref: PlaneRef,
  cp: ControlPlaneReader,
  connect: Connect,
  via: string,
): Promise<Target | ResolveFailure> {
  const cluster = isClusterPlane(ref);
  const plane = planeOf(ns, ref, cp);
  if (!plane) {
    return {
      reason: Reasons.dataPlaneNotFound,
      message: cluster
        ? `${ref.kind} ${ref.name} (${via}) not found; the platform operator creates ${ref.kind}s`
        : `${ref.kind} ${ns}/${ref.name} (${via}) not found; create it in namespace ${ns}`,
    };
  }
  const secretRef = plane.spec.kubernetesCluster?.secretRef;
  const tenancy = cp.tenancy?.(ns) ?? SINGLE_TENANT;
  try {
    if (cluster && secretRef) {
      // A cluster-scoped plane has no namespace of its own to hold the Secret in, and reading one
      // from an organization's namespace would let that organization choose the credentials.
      throw new CredentialsError(
        `${ref.kind} ${ref.name}: spec.kubernetesCluster.secretRef cannot be used on a cluster-scoped plane; use spec.clusterAgent or inline credentials`,
      );
    }
    const secret = secretRef ? await cp.secret(ns, secretRef.name) : undefined;
    // Before anything of the Secret is read: credentials, tunnel and limits are the operator's say.
    const access = cluster
      ? clusterPlaneAccess(tenancy, ref.name)
      : dataPlaneAccess(tenancy, plane, secret, cp.dataPlanes?.(ns) ?? []);
    if ('refused' in access) return { reason: Reasons.dataPlaneInvalid, message: access.refused };
    const port = await connect(plane, secret, access.grant);
    const resourcePolicy = 'resourcePolicy' in plane.spec ? plane.spec.resourcePolicy : undefined;
    const deleting = plane.metadata.deletionTimestamp && {
      reason: Reasons.dataPlaneDeleting,
      message: `${describePlane(ns, ref)} is being deleted and waits until no Release uses it: move this Release to an Environment of another plane, or delete it`,
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
