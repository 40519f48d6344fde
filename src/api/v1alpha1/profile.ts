/**
 * Kind profiles: one engine serves both `Release` (the specification) and `RenderedRelease`
 * (OpenChoreo as it runs today). A profile holds everything that differs between the two: the
 * names of the kind, the value of the managed-by label and the field managers, and the keys of the
 * tracking labels. Code that writes for a Release reads the profile of that Release (profileOf);
 * code that reads a data-plane object reads the profile from the object's own labels (trackingOf),
 * so an object of either kind is understood wherever it is met.
 */
import {
  CONTROLLER_NAME,
  FINALIZER,
  OBSPLANE_FINALIZER,
  Labels,
  NAMESPACE_FIELD_MANAGER,
  STATUS_FIELD_MANAGER,
} from './constants.ts';

/** ReleaseLike is what a profile reads of a Release of its kind (a RenderedRelease has targetPlane). */
export type ReleaseLike = { spec: { environmentName: string; targetPlane?: unknown } };

/** OBSERVABILITY_PLANE is the spec.targetPlane value of a RenderedRelease bound for the observability plane. */
const OBSERVABILITY_PLANE = 'observabilityplane';

/** FINALIZERS are every finalizer of ours a Release may carry; each is removed once cleanup is done. */
export const FINALIZERS: readonly string[] = [FINALIZER, OBSPLANE_FINALIZER];

/** KindProfile is what one served kind of the Release engine is called and how it marks what it applies. */
export interface KindProfile {
  /** kind, plural, singular and shortNames name the CRD and the API path. */
  readonly kind: string;
  readonly plural: string;
  readonly singular: string;
  readonly shortNames: readonly string[];
  /**
   * controllerName is the value of the managed-by and created-by labels, the field manager of
   * applied objects (load-bearing: changing it orphans fields) and the Event source.
   */
  readonly controllerName: string;
  /** statusFieldManager owns our status and finalizer writes on the control plane. */
  readonly statusFieldManager: string;
  /** namespaceFieldManager creates missing data-plane namespaces. */
  readonly namespaceFieldManager: string;
  /**
   * createsNamespaces tells whether the controller creates the missing namespaces of a Release's
   * objects (the specification's Release always; upstream's RenderedRelease only on the
   * observability plane, its data-plane namespaces come as Namespace objects in the set).
   */
  createsNamespaces(release: ReleaseLike): boolean;
  /** targetsObservabilityPlane tells whether a Release goes to its data plane's observability plane. */
  targetsObservabilityPlane(release: ReleaseLike): boolean;
  /** finalizer is the finalizer that holds a Release of this kind until its objects are gone. */
  finalizer(release: ReleaseLike): string;
  /** labels are the keys of the tracking labels on every applied object. */
  readonly labels: {
    readonly resourceId: string;
    readonly uid: string;
    readonly name: string;
    readonly namespace: string;
  };
}

/** RELEASE_PROFILE is `Release`, as the specification has it (and as this controller always served it). */
export const RELEASE_PROFILE: KindProfile = {
  kind: 'Release',
  plural: 'releases',
  singular: 'release',
  shortNames: ['rel'],
  controllerName: CONTROLLER_NAME,
  statusFieldManager: STATUS_FIELD_MANAGER,
  namespaceFieldManager: NAMESPACE_FIELD_MANAGER,
  createsNamespaces: () => true,
  targetsObservabilityPlane: () => false,
  finalizer: () => FINALIZER,
  labels: {
    resourceId: Labels.resourceId,
    uid: Labels.releaseUid,
    name: Labels.releaseName,
    namespace: Labels.releaseNamespace,
  },
};

/**
 * RENDERED_RELEASE_PROFILE is OpenChoreo's `RenderedRelease`: upstream's controller name, field
 * manager and labels, so objects upstream's controller applied are recognised (and kept) as ours.
 */
export const RENDERED_RELEASE_PROFILE: KindProfile = {
  kind: 'RenderedRelease',
  plural: 'renderedreleases',
  singular: 'renderedrelease',
  shortNames: ['rrel'],
  controllerName: 'renderedrelease-controller',
  statusFieldManager: 'renderedrelease-controller-status',
  namespaceFieldManager: 'renderedrelease-controller-namespaces',
  createsNamespaces: (release) => release.spec.targetPlane === OBSERVABILITY_PLANE,
  targetsObservabilityPlane: (release) => release.spec.targetPlane === OBSERVABILITY_PLANE,
  // Upstream's: an observability-plane release has its own finalizer (both are honoured).
  finalizer: (release) => (release.spec.targetPlane === OBSERVABILITY_PLANE ? OBSPLANE_FINALIZER : FINALIZER),
  labels: {
    resourceId: 'openchoreo.dev/rendered-release-resource-id',
    uid: 'openchoreo.dev/rendered-release-uid',
    name: 'openchoreo.dev/rendered-release-name',
    namespace: 'openchoreo.dev/rendered-release-namespace',
  },
};

/** PROFILES are every served kind of the engine, Release first. */
export const PROFILES: readonly KindProfile[] = [RELEASE_PROFILE, RENDERED_RELEASE_PROFILE];

/**
 * profileOf is the profile of a Release-like object by its `kind`. An object without a kind (a
 * unit test's literal, a list item some client stripped) is a Release, as it always was.
 */
export function profileOf(release: { kind?: string }): KindProfile {
  return PROFILES.find((p) => p.kind === release.kind) ?? RELEASE_PROFILE;
}

/** profileByPlural finds a profile by its plural (flags, paths); undefined for any other name. */
export function profileByPlural(plural: string): KindProfile | undefined {
  return PROFILES.find((p) => p.plural === plural);
}

/** Tracking is what a data-plane object's tracking labels say: which kind of Release, and which one. */
export interface Tracking {
  profile: KindProfile;
  resourceId: string;
  uid: string;
  name: string;
  namespace: string;
}

/** MANAGED_BY_VALUES are the managed-by label values of every profile. */
export const MANAGED_BY_VALUES: readonly string[] = PROFILES.map((p) => p.controllerName);

/** isOurManagedBy tells whether a managed-by label value is one of ours (any profile). */
export function isOurManagedBy(value: string | undefined): boolean {
  return value !== undefined && MANAGED_BY_VALUES.includes(value);
}

/**
 * trackingOf reads the tracking labels of a data-plane object: the profile whose managed-by value
 * it carries, else the first profile whose uid label it carries (a Namespace the controller made
 * has no managed-by label), else whose namespace label (every object carries the Release profile's,
 * desired.ts trackingLabels). Labels are how objects are found, never proof of ownership.
 */
export function trackingOf(obj: {
  metadata: { labels?: Record<string, string>; annotations?: Record<string, string> };
}): Tracking | undefined {
  const labels = obj.metadata.labels ?? {};
  const managedBy = labels[Labels.managedBy];
  const profile =
    PROFILES.find((p) => p.controllerName === managedBy) ??
    PROFILES.find((p) => labels[p.labels.uid] !== undefined) ??
    PROFILES.find((p) => labels[p.labels.namespace] !== undefined);
  if (!profile) return undefined;
  const keys = profile.labels;
  return {
    profile,
    resourceId: labels[keys.resourceId] ?? '',
    uid: labels[keys.uid] ?? '',
    // The full name is kept in an annotation of the same key when the label holds a shortened one.
    name: obj.metadata.annotations?.[keys.name] ?? labels[keys.name] ?? '',
    namespace: labels[keys.namespace] ?? '',
  };
}

/**
 * releaseKey is the work-queue key of a Release of a kind: `namespace/name` for a Release (as it
 * always was), `namespace/name/plural` for any other kind, so a Release and a RenderedRelease of
 * the same name are two keys. Everything that reads the namespace reads up to the first slash.
 */
export function releaseKey(profile: KindProfile, namespace: string, name: string): string {
  return profile === RELEASE_PROFILE ? `${namespace}/${name}` : `${namespace}/${name}/${profile.plural}`;
}

/** releaseKeyOf is the work-queue key of a Release-like object (releaseKey of its kind). */
export function releaseKeyOf(release: {
  kind?: string;
  metadata: { namespace?: string | undefined; name: string };
}): string {
  return releaseKey(profileOf(release), release.metadata.namespace ?? '', release.metadata.name);
}

/** parseReleaseKey reads a releaseKey back; an unknown kind segment reads as a Release. */
export function parseReleaseKey(key: string): { namespace: string; name: string; profile: KindProfile } {
  const [namespace = '', name = '', plural = ''] = key.split('/');
  return { namespace, name, profile: profileByPlural(plural) ?? RELEASE_PROFILE };
}
