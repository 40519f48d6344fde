/** GROUP is the API group of Release, Environment and DataPlane. */
export const GROUP = 'openchoreo.dev';
/** VERSION is the served and stored API version. */
export const VERSION = 'v1alpha1';
/** API_VERSION is `group/version` as written in `apiVersion`. */
export const API_VERSION = `${GROUP}/${VERSION}`;

/** FINALIZER holds a Release until its data-plane objects are gone. */
export const FINALIZER = 'openchoreo.dev/dataplane-cleanup';
/** OBSPLANE_FINALIZER holds a RenderedRelease bound for the observability plane until its objects there are gone (upstream's). */
export const OBSPLANE_FINALIZER = 'openchoreo.dev/obsplane-cleanup';

/** IN_USE_FINALIZER holds an Environment, DataPlane or kubeconfig Secret while a Release resolves through it. */
export const IN_USE_FINALIZER = 'openchoreo.dev/in-use-by-releases';
/** IN_USE_LABEL marks a control-plane Secret that carries IN_USE_FINALIZER, so it can be found again. */
export const IN_USE_LABEL = 'openchoreo.dev/in-use-by-releases';

/** FIELD_MANAGER owns every field we apply on data planes. Load-bearing: changing it orphans fields. */
export const FIELD_MANAGER = 'release-controller';
/** STATUS_FIELD_MANAGER owns our writes to Release status and finalizers on the control plane. */
export const STATUS_FIELD_MANAGER = 'release-controller-status';
/** NAMESPACE_FIELD_MANAGER creates missing data-plane namespaces; distinct from FIELD_MANAGER so an applied Namespace never shares its fields. */
export const NAMESPACE_FIELD_MANAGER = 'release-controller-namespaces';

/** CONTROLLER_NAME is the value of the managed-by and created-by labels, and the Event source. */
export const CONTROLLER_NAME = 'release-controller';

/** Labels names every label key the controller writes on data-plane objects. */
export const Labels = {
  managedBy: 'openchoreo.dev/managed-by',
  resourceId: 'openchoreo.dev/release-resource-id',
  releaseUid: 'openchoreo.dev/release-uid',
  releaseName: 'openchoreo.dev/release-name',
  releaseNamespace: 'openchoreo.dev/release-namespace',
  createdBy: 'openchoreo.dev/created-by',
  environment: 'openchoreo.dev/environment',
  project: 'openchoreo.dev/project',
} as const;

/**
 * TenancyKeys names the labels and annotations of tenancy (docs/tenancy.md). They are apart from
 * `Labels`, which a Release's objects carry and give-back removes: an organization keeps owning a
 * namespace after the Release that created it is gone.
 */
export const TenancyKeys = {
  /** organization on a data-plane Namespace the controller created: the organization that owns it. */
  organization: 'openchoreo.dev/organization',
  /** organizationSeal on that Namespace: the controller's keyed hash of cluster, namespace and organization (unforgeable). */
  organizationSeal: 'openchoreo.dev/organization-seal',
  /** dataPlaneCredentials on a control-plane Secret: the operator marks it as data-plane credentials; the value names the cluster. */
  dataPlaneCredentials: 'openchoreo.dev/data-plane-credentials',
  /** observablePrefix + organization, as a label key set to "true" on a data-plane object, lets that organization observe it. */
  observablePrefix: 'observable.openchoreo.dev/',
} as const;

/**
 * Annotations names every annotation key the controller reads or writes. (A Release's
 * `openchoreo.dev/display-name` and `openchoreo.dev/description` are for people and tools; the
 * controller does not read them.)
 */
export const Annotations = {
  /** deletionPolicy on a Release: `Delete` (default) or `Orphan`. */
  deletionPolicy: 'openchoreo.dev/deletion-policy',
  /** recreateOnImmutableChange on a resource object: `"true"` lets the controller delete and recreate it. */
  recreateOnImmutable: 'openchoreo.dev/recreate-on-immutable-change',
  /**
   * adopt on a resource object in a Release: `"true"` lets the Release take over an existing object
   * it did not create and give it back when removed; `"delete"` deletes it when removed instead.
   * Read from the Release only (recorded in its status inventory at adoption), never sent.
   */
  adopt: 'openchoreo.dev/adopt',
  /**
   * adopted, written by the controller on an object its Release adopted, for people to see; never
   * read for a decision (anyone with patch can write it): the Release's status inventory decides.
   */
  adopted: 'openchoreo.dev/adopted',
  /** apply on a resource object: `CreateOnly` (create when missing, never update) or `Observe` (never write, only observe). */
  apply: 'openchoreo.dev/apply',
  /** ignoreFields on a resource object: comma-separated JSON pointers left out of what is applied (not owned, not drift). */
  ignoreFields: 'openchoreo.dev/ignore-fields',
  /** prune on a resource object: `Disabled` keeps the object (given back) when it leaves the spec or the Release is deleted. */
  prune: 'openchoreo.dev/prune',
  /** drift on a Release: `Correct` (default) re-applies what someone else changed; `Report` only reports it. */
  drift: 'openchoreo.dev/drift',
  /** applyMode on a Release: `DryRun` runs server-side dry-run applies and reports a plan instead of applying. */
  applyMode: 'openchoreo.dev/apply-mode',
  /**
   * previewOf on a Release in apply mode DryRun: the name of the Release of the same namespace and
   * kind it previews. Its plan is then made as that Release's would be (that Release's objects are
   * judged its own, never a Conflict), and nothing of that Release's is ever recorded or removed.
   */
  previewOf: 'openchoreo.dev/preview-of',
  /**
   * restartedAt on a Release (OpenChoreo's restart): copied into the pod template annotations of
   * every apps/Deployment the Release applies, so a new value rolls the pods.
   */
  restartedAt: 'openchoreo.dev/restartedAt',
  /**
   * suspend on a Release: `"true"` (any value but `"false"`) holds it: nothing is written or pruned
   * on the data plane, each pass only previews (health, drift and what a resume would apply as
   * `plan`), and the conditions say Suspended. Any client can set it (`kubectl release suspend`).
   */
  suspend: 'openchoreo.dev/suspend',
  /**
   * reconcileRequestedAt on a Release (as Flux's `reconcile.fluxcd.io/requestedAt`): a new value
   * asks for a pass now; the pass copies it into `status.lastHandledReconcileAt`.
   */
  reconcileRequestedAt: 'openchoreo.dev/reconcile-requested-at',
  /**
   * placement on a Release, written by the controller in the same write as its finalizer, before
   * the first apply on a cluster: the (DataPlane, cluster) entries status.appliedTo does not hold
   * yet, as JSON. Cleanup reads it together with status.appliedTo, so a crash between that write and
   * the status write never leaves objects nobody looks for.
   */
  placement: 'openchoreo.dev/placement',
} as const;

/** ApplyModes are the values of the `openchoreo.dev/apply` annotation on a resource object. */
export const ApplyModes = { createOnly: 'CreateOnly', observe: 'Observe' } as const;
/** PruneModes are the values of the `openchoreo.dev/prune` annotation on a resource object. */
export const PruneModes = { disabled: 'Disabled' } as const;
/** DriftModes are the values of the `openchoreo.dev/drift` annotation on a Release. */
export const DriftModes = { correct: 'Correct', report: 'Report' } as const;
/** ReleaseApplyModes are the values of the `openchoreo.dev/apply-mode` annotation on a Release. */
export const ReleaseApplyModes = { dryRun: 'DryRun' } as const;

/**
 * POLICY_ANNOTATIONS are the annotations of a resource object that instruct the controller; they
 * are read from the Release and never sent to the data plane.
 */
export const POLICY_ANNOTATIONS: readonly string[] = [
  Annotations.apply,
  Annotations.ignoreFields,
  Annotations.prune,
];

/** ConditionTypes lists the condition types of a Release. */
export const ConditionTypes = {
  finalizing: 'Finalizing',
  resourcesApplied: 'ResourcesApplied',
  ready: 'Ready',
  /**
   * PlaneDeleting (True only while so): the Release's Environment or DataPlane is being deleted and
   * waits for it (in-use protection); the Release still applies, but must move or be deleted.
   */
  planeDeleting: 'PlaneDeleting',
} as const;

/** Reasons lists every condition reason the controller writes. */
export const Reasons = {
  cleanupInProgress: 'CleanupInProgress',
  cleanupFailed: 'CleanupFailed',
  applied: 'Applied',
  invalidResource: 'InvalidResource',
  environmentNotFound: 'EnvironmentNotFound',
  dataPlaneNotFound: 'DataPlaneNotFound',
  dataPlaneInvalid: 'DataPlaneInvalid',
  dataPlaneUnreachable: 'DataPlaneUnreachable',
  applyFailed: 'ApplyFailed',
  pruneFailed: 'PruneFailed',
  /**
   * ResourcesApplied and Ready: everything applied, but a watch of the data plane is broken, so
   * what to prune cannot be known and nothing is deleted until it recovers
   */
  pruneDeferred: 'PruneDeferred',
  conflict: 'Conflict',
  notAllowed: 'NotAllowed',
  waitingForCRD: 'WaitingForCRD',
  /** ResourcesApplied and Ready: a long first pass is under way; the message counts what was applied */
  applying: 'Applying',
  ready: 'Ready',
  progressing: 'Progressing',
  degraded: 'Degraded',
  /** Ready: DryRun mode; a plan was computed and nothing was changed on the data plane */
  previewed: 'Previewed',
  /** ResourcesApplied and Ready: annotation openchoreo.dev/preview-of cannot be honoured; nothing was sent */
  previewOfInvalid: 'PreviewOfInvalid',
  /** ResourcesApplied and Ready: the Release is suspended (annotation openchoreo.dev/suspend); nothing was written */
  suspended: 'Suspended',
  /** Ready: drift mode Report; an object was changed or deleted by someone else and not corrected */
  drifted: 'Drifted',
  /** PlaneDeleting: the Release's Environment is being deleted */
  environmentDeleting: 'EnvironmentDeleting',
  /** PlaneDeleting: the Release's DataPlane is being deleted */
  dataPlaneDeleting: 'DataPlaneDeleting',
} as const;

/**
 * ResourceReasons are the `healthReason`s of a resource that was not applied, besides the condition
 * reasons (`InvalidResource`, `Conflict`, `NotAllowed`, `DataPlaneUnreachable`, `ApplyFailed`): each
 * names the cause, so that `status.resources` says what to do without reading the message.
 */
export const ResourceReasons = {
  /** an immutable field changed and the object may not be recreated */
  immutable: 'Immutable',
  /** the object is over a size limit of the data plane */
  tooLarge: 'TooLarge',
  /** the data plane does not serve the kind (a CRD may still arrive) */
  unknownKind: 'UnknownKind',
  /** the object's namespace is missing on the data plane */
  namespaceMissing: 'NamespaceMissing',
  /** the data plane's RBAC does not let the DataPlane's credentials write the object */
  forbidden: 'Forbidden',
  /** the data plane refused the DataPlane's credentials (HTTP 401) */
  unauthorized: 'Unauthorized',
  /** admission (PodSecurity, a quota, a policy) refused the object */
  admissionDenied: 'AdmissionDenied',
  /** an admission webhook the data plane calls did not answer (it may be starting) */
  webhookUnavailable: 'WebhookUnavailable',
} as const;

/**
 * EventReasons lists the reasons of Events that are not a condition reason. Besides these, a
 * Warning Event repeats the reason of a failed `ResourcesApplied` or `Finalizing` condition, and
 * an Event of the `Ready` condition's reason marks each change of readiness.
 */
export const EventReasons = {
  /**
   * a reconcile changed the data plane: how many objects it created, configured and deleted, and
   * the first of them by kind and name (Flux's change set)
   */
  changeSet: 'ChangeSet',
  /**
   * the Release holds a CustomResourceDefinition that is pruned with it: deleting the Release (or
   * removing the resource) deletes every custom resource of that kind in the cluster
   */
  crdPruned: 'CRDPruned',
  /** an object no longer in the spec was deleted */
  pruned: 'Pruned',
  /** an adopted object no longer in the spec was given back: our labels and field ownership removed, the object kept */
  givenBack: 'GivenBack',
  /** the health of one object changed */
  healthChanged: 'HealthChanged',
  /** deletion policy Orphan: the Release was released without deleting its objects */
  orphaned: 'Orphaned',
  /** drift mode Correct: fields someone else changed, or a deleted object, were applied again */
  driftCorrected: 'DriftCorrected',
  /** drift mode Report: an object drifted from what the Release applied; nothing was written */
  driftDetected: 'DriftDetected',
  /** an object with `openchoreo.dev/prune: Disabled` (or `apply: Observe`) was kept and given back instead of deleted */
  retained: 'Retained',
  /**
   * objects carry a Release's labels but their uid is not in its inventory (labels anyone with patch
   * can write, or a crash between an apply and the status write): left in place, never deleted
   */
  notProven: 'NotProven',
} as const;

/** HealthStatus is the health of one data-plane object, as in the specification. */
export type HealthStatus = 'Unknown' | 'Progressing' | 'Healthy' | 'Suspended' | 'Degraded';

/** HEALTH_STATUSES lists the values of HealthStatus, best first. */
export const HEALTH_STATUSES: readonly HealthStatus[] = [
  'Healthy',
  'Suspended',
  'Progressing',
  'Unknown',
  'Degraded',
];

/** Defaults holds the defaults of the specification. */
export const Defaults = {
  interval: '5m',
  progressingInterval: '10s',
} as const;

/** DURATION_PATTERN matches Go-style durations such as `10s`, `1m30s`, `1.5h`, `0s`. */
export const DURATION_PATTERN = '^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$';

/** LABEL_VALUE_PATTERN matches a valid Kubernetes label value of at least one character. */
export const LABEL_VALUE_PATTERN = '^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$';

/**
 * HealthRuleReasons lists the reasons of a HealthRule's `Ready` condition. A compile error's
 * reason names the field (`InvalidCEL` with the field in the message, `InvalidLua`), so
 * `kubectl get healthrules -o wide` tells which rule is broken and why.
 */
export const HealthRuleReasons = {
  /** the rule compiled and is in use */
  compiled: 'Compiled',
  /** a CEL expression failed to parse or type-check; the message names the field */
  invalidCEL: 'InvalidCEL',
  /** the Lua script failed to compile */
  invalidLua: 'InvalidLua',
  /** the target (spec.apiVersion, spec.kind) or the choice of engine is not usable */
  invalidSpec: 'InvalidSpec',
  /** another HealthRule with the same target wins (the first by name) */
  superseded: 'Superseded',
} as const;

/** CORE_VERSION_PATTERN tells a core-group version (`v1`) from a group name in HealthRule spec.apiVersion. */
export const CORE_VERSION_PATTERN = '^v[0-9]+((alpha|beta)[0-9]+)?$';

/**
 * API_VERSION_PATTERN matches an `apiVersion`: an optional group (a DNS subdomain) and a slash,
 * then a version (a DNS label). The group and version become segments of request paths on the
 * data plane, so nothing else may pass (`v1?watch=true`, `v1 x`). The lengths are checked by
 * apiVersionProblem; the CRD caps the whole at API_VERSION_MAX_LENGTH.
 */
export const API_VERSION_PATTERN =
  '^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[a-z0-9]([-a-z0-9]*[a-z0-9])?$';

/** API_VERSION_MAX_LENGTH is the longest `apiVersion`: a 253-character group, `/`, a 63-character version. */
export const API_VERSION_MAX_LENGTH = 253 + 1 + 63;

/** TUNNEL_HOST_PATTERN is what spec.kubernetesCluster.tunnel.host matches: a lowercase DNS name. */
export const TUNNEL_HOST_PATTERN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$';

/** ORGANIZATION_PLACEHOLDER stands for the organization's namespace name in TenantPolicy patterns and identities. */
export const ORGANIZATION_PLACEHOLDER = '{organization}';

/**
 * PlaneConditionTypes lists the condition types of a DataPlane, ClusterDataPlane or Environment
 * (controller/plane/). `Ready` of a plane says whether its cluster answers; of an Environment,
 * whether its data plane resolves and is Ready. `Terminating` says an object being deleted waits
 * for the Releases that still use it.
 */
export const PlaneConditionTypes = {
  ready: 'Ready',
  terminating: 'Terminating',
} as const;

/** PlaneReasons lists the reasons of a plane's or an Environment's conditions. */
export const PlaneReasons = {
  /** Ready: the cluster answered with its identity and version */
  reachable: 'Reachable',
  /** Ready: the credentials cannot be used (a kubeconfig that does not parse, a refused Secret) */
  invalidKubeconfig: 'InvalidKubeconfig',
  /** Ready: the operator's policy (endpoints, tenancy) refuses this plane */
  notAllowed: 'NotAllowed',
  /** Ready: the API server answered 401: it refused the credentials */
  credentialsRefused: 'CredentialsRefused',
  /** Ready: the API server answered 403 to reading its identity */
  forbidden: 'Forbidden',
  /** Ready: no answer (connection refused, timeout, TLS failure) */
  unreachable: 'Unreachable',
  /** Ready: the tunnel through the operator's proxy server could not be opened */
  tunnelDown: 'TunnelDown',
  /** Ready: the cluster answers but a watch of the objects the Releases applied is broken */
  watchBroken: 'WatchBroken',
  /** Ready: not checked (a multi-tenant ClusterDataPlane no Release has connected to yet) */
  notChecked: 'NotChecked',
  /** Ready of an Environment: its data plane exists and is not known to be failing */
  dataPlaneResolved: 'DataPlaneResolved',
  /** Ready of an Environment: spec.dataPlaneRef names no plane that exists */
  dataPlaneNotFound: 'DataPlaneNotFound',
  /** Ready of an Environment: spec.dataPlaneRef is malformed */
  invalidDataPlaneRef: 'InvalidDataPlaneRef',
  /** Ready of an Environment: its data plane exists and is not Ready */
  dataPlaneNotReady: 'DataPlaneNotReady',
  /** Terminating: the object is being deleted and Releases still use it */
  inUseByReleases: 'InUseByReleases',
  /** Terminating: the object is being deleted and no Release uses it any more */
  released: 'Released',
} as const;

/**
 * PlaneEventReasons lists the reasons of Events about planes and Environments that are not a
 * condition reason; besides these, each change of Ready is an Event of its new reason.
 */
export const PlaneEventReasons = {
  /** the object is being deleted and waits for the Releases that use it */
  deletionWaiting: 'DeletionWaiting',
} as const;
