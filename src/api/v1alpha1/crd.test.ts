import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ALL_CRDS, openAPIV3SchemaOf, renderCRD, toStructural, type JsonSchema } from './crd.ts';

const root = join(import.meta.dirname, '../../..');

test('config/crd and the chart hold the CRDs generated from the schemas (run npm run gen:crds)', () => {
  for (const dir of ['config/crd', 'charts/release-controller/files/crds']) {
    for (const { file, crd } of ALL_CRDS) {
      assert.equal(readFileSync(join(root, dir, file), 'utf8'), renderCRD(crd), `${dir}/${file} is stale`);
    }
  }
});

test('the Release CRD has the printer columns and list-map keys of the contract', () => {
  const release = ALL_CRDS.find((c) => c.file === 'openchoreo.dev_releases.yaml')?.crd;
  const text = JSON.stringify(release);
  for (const column of ['Project', 'Component', 'Environment', 'Ready', 'Age']) {
    assert.ok(text.includes(`"name":"${column}"`), `printer column ${column}`);
  }
  assert.ok(text.includes('"x-kubernetes-list-map-keys":["id"]'), 'resources is a list-map keyed by id');
  assert.ok(text.includes('"rule":"self == oldSelf"'), 'owner is immutable');
});

/**
 * JSON_SCHEMA_PROPS_KEYS are the JSON names of apiextensions.k8s.io/v1 JSONSchemaProps: a key
 * outside them is dropped by the API server without a word, so the stored CRD differs from the file.
 */
const JSON_SCHEMA_PROPS_KEYS = new Set([
  'id',
  '$schema',
  '$ref',
  'description',
  'type',
  'format',
  'title',
  'default',
  'maximum',
  'exclusiveMaximum',
  'minimum',
  'exclusiveMinimum',
  'maxLength',
  'minLength',
  'pattern',
  'maxItems',
  'minItems',
  'uniqueItems',
  'multipleOf',
  'enum',
  'maxProperties',
  'minProperties',
  'required',
  'items',
  'allOf',
  'oneOf',
  'anyOf',
  'not',
  'properties',
  'additionalProperties',
  'patternProperties',
  'dependencies',
  'additionalItems',
  'definitions',
  'externalDocs',
  'example',
  'nullable',
  'x-kubernetes-preserve-unknown-fields',
  'x-kubernetes-embedded-resource',
  'x-kubernetes-int-or-string',
  'x-kubernetes-list-map-keys',
  'x-kubernetes-list-type',
  'x-kubernetes-map-type',
  'x-kubernetes-validations',
]);
/** VALIDATION_RULE_KEYS are the JSON names of apiextensions.k8s.io/v1 ValidationRule. */
const VALIDATION_RULE_KEYS = new Set([
  'rule',
  'message',
  'messageExpression',
  'reason',
  'fieldPath',
  'optionalOldSelf',
]);

/** unknownKeys lists `path: key` for every key of every schema node under `node` that JSONSchemaProps lacks. */
function unknownKeys(node: JsonSchema, path: string): string[] {
  const found = Object.keys(node)
    .filter((key) => !JSON_SCHEMA_PROPS_KEYS.has(key))
    .map((key) => `${path}: ${key}`);
  for (const rule of (node['x-kubernetes-validations'] as JsonSchema[] | undefined) ?? []) {
    found.push(
      ...Object.keys(rule)
        .filter((key) => !VALIDATION_RULE_KEYS.has(key))
        .map((key) => `${path} rule: ${key}`),
    );
  }
  const children: [string, unknown][] = [
    ...Object.entries((node['properties'] as Record<string, unknown> | undefined) ?? {}).map(
      ([name, child]): [string, unknown] => [`${path}.${name}`, child],
    ),
    [`${path}[]`, node['items']],
    [`${path}{}`, node['additionalProperties']],
    [`${path}!`, node['not']],
    ...['allOf', 'anyOf', 'oneOf'].flatMap((key) =>
      ((node[key] as unknown[] | undefined) ?? []).map((child, i): [string, unknown] => [
        `${path}.${key}[${i}]`,
        child,
      ]),
    ),
  ];
  for (const [childPath, child] of children) {
    if (child !== null && typeof child === 'object')
      found.push(...unknownKeys(child as JsonSchema, childPath));
  }
  return found;
}

test('every generated CRD schema uses only keys apiextensions JSONSchemaProps knows (no const)', () => {
  for (const { file, crd } of ALL_CRDS) {
    const schema = openAPIV3SchemaOf(crd);
    assert.deepEqual(unknownKeys(schema, file), [], `${file} has keys the API server would drop`);
  }
  assert.deepEqual(unknownKeys({ properties: { prune: { type: 'string', const: 'Disabled' } } }, 'x'), [
    'x.prune: const',
  ]);
  assert.deepEqual(toStructural({ type: 'string', const: 'Disabled' }), {
    type: 'string',
    enum: ['Disabled'],
  });
});
