/**
 * CustomResourceDefinitions of our kinds, built from the TypeBox schemas in schema.ts.
 * `npm run gen:crds` writes them to config/crd/; a unit test fails when the files are stale.
 */
import {
  DataPlaneSpecSchema,
  EnvironmentStatusSchema,
  PlaneStatusSchema,
  ObservabilityPlaneSpecSchema,
  EnvironmentSpecSchema,
  ReleaseSpecSchema,
  ReleaseStatusSchema,
  RenderedReleaseSpecSchema,
  ConditionSchema,
  HealthRuleSpecSchema,
} from './schema.ts';
import { TenantPolicySpecSchema, TenantPolicyStatusSchema } from './tenancy.ts';
import Type, { type TSchema } from 'typebox';
import { stringify } from 'yaml';
import { GROUP, VERSION } from './constants.ts';
import { RENDERED_RELEASE_PROFILE } from './profile.ts';

/** JsonSchema is a JSON Schema node as written into a CRD. */
export type JsonSchema = { [key: string]: unknown };

/**
 * toStructural rewrites a TypeBox schema into a Kubernetes structural schema that uses only the keys
 * of apiextensions' JSONSchemaProps: string constants and unions of them become `enum`, `patternProperties` maps become `additionalProperties`, and nodes that
 * preserve unknown fields keep only their type and extensions.
 */
export function toStructural(schema: TSchema | JsonSchema): JsonSchema {
  const node = { ...(schema as JsonSchema) };
  // apiextensions has no `const` (Type.Literal): it would drop the key silently, so the stored CRD
  // would never equal the file and every second field manager applying it would conflict.
  if (node['const'] !== undefined) {
    node['enum'] = [node['const']];
    delete node['const'];
  }
  const anyOf = node['anyOf'] as JsonSchema[] | undefined;
  if (anyOf && anyOf.every((s) => s['const'] !== undefined)) {
    delete node['anyOf'];
    node['type'] = 'string';
    node['enum'] = anyOf.map((s) => s['const']);
  }
  if (Array.isArray(node['enum']) && node['type'] === undefined) node['type'] = 'string';
  const patterns = node['patternProperties'] as Record<string, JsonSchema> | undefined;
  if (patterns) {
    delete node['patternProperties'];
    const values = Object.values(patterns)[0];
    if (node['x-kubernetes-preserve-unknown-fields'] !== true && values) {
      node['additionalProperties'] = toStructural(values);
    }
  }
  if (node['x-kubernetes-embedded-resource'] === false) delete node['x-kubernetes-embedded-resource'];
  // A node that may hold any JSON type (x-any-type, ours) keeps no type; every other node
  // preserving unknown fields is an object.
  if (node['x-any-type'] === true) delete node['x-any-type'];
  else if (node['x-kubernetes-preserve-unknown-fields'] === true && node['type'] === undefined)
    node['type'] = 'object';
  const properties = node['properties'] as Record<string, JsonSchema> | undefined;
  if (properties) {
    node['properties'] = Object.fromEntries(Object.entries(properties).map(([k, v]) => [k, toStructural(v)]));
  }
  if (node['items']) node['items'] = toStructural(node['items']);
  return node;
}

interface KindNames {
  kind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  /** scope is Namespaced unless said. */
  scope?: 'Namespaced' | 'Cluster';
}

function crd(names: KindNames, spec: TSchema, status: TSchema, printerColumns: JsonSchema[]): JsonSchema {
  const root = Type.Object(
    {
      apiVersion: Type.Optional(Type.String()),
      kind: Type.Optional(Type.String()),
      metadata: Type.Optional(Type.Unsafe({ type: 'object' })),
      spec,
      status: Type.Optional(status),
    },
    { required: ['spec'] },
  );
  const openAPIV3Schema = toStructural(root);
  openAPIV3Schema['required'] = ['spec'];
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${names.plural}.${GROUP}` },
    spec: {
      group: GROUP,
      names: {
        kind: names.kind,
        listKind: `${names.kind}List`,
        plural: names.plural,
        singular: names.singular,
        shortNames: names.shortNames,
        categories: ['openchoreo'],
      },
      scope: names.scope ?? 'Namespaced',
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: [
            ...printerColumns,
            { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
          ],
          schema: { openAPIV3Schema },
        },
      ],
    },
  };
}

const conditionsStatus = Type.Object({
  observedGeneration: Type.Optional(Type.Integer({ minimum: 0 })),
  conditions: Type.Optional(
    Type.Array(ConditionSchema, { 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['type'] }),
  ),
});

/**
 * planeStatus is a plane's status: conditions, what this controller checked (controller/plane/),
 * and upstream's agentConnection, which OpenChoreo's plane controllers write.
 */
const planeStatus = Type.Object({
  ...PlaneStatusSchema.properties,
  ...conditionsStatus.properties,
  agentConnection: Type.Optional(
    Type.Unknown({
      'x-kubernetes-preserve-unknown-fields': true,
      description:
        "Cluster agent connection, written by OpenChoreo's plane controllers (not by this controller).",
    }),
  ),
});

/**
 * readyColumns show the Ready condition's status and reason; the reason only with `-o wide` when
 * a priority is given.
 */
function readyColumns(reasonPriority?: number): JsonSchema[] {
  return [
    { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
    {
      name: 'Reason',
      type: 'string',
      jsonPath: '.status.conditions[?(@.type=="Ready")].reason',
      ...(reasonPriority !== undefined && { priority: reasonPriority }),
    },
  ];
}

/** releaseCRD is the CustomResourceDefinition of Release. */
export const releaseCRD = crd(
  { kind: 'Release', plural: 'releases', singular: 'release', shortNames: ['rel'] },
  ReleaseSpecSchema,
  ReleaseStatusSchema,
  [
    { name: 'Project', type: 'string', jsonPath: '.spec.owner.projectName' },
    { name: 'Component', type: 'string', jsonPath: '.spec.owner.componentName' },
    { name: 'Environment', type: 'string', jsonPath: '.spec.environmentName' },
    ...readyColumns(1),
  ],
);

/**
 * renderedReleaseCRD is the CustomResourceDefinition of RenderedRelease: OpenChoreo's name for a
 * Release that may also target the observability plane, served by the same engine (profile.ts).
 */
export const renderedReleaseCRD = crd(
  { ...RENDERED_RELEASE_PROFILE, shortNames: [...RENDERED_RELEASE_PROFILE.shortNames] },
  RenderedReleaseSpecSchema,
  ReleaseStatusSchema,
  [
    { name: 'Project', type: 'string', jsonPath: '.spec.owner.projectName' },
    { name: 'Component', type: 'string', jsonPath: '.spec.owner.componentName' },
    { name: 'Resource', type: 'string', jsonPath: '.spec.owner.resourceName', priority: 1 },
    { name: 'Environment', type: 'string', jsonPath: '.spec.environmentName' },
    { name: 'Plane', type: 'string', jsonPath: '.spec.targetPlane' },
    ...readyColumns(1),
  ],
);

/** statusColumns are the columns of an Environment's or a plane's status (controller/plane/). */
const statusColumns: JsonSchema[] = [
  ...readyColumns(),
  { name: 'Releases', type: 'integer', jsonPath: '.status.releases' },
];

/** environmentCRD is the CustomResourceDefinition of Environment. */
export const environmentCRD = crd(
  { kind: 'Environment', plural: 'environments', singular: 'environment', shortNames: ['env'] },
  EnvironmentSpecSchema,
  Type.Object({ ...EnvironmentStatusSchema.properties, ...conditionsStatus.properties }),
  [
    { name: 'DataPlane', type: 'string', jsonPath: '.status.dataPlane' },
    ...statusColumns,
    { name: 'Production', type: 'boolean', jsonPath: '.spec.isProduction' },
  ],
);

const planeColumns: JsonSchema[] = [
  { name: 'PlaneID', type: 'string', jsonPath: '.spec.planeID' },
  { name: 'Cluster', type: 'string', jsonPath: '.spec.kubernetesCluster.name' },
  {
    name: 'API Server',
    type: 'string',
    jsonPath: '.spec.kubernetesCluster.credentials.apiServerURL',
    priority: 1,
  },
];

/** dataPlaneColumns put what the controller checked first; where the plane is, with -o wide. */
const dataPlaneColumns: JsonSchema[] = [
  ...statusColumns,
  { name: 'Version', type: 'string', jsonPath: '.status.serverVersion', priority: 1 },
  ...planeColumns.map((c) => ({ ...c, priority: 1 })),
];

/** dataPlaneCRD is the CustomResourceDefinition of DataPlane. */
export const dataPlaneCRD = crd(
  { kind: 'DataPlane', plural: 'dataplanes', singular: 'dataplane', shortNames: ['dp', 'dps'] },
  DataPlaneSpecSchema,
  planeStatus,
  dataPlaneColumns,
);

/** clusterDataPlaneCRD is the CustomResourceDefinition of ClusterDataPlane: a DataPlane for every namespace. */
export const clusterDataPlaneCRD = crd(
  {
    kind: 'ClusterDataPlane',
    plural: 'clusterdataplanes',
    singular: 'clusterdataplane',
    shortNames: ['cdp', 'cdps'],
    scope: 'Cluster',
  },
  DataPlaneSpecSchema,
  planeStatus,
  dataPlaneColumns,
);

/** observabilityPlaneCRD is the CustomResourceDefinition of ObservabilityPlane. */
export const observabilityPlaneCRD = crd(
  {
    kind: 'ObservabilityPlane',
    plural: 'observabilityplanes',
    singular: 'observabilityplane',
    shortNames: ['op', 'ops'],
  },
  ObservabilityPlaneSpecSchema,
  planeStatus,
  planeColumns,
);

/** clusterObservabilityPlaneCRD is the CustomResourceDefinition of ClusterObservabilityPlane. */
export const clusterObservabilityPlaneCRD = crd(
  {
    kind: 'ClusterObservabilityPlane',
    plural: 'clusterobservabilityplanes',
    singular: 'clusterobservabilityplane',
    shortNames: ['cop', 'cops'],
    scope: 'Cluster',
  },
  ObservabilityPlaneSpecSchema,
  planeStatus,
  planeColumns,
);

/** tenantPolicyCRD is the CustomResourceDefinition of TenantPolicy (cluster-scoped: only the operator edits it). */
export const tenantPolicyCRD = crd(
  {
    kind: 'TenantPolicy',
    plural: 'tenantpolicies',
    singular: 'tenantpolicy',
    shortNames: ['tp'],
    scope: 'Cluster',
  },
  TenantPolicySpecSchema,
  TenantPolicyStatusSchema,
  [
    { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
    { name: 'Adoption', type: 'string', jsonPath: '.spec.adoption', priority: 1 },
  ],
);

/** healthRuleCRD is the CustomResourceDefinition of HealthRule: cluster-scoped, the operator's own. */
export const healthRuleCRD = crd(
  { kind: 'HealthRule', plural: 'healthrules', singular: 'healthrule', shortNames: ['hr'], scope: 'Cluster' },
  HealthRuleSpecSchema,
  conditionsStatus,
  [
    { name: 'Target API Version', type: 'string', jsonPath: '.spec.apiVersion' },
    { name: 'Target Kind', type: 'string', jsonPath: '.spec.kind' },
    ...readyColumns(1),
    {
      name: 'Message',
      type: 'string',
      jsonPath: '.status.conditions[?(@.type=="Ready")].message',
      priority: 1,
    },
  ],
);

/** ALL_CRDS lists the CRDs with the file name each is written to under config/crd/. */
export const ALL_CRDS: ReadonlyArray<{ file: string; crd: JsonSchema }> = [
  { file: 'openchoreo.dev_releases.yaml', crd: releaseCRD },
  { file: 'openchoreo.dev_renderedreleases.yaml', crd: renderedReleaseCRD },
  { file: 'openchoreo.dev_environments.yaml', crd: environmentCRD },
  { file: 'openchoreo.dev_dataplanes.yaml', crd: dataPlaneCRD },
  { file: 'openchoreo.dev_tenantpolicies.yaml', crd: tenantPolicyCRD },
  { file: 'openchoreo.dev_healthrules.yaml', crd: healthRuleCRD },
  { file: 'openchoreo.dev_clusterdataplanes.yaml', crd: clusterDataPlaneCRD },
  { file: 'openchoreo.dev_observabilityplanes.yaml', crd: observabilityPlaneCRD },
  { file: 'openchoreo.dev_clusterobservabilityplanes.yaml', crd: clusterObservabilityPlaneCRD },
];

/** openAPIV3SchemaOf is the schema of a generated CRD's only version. */
export function openAPIV3SchemaOf(crd: JsonSchema): JsonSchema {
  const spec = crd['spec'] as { versions: { schema: { openAPIV3Schema: JsonSchema } }[] };
  const version = spec.versions[0];
  if (!version) throw new Error(`CRD ${String((crd['metadata'] as JsonSchema)['name'])} has no version`);
  return version.schema.openAPIV3Schema;
}

/** renderCRD is the YAML text of a CRD as checked in under config/crd/. */
export function renderCRD(crd: JsonSchema): string {
  return `# Generated from src/api/v1alpha1/schema.ts by \`npm run gen:crds\`. Do not edit.\n---\n${stringify(crd, { lineWidth: 0 })}`;
}
