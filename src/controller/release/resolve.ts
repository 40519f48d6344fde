/**
 * Resolve step: Release -> Environment (spec.environmentName) -> DataPlane (spec.dataPlaneRef) ->
 * the data-plane port of its cluster. Both lookups stay in the Release's own namespace, so a
 * Release can never reach another organization's data plane.
 */
import { Reasons } from '../../api/v1alpha1/constants.ts';
import type { DataPlane, DataPlaneResourcePolicy, Environment, Release } from '../../api/v1alpha1/schema.ts';
import type { AccessGrant } from '../../dataplane/access.ts';
import { CredentialsError, type SecretLike } from '../../dataplane/credentials.ts';
import type { DataPlanePort } from '../../dataplane/port.ts';
import { dataPlaneAccess } from './access.ts';
import type { ResolveFailure } from './status.ts';
import { SINGLE_TENANT, type Tenancy } from './tenancy.ts';

/** ControlPlaneReader reads the control-plane objects a Release depends on (from caches). */
export interface ControlPlaneReader {
  environment(namespace: string, name: string): Environment | undefined;
  dataPlane(namespace: string, name: string): DataPlane | undefined;
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
}

/** DataPlaneResolver finds the data plane of a Release (injected, so tests can give their own). */
export interface DataPlaneResolver {
  /** resolve finds the data plane of a Release, or says exactly which link is missing. */
  resolve(release: Release): Promise<Target | ResolveFailure>;
  /** dataPlane connects to a DataPlane by name (one the Release applied to before), or says why not. */
  dataPlane(namespace: string, name: string): Promise<Target | ResolveFailure>;
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
    dataPlane: (namespace, name) => connectDataPlane(namespace, name, cp, connect, `status.appliedTo`),
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
  return connectDataPlane(
    ns,
    environment.spec.dataPlaneRef,
    cp,
    connect,
    `spec.dataPlaneRef of Environment ${envName}`,
  );
}

/** connectDataPlane connects to a DataPlane of a namespace; `via` says where its name came from, for the message. */
async function connectDataPlane(
  ns: string,
  dpName: string,
  cp: ControlPlaneReader,
  connect: Connect,
  via: string,
): Promise<Target | ResolveFailure> {
  const dataPlane = cp.dataPlane(ns, dpName);
  if (!dataPlane) {
    return {
      reason: Reasons.dataPlaneNotFound,
      message: `DataPlane ${ns}/${dpName} (${via}) not found; create it in namespace ${ns}`,
    };
  }
  const ref = dataPlane.spec.kubernetesCluster.secretRef;
  const tenancy = cp.tenancy?.(ns) ?? SINGLE_TENANT;
  try {
    const secret = ref ? await cp.secret(ns, ref.name) : undefined;
    // Before anything of the Secret is read: credentials, tunnel and limits are the operator's say.
    const access = dataPlaneAccess(tenancy, dataPlane, secret, cp.dataPlanes?.(ns) ?? []);
    if ('refused' in access) return { reason: Reasons.dataPlaneInvalid, message: access.refused };
    const port = await connect(dataPlane, secret, access.grant);
    const { resourcePolicy } = dataPlane.spec;
    return resourcePolicy ? { dataPlane: port, resourcePolicy, tenancy } : { dataPlane: port, tenancy };
  } catch (err) {
    if (err instanceof CredentialsError) return { reason: Reasons.dataPlaneInvalid, message: err.message };
    throw err;
  }
}

/** isResolveFailure narrows the result of resolveTarget. */
export function isResolveFailure(result: Target | ResolveFailure): result is ResolveFailure {
  return 'reason' in result;
}
