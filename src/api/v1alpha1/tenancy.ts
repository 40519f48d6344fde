/**
 * TenantPolicy: the platform operator's say over what each organization (a namespace of the
 * control plane) may do on data planes. It is cluster-scoped, so no tenant can edit it; nothing a
 * tenant controls (its DataPlanes, Environments, Secrets, annotations, or labels written on a data
 * plane) can widen it, and a DataPlane's own `spec.resourcePolicy` only narrows it. An
 * organization no TenantPolicy selects gets the safe default (docs/tenancy.md): namespaced objects
 * only in namespaces it owns, Namespaces, nothing else cluster-scoped, no adoption.
 *
 * Patterns are those of a DataPlane's resourcePolicy (`*` for any characters; kinds as `Kind` or
 * `group/Kind`, core group `core`), and may use `{organization}` for the organization's name.
 */
import Type, { type Static } from 'typebox';
import { ConditionSchema } from './schema.ts';

const pattern = (description: string) => Type.String({ minLength: 1, maxLength: 253, description });

const patternList = (what: string, example: string) =>
  Type.Object({
    allow: Type.Optional(
      Type.Array(pattern(`A ${what} pattern.`), {
        maxItems: 256,
        description: `${what}s the organizations may use; when set, only these (e.g. ${example}).`,
      }),
    ),
    deny: Type.Optional(
      Type.Array(pattern(`A ${what} pattern.`), {
        maxItems: 256,
        description: `${what}s the organizations may not use; a deny wins over an allow.`,
      }),
    ),
  });

const LabelSelectorSchema = Type.Object({
  matchLabels: Type.Optional(Type.Record(Type.String(), Type.String())),
  matchExpressions: Type.Optional(
    Type.Array(
      Type.Object({
        key: Type.String({ minLength: 1 }),
        operator: Type.Union([
          Type.Literal('In'),
          Type.Literal('NotIn'),
          Type.Literal('Exists'),
          Type.Literal('DoesNotExist'),
        ]),
        values: Type.Optional(Type.Array(Type.String())),
      }),
      { maxItems: 32 },
    ),
  ),
});

const limit = (description: string) => Type.Optional(Type.Integer({ minimum: 0, description }));

/** TenantPolicySpecSchema is what the operator grants the organizations a TenantPolicy selects. */
export const TenantPolicySpecSchema = Type.Object({
  organizations: Type.Object(
    {
      names: Type.Optional(
        Type.Array(Type.String({ minLength: 1, maxLength: 63 }), {
          maxItems: 1024,
          description: 'Organization (control-plane namespace) names this policy governs.',
        }),
      ),
      namespaceSelector: Type.Optional(
        Type.Object(LabelSelectorSchema.properties, {
          description:
            'Labels of the organization namespaces (on the control plane) this policy governs; {} selects every namespace.',
        }),
      ),
    },
    {
      description:
        'Which organizations this policy governs: the namespaces named, and those the selector matches. An organization governed by two policies is refused until one lets go of it.',
    },
  ),
  clusters: Type.Optional(
    Type.Array(pattern('A data-plane cluster name pattern.'), {
      maxItems: 256,
      description:
        'Data-plane clusters the organizations may use, by the value of the label openchoreo.dev/data-plane-credentials on the credentials Secret the operator made ("*" for any). Absent: any cluster whose credentials the operator marked.',
    }),
  ),
  inlineCredentials: Type.Optional(
    Type.Union([Type.Literal('Allowed'), Type.Literal('Forbidden')], {
      description:
        'Whether a DataPlane may carry its own credentials (spec.kubernetesCluster.credentials) instead of an operator-marked Secret; default Forbidden.',
    }),
  ),
  namespaces: Type.Optional(
    Type.Object(patternList('data-plane namespace', '"{organization}-*"').properties, {
      description:
        'Data-plane namespaces the organizations may write into besides those they own (created for them by the controller). A namespace another organization owns is never allowed.',
    }),
  ),
  kinds: Type.Optional(
    Type.Object(patternList('kind', '"apps/*" or "core/Secret"').properties, {
      description: 'Kinds (namespaced or cluster-scoped) the organizations may apply.',
    }),
  ),
  clusterScopedKinds: Type.Optional(
    Type.Array(pattern('A cluster-scoped kind pattern ("Kind" or "group/Kind").'), {
      maxItems: 256,
      description:
        'Cluster-scoped kinds the organizations may apply besides Namespace (e.g. "rbac.authorization.k8s.io/ClusterRole"); default none.',
    }),
  ),
  adoption: Type.Optional(
    Type.Union([Type.Literal('Allowed'), Type.Literal('Forbidden')], {
      description:
        'Whether an organization may adopt an existing object it did not create (annotation openchoreo.dev/adopt on the object in the Release), in a namespace it may write; default Forbidden.',
    }),
  ),
  limits: Type.Optional(
    Type.Object(
      {
        objectsPerRelease: limit('Most objects one Release may list.'),
        observedPerRelease: limit('Most objects one Release may observe (openchoreo.dev/apply: Observe).'),
        observedPerOrganization: limit('Most objects all Releases of an organization may observe.'),
        dataPlanesPerOrganization: limit('Most DataPlanes an organization may use.'),
      },
      { description: 'Limits per Release and per organization; absent means unlimited.' },
    ),
  ),
  impersonation: Type.Optional(
    Type.Object(
      {
        user: Type.String({
          minLength: 1,
          maxLength: 253,
          description:
            'User every data-plane request for the organization impersonates, e.g. "openchoreo:org:{organization}".',
        }),
        groups: Type.Optional(
          Type.Array(Type.String({ minLength: 1, maxLength: 253 }), {
            maxItems: 32,
            description: 'Groups of the impersonated identity; may use {organization}.',
          }),
        ),
      },
      {
        description:
          "Make the data plane's RBAC the final authority: every request for the organization impersonates this identity (the controller's credentials need the impersonate verb).",
      },
    ),
  ),
  tunnelHosts: Type.Optional(
    Type.Array(pattern('A tunnel agent host pattern.'), {
      maxItems: 256,
      description:
        'Agent hosts (spec.kubernetesCluster.tunnel.host) the organizations may route to; default "{organization}" and "{organization}.*".',
    }),
  ),
  insecureSkipTLSVerify: Type.Optional(
    Type.Union([Type.Literal('Allowed'), Type.Literal('Forbidden')], {
      description:
        "Whether a DataPlane's kubeconfig may skip verifying the API server's certificate; default Forbidden.",
    }),
  ),
});

/** TenantPolicyStatusSchema says whether the controller accepted the policy. */
export const TenantPolicyStatusSchema = Type.Object({
  observedGeneration: Type.Optional(Type.Integer({ minimum: 0 })),
  conditions: Type.Optional(
    Type.Array(ConditionSchema, { 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['type'] }),
  ),
});

/** TenantPolicySchema is the whole TenantPolicy object. */
export const TenantPolicySchema = Type.Object({
  apiVersion: Type.String(),
  kind: Type.String(),
  metadata: Type.Object({
    name: Type.String(),
    uid: Type.Optional(Type.String()),
    resourceVersion: Type.Optional(Type.String()),
    generation: Type.Optional(Type.Number()),
  }),
  spec: TenantPolicySpecSchema,
  status: Type.Optional(TenantPolicyStatusSchema),
});

/** TenantPolicySpec is the spec of a TenantPolicy. */
export type TenantPolicySpec = Static<typeof TenantPolicySpecSchema>;
/** TenantPolicy is the whole TenantPolicy object. */
export type TenantPolicy = Static<typeof TenantPolicySchema>;
/** LabelSelector is metav1.LabelSelector as TenantPolicy uses it. */
export type LabelSelector = Static<typeof LabelSelectorSchema>;
