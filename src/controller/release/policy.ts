/**
 * The Release's policy on a shared data plane: what it may write (ssa/apply.ts ApplyPolicy) and
 * how its objects leave (ssa/delete.ts). It never takes over an object another Release's labels
 * name (live or gone), nor one that someone else made, unless the object in the Release asks to
 * adopt it; what it adopts is recorded in the Release's status inventory (inventory.ts) with how
 * it leaves (given back, or deleted when the Release asked so), and marked on the object for
 * people to see; a Namespace that existed before, or that the controller created for a Release's
 * objects, is never deleted. Only objects the inventory proves are the Release's are removed. It
 * recreates an object whose immutable field changed only when the object asks for it and its kind
 * is safe to recreate, and creates missing namespaces labelled as the Release's. Each object's own
 * policy (openchoreo.dev/apply, ignore-fields, prune) is passed through as an apply option, and
 * objects it says to keep are given back instead of deleted (`retentionOf`).
 */
import type { KubeObject } from '../../api/object.ts';
import { describeRef } from '../../api/object.ts';
import { listWithMore, truncate } from '../../api/text.ts';
import {
  Annotations,
  ApplyModes,
  DriftModes,
  Labels,
  PruneModes,
  ReleaseApplyModes,
  TenancyKeys,
} from '../../api/v1alpha1/constants.ts';
import {
  isOurManagedBy,
  profileOf,
  RELEASE_PROFILE,
  trackingOf,
  type KindProfile,
} from '../../api/v1alpha1/profile.ts';
import type {
  DataPlaneResourcePolicy,
  Release,
  ReleaseStatus,
  Removal,
  ResourcePolicy,
} from '../../api/v1alpha1/schema.ts';
import { identityOf, type ManagedObject } from '../../dataplane/port.ts';
import type { ApplyPolicy, DriftMode, Existing, ObjectPolicy, Recreate } from '../../ssa/apply.ts';
import type { GiveBack, Retention } from '../../ssa/delete.ts';
import {
  desiredItems,
  releaseKeyOfObject,
  trackingLabels,
  type DesiredItem,
  type DesiredObject,
} from './desired.ts';
import { adoptedRemoval, Inventory, type Proof } from './inventory.ts';
import { admissionOf, adoptionForbidden, globMatch } from './resourcepolicy.ts';
import {
  admission,
  adoptionAllowed,
  describeTenancy,
  expand,
  isObservableBy,
  limitOf,
  namespaceAccess,
  ownerOf,
  ownershipMarks,
  SINGLE_TENANT,
  type OwnershipSeal,
  type Tenancy,
} from './tenancy.ts';

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

/** Adoptions collects, by spec id, the objects an apply pass takes over and how each is to leave. */
export type Adoptions = Map<string, { uid: string; removal: Removal }>;

/**
 * TenancyContext is what the operator lets the Release's organization do on this data plane
 * (tenancy.ts), with what checking it needs: the reserved namespaces, the ownership seal and the
 * cluster the seal is bound to.
 */
export interface TenancyContext {
  tenancy: Tenancy;
  reserved: readonly string[];
  sealer: OwnershipSeal;
  /** cluster identifies the data-plane cluster (DataPlanePort.clusterId). */
  cluster: string;
  /** observedByOthers is how many objects the organization's other Releases observe (for limits.observedPerOrganization). */
  observedByOthers?: number;
}

/**
 * releasePolicy is the apply policy of one Release on one data plane (`dataPlane` is its
 * `namespace/name`): the organization's tenancy (operator-owned; single-tenant without one),
 * narrowed by that DataPlane's resource policy, then the Release's own rules on ownership,
 * adoption and recreation. `inventory` is what the Release's status proves is its own (default:
 * its status); each object the pass takes over is told to `adoptions`, for the status inventory to
 * record once its apply succeeded. `items` are the Release's objects in spec order (for the limits).
 * `planAs` is the Release a preview previews (previewTarget): its objects are judged the preview's
 * own, as that Release would judge them; pass its inventory as `inventory` too.
 */
export function releasePolicy(
  release: Release,
  releaseExists: ReleaseExists,
  resourcePolicy?: DataPlaneResourcePolicy,
  dataPlane = '',
  inventory: Inventory = Inventory.of(release.status),
  adoptions?: Adoptions,
  tenancyContext?: TenancyContext,
  items: readonly DesiredObject[] = [],
  observeLimits?: ObserveLimits,
  planAs?: Release,
): ApplyPolicy<DesiredObject> {
  const forbidden = adoptionForbidden(resourcePolicy) ? dataPlane : undefined;
  const narrowing = admissionOf(resourcePolicy, dataPlane);
  const tenancy = tenancyContext?.tenancy ?? SINGLE_TENANT;
  const multi = tenancy.mode !== 'single-tenant';
  const organization = release.metadata.namespace ?? '';
  const overLimit = limitedItems(
    tenancy,
    items,
    tenancyContext?.observedByOthers ?? observeLimits?.observedByOthers ?? 0,
    observeLimits,
  );
  const admitTenancy = (item: DesiredObject, namespaced: boolean): string | undefined => {
    const isNamespace = item.group === '' && item.kind === 'Namespace';
    const why = admission(
      tenancy,
      { group: item.group, kind: item.kind, namespace: isNamespace ? item.name : item.namespace, namespaced },
      tenancyContext?.reserved ?? [],
    );
    if (!why) return undefined;
    const at = item.namespace ? `${item.namespace}/${item.name}` : item.name;
    return `resource "${item.id}": ${item.kind} ${at} is not allowed for organization ${organization}: ${why}; nothing was sent for it`;
  };
  const releaseUid = release.metadata.uid ?? '';
  const alsoOwn = planAs?.metadata.uid || undefined;
  return {
    admit: (item, namespaced) => narrowing?.(item) ?? admitTenancy(item, namespaced),
    // Limits refuse an object observed only, too: admission alone would still let it be observed.
    limit: (item) => overLimit.get(item),
    object: (item) => objectPolicyOf(item.policy),
    ...(multi &&
      tenancyContext && {
        namespaceCreation: (ns) => namespaceCreation(tenancy, ns),
        namespaceAccess: (ns, state) =>
          namespaceAccess(tenancy, ns, state, tenancyContext.cluster, tenancyContext.sealer),
        keep: (item, existing) => {
          if (!existing.foreign || !isNamespaceKind(item)) return undefined;
          if (adoptionAllowed(tenancy) && isAdoptionAsked(item)) return undefined;
          if (ownerOf(existing.foreign, tenancyContext.cluster, tenancyContext.sealer) !== organization)
            return undefined;
          return `resource "${item.id}": Namespace ${item.name} already belongs to organization ${organization}; it is left as it is (its labels and annotations are not the Release's to change)`;
        },
      }),
    observable: (item, object, writable) => {
      const ref = describeRef({ kind: item.kind, name: item.name, namespace: item.namespace || undefined });
      if (!multi) return undefined;
      if (!writable && !(object && isObservableBy(object, organization)))
        return (
          `resource "${item.id}": ${ref} may not be observed by organization ${organization}: it is outside what the organization may write, ` +
          `and nothing opts it in (label ${TenancyKeys.observablePrefix}${organization}: "true" on the object); nothing was copied`
        );
      const owner = object && releaseKeyOfObject(object);
      if (
        owner &&
        owner.uid !== releaseUid &&
        owner.uid !== alsoOwn &&
        releaseExists(owner.namespace, owner.name, owner.uid)
      )
        return `resource "${item.id}": ${ref} belongs to Release ${owner.namespace}/${owner.name}; another Release's object is never observed, nothing was copied`;
      return undefined;
    },
    guard: (item, found) => {
      const existing = asCached(found);
      return (
        ownershipConflict(
          release,
          item,
          existing.live,
          releaseExists,
          forbidden,
          multi ? tenancy : undefined,
          alsoOwn,
        ) ?? foreignConflict(item, existing.foreign, forbidden, undefined, multi ? tenancy : undefined)
      );
    },
    prepare: (item, info, found) => {
      const existing = asCached(found);
      const taken = takeoverOf(release, existing, alsoOwn);
      const uid = taken?.metadata.uid;
      if (uid)
        adoptions?.set(item.id, { uid, removal: adoptedRemoval(info, item.adopt === AdoptModes.delete) });
      const adopted =
        taken !== undefined || (existing.live && inventory.proofOf(existing.live)?.origin === 'Adopted');
      if (adopted) {
        // Another owner's metadata stays theirs: no owner references, no finalizers of the tenant's.
        const { ownerReferences: _refs, finalizers: _finalizers, ...metadata } = item.object.metadata;
        const annotations = { ...(metadata.annotations ?? {}), [Annotations.adopted]: 'true' };
        const object = { ...item.object, metadata: { ...metadata, annotations } };
        const hash = `${item.hash}+adopted`;
        // Taking an object over never overwrites its owner's values (outside single-tenant): the
        // first apply is without force, so what another manager owns stays theirs.
        return multi && taken ? { object, hash, force: false } : { object, hash };
      }
      if (multi && tenancyContext && isNamespaceKind(info) && !existing.foreign) {
        // A Namespace the Release creates (or created) is the organization's, sealed so nobody can forge it.
        const marks = ownershipMarks(tenancyContext.cluster, item.name, organization, tenancyContext.sealer);
        const metadata = item.object.metadata;
        return {
          object: {
            ...item.object,
            metadata: {
              ...metadata,
              labels: { ...withoutTenancyKeys(metadata.labels), ...marks.labels },
              annotations: { ...withoutTenancyKeys(metadata.annotations), ...marks.annotations },
            },
          },
          hash: `${item.hash}+sealed`,
        };
      }
      return { object: item.object, hash: item.hash };
    },
    recreate: (item, live) => recreateRule(item, inventory.proofOf(live)),
    // A kind that does not pre-create namespaces (a RenderedRelease on a data plane, as upstream)
    // has none: its objects need their Namespace in the set or on the plane.
    ...(profileOf(release).createsNamespaces(release) && {
      namespace: (name: string) => {
        const template = namespaceOf(release, name);
        if (!multi || !tenancyContext) return template;
        const marks = ownershipMarks(tenancyContext.cluster, name, organization, tenancyContext.sealer);
        return {
          ...template,
          metadata: {
            ...template.metadata,
            labels: { ...template.metadata.labels, ...marks.labels },
            annotations: marks.annotations,
          },
        };
      },
    }),
  };
}

/**
 * namespaceCreation says why an organization may not have a missing namespace created: under a
 * TenantPolicy that lists the namespaces it may use, only those (an organization must not squat
 * names meant for others). The safe default creates any namespace not reserved.
 */
function namespaceCreation(tenancy: Tenancy, namespace: string): string | undefined {
  if (tenancy.mode !== 'policy') return undefined;
  const allow = tenancy.spec.namespaces?.allow;
  if (!allow || allow.some((p) => globMatch(expand(p, tenancy.organization), namespace))) return undefined;
  return `namespace ${namespace} does not exist, and TenantPolicy ${tenancy.policy} (spec.namespaces.allow) does not let organization ${tenancy.organization} create it`;
}

/**
 * ObserveLimits are the operator's caps on observed objects (flags), which hold in every tenancy
 * mode; a TenantPolicy's limits only narrow them. Each names what raises it, for messages.
 */
export interface ObserveLimits {
  /** perRelease caps the objects one Release observes; 0 means unlimited. */
  perRelease: { limit: number; rule: string };
  /** perOrganization caps the objects all Releases of an organization observe; 0 means unlimited. */
  perOrganization: { limit: number; rule: string };
  /** observedByOthers is how many objects the organization's other Releases observe. */
  observedByOthers: number;
}

/** tightest is the smaller of a TenantPolicy limit and an operator cap (0: none), with its rule. */
function tightest(
  policy: { limit: number; rule: string } | undefined,
  cap: { limit: number; rule: string } | undefined,
): { limit: number; rule: string } | undefined {
  const operator = cap && cap.limit > 0 ? cap : undefined;
  if (!policy) return operator;
  if (!operator) return policy;
  return operator.limit < policy.limit ? operator : policy;
}

/** limitedItems are the objects beyond the TenantPolicy's limits, with why (the first ones in spec order are kept). */
function limitedItems(
  tenancy: Tenancy,
  items: readonly DesiredObject[],
  observedByOthers: number,
  caps?: ObserveLimits,
): Map<DesiredObject, string> {
  const over = new Map<DesiredObject, string>();
  const objects = limitOf(tenancy, 'objectsPerRelease');
  if (objects) {
    for (const item of items.slice(objects.limit))
      over.set(
        item,
        `resource "${item.id}": the Release lists ${items.length} objects, more than ${objects.rule} allows (${objects.limit}); nothing was sent for it`,
      );
  }
  const observed = tightest(limitOf(tenancy, 'observedPerRelease'), caps?.perRelease);
  if (observed) {
    const observing = items.filter((i) => i.policy?.apply === ApplyModes.observe);
    for (const item of observing.slice(observed.limit))
      if (!over.has(item))
        over.set(
          item,
          `resource "${item.id}": the Release observes ${observing.length} objects, more than ${observed.rule} allows (${observed.limit}); nothing was sent for it`,
        );
  }
  // The organization's other Releases came first: this one gets what is left of the limit.
  const shared = tightest(limitOf(tenancy, 'observedPerOrganization'), caps?.perOrganization);
  if (shared) {
    const left = Math.max(0, shared.limit - observedByOthers);
    const observing = items.filter((i) => i.policy?.apply === ApplyModes.observe);
    for (const item of observing.slice(left))
      if (!over.has(item))
        over.set(
          item,
          `resource "${item.id}": the organization's other Releases observe ${observedByOthers} objects, and ${shared.rule} allows ${shared.limit} in all; nothing was sent for it`,
        );
  }
  return over;
}

/** withoutTenancyKeys drops the tenancy label and annotation a tenant may have written itself. */
function withoutTenancyKeys(map: Record<string, string> | undefined): Record<string, string> {
  const rest = { ...(map ?? {}) };
  delete rest[TenancyKeys.organization];
  delete rest[TenancyKeys.organizationSeal];
  return rest;
}

/** isAdoptionAsked tells whether the object in the Release asks to adopt an existing one. */
function isAdoptionAsked(item: DesiredObject): boolean {
  return item.adopt === AdoptModes.giveBack || item.adopt === AdoptModes.delete;
}

/**
 * asCached judges an object read from the data plane that carries our managed-by label as if the
 * watch cache held it. A DataPlane's cache holds only its organization's objects
 * (dataplane/watches.ts managedSelector), so another organization's object, or one of ours whose
 * release-namespace label someone removed, is read as foreign: it must still meet the ownership
 * check (another live Release's object is never taken over) and, when it carries this Release's
 * uid label, be written as the Release's (the apply restores its labels), not adopted.
 */
function asCached(existing: Existing): Existing {
  const read = existing.foreign;
  return isOurManagedBy(read?.metadata.labels?.[Labels.managedBy]) ? { live: read } : existing;
}

/**
 * takeoverOf is the object an apply takes over from someone else: one found on the data plane
 * that no Release applied, or one that carries another Release's labels (or only our managed-by
 * label). An object carrying this Release's uid label is not a takeover: the Release applied it
 * (or someone labelled it so; the inventory then records it as Found, never to be deleted), nor one
 * carrying the uid `alsoOwn` of the Release a preview previews.
 */
function takeoverOf(release: Release, existing: Existing, alsoOwn?: string): KubeObject | undefined {
  if (existing.foreign) return existing.foreign;
  const live = existing.live;
  const uid = live && trackingOf(live)?.uid;
  if (!live || uid === release.metadata.uid || (alsoOwn !== undefined && uid === alsoOwn)) return undefined;
  return live;
}

/**
 * driftMode reads the Release's `openchoreo.dev/drift` annotation (case-insensitive): `Report`, or
 * `Correct` for anything else (the default, and today's behaviour).
 */
export function driftMode(release: Release): DriftMode {
  return release.metadata.annotations?.[Annotations.drift]?.toLowerCase() === DriftModes.report.toLowerCase()
    ? 'Report'
    : 'Correct';
}

/**
 * isPreview reads the Release's `openchoreo.dev/apply-mode` annotation: absent or `Apply` applies;
 * `DryRun`, and any value not understood, previews. A typo never applies for real what was meant
 * as a preview.
 */
export function isPreview(release: Release): boolean {
  const mode = release.metadata.annotations?.[Annotations.applyMode];
  return mode !== undefined && mode.toLowerCase() !== 'apply';
}

/**
 * isSuspended reads the Release's `openchoreo.dev/suspend` annotation: absent or `"false"` runs;
 * `"true"`, and any value not understood, suspends (a typo never writes what was meant to be held).
 */
export function isSuspended(release: Release): boolean {
  const value = release.metadata.annotations?.[Annotations.suspend];
  return value !== undefined && value.toLowerCase() !== 'false';
}

/**
 * writesNothing tells whether a pass only previews: apply mode DryRun, or suspended. Both send
 * server-side dry runs, prune nothing and report the plan; only their conditions differ.
 */
export function writesNothing(release: Release): boolean {
  return isPreview(release) || isSuspended(release);
}

/**
 * handledRequest is `status.lastHandledReconcileAt` for the Release's reconcile request
 * (annotation `openchoreo.dev/reconcile-requested-at`), bounded like the schema; nothing without one.
 */
export function handledRequest(release: Release): Pick<ReleaseStatus, 'lastHandledReconcileAt'> {
  const requested = release.metadata.annotations?.[Annotations.reconcileRequestedAt];
  return requested === undefined ? {} : { lastHandledReconcileAt: truncate(requested, 256) };
}

/**
 * reconcileRequested tells whether the Release asks for a pass it has not had yet (a new
 * `openchoreo.dev/reconcile-requested-at`): that pass also sends again what the data plane refused
 * as written (after a CRD's schema was fixed on the data plane, say).
 */
export function reconcileRequested(release: Release): boolean {
  const { lastHandledReconcileAt } = handledRequest(release);
  return (
    lastHandledReconcileAt !== undefined && lastHandledReconcileAt !== release.status?.lastHandledReconcileAt
  );
}

/** PreviewTarget is what annotation `openchoreo.dev/preview-of` resolves to: the previewed Release, or why not. */
export type PreviewTarget =
  { previewed?: Release; refusal?: undefined } | { previewed?: undefined; refusal: string };

/**
 * previewTarget resolves the Release's `openchoreo.dev/preview-of` annotation with `lookup` (a
 * Release of the same namespace and kind, by name). It is honoured only on a preview (apply mode
 * DryRun): on a Release that applies it is refused, since planning as another Release would write
 * that Release's labels. It names only the Release's own namespace, so a preview can never see
 * another organization's Release; a missing one, or the Release itself, is refused too.
 */
export function previewTarget(
  release: Release,
  lookup: (name: string) => Release | undefined,
): PreviewTarget {
  const name = release.metadata.annotations?.[Annotations.previewOf];
  if (name === undefined) return {};
  const self = `${release.kind ?? 'Release'} ${release.metadata.namespace ?? ''}/${release.metadata.name ?? ''}`;
  const quoted = truncate(name, 80);
  if (!isPreview(release))
    return {
      refusal:
        `${self}: annotation ${Annotations.previewOf} ("${quoted}") is honoured only on a preview; ` +
        `set annotation ${Annotations.applyMode}: ${ReleaseApplyModes.dryRun} or remove ${Annotations.previewOf}; nothing was sent to the data plane`,
    };
  if (name === release.metadata.name)
    return {
      refusal: `${self}: annotation ${Annotations.previewOf} names the Release itself; name the Release to preview, or remove the annotation; nothing was sent to the data plane`,
    };
  const previewed = name === '' ? undefined : lookup(name);
  if (!previewed?.metadata.uid)
    return {
      refusal:
        `${self}: annotation ${Annotations.previewOf} names ${release.kind ?? 'Release'} "${quoted}", which does not exist in namespace ${release.metadata.namespace ?? ''} ` +
        `(a preview names a Release of its own namespace and kind); fix the name; nothing was sent to the data plane`,
    };
  return { previewed };
}

/**
 * planningIdentity is the Release whose labels a preview's objects are planned with: the previewed
 * Release's name and uid on the preview's spec, so the plan shows what that Release would change,
 * not a relabelling. Used only to build the desired objects of a dry run, never to write.
 */
export function planningIdentity(release: Release, previewed: Release | undefined): Release {
  if (!previewed) return release;
  return {
    ...release,
    metadata: { ...release.metadata, name: previewed.metadata.name, uid: previewed.metadata.uid },
  };
}

/** objectPolicyOf turns an object's policy annotations into the apply library's object option. */
export function objectPolicyOf(policy: ResourcePolicy | undefined): ObjectPolicy | undefined {
  if (!policy?.apply && !policy?.ignoreFields) return undefined;
  return {
    ...(policy.apply && { write: policy.apply }),
    ...(policy.ignoreFields && { ignoreFields: policy.ignoreFields }),
  };
}

/** keepReason says why an object with this policy is never deleted, or undefined. */
function keepReason(policy: ResourcePolicy | undefined): string | undefined {
  if (policy?.prune === PruneModes.disabled) return `annotation ${Annotations.prune}: ${PruneModes.disabled}`;
  if (policy?.apply === ApplyModes.observe) return `annotation ${Annotations.apply}: ${ApplyModes.observe}`;
  return undefined;
}

/**
 * retentionOf is the removeAll option of a Release: an object whose policy says `prune: Disabled`
 * (or `apply: Observe`: never written, so never ours to delete) is kept and given back, so no later
 * Release takes it for its own. The policy comes from the Release alone (the annotations are not
 * on the data-plane object): the spec for the objects it still lists, and the last status
 * (`status.resources[].policy`) for those that left it.
 */
export function retentionOf(
  release: Release,
  items: () => readonly DesiredItem[] = () => desiredItems(release),
): (m: ManagedObject) => Retention | undefined {
  // Built on first use: most passes have nothing to remove and need none of it.
  let reasons: Map<string, string> | undefined;
  const build = (): Map<string, string> => {
    const map = new Map<string, string>();
    for (const r of release.status?.resources ?? []) {
      const reason = keepReason(r.policy);
      if (reason) map.set(identityOf(r.group, r.kind, r.namespace || undefined, r.name), reason);
    }
    for (const item of items()) {
      const reason = item.ok ? keepReason(item.policy) : undefined;
      if (reason) map.set(identityOf(item.group, item.kind, item.namespace || undefined, item.name), reason);
    }
    return map;
  };
  return (m) => {
    reasons ??= build();
    const { namespace, name = '' } = m.object.metadata;
    const reason = reasons.get(identityOf(m.info.group, m.info.kind, namespace, name));
    return reason ? { reason, giveBack: giveBackFor(m.object) } : undefined;
  };
}

/**
 * ownershipConflict says why an object carrying our managed-by label (so in the watch cache) must
 * not be written: another live Release owns it (never taken over); or its labels name a Release
 * that no longer exists (an object it left with deletion policy Orphan) or none at all (labels
 * anyone with patch can write): it is then foreign, and taken over only as foreignConflict allows
 * (the object in the Release asks to adopt it, and adoption is not forbidden). Only an object
 * carrying this Release's own uid label is written as the Release's; a preview passes the uid of
 * the Release it previews as `alsoOwn`, so that Release's objects are planned as its own.
 */
export function ownershipConflict(
  release: Release,
  item: DesiredObject,
  live: KubeObject | undefined,
  releaseExists: ReleaseExists,
  adoptionForbiddenBy?: string,
  tenancy?: Tenancy,
  alsoOwn?: string,
): string | undefined {
  const tracking = live && trackingOf(live);
  const uid = tracking?.uid || undefined;
  if (!live || (uid !== undefined && (uid === release.metadata.uid || uid === alsoOwn))) return undefined;
  const owner = releaseKeyOfObject(live);
  const ref = describeRef({ kind: item.kind, name: item.name, namespace: live.metadata.namespace });
  if (owner && releaseExists(owner.namespace, owner.name, owner.uid))
    return `resource "${item.id}": ${ref} belongs to Release ${owner.namespace}/${owner.name}; not taken over`;
  const whose = owner
    ? `carries the labels of Release ${owner.namespace}/${owner.name} (uid ${owner.uid || 'none'}), which no longer exists (it left the object behind with ${Annotations.deletionPolicy}: Orphan, or someone wrote those labels)`
    : uid
      ? `carries the ${tracking?.profile.labels.uid ?? Labels.releaseUid} label of another Release (${truncate(uid, 40)})`
      : `carries the ${Labels.managedBy} label but names no Release`;
  return foreignConflict(item, live, adoptionForbiddenBy, whose, tenancy);
}

/** AdoptMode is what a Release asks for an object it did not create: adopt it, and give it back or delete it when removed. */
export const AdoptModes = { giveBack: 'true', delete: 'delete' } as const;

/**
 * foreignConflict says why an object that exists on the data plane but was never applied by a
 * Release must not be written: taking it over (and later deleting it) needs the object in the
 * Release to ask for it. A Namespace is the exception: Releases routinely list the namespace they
 * deploy into, so an existing one is adopted (labelled, never deleted) without being asked. A
 * DataPlane whose resource policy forbids adoption (`adoptionForbiddenBy` names it) refuses every
 * adoption, asked for or not.
 */
export function foreignConflict(
  item: DesiredObject,
  foreign: KubeObject | undefined,
  adoptionForbiddenBy?: string,
  whose?: string,
  tenancy?: Tenancy,
): string | undefined {
  // Single-tenant: a Namespace the Release lists is adopted (labelled, never deleted) unasked,
  // unless its DataPlane forbids adoption: that covers Namespaces too.
  if (!foreign || (isNamespaceKind(item) && !tenancy && adoptionForbiddenBy === undefined)) return undefined;
  const asked = item.adopt;
  const ref = describeRef({ kind: item.kind, name: item.name, namespace: foreign.metadata.namespace });
  const managers = [...new Set((foreign.metadata.managedFields ?? []).map((m) => m.manager ?? 'unknown'))];
  const by = managers.length > 0 ? `managed by ${listWithMore(managers, 3)}` : 'no field manager recorded';
  const what = `${ref} ${whose ? `already exists on the data plane and ${whose}` : 'already exists on the data plane and was not created by a Release'} (${by})`;
  if (adoptionForbiddenBy !== undefined) {
    return (
      `resource "${item.id}": ${what}; not taken over: ` +
      `DataPlane ${adoptionForbiddenBy} forbids adoption (spec.resourcePolicy.adoption: Forbidden). Rename the object in the Release, or remove the existing one`
    );
  }
  if (tenancy && !adoptionAllowed(tenancy)) {
    return (
      `resource "${item.id}": ${what}; not taken over: ` +
      `adoption is not allowed (${describeTenancy(tenancy)}; a TenantPolicy grants it with spec.adoption: Allowed). Rename the object in the Release, or remove the existing one`
    );
  }
  if (asked === AdoptModes.giveBack || asked === AdoptModes.delete) return undefined;
  const invalid =
    asked === undefined
      ? ''
      : ` (annotation ${Annotations.adopt} is "${truncate(asked, 40)}"; it must be "${AdoptModes.giveBack}" or "${AdoptModes.delete}")`;
  return (
    `resource "${item.id}": ${what}; not taken over${invalid}. ` +
    `To adopt it, set annotation ${Annotations.adopt}: "${AdoptModes.giveBack}" on the object in the Release (given back when removed) or "${AdoptModes.delete}" (deleted when removed)`
  );
}

/** giveBackOfProfile is what giving back an object of a kind's Release takes off it. */
function giveBackOfProfile(profile: KindProfile): GiveBack {
  return {
    fieldManager: profile.controllerName,
    // Every label of ours but created-by, which keeps marking a namespace created for a Release.
    labels: Object.values(Labels)
      .filter((l) => l !== Labels.createdBy)
      .map((l) => RELEASE_LABEL_ROLES.get(l)?.(profile) ?? l),
    // The adopted mark, and the full Release name kept in an annotation when it is too long for a label.
    annotations: [Annotations.adopted, profile.labels.name],
  };
}

/** RELEASE_LABEL_ROLES maps each tracking label key of Labels to the same label of another profile. */
const RELEASE_LABEL_ROLES: ReadonlyMap<string, (p: KindProfile) => string> = new Map(
  (Object.keys(RELEASE_PROFILE.labels) as Array<keyof KindProfile['labels']>).map((role) => [
    RELEASE_PROFILE.labels[role],
    (p: KindProfile) => p.labels[role],
  ]),
);

/** GIVE_BACK is what giving an object of a Release back takes off it. */
export const GIVE_BACK: GiveBack = giveBackOfProfile(RELEASE_PROFILE);

/** giveBackFor is what giving back a live object takes off it: by the kind of Release its labels name. */
export function giveBackFor(live: KubeObject): GiveBack {
  const profile = trackingOf(live)?.profile;
  return profile && profile !== RELEASE_PROFILE ? giveBackOfProfile(profile) : GIVE_BACK;
}

/**
 * giveBackOf is the removeAll option of a Release's objects: how each leaves, as the inventory
 * recorded it when the object became the Release's, never as the live object says.
 */
export function giveBackOf(inventory: Inventory): (m: ManagedObject) => GiveBack | undefined {
  return (m) => (inventory.proofOf(m.object)?.removal === 'GiveBack' ? giveBackFor(m.object) : undefined);
}

/** ownedBy is the removeAll option that lets only the objects the inventory proves be removed. */
export function ownedBy(inventory: Inventory): (m: ManagedObject) => boolean {
  return (m) => inventory.proofOf(m.object) !== undefined;
}

function isNamespaceKind(kind: { group: string; kind: string }): boolean {
  return kind.group === '' && kind.kind === 'Namespace';
}

/**
 * recreateRule allows a recreate when the object asks for it, its kind cannot lose data by it, and
 * the live object is provably the Release's to delete (`proof`, from the inventory: created by it,
 * or adopted to be deleted).
 */
export function recreateRule(item: DesiredObject, proof?: Proof): Recreate {
  const asked = item.object.metadata.annotations?.[Annotations.recreateOnImmutable] === 'true';
  if (proof?.removal !== 'Delete') {
    const why = proof
      ? `it was ${proof.origin === 'Found' ? "found carrying the Release's labels, not created by it" : 'adopted, to be given back'}`
      : "its uid is not in the Release's status inventory";
    return {
      allowed: false,
      hint: `the controller never deletes an object it cannot prove is the Release's to delete (${why}); delete it yourself or change its name`,
    };
  }
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
  const profile = profileOf(release);
  const {
    [Labels.managedBy]: _managedBy,
    [profile.labels.resourceId]: _id,
    ...tracking
  } = trackingLabels(release, '');
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: {
      name,
      labels: {
        [Labels.createdBy]: profile.controllerName,
        ...tracking,
        [Labels.environment]: release.spec.environmentName,
        [Labels.project]: release.spec.owner.projectName,
      },
    },
  };
}
