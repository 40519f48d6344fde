/**
 * CustomResourceDefinitions of the three kinds, built from the TypeBox schemas in schema.ts.
 * `npm run gen:crds` writes them to config/crd/; a unit test fails when the files are stale.
 */
import {
  DataPlaneSpecSchema,
  EnvironmentSpecSchema,
  ReleaseSpecSchema,
  ReleaseStatusSchema,
  ConditionSchema,
} from './schema.ts';
import Type, { type TSchema } from 'typebox';
import { stringify } from 'yaml';
import { GROUP, VERSION } from './constants.ts';

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
  if (node['x-kubernetes-preserve-unknown-fields'] === true && node['type'] === undefined)
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
      scope: 'Namespaced',
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

/** releaseCRD is the CustomResourceDefinition of Release. */
export const releaseCRD = crd(
  { kind: 'Release', plural: 'releases', singular: 'release', shortNames: ['rel'] },
  ReleaseSpecSchema,
  ReleaseStatusSchema,
  [
    { name: 'Project', type: 'string', jsonPath: '.spec.owner.projectName' },
    { name: 'Component', type: 'string', jsonPath: '.spec.owner.componentName' },
    { name: 'Environment', type: 'string', jsonPath: '.spec.environmentName' },
    { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
    {
      name: 'Reason',
      type: 'string',
      jsonPath: '.status.conditions[?(@.type=="Ready")].reason',
      priority: 1,
    },
  ],
);

/** environmentCRD is the CustomResourceDefinition of Environment. */
export const environmentCRD = crd(
  { kind: 'Environment', plural: 'environments', singular: 'environment', shortNames: ['env'] },
  EnvironmentSpecSchema,
  conditionsStatus,
  [
    { name: 'DataPlane', type: 'string', jsonPath: '.spec.dataPlaneRef' },
    { name: 'Production', type: 'boolean', jsonPath: '.spec.isProduction' },
  ],
);

/** dataPlaneCRD is the CustomResourceDefinition of DataPlane. */
export const dataPlaneCRD = crd(
  { kind: 'DataPlane', plural: 'dataplanes', singular: 'dataplane', shortNames: ['dp'] },
  DataPlaneSpecSchema,
  conditionsStatus,
  [
    { name: 'Cluster', type: 'string', jsonPath: '.spec.kubernetesCluster.name' },
    {
      name: 'API Server',
      type: 'string',
      jsonPath: '.spec.kubernetesCluster.credentials.apiServerURL',
      priority: 1,
    },
  ],
);

/** ALL_CRDS lists the CRDs with the file name each is written to under config/crd/. */
export const ALL_CRDS: ReadonlyArray<{ file: string; crd: JsonSchema }> = [
  { file: 'openchoreo.dev_releases.yaml', crd: releaseCRD },
  { file: 'openchoreo.dev_environments.yaml', crd: environmentCRD },
  { file: 'openchoreo.dev_dataplanes.yaml', crd: dataPlaneCRD },
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
