/**
 * Which kinds a Release needs watched on its data plane: those of its spec and of its last
 * inventory (status.resources and status.pendingRemovals: to find objects left behind by an
 * earlier spec), and, after a reconcile, those it
 * still wants or still has objects of. Watches nobody needs are stopped by the data plane.
 */
import type { GroupVersionKind } from '../../api/object.ts';
import type { Release } from '../../api/v1alpha1/schema.ts';
import { KindNotServedError, type ResourceInfo } from '../../kube/discovery.ts';
import type { DataPlaneInventory, DataPlaneObjects } from '../../dataplane/port.ts';
import type { ItemOutcome } from './apply.ts';
import { desiredItems, type DesiredItem } from './desired.ts';

/**
 * kindsToWatch resolves the kinds of a Release's spec items and inventory that the data plane
 * serves. A kind that is not served cannot have objects and is skipped. Any other failure to
 * resolve (discovery unreachable) is skipped too unless `strict`: then it throws, because cleanup
 * must never conclude "nothing left" from a kind it could not look at.
 */
export async function kindsToWatch(
  dataPlane: DataPlaneObjects,
  release: Release,
  items: DesiredItem[] = desiredItems(release),
  strict = false,
): Promise<ResourceInfo[]> {
  const gvks: GroupVersionKind[] = [
    ...items.filter((i) => i.ok).map((i) => ({ group: i.group, version: i.version, kind: i.kind })),
    ...(release.status?.resources ?? []).map((r) => ({ group: r.group, version: r.version, kind: r.kind })),
    ...(release.status?.pendingRemovals ?? []).map((r) => ({
      group: r.group,
      version: r.version,
      kind: r.kind,
    })),
  ];
  // A kind that is not served (yet) cannot be watched; the apply step reports it per item.
  const skip = (err: unknown): undefined => {
    if (strict && !(err instanceof KindNotServedError)) throw err;
    return undefined;
  };
  const infos = await Promise.all(gvks.map((g) => dataPlane.resolveKind(g).catch(skip)));
  return infos.filter((i): i is ResourceInfo => i !== undefined);
}

/** kindsInUse are the watched kinds a Release wants, or still has objects of. */
export function kindsInUse(
  dataPlane: DataPlaneInventory,
  outcomes: ItemOutcome[],
  releaseUid: string,
): ResourceInfo[] {
  const wanted = new Set(outcomes.filter((o) => o.item.ok).map((o) => `${o.item.group}/${o.item.kind}`));
  for (const m of dataPlane.objectsOf(releaseUid)) wanted.add(`${m.info.group}/${m.info.kind}`);
  return dataPlane.watchedKinds().filter((info) => wanted.has(`${info.group}/${info.kind}`));
}
