/**
 * The one schema source of Release, Environment, DataPlane and HealthRule: the CRDs in config/crd/ are
 * generated from these TypeBox schemas (npm run gen:crds), and the TypeScript types below are
 * derived from the same schemas, so the two cannot drift apart.
 */
import Type, { type Static, type TSchema } from 'typebox';
import {
  API_VERSION_MAX_LENGTH,
  API_VERSION_PATTERN,
  DURATION_PATTERN,
  HEALTH_STATUSES,
  LABEL_VALUE_PATTERN,
  TUNNEL_HOST_PATTERN,
} from './constants.ts';

const nonEmpty = (description: string) => Type.String({ minLength: 1, description });

/** ObjectMetaSchema is the part of ObjectMeta the controller reads; the API server owns the rest. */
export const ObjectMetaSchema = Type.Object({
  name: Type.String(),
  namespace: Type.Optional(Type.String()),
  uid: Type.Optional(Type.String()),
  resourceVersion: Type.Optional(Type.String()),
  generation: Type.Optional(Type.Number()),
  creationTimestamp: Type.Optional(Type.String()),
  deletionTimestamp: Type.Optional(Type.String()),
  labels: Type.Optional(Type.Record(Type.String(), Type.String())),
  annotations: Type.Optional(Type.Record(Type.String(), Type.String())),
  finalizers: Type.Optional(Type.Array(Type.String())),
});

/** ConditionSchema is metav1.Condition. */
export const ConditionSchema = Type.Object({
  type: Type.String({ minLength: 1, maxLength: 316 }),
  status: Type.Union([Type.Literal('True'), Type.Literal('False'), Type.Literal('Unknown')]),
  observedGeneration: Type.Optional(Type.Integer({ minimum: 0 })),
  lastTransitionTime: Type.String({ format: 'date-time' }),
  reason: Type.String({ minLength: 1, maxLength: 1024, pattern: '^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$' }),
  message: Type.String({ maxLength: 32768 }),
});

const duration = (description: string) =>
  Type.Optional(Type.String({ pattern: DURATION_PATTERN, description }));

/** ReleaseOwnerSchema links a Release to its project and component; immutable. */
export const ReleaseOwnerSchema = Type.Object(
  {
    projectName: nonEmpty('Name of the project that owns this release.'),
    componentName: nonEmpty('Name of the component that owns this release.'),
  },
  {
    description: 'Ownership information linking the release to a project and component. Immutable.',
    'x-kubernetes-validations': [{ rule: 'self == oldSelf', message: 'spec.owner is immutable' }],
  },
);

/** ReleaseResourceSchema is one raw Kubernetes object with a stable id. */
export const ReleaseResourceSchema = Type.Object({
  id: Type.String({
    minLength: 1,
    maxLength: 63,
    pattern: LABEL_VALUE_PATTERN,
    description:
      'Unique identifier of the resource within the Release; used as a label value on the data plane, so at most 63 characters of [A-Za-z0-9-_.], starting and ending alphanumeric.',
  }),
  object: Type.Record(Type.String(), Type.Unknown(), {
    description: 'Complete Kubernetes object (apiVersion, kind, metadata, ...) to apply to the data plane.',
    'x-kubernetes-preserve-unknown-fields': true,
    'x-kubernetes-embedded-resource': false,
    // The one field of the raw object the API server checks: its group and version become request
    // paths on the data plane (the controller checks it again, lengths included).
    properties: {
      apiVersion: {
        type: 'string',
        maxLength: API_VERSION_MAX_LENGTH,
        pattern: API_VERSION_PATTERN,
        description:
          'API group (a DNS subdomain) and version (a DNS label) of the object, e.g. `apps/v1` or `v1`.',
      },
    },
  }),
});

/** ReleaseSpecSchema is the desired state of a Release. */
export const ReleaseSpecSchema = Type.Object({
  owner: ReleaseOwnerSchema,
  environmentName: nonEmpty('Name of the target Environment, in the Release namespace.'),
  resources: Type.Optional(
    Type.Array(ReleaseResourceSchema, {
      description: 'Kubernetes objects to apply to the data plane. Ids are unique.',
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['id'],
      maxItems: 1000,
    }),
  ),
  interval: duration('Requeue interval while every resource is stable (default 5m; 0s disables).'),
  progressingInterval: duration(
    'Requeue interval while any resource is transitioning (default 10s; 0s disables).',
  ),
});

/**
 * RenderedReleaseOwnerSchema is OpenChoreo's RenderedRelease owner: a project and at most one of a
 * component or a resource; immutable, as upstream.
 */
export const RenderedReleaseOwnerSchema = Type.Object(
  {
    projectName: nonEmpty('Name of the project that owns this release.'),
    componentName: Type.Optional(
      Type.String({ minLength: 1, description: 'Name of the component that owns this release.' }),
    ),
    resourceName: Type.Optional(
      Type.String({ minLength: 1, description: 'Name of the resource that owns this release.' }),
    ),
  },
  {
    description:
      'Ownership information linking the release to a project and to a component or a resource (at most one). Immutable.',
    'x-kubernetes-validations': [
      { rule: 'self == oldSelf', message: 'spec.owner is immutable' },
      {
        rule: '!(has(self.componentName) && has(self.resourceName))',
        message: 'at most one of spec.owner.componentName and spec.owner.resourceName may be set',
      },
    ],
  },
);

/** TargetPlanes are the values of a RenderedRelease's spec.targetPlane. */
export const TargetPlanes = { dataPlane: 'dataplane', observabilityPlane: 'observabilityplane' } as const;

/** RenderedReleaseSpecSchema is the desired state of a RenderedRelease: a Release's, plus the plane it targets. */
export const RenderedReleaseSpecSchema = Type.Object({
  ...ReleaseSpecSchema.properties,
  owner: RenderedReleaseOwnerSchema,
  targetPlane: Type.Optional(
    Type.Union([Type.Literal(TargetPlanes.dataPlane), Type.Literal(TargetPlanes.observabilityPlane)], {
      default: TargetPlanes.dataPlane,
      description:
        "Plane the resources go to: the Environment's data plane (default) or that data plane's observability plane.",
    }),
  ),
});

/** OriginSchema says how an object of a Release came to be its own (status inventory). */
export const OriginSchema = Type.Union(
  [Type.Literal('Created'), Type.Literal('Adopted'), Type.Literal('Found')],
  {
    description:
      "How the object became this Release's: Created (the controller created it), Adopted (it existed and the Release asked to adopt it), Found (it carried this Release's labels and its spec listed it, but the controller has no record of creating it: a crash between an apply and the status write, or labels written by someone else).",
  },
);

/** RemovalSchema says what becomes of an object of a Release when the Release no longer wants it. */
export const RemovalSchema = Type.Union([Type.Literal('Delete'), Type.Literal('GiveBack')], {
  description:
    'What removing the object from the Release does, decided when it was recorded and never read from the data plane: Delete, or GiveBack (our labels and field ownership removed, the object kept). Created objects are deleted; adopted ones as openchoreo.dev/adopt asked at adoption (Namespaces are always given back); Found ones are given back.',
});

/** InventoryEntrySchema is one object of a Release that left its spec and is not yet removed. */
export const InventoryEntrySchema = Type.Object({
  id: Type.Optional(Type.String({ description: 'The spec.resources id it was applied for.' })),
  group: Type.String(),
  version: Type.String(),
  kind: Type.String(),
  namespace: Type.Optional(Type.String()),
  name: Type.String(),
  uid: Type.String({ maxLength: 128, description: 'The uid the controller recorded for it.' }),
  origin: OriginSchema,
  removal: RemovalSchema,
});

/** ResourceStatusSchema is the observed state of one applied object. */
export const ResourceStatusSchema = Type.Object({
  id: Type.String({ description: 'Corresponds to the resource id in spec.resources.' }),
  group: Type.String({ description: 'API group of the object; "" for the core group.' }),
  version: Type.String({ description: 'API version of the object.' }),
  kind: Type.String({ description: 'Kind of the object.' }),
  name: Type.String({ description: 'Name of the object on the data plane.' }),
  namespace: Type.Optional(Type.String({ description: 'Namespace of the object; "" when cluster-scoped.' })),
  status: Type.Optional(
    Type.Unknown({
      description: 'The whole .status of the object on the data plane (trimmed when too large, see message).',
      'x-kubernetes-preserve-unknown-fields': true,
    }),
  ),
  healthStatus: Type.Enum(HEALTH_STATUSES, { description: 'Health of the object on the data plane.' }),
  healthReason: Type.Optional(
    Type.String({ description: 'Short machine-readable reason for healthStatus.' }),
  ),
  message: Type.Optional(
    Type.String({ description: 'Short human explanation of healthStatus or of an error.' }),
  ),
  lastObservedTime: Type.Optional(
    Type.String({
      format: 'date-time',
      description: 'When the observed status or health last changed.',
    }),
  ),
  applied: Type.Optional(
    Type.String({
      maxLength: 128,
      description:
        "The controller's record of its last apply of the object: a digest of what it sent and the object's uid, then a hash of the fields it owned afterwards. A restarted controller does not apply an object again while the digest matches the spec and the live object and the fields are intact.",
    }),
  ),
  uid: Type.Optional(
    Type.String({
      maxLength: 128,
      description:
        "The uid of the data-plane object the controller created or adopted for this id: its proof that the object is this Release's. Only an object whose uid is recorded here (or in pendingRemovals) is ever deleted or given back; labels are never proof.",
    }),
  ),
  origin: Type.Optional(OriginSchema),
  removal: Type.Optional(RemovalSchema),
  drift: Type.Optional(
    Type.Object(
      {
        fields: Type.Array(
          Type.Object({
            path: Type.String({
              description:
                'The drifted field as a JSON pointer (list items keyed as in managedFields, e.g. /spec/containers/[name=main]/image).',
            }),
            manager: Type.Optional(
              Type.String({ description: 'The field manager that now owns the field.' }),
            ),
          }),
          {
            maxItems: 20,
            description: 'Fields we applied that someone else changed or removed (at most 20).',
          },
        ),
        deleted: Type.Optional(
          Type.Boolean({
            description: 'The object we applied was deleted by someone else (or lost our labels).',
          }),
        ),
      },
      {
        description:
          'How the object drifted from what the Release applied. Present only in drift mode Report while it is drifted.',
      },
    ),
  ),
  plan: Type.Optional(
    Type.Object(
      {
        action: Type.Union(
          [Type.Literal('Create'), Type.Literal('Update'), Type.Literal('Unchanged'), Type.Literal('Error')],
          { description: 'What a real apply would do.' },
        ),
        fields: Type.Optional(
          Type.Array(Type.String(), {
            maxItems: 20,
            description: 'JSON pointers an Update would change (at most 20).',
          }),
        ),
        message: Type.Optional(
          Type.String({
            maxLength: 1024,
            description: "Why the apply would fail (the data plane's message).",
          }),
        ),
      },
      { description: 'The preview of a server-side dry-run apply. Present only in apply mode DryRun.' },
    ),
  ),
  policy: Type.Optional(
    Type.Object(
      {
        apply: Type.Optional(Type.Union([Type.Literal('CreateOnly'), Type.Literal('Observe')])),
        prune: Type.Optional(Type.Literal('Disabled')),
        ignoreFields: Type.Optional(Type.Array(Type.String(), { maxItems: 64 })),
      },
      {
        description:
          'The per-object policy read from the object annotations in spec.resources. Present only when it has some.',
      },
    ),
  ),
});

/** ObjectRefSchema names one data-plane object of a Release (plannedDeletions, retained). */
export const ObjectRefSchema = Type.Object({
  id: Type.Optional(Type.String({ description: 'The spec.resources id it was applied for, when known.' })),
  group: Type.String(),
  version: Type.String(),
  kind: Type.String(),
  namespace: Type.Optional(Type.String()),
  name: Type.String(),
});

/** PlacementSchema names one data-plane cluster a Release applied objects to. */
export const PlacementSchema = Type.Object({
  dataPlane: Type.String({
    description: 'Name of the DataPlane, in the Release namespace, the objects were applied through.',
  }),
  cluster: Type.String({
    description: 'Identity of the data-plane cluster: the uid of its kube-system namespace.',
  }),
});

/** ReleaseStatusSchema is the observed state of a Release. */
export const ReleaseStatusSchema = Type.Object({
  observedGeneration: Type.Optional(Type.Integer({ minimum: 0 })),
  lastHandledReconcileAt: Type.Optional(
    Type.String({
      maxLength: 256,
      description:
        'The value of the annotation openchoreo.dev/reconcile-requested-at that the last pass handled (kubectl release reconcile waits for it).',
    }),
  ),
  appliedTo: Type.Optional(
    Type.Array(PlacementSchema, {
      description:
        'Every data-plane cluster that may hold objects of this Release. Recorded before the first apply there (first in the annotation openchoreo.dev/placement, written with the finalizer, then here by the status write); removed once that cluster is verified clean (after a move, or at deletion).',
    }),
  ),
  resources: Type.Optional(
    Type.Array(ResourceStatusSchema, { description: 'One entry per spec.resources item, in spec order.' }),
  ),
  pendingRemovals: Type.Optional(
    Type.Array(InventoryEntrySchema, {
      maxItems: 1000,
      description:
        'Objects this Release created or adopted that its spec no longer lists as they are (id removed, object renamed or replaced, or left behind on a data plane the Release moved away from) and that are not yet removed: their recorded uids let the controller delete or give them back later (at most 1000, oldest dropped first; a dropped one is left in place and reported).',
    }),
  ),
  plannedDeletions: Type.Optional(
    Type.Array(ObjectRefSchema, {
      maxItems: 100,
      description:
        'Apply mode DryRun: the objects a real apply would delete because they left the spec (at most 100).',
    }),
  ),
  retained: Type.Optional(
    Type.Array(
      Type.Object({
        ...ObjectRefSchema.properties,
        reason: Type.String({
          description: 'Why it was kept, e.g. the annotation openchoreo.dev/prune: Disabled.',
        }),
      }),
      {
        maxItems: 100,
        description:
          'Objects kept instead of deleted (openchoreo.dev/prune: Disabled, openchoreo.dev/apply: Observe) when they left the spec or the Release was deleted; given back, no longer tracked (at most 100, newest last).',
      },
    ),
  ),
  conditions: Type.Optional(
    Type.Array(ConditionSchema, {
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['type'],
    }),
  ),
});

/** EnvironmentSpecSchema names the DataPlane an Environment deploys to. */
export const EnvironmentSpecSchema = Type.Object({
  dataPlaneRef: Type.Optional(
    Type.Unsafe<string | { kind: string; name: string }>({
      description:
        'The data plane of this Environment: {kind: DataPlane|ClusterDataPlane, name} (upstream), or the name of a DataPlane in the Environment namespace (earlier form). Absent: a DataPlane named "default" in the namespace, then a ClusterDataPlane named "default".',
      'x-kubernetes-preserve-unknown-fields': true,
      // Either a string or an object: the node has no type, which toStructural keeps.
      'x-any-type': true,
    }),
  ),
  isProduction: Type.Optional(Type.Boolean({ description: 'Whether this is a production environment.' })),
  gateway: Type.Optional(
    Type.Record(Type.String(), Type.Unknown(), { 'x-kubernetes-preserve-unknown-fields': true }),
  ),
  hooks: Type.Optional(
    Type.Record(Type.String(), Type.Unknown(), {
      'x-kubernetes-preserve-unknown-fields': true,
      description: "Upstream's pre- and post-deploy hooks (run by OpenChoreo, not read by this controller).",
    }),
  ),
});

/** ClusterCredentialsSchema is upstream's inline credentials: base64-encoded PEM, as in a kubeconfig's *-data fields. */
export const ClusterCredentialsSchema = Type.Object({
  apiServerURL: Type.String({ minLength: 1, pattern: '^https?://', description: 'URL of the API server.' }),
  caCert: nonEmpty('Base64-encoded PEM CA certificate of the API server.'),
  clientCert: nonEmpty('Base64-encoded PEM client certificate.'),
  clientKey: nonEmpty('Base64-encoded PEM client key.'),
});

/** KubeconfigSecretRefSchema points at a kubeconfig stored in a Secret of the DataPlane namespace. */
export const KubeconfigSecretRefSchema = Type.Object({
  name: nonEmpty('Name of the Secret, in the DataPlane namespace.'),
  key: Type.Optional(
    Type.String({ minLength: 1, description: 'Key of the kubeconfig in the Secret (default "kubeconfig").' }),
  ),
});

const patternList = (what: string, pattern: string, example: string) =>
  Type.Object({
    allow: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 253, pattern }), {
        maxItems: 256,
        description: `${what} Releases may target; when set, only these (\`*\` matches any characters, e.g. ${example}).`,
      }),
    ),
    deny: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 253, pattern }), {
        maxItems: 256,
        description: `${what} Releases may not target; a deny wins over an allow.`,
      }),
    ),
  });

/**
 * DataPlaneTunnelSchema opts a DataPlane into reaching its API server through the operator's
 * apiserver-network-proxy (konnectivity) server, for data planes that accept no inbound connections.
 */
export const DataPlaneTunnelSchema = Type.Object(
  {
    host: Type.String({
      minLength: 1,
      maxLength: 253,
      pattern: TUNNEL_HOST_PATTERN,
      description:
        "The host name the data plane's proxy agent advertises (its --agent-identifiers=host=NAME). The proxy server routes the connection to that agent, which dials NAME and the port of the API server URL; the credentials still authenticate to the API server itself.",
    }),
  },
  {
    description:
      'Reach the API server through the apiserver-network-proxy server the operator configured (flag --tunnel-proxy-address), for data planes that accept no inbound connections. Absent: connect directly.',
  },
);

/** DataPlaneResourcePolicySchema is what the Releases using a DataPlane may target and adopt. */
export const DataPlaneResourcePolicySchema = Type.Object(
  {
    namespaces: Type.Optional(patternList('Namespaces', '^[a-z0-9*]([-a-z0-9*]*[a-z0-9*])?$', '"team-a-*"')),
    kinds: Type.Optional(
      patternList(
        'Kinds, as "Kind" (any API group) or "group/Kind" (core group "core"),',
        '^([a-z0-9*]([-a-z0-9.*]*[a-z0-9*])?/)?[A-Za-z0-9*]+$',
        '"rbac.authorization.k8s.io/ClusterRoleBinding" or "core/Secret"',
      ),
    ),
    adoption: Type.Optional(
      Type.Union([Type.Literal('Allowed'), Type.Literal('Forbidden')], {
        description:
          'Whether a Release may adopt an existing object it did not create (annotation openchoreo.dev/adopt); default Allowed.',
      }),
    ),
  },
  {
    description:
      'What the Releases using this DataPlane may target: namespaces and kinds (checked before anything is sent) and adoption. Set by the platform operator; absent allows everything.',
  },
);

/** PLANE_ID_PATTERN is upstream's pattern of spec.planeID: a DNS label. */
export const PLANE_ID_PATTERN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';

/** ValueFromSchema is upstream's inline value or reference to a key of a Secret. */
export const ValueFromSchema = Type.Object({
  secretRef: Type.Optional(
    Type.Object({
      name: Type.String({ description: 'Name of the Secret.' }),
      namespace: Type.Optional(
        Type.String({ description: 'Namespace of the Secret (default: the namespace of the plane).' }),
      ),
      key: Type.String({ description: 'Key within the Secret.' }),
    }),
  ),
  value: Type.Optional(Type.String({ description: 'The value inline.' })),
});

/**
 * ClusterAgentSchema is upstream's spec.clusterAgent: the plane is reached through OpenChoreo's
 * cluster gateway, which its agent dials out to. The controller holds no credentials of the plane.
 */
export const ClusterAgentSchema = Type.Object(
  {
    clientCA: Type.Unsafe<Static<typeof ValueFromSchema>>({
      ...ValueFromSchema,
      description:
        "CA that verifies the plane's agent when it connects to the cluster gateway (read by the gateway, not by this controller).",
    }),
  },
  {
    description:
      "Reach the plane through OpenChoreo's cluster gateway (controller flags --cluster-gateway-*), used when spec.kubernetesCluster is absent. Requests go to {gateway}/api/proxy/{planeType}/{planeID}/{namespace or _cluster}/{name}/k8s/...; the gateway cannot watch, so the plane's objects are listed every --cluster-gateway-poll-interval.",
  },
);

/** PlaneRefSchema names a plane of a kind (namespaced or cluster-scoped) by name. */
const planeRef = (kinds: [string, string], description: string) =>
  Type.Object(
    {
      kind: Type.Union([Type.Literal(kinds[0]), Type.Literal(kinds[1])], {
        description: `${kinds[0]} (in the same namespace) or ${kinds[1]} (cluster-scoped).`,
      }),
      name: nonEmpty('Name of the plane.'),
    },
    { description },
  );

/** ObservabilityPlaneRefSchema is a DataPlane's spec.observabilityPlaneRef. */
export const ObservabilityPlaneRefSchema = planeRef(
  ['ObservabilityPlane', 'ClusterObservabilityPlane'],
  'The observability plane of this data plane (RenderedReleases with targetPlane observabilityplane). Absent: an ObservabilityPlane named "default" in the same namespace, then a ClusterObservabilityPlane named "default".',
);

/** DataPlaneRefSchema is an Environment's spec.dataPlaneRef in upstream's object form. */
export const DataPlaneRefSchema = planeRef(
  ['DataPlane', 'ClusterDataPlane'],
  'The data plane of this Environment.',
);

/** KubernetesClusterSchema reaches a plane's API server with credentials the controller holds. */
export const KubernetesClusterSchema = Type.Object(
  {
    name: nonEmpty('Name of the data-plane cluster, for humans and metrics.'),
    credentials: Type.Optional(ClusterCredentialsSchema),
    secretRef: Type.Optional(KubeconfigSecretRefSchema),
    tunnel: Type.Optional(DataPlaneTunnelSchema),
  },
  {
    'x-kubernetes-validations': [
      {
        rule: 'has(self.credentials) != has(self.secretRef)',
        message: 'set exactly one of kubernetesCluster.credentials and kubernetesCluster.secretRef',
      },
    ],
  },
);

/** PLANE_REACH_RULE: a plane says how it is reached, directly or through the cluster gateway. */
const PLANE_REACH_RULE = {
  rule: 'has(self.kubernetesCluster) || has(self.clusterAgent)',
  message: 'set spec.kubernetesCluster (credentials) or spec.clusterAgent (cluster gateway)',
};

/** planeFields are the fields every plane kind shares: how it is reached. */
const planeFields = {
  planeID: Type.Optional(
    Type.String({
      maxLength: 63,
      pattern: PLANE_ID_PATTERN,
      description:
        'Identity of the plane at the cluster gateway (several plane objects may share one cluster). Default: the name of this object.',
    }),
  ),
  kubernetesCluster: Type.Optional(KubernetesClusterSchema),
  clusterAgent: Type.Optional(ClusterAgentSchema),
};

const opaque = () => Type.Optional(Type.Unknown({ 'x-kubernetes-preserve-unknown-fields': true }));

/** DataPlaneSpecSchema says how to reach a data-plane cluster. */
export const DataPlaneSpecSchema = Type.Object(
  {
    ...planeFields,
    observabilityPlaneRef: Type.Optional(ObservabilityPlaneRefSchema),
    resourcePolicy: Type.Optional(DataPlaneResourcePolicySchema),
    registry: Type.Optional(
      Type.Record(Type.String(), Type.Unknown(), { 'x-kubernetes-preserve-unknown-fields': true }),
    ),
    gateway: Type.Optional(
      Type.Record(Type.String(), Type.Unknown(), { 'x-kubernetes-preserve-unknown-fields': true }),
    ),
    observer: Type.Optional(
      Type.Record(Type.String(), Type.Unknown(), { 'x-kubernetes-preserve-unknown-fields': true }),
    ),
    // Upstream's fields this controller does not read, kept so an upstream DataPlane applies unchanged.
    imagePullSecretRefs: Type.Optional(Type.Array(Type.String())),
    secretStoreRef: opaque(),
  },
  { 'x-kubernetes-validations': [PLANE_REACH_RULE] },
);

/** ObservabilityPlaneSpecSchema says how to reach an observability-plane cluster. */
export const ObservabilityPlaneSpecSchema = Type.Object(
  {
    ...planeFields,
    observerURL: Type.Optional(
      Type.String({ description: "URL of the plane's observer API (not read by this controller)." }),
    ),
    rcaAgentURL: opaque(),
    alerting: opaque(),
  },
  { 'x-kubernetes-validations': [PLANE_REACH_RULE] },
);

/** CEL_EXPRESSION_MAX_LENGTH bounds one CEL expression of a HealthRule (Flux's are one line). */
export const CEL_EXPRESSION_MAX_LENGTH = 4096;
/** LUA_SCRIPT_MAX_LENGTH bounds a HealthRule's Lua script (Argo CD's longest health.lua is about 6 KiB). */
export const LUA_SCRIPT_MAX_LENGTH = 65536;

const celExpression = (description: string) =>
  Type.Optional(Type.String({ minLength: 1, maxLength: CEL_EXPRESSION_MAX_LENGTH, description }));

/** HealthRuleCelSchema is a HealthRule's CEL form, as Flux's `healthCheckExprs`. */
export const HealthRuleCelSchema = Type.Object(
  {
    inProgress: celExpression('Evaluated first: true means Progressing.'),
    failed: celExpression('Evaluated second: true means Degraded.'),
    current: Type.String({
      minLength: 1,
      maxLength: CEL_EXPRESSION_MAX_LENGTH,
      description:
        'Evaluated third: true means Healthy; when no expression is true the object is Progressing.',
    }),
    suspended: celExpression(
      'Evaluated before all the others: true means Suspended (a deliberate pause outranks the state it paused in).',
    ),
    message: celExpression(
      'A string expression for the health message; when absent or failing, the message says which expression held.',
    ),
  },
  {
    description:
      "CEL expressions over the object's top-level fields (metadata, spec, status; an absent one is an empty map). Optional-field syntax (status.?foo) is allowed.",
  },
);

/** HealthRuleSpecSchema is the target kind and its rule, in CEL or in Lua. */
export const HealthRuleSpecSchema = Type.Object(
  {
    apiVersion: Type.String({
      minLength: 1,
      maxLength: 316,
      pattern: '^[a-z0-9]([-a-z0-9.]*[a-z0-9])?(/[a-z0-9]+)?$',
      description:
        'The target: `group/version` for one version, `group` alone for every version, `v1` for the core group (Pod, Service, ...).',
    }),
    kind: Type.String({
      minLength: 1,
      maxLength: 63,
      pattern: '^[A-Za-z][A-Za-z0-9]*$',
      description: 'Kind of the target, as written in its objects (CamelCase).',
    }),
    cel: Type.Optional(HealthRuleCelSchema),
    lua: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: LUA_SCRIPT_MAX_LENGTH,
        description:
          "A Lua 5.4 script with the contract of Argo CD's health.lua: reads the global `obj`, returns {status = ..., message = ...}.",
      }),
    ),
  },
  {
    'x-kubernetes-validations': [
      { rule: 'has(self.cel) != has(self.lua)', message: 'exactly one of spec.cel and spec.lua must be set' },
    ],
  },
);

const simpleStatus = Type.Object({
  observedGeneration: Type.Optional(Type.Integer({ minimum: 0 })),
  conditions: Type.Optional(Type.Array(ConditionSchema)),
});

/** PlaneStatusSchema is what this controller writes on a DataPlane or ClusterDataPlane (controller/plane/). */
export const PlaneStatusSchema = Type.Object({
  ...simpleStatus.properties,
  clusterID: Type.Optional(
    Type.String({
      maxLength: 128,
      description:
        'Identity of the cluster behind the plane: the uid of its kube-system namespace, as in Release status.appliedTo.',
    }),
  ),
  serverVersion: Type.Optional(
    Type.String({ maxLength: 64, description: "The cluster's Kubernetes version (gitVersion of /version)." }),
  ),
  releases: Type.Optional(
    Type.Integer({
      minimum: 0,
      description:
        'How many Releases use this plane: through their Environment, or with objects still on it (status.appliedTo).',
    }),
  ),
  lastCheckedTime: Type.Optional(
    Type.String({
      format: 'date-time',
      description:
        'When the controller last checked the cluster (re-written at most hourly while nothing changes).',
    }),
  ),
});

/** EnvironmentStatusSchema is what this controller writes on an Environment (controller/plane/). */
export const EnvironmentStatusSchema = Type.Object({
  ...simpleStatus.properties,
  dataPlane: Type.Optional(
    Type.String({
      maxLength: 320,
      description: 'The plane the Environment resolves to now: DataPlane/NAME or ClusterDataPlane/NAME.',
    }),
  ),
  releases: Type.Optional(
    Type.Integer({ minimum: 0, description: 'How many Releases of the namespace name this Environment.' }),
  ),
});

const objectOf = <S extends TSchema, T extends TSchema>(spec: S, status: T) =>
  Type.Object({
    apiVersion: Type.String(),
    kind: Type.String(),
    metadata: ObjectMetaSchema,
    spec,
    status: Type.Optional(status),
  });

/** ReleaseSchema is the whole Release object. */
export const ReleaseSchema = objectOf(ReleaseSpecSchema, ReleaseStatusSchema);
/** EnvironmentSchema is the whole Environment object. */
export const EnvironmentSchema = objectOf(EnvironmentSpecSchema, EnvironmentStatusSchema);
/** DataPlaneSchema is the whole DataPlane (or ClusterDataPlane) object. */
export const DataPlaneSchema = objectOf(DataPlaneSpecSchema, PlaneStatusSchema);
/** HealthRuleSchema is the whole HealthRule object (cluster-scoped). */
export const HealthRuleSchema = objectOf(HealthRuleSpecSchema, simpleStatus);
/** ObservabilityPlaneSchema is the whole ObservabilityPlane (or ClusterObservabilityPlane) object. */
export const ObservabilityPlaneSchema = objectOf(ObservabilityPlaneSpecSchema, simpleStatus);

/** Condition is metav1.Condition. */
export type Condition = Static<typeof ConditionSchema>;
/** ReleaseResource is one entry of spec.resources. */
export type ReleaseResource = Static<typeof ReleaseResourceSchema>;
/** ReleaseSpec is the spec of a Release. */
export type ReleaseSpec = Static<typeof ReleaseSpecSchema>;
/** ResourceStatus is one entry of status.resources. */
export type ResourceStatus = Static<typeof ResourceStatusSchema>;
/** ResourceDrift is status.resources[].drift. */
export type ResourceDrift = NonNullable<ResourceStatus['drift']>;
/** ResourcePlan is status.resources[].plan. */
export type ResourcePlan = NonNullable<ResourceStatus['plan']>;
/** ResourcePolicy is status.resources[].policy. */
export type ResourcePolicy = NonNullable<ResourceStatus['policy']>;
/** Origin is status.resources[].origin. */
export type Origin = Static<typeof OriginSchema>;
/** Removal is status.resources[].removal. */
export type Removal = Static<typeof RemovalSchema>;
/** InventoryEntry is one entry of status.pendingRemovals. */
export type InventoryEntry = Static<typeof InventoryEntrySchema>;
/** ObjectRef is one entry of status.plannedDeletions. */
export type ObjectRef = Static<typeof ObjectRefSchema>;
/** RetainedObject is one entry of status.retained. */
export type RetainedObject = NonNullable<ReleaseStatus['retained']>[number];
/** Placement is one entry of status.appliedTo. */
export type Placement = Static<typeof PlacementSchema>;
/** ReleaseStatus is the status of a Release. */
export type ReleaseStatus = Static<typeof ReleaseStatusSchema>;
/** Release is the whole Release object. */
export type Release = Static<typeof ReleaseSchema>;
/** PlaneStatus is the status of a DataPlane or ClusterDataPlane. */
export type PlaneStatus = Static<typeof PlaneStatusSchema>;
/** EnvironmentStatus is the status of an Environment. */
export type EnvironmentStatus = Static<typeof EnvironmentStatusSchema>;
/** Environment is the whole Environment object. */
export type Environment = Static<typeof EnvironmentSchema>;
/** DataPlaneResourcePolicy is spec.resourcePolicy of a DataPlane. */
export type DataPlaneResourcePolicy = Static<typeof DataPlaneResourcePolicySchema>;
/** DataPlaneTunnel is spec.kubernetesCluster.tunnel of a DataPlane. */
export type DataPlaneTunnel = Static<typeof DataPlaneTunnelSchema>;
/** DataPlane is the whole DataPlane (or ClusterDataPlane) object. */
export type DataPlane = Static<typeof DataPlaneSchema>;
/** HealthRuleSpec is the spec of a HealthRule. */
export type HealthRuleSpec = Static<typeof HealthRuleSpecSchema>;
/** HealthRule is the whole HealthRule object. */
export type HealthRule = Static<typeof HealthRuleSchema>;
/** ObservabilityPlane is the whole ObservabilityPlane (or ClusterObservabilityPlane) object. */
export type ObservabilityPlane = Static<typeof ObservabilityPlaneSchema>;
/** KubernetesCluster is spec.kubernetesCluster of a plane. */
export type KubernetesCluster = Static<typeof KubernetesClusterSchema>;
/**
 * Plane is what every plane kind shares: how it is reached. A cluster-scoped plane
 * (ClusterDataPlane, ClusterObservabilityPlane) has no metadata.namespace.
 */
export type Plane = {
  kind: string;
  metadata: DataPlane['metadata'];
  spec: Pick<DataPlane['spec'], 'planeID' | 'kubernetesCluster' | 'clusterAgent'>;
};
