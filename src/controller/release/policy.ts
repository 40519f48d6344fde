/**
 * The Release's apply policy (ssa/apply.ts ApplyPolicy): what a Release may write on a shared data
 * plane. It never takes over an object another live Release owns, marks a Namespace that existed
 * before the Release applied it (so neither prune nor cleanup ever deletes it), recreates an
 * object whose immutable field changed only when the object asks for it and its kind is safe to
 * recreate, and creates missing namespaces labelled as the Release's.
 */
import type { KubeObject } from '../../api/object.ts';
import { describeRef } from '../../api/object.ts';
import { Annotations, CONTROLLER_NAME, Labels } from '../../api/v1alpha1/constants.ts';
import type { Release } from '../../api/v1alpha1/schema.ts';
import { NAMESPACE_KIND, type DataPlanePort } from '../../dataplane/port.ts';
import type { ResourceInfo } from '../../kube/discovery.ts';
import type { ApplyPolicy, Recreate } from '../../ssa/apply.ts';
import { releaseKeyOfObject, trackingLabels, type DesiredObject } from './desired.ts';

/** RECREATABLE_KINDS may be deleted and recreated when an immutable field changes and the object asks for it. */
export const RECREATABLE_KINDS = new Set([
  'Job',
  'Service',
  'Deployment',
  'StatefulSet',
  'DaemonSet',
  'ReplicaSet',
  'ConfigMap',
  'Secret',
  'PodDisruptionBudget',
  'RoleBinding',
  'ClusterRoleBinding',
  'Pod',
]);

/** ReleaseExists tells whether a Release with this uid still exists. */
export type ReleaseExists = (namespace: string, name: string, uid: string) => boolean;

/** releasePolicy is the apply policy of one Release on one data plane. */
export function releasePolicy(
  release: Release,
  dataPlane: DataPlanePort,
  releaseExists: ReleaseExists,
): ApplyPolicy<DesiredObject> {
  return {
    guard: (item, live) => ownershipConflict(release, item, live, releaseExists),
    prepare: async (item, info, live, signal) => {
      if (!(await wasAdopted(release, dataPlane, item, info, live, signal)))
        return { object: item.object, hash: item.hash };
      const annotations = { ...(item.object.metadata.annotations ?? {}), [Annotations.adopted]: 'true' };
      return {
        object: { ...item.object, metadata: { ...item.object.metadata, annotations } },
        hash: `${item.hash}+adopted`,
      };
    },
    recreate: recreateRule,
    namespace: (name) => namespaceOf(release, name),
  };
}

/** ownershipConflict says why an object owned by another live Release must not be written. */
export function ownershipConflict(
  release: Release,
  item: DesiredObject,
  live: KubeObject | undefined,
  releaseExists: ReleaseExists,
): string | undefined {
  const owner = live ? releaseKeyOfObject(live) : undefined;
  if (!owner || owner.uid === release.metadata.uid || !releaseExists(owner.namespace, owner.name, owner.uid))
    return undefined;
  const ref = describeRef({ kind: item.kind, name: item.name, namespace: live?.metadata.namespace });
  return `resource "${item.id}": ${ref} belongs to Release ${owner.namespace}/${owner.name}; not taken over`;
}

/**
 * wasAdopted tells whether a Namespace existed before this Release applied it. Only Namespaces
 * are marked: deleting one deletes everything in it, which may belong to other teams.
 */
async function wasAdopted(
  release: Release,
  dataPlane: DataPlanePort,
  item: DesiredObject,
  info: ResourceInfo,
  live: KubeObject | undefined,
  signal: AbortSignal,
): Promise<boolean> {
  if (info.group !== '' || info.kind !== 'Namespace') return false;
  if (live) return live.metadata.annotations?.[Annotations.adopted] === 'true';
  // The cache holds only our objects: a Namespace someone else made is seen only by reading it.
  const existing = await dataPlane.read(NAMESPACE_KIND, undefined, item.name, signal);
  return existing !== undefined && existing.metadata.labels?.[Labels.releaseUid] !== release.metadata.uid;
}

/** recreateRule allows a recreate when the object asks for it and its kind cannot lose data by it. */
export function recreateRule(item: DesiredObject): Recreate {
  const asked = item.object.metadata.annotations?.[Annotations.recreateOnImmutable] === 'true';
  if (!RECREATABLE_KINDS.has(item.kind)) {
    return {
      allowed: false,
      hint: `${item.kind} is never recreated automatically (it could lose data); delete it yourself or change its name`,
    };
  }
  return {
    allowed: asked,
    hint: `set annotation ${Annotations.recreateOnImmutable}: "true" on the object to let the controller delete and recreate it, or change its name`,
  };
}

/** namespaceOf is the Namespace the controller creates for a Release's objects when it is missing. */
export function namespaceOf(release: Release, name: string): KubeObject {
  const tracking = trackingLabels(release, '');
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: {
      name,
      labels: {
        [Labels.createdBy]: CONTROLLER_NAME,
        [Labels.releaseName]: tracking[Labels.releaseName] ?? '',
        [Labels.releaseNamespace]: tracking[Labels.releaseNamespace] ?? '',
        [Labels.releaseUid]: tracking[Labels.releaseUid] ?? '',
        [Labels.environment]: release.spec.environmentName,
        [Labels.project]: release.spec.owner.projectName,
      },
    },
  };
}
