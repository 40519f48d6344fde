/**
 * Resolve step: Release -> Environment (spec.environmentName) -> DataPlane (spec.dataPlaneRef) ->
 * a connection to its cluster. Both lookups stay in the Release's own namespace, so a Release can
 * never reach another organization's data plane.
 */
import { Reasons } from '../../api/v1alpha1/constants.ts';
import type { DataPlane, Environment, Release } from '../../api/v1alpha1/schema.ts';
import { CredentialsError, type SecretLike } from '../../dataplane/credentials.ts';
import type { DataPlaneConnection, DataPlanePool } from '../../dataplane/pool.ts';
import type { ResolveFailure } from './status.ts';

/** ControlPlaneReader reads the control-plane objects a Release depends on (from caches). */
export interface ControlPlaneReader {
  environment(namespace: string, name: string): Environment | undefined;
  dataPlane(namespace: string, name: string): DataPlane | undefined;
  /** secret returns a kubeconfig Secret, starting a watch on it when needed. */
  secret(namespace: string, name: string): Promise<SecretLike | undefined>;
}

/** Target is a resolved data plane. */
export interface Target {
  environment: Environment;
  dataPlane: DataPlane;
  conn: DataPlaneConnection;
}

/** resolveTarget finds the data plane of a Release, or says exactly which link is missing. */
export async function resolveTarget(
  release: Release,
  cp: ControlPlaneReader,
  pool: DataPlanePool,
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
  const dpName = environment.spec.dataPlaneRef;
  const dataPlane = cp.dataPlane(ns, dpName);
  if (!dataPlane) {
    return {
      reason: Reasons.dataPlaneNotFound,
      message: `DataPlane ${ns}/${dpName} (spec.dataPlaneRef of Environment ${envName}) not found; create it in namespace ${ns}`,
    };
  }
  const ref = dataPlane.spec.kubernetesCluster.secretRef;
  try {
    const secret = ref ? await cp.secret(ns, ref.name) : undefined;
    const conn = await pool.connect(dataPlane, secret);
    return { environment, dataPlane, conn };
  } catch (err) {
    if (err instanceof CredentialsError) return { reason: Reasons.dataPlaneInvalid, message: err.message };
    throw err;
  }
}

/** isResolveFailure narrows the result of resolveTarget. */
export function isResolveFailure(result: Target | ResolveFailure): result is ResolveFailure {
  return 'reason' in result;
}
