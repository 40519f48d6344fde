/**
 * Resolve step: Release -> Environment (spec.environmentName) -> DataPlane (spec.dataPlaneRef) ->
 * the data-plane port of its cluster. Both lookups stay in the Release's own namespace, so a
 * Release can never reach another organization's data plane.
 */
import { Reasons } from '../../api/v1alpha1/constants.ts';
import type { DataPlane, DataPlaneResourcePolicy, Environment, Release } from '../../api/v1alpha1/schema.ts';
import { CredentialsError, type SecretLike } from '../../dataplane/credentials.ts';
import type { DataPlanePort } from '../../dataplane/port.ts';
import type { ResolveFailure } from './status.ts';

/** ControlPlaneReader reads the control-plane objects a Release depends on (from caches). */
export interface ControlPlaneReader {
  environment(namespace: string, name: string): Environment | undefined;
  dataPlane(namespace: string, name: string): DataPlane | undefined;
  /** secret returns a kubeconfig Secret, starting a watch on it when needed. */
  secret(namespace: string, name: string): Promise<SecretLike | undefined>;
}

/** Connect returns the port of a DataPlane (cached; rebuilt when its spec or Secret changed). */
export type Connect = (dataPlane: DataPlane, secret: SecretLike | undefined) => Promise<DataPlanePort>;

/** Target is a resolved data plane. */
export interface Target {
  dataPlane: DataPlanePort;
  /** resourcePolicy is the DataPlane's spec.resourcePolicy: what its Releases may target. */
  resourcePolicy?: DataPlaneResourcePolicy;
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
  const ref = dataPlane.spec.kubernetesCluster?.secretRef;
  try {
    const secret = ref ? await cp.secret(ns, ref.name) : undefined;
    const port = await connect(dataPlane, secret);
    const { resourcePolicy } = dataPlane.spec;
    return resourcePolicy ? { dataPlane: port, resourcePolicy } : { dataPlane: port };
  } catch (err) {
    if (err instanceof CredentialsError) return { reason: Reasons.dataPlaneInvalid, message: err.message };
    throw err;
  }
}

/** isResolveFailure narrows the result of resolveTarget. */
export function isResolveFailure(result: Target | ResolveFailure): result is ResolveFailure {
  return 'reason' in result;
}
