import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { KubeObject } from '../../api/object.ts';
import { Annotations, CONTROLLER_NAME, Labels } from '../../api/v1alpha1/constants.ts';
import type { Release } from '../../api/v1alpha1/schema.ts';
import type { DesiredItem, DesiredObject, InvalidObject } from './desired.ts';
import { deletionPolicy, desiredItems, labelValue, MAX_LABEL_VALUE, releaseKeyOfObject } from './desired.ts';

const RELEASE_UID = '5f0c8a3e-2b1d-4c7a-9e6f-1a2b3c4d5e6f';
const LABEL_VALUE = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

function release(objects: Record<string, unknown>, name = 'customer-service-prod-release'): Release {
  return {
    apiVersion: 'openchoreo.dev/v1alpha1',
    kind: 'Release',
    metadata: { name, namespace: 'acme', uid: RELEASE_UID, generation: 3 },
    spec: {
      owner: { projectName: 'my-project', componentName: 'customer-service' },
      environmentName: 'production',
      resources: Object.entries(objects).map(([id, object]) => ({
        id,
        object: object as Record<string, unknown>,
      })),
    },
  };
}

function deployment(metadata: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'customer-service', namespace: 'prod-data-plane', ...metadata },
    spec: {
      replicas: 3,
      selector: { matchLabels: { app: 'customer-service' } },
      template: {
        metadata: { labels: { app: 'customer-service' } },
        spec: { containers: [{ name: 'main', image: 'myregistry/customer-service:v1.0.0' }] },
      },
    },
  };
}

function only(items: DesiredItem[]): DesiredItem {
  assert.equal(items.length, 1, 'one spec item gives one desired item');
  return items[0]!;
}

function valid(item: DesiredItem): DesiredObject {
  assert.ok(item.ok, `expected a valid item, got: ${item.ok ? '' : item.message}`);
  return item;
}

function invalid(item: DesiredItem): InvalidObject {
  assert.ok(!item.ok, `expected an invalid item for ${item.id}`);
  return item;
}

function hashOf(rel: Release): string {
  return valid(only(desiredItems(rel))).hash;
}

describe('desiredItems', () => {
  test('builds one item per spec resource, in spec order, with what identifies it', () => {
    const items = desiredItems(
      release({
        deployment: deployment(),
        service: {
          apiVersion: 'v1',
          kind: 'Service',
          metadata: { name: 'customer-service', namespace: 'prod-data-plane' },
          spec: { selector: { app: 'customer-service' }, ports: [{ port: 80, targetPort: 8080 }] },
        },
        'cluster-role': {
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'ClusterRole',
          metadata: { name: 'customer-service-reader' },
          rules: [],
        },
      }),
    );
    assert.deepEqual(
      items.map((i) => [i.ok, i.id, i.index, i.group, i.version, i.kind, i.name, i.namespace]),
      [
        [true, 'deployment', 0, 'apps', 'v1', 'Deployment', 'customer-service', 'prod-data-plane'],
        [true, 'service', 1, '', 'v1', 'Service', 'customer-service', 'prod-data-plane'],
        [
          true,
          'cluster-role',
          2,
          'rbac.authorization.k8s.io',
          'v1',
          'ClusterRole',
          'customer-service-reader',
          '',
        ],
      ],
    );
  });

  test('a Release without resources has no items', () => {
    const rel = release({});
    delete rel.spec.resources;
    assert.deepEqual(desiredItems(rel), []);
  });

  test('adds the tracking labels and keeps the user labels', () => {
    const item = valid(
      only(desiredItems(release({ web: deployment({ labels: { app: 'customer-service' } }) }))),
    );
    assert.deepEqual(item.object.metadata.labels, {
      app: 'customer-service',
      [Labels.managedBy]: CONTROLLER_NAME,
      [Labels.resourceId]: 'web',
      [Labels.releaseUid]: RELEASE_UID,
      [Labels.releaseName]: 'customer-service-prod-release',
      [Labels.releaseNamespace]: 'acme',
    });
  });

  test('tracking labels override the user labels of the same keys', () => {
    const item = valid(
      only(
        desiredItems(
          release({
            web: deployment({
              labels: {
                [Labels.managedBy]: 'helm',
                [Labels.resourceId]: 'other',
                [Labels.releaseUid]: 'someone-else',
                [Labels.releaseName]: 'other-release',
                [Labels.releaseNamespace]: 'other-org',
              },
            }),
          }),
        ),
      ),
    );
    const labels = item.object.metadata.labels ?? {};
    assert.equal(labels[Labels.managedBy], CONTROLLER_NAME);
    assert.equal(labels[Labels.resourceId], 'web');
    assert.equal(labels[Labels.releaseUid], RELEASE_UID);
    assert.equal(labels[Labels.releaseName], 'customer-service-prod-release');
    assert.equal(labels[Labels.releaseNamespace], 'acme');
  });

  test('strips the fields the API server owns and keeps the rest of metadata', () => {
    const item = valid(
      only(
        desiredItems(
          release({
            web: deployment({
              resourceVersion: '48213',
              uid: '0d1e2f3a-4b5c-6d7e-8f90-a1b2c3d4e5f6',
              creationTimestamp: '2025-06-01T10:00:00Z',
              generation: 7,
              managedFields: [{ manager: 'kubectl-client-side-apply', operation: 'Update' }],
              selfLink: '/apis/apps/v1/namespaces/prod-data-plane/deployments/customer-service',
              deletionTimestamp: '2025-06-01T11:00:00Z',
              deletionGracePeriodSeconds: 30,
              annotations: { 'deployment.kubernetes.io/revision': '4' },
              finalizers: ['example.com/keep'],
            }),
          }),
        ),
      ),
    );
    const meta = item.object.metadata;
    for (const field of [
      'resourceVersion',
      'uid',
      'creationTimestamp',
      'generation',
      'managedFields',
      'selfLink',
      'deletionTimestamp',
      'deletionGracePeriodSeconds',
    ]) {
      assert.ok(!(field in meta), `metadata.${field} must be stripped`);
    }
    assert.equal(meta.name, 'customer-service');
    assert.equal(meta.namespace, 'prod-data-plane');
    assert.deepEqual(meta.annotations, { 'deployment.kubernetes.io/revision': '4' });
    assert.deepEqual(meta.finalizers, ['example.com/keep']);
  });

  test('drops status and keeps spec and other top-level fields', () => {
    const raw: Record<string, unknown> = {
      ...deployment(),
      status: { replicas: 3, readyReplicas: 3, observedGeneration: 2 },
    };
    const item = valid(only(desiredItems(release({ web: raw }))));
    assert.ok(!('status' in item.object), 'status must not be applied');
    assert.deepEqual(item.object['spec'], raw['spec']);
    assert.equal(item.object.apiVersion, 'apps/v1');
    assert.equal(item.object.kind, 'Deployment');
  });

  test('does not modify the Release spec', () => {
    const rel = release({ web: { ...deployment({ uid: 'abc' }), status: { replicas: 1 } } });
    const before = structuredClone(rel);
    desiredItems(rel);
    assert.deepEqual(rel, before);
  });

  test('an object without annotations gets none for a short Release name', () => {
    const item = valid(only(desiredItems(release({ web: deployment() }))));
    assert.ok(!('annotations' in item.object.metadata), 'no empty annotations map is sent');
  });

  test('a long Release name is shortened in the label and kept whole in the annotation', () => {
    const name = `${'customer-service-production-release-'.repeat(3)}v1`;
    assert.ok(name.length > MAX_LABEL_VALUE, 'the name must be longer than a label value');
    const item = valid(
      only(desiredItems(release({ web: deployment({ annotations: { team: 'payments' } }) }, name))),
    );
    const label = item.object.metadata.labels?.[Labels.releaseName] ?? '';
    assert.equal(label, labelValue(name));
    assert.ok(label.length <= MAX_LABEL_VALUE, `label value too long: ${label}`);
    assert.deepEqual(item.object.metadata.annotations, { team: 'payments', [Labels.releaseName]: name });
  });

  const invalidCases: Array<{
    name: string;
    object: unknown;
    message: string;
    known?: Partial<InvalidObject>;
  }> = [
    { name: 'a string', object: 'apiVersion: v1', message: 'resource "bad": object is not a JSON object' },
    { name: 'an array', object: [deployment()], message: 'resource "bad": object is not a JSON object' },
    { name: 'null', object: null, message: 'resource "bad": object is not a JSON object' },
    {
      name: 'no apiVersion',
      object: { kind: 'ConfigMap', metadata: { name: 'settings', namespace: 'shop' } },
      message: 'resource "bad": object has no apiVersion',
      known: { kind: 'ConfigMap', name: 'settings', namespace: 'shop' },
    },
    {
      name: 'an empty apiVersion',
      object: { apiVersion: '', kind: 'ConfigMap', metadata: { name: 'settings' } },
      message: 'resource "bad": object has no apiVersion',
    },
    {
      name: 'a query in apiVersion',
      object: { apiVersion: 'v1?watch=true', kind: 'ConfigMap', metadata: { name: 'settings' } },
      message:
        'resource "bad": apiVersion "v1?watch=true" is invalid: the version of apiVersion must be a DNS label (at most 63 lowercase letters, digits and \'-\', starting and ending alphanumeric)',
      known: { kind: 'ConfigMap', name: 'settings' },
    },
    {
      name: 'a space and a control character in apiVersion',
      object: { apiVersion: 'v1 x\u001b[2J', kind: 'ConfigMap', metadata: { name: 'settings' } },
      message:
        'resource "bad": apiVersion "v1 x [2J" is invalid: the version of apiVersion must be a DNS label (at most 63 lowercase letters, digits and \'-\', starting and ending alphanumeric)',
      known: { kind: 'ConfigMap', name: 'settings' },
    },
    {
      name: 'a group that is not a DNS subdomain',
      object: { apiVersion: 'Example.com/v1', kind: 'Widget', metadata: { name: 'w' } },
      message:
        'resource "bad": apiVersion "Example.com/v1" is invalid: the group of apiVersion must be a DNS subdomain (at most 253 characters of dot-separated DNS labels)',
      known: { kind: 'Widget', name: 'w' },
    },
    {
      name: 'no kind',
      object: { apiVersion: 'v1', metadata: { name: 'settings', namespace: 'shop' } },
      message: 'resource "bad": object has no kind',
      known: { group: '', version: 'v1', name: 'settings', namespace: 'shop' },
    },
    {
      name: 'no metadata',
      object: { apiVersion: 'apps/v1', kind: 'Deployment', spec: {} },
      message: 'resource "bad": object has no metadata',
      known: { group: 'apps', version: 'v1', kind: 'Deployment' },
    },
    {
      name: 'metadata that is not an object',
      object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: 'settings' },
      message: 'resource "bad": object has no metadata',
    },
    {
      name: 'no metadata.name',
      object: { apiVersion: 'v1', kind: 'Pod', metadata: { generateName: 'worker-', namespace: 'shop' } },
      message:
        'resource "bad": Pod has no metadata.name (generateName is not supported: the controller must find the object again)',
      known: { kind: 'Pod', namespace: 'shop' },
    },
    {
      name: 'a non-string namespace',
      object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings', namespace: 42 } },
      message: 'resource "bad": ConfigMap/settings: metadata.namespace is not a string',
      known: { kind: 'ConfigMap', name: 'settings', namespace: '' },
    },
    {
      name: 'a non-string label value',
      object: {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'settings', namespace: 'shop', labels: { tier: 3 } },
      },
      message: 'resource "bad": ConfigMap/settings: metadata.labels must map strings to strings',
    },
    {
      name: 'labels that are a list',
      object: {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'settings', namespace: 'shop', labels: ['tier=web'] },
      },
      message: 'resource "bad": ConfigMap/settings: metadata.labels must map strings to strings',
    },
    {
      name: 'a non-string annotation value',
      object: {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'settings', namespace: 'shop', annotations: { replicas: true } },
      },
      message: 'resource "bad": ConfigMap/settings: metadata.annotations must map strings to strings',
    },
  ];
  for (const c of invalidCases) {
    test(`an object with ${c.name} is reported by id`, () => {
      const item = invalid(only(desiredItems(release({ bad: c.object }))));
      assert.equal(item.message, c.message);
      assert.equal(item.id, 'bad');
      assert.equal(item.index, 0);
      for (const [key, value] of Object.entries(c.known ?? {})) {
        assert.equal(item[key as keyof InvalidObject], value, `known ${key}`);
      }
    });
  }

  test('an invalid item does not hide the valid ones around it', () => {
    const items = desiredItems(
      release({
        first: deployment(),
        broken: { apiVersion: 'v1', kind: 'ConfigMap' },
        last: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings', namespace: 'shop' } },
      }),
    );
    assert.deepEqual(
      items.map((i) => [i.id, i.ok]),
      [
        ['first', true],
        ['broken', false],
        ['last', true],
      ],
    );
  });
});

describe('labelValue', () => {
  test('values of at most 63 characters are unchanged', () => {
    for (const value of ['', 'web', 'customer-service-prod-release', 'a'.repeat(MAX_LABEL_VALUE)]) {
      assert.equal(labelValue(value), value);
    }
  });

  const longNames = [
    'a'.repeat(64),
    `${'customer-service-'.repeat(4)}release`,
    // the cut falls just after separators, which must not end the prefix
    `${'x'.repeat(50)}---.release-for-the-production-environment`,
    `${'billing.payments.'.repeat(5)}v2`,
  ];
  for (const value of longNames) {
    test(`a ${value.length}-character value becomes a valid label value: ${value.slice(0, 24)}…`, () => {
      const label = labelValue(value);
      assert.ok(label.length <= MAX_LABEL_VALUE, `too long (${label.length}): ${label}`);
      assert.match(label, LABEL_VALUE);
      assert.equal(labelValue(value), label, 'the same value gives the same label');
    });
  }

  test('distinct long values with the same prefix stay distinct', () => {
    const prefix = 'customer-service-production-release-'.repeat(3);
    const labels = new Set(['v1', 'v2', 'v3', 'canary', 'blue', 'green'].map((s) => labelValue(prefix + s)));
    assert.equal(labels.size, 6);
  });
});

describe('desired hash', () => {
  const base = deployment({ labels: { app: 'customer-service' } });

  test('is the same for the same object', () => {
    assert.equal(hashOf(release({ web: base })), hashOf(release({ web: structuredClone(base) })));
  });

  test('ignores what is never applied: status and server-owned metadata', () => {
    const noisy = {
      ...base,
      metadata: { ...(base['metadata'] as object), resourceVersion: '991', uid: 'u-1', generation: 4 },
      status: { replicas: 3 },
    };
    assert.equal(hashOf(release({ web: base })), hashOf(release({ web: noisy })));
  });

  const changes: Array<{ name: string; change: (o: Record<string, unknown>) => void }> = [
    {
      name: 'image',
      change: (o) => setPath(o, ['spec', 'template', 'spec', 'containers', 0, 'image'], 'x:v2'),
    },
    { name: 'replicas', change: (o) => setPath(o, ['spec', 'replicas'], 4) },
    { name: 'a label', change: (o) => setPath(o, ['metadata', 'labels', 'tier'], 'web') },
    { name: 'an annotation', change: (o) => setPath(o, ['metadata', 'annotations'], { owner: 'team-a' }) },
    { name: 'the namespace', change: (o) => setPath(o, ['metadata', 'namespace'], 'staging') },
  ];
  for (const c of changes) {
    test(`changes when ${c.name} changes`, () => {
      const changed = structuredClone(base);
      c.change(changed);
      assert.notEqual(hashOf(release({ web: base })), hashOf(release({ web: changed })));
    });
  }

  test('changes with the tracking labels: another id or another Release', () => {
    const h = hashOf(release({ web: base }));
    assert.notEqual(h, hashOf(release({ api: base })));
    assert.notEqual(h, hashOf(release({ web: base }, 'another-release')));
  });
});

function setPath(obj: Record<string, unknown>, path: Array<string | number>, value: unknown): void {
  let cur: Record<string | number, unknown> = obj;
  for (const key of path.slice(0, -1)) {
    cur[key] ??= {};
    cur = cur[key] as Record<string | number, unknown>;
  }
  cur[path[path.length - 1]!] = value;
}

describe('releaseKeyOfObject', () => {
  function managed(labels: Record<string, string>, annotations?: Record<string, string>): KubeObject {
    return {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'settings', namespace: 'shop', labels, ...(annotations ? { annotations } : {}) },
    };
  }

  test('reads the Release from the tracking labels of an applied object', () => {
    const item = valid(only(desiredItems(release({ web: deployment() }))));
    assert.deepEqual(releaseKeyOfObject(item.object), {
      namespace: 'acme',
      name: 'customer-service-prod-release',
      uid: RELEASE_UID,
    });
  });

  test('reads a long Release name in full from the annotation', () => {
    const name = `${'customer-service-production-release-'.repeat(2)}v1`;
    const item = valid(only(desiredItems(release({ web: deployment() }, name))));
    assert.deepEqual(releaseKeyOfObject(item.object), { namespace: 'acme', name, uid: RELEASE_UID });
  });

  test('an object without release labels belongs to no Release', () => {
    assert.equal(releaseKeyOfObject(managed({})), undefined);
    assert.equal(releaseKeyOfObject(managed({ [Labels.releaseName]: 'web-release' })), undefined);
    assert.equal(releaseKeyOfObject(managed({ [Labels.releaseNamespace]: 'acme' })), undefined);
  });

  test('a missing uid label reads as an empty uid', () => {
    assert.deepEqual(
      releaseKeyOfObject(managed({ [Labels.releaseName]: 'web-release', [Labels.releaseNamespace]: 'acme' })),
      { namespace: 'acme', name: 'web-release', uid: '' },
    );
  });
});

describe('deletionPolicy', () => {
  const cases: Array<[string | undefined, 'Delete' | 'Orphan']> = [
    [undefined, 'Delete'],
    ['Delete', 'Delete'],
    ['Orphan', 'Orphan'],
    ['orphan', 'Orphan'],
    ['ORPHAN', 'Orphan'],
    ['keep', 'Delete'],
    ['', 'Delete'],
  ];
  for (const [annotation, want] of cases) {
    test(`annotation ${JSON.stringify(annotation)} means ${want}`, () => {
      const rel = release({});
      if (annotation !== undefined) rel.metadata.annotations = { [Annotations.deletionPolicy]: annotation };
      assert.equal(deletionPolicy(rel), want);
    });
  }
});

test("a user's openchoreo.dev/release-name annotation cannot redirect events to another Release", () => {
  const item = valid(
    only(
      desiredItems(
        release({ web: deployment({ annotations: { [Labels.releaseName]: 'payments' } }) }, 'web'),
      ),
    ),
  );
  assert.equal(item.object.metadata.annotations?.[Labels.releaseName], undefined);
  assert.equal(releaseKeyOfObject(item.object)?.name, 'web');
});

void describe('desiredItems: policy annotations', () => {
  const withAnnotations = (annotations: Record<string, string>) =>
    only(desiredItems(release({ web: deployment({ annotations: { keep: 'me', ...annotations } }) })));

  void test('are read into the policy and not sent to the data plane', () => {
    const item = valid(
      withAnnotations({
        [Annotations.apply]: 'CreateOnly',
        [Annotations.prune]: 'Disabled',
        [Annotations.ignoreFields]: ' /spec/replicas, /metadata/annotations/example.com~1x ,,/spec/replicas',
      }),
    );
    assert.deepEqual(item.policy, {
      apply: 'CreateOnly',
      prune: 'Disabled',
      ignoreFields: ['/spec/replicas', '/metadata/annotations/example.com~1x'],
    });
    assert.deepEqual(item.object.metadata.annotations, { keep: 'me' });
    assert.equal(valid(withAnnotations({})).policy, undefined, 'no policy without annotations');
    assert.equal(valid(withAnnotations({ [Annotations.apply]: 'Observe' })).policy?.apply, 'Observe');
  });

  void test('an unknown value is an invalid resource naming the annotation', () => {
    const cases: Array<[Record<string, string>, string]> = [
      [
        { [Annotations.apply]: 'Always' },
        'annotation openchoreo.dev/apply is "Always"; it must be "CreateOnly" or "Observe"',
      ],
      [
        { [Annotations.prune]: 'false' },
        'annotation openchoreo.dev/prune is "false"; it must be "Disabled" (or be left out)',
      ],
      [{ [Annotations.ignoreFields]: ' , ' }, 'annotation openchoreo.dev/ignore-fields names no field'],
      [
        { [Annotations.ignoreFields]: 'spec.replicas' },
        'annotation openchoreo.dev/ignore-fields: "spec.replicas" is not a JSON pointer (it must start with "/")',
      ],
      [
        { [Annotations.ignoreFields]: '/metadata/labels' },
        'annotation openchoreo.dev/ignore-fields: "/metadata/labels" covers /metadata/labels/openchoreo.dev~1managed-by, which the controller must apply',
      ],
      [
        { [Annotations.ignoreFields]: '/metadata/name' },
        'annotation openchoreo.dev/ignore-fields: "/metadata/name" covers /metadata/name, which the controller must apply',
      ],
    ];
    for (const [annotations, message] of cases) {
      assert.equal(
        invalid(withAnnotations(annotations)).message,
        `resource "web": Deployment/customer-service: ${message}`,
      );
    }
  });
});

void describe('desiredItems: openchoreo.dev/restartedAt', () => {
  const restarted = (objects: Record<string, unknown>, value = '2026-12-07T13:00:00Z'): Release => {
    const r = release(objects);
    r.metadata.annotations = { [Annotations.restartedAt]: value };
    return r;
  };
  const podAnnotations = (item: DesiredItem) =>
    (valid(item).object['spec'] as { template: { metadata: { annotations?: Record<string, string> } } })
      .template.metadata.annotations;

  void test('is copied into the pod template of an apps Deployment, and a new value changes the hash', () => {
    const items = desiredItems(restarted({ web: deployment() }));
    assert.deepEqual(podAnnotations(only(items)), { [Annotations.restartedAt]: '2026-12-07T13:00:00Z' });
    assert.notEqual(
      valid(only(desiredItems(restarted({ web: deployment() }, 'later')))).hash,
      valid(only(items)).hash,
      'another restart is another apply',
    );
    assert.equal(
      podAnnotations(only(desiredItems(release({ web: deployment() })))),
      undefined,
      'none without it',
    );
  });

  void test('keeps the pod template annotations there are, and touches no other kind', () => {
    const d = deployment();
    (d['spec'] as { template: { metadata: Record<string, unknown> } }).template.metadata['annotations'] = {
      a: 'b',
    };
    assert.deepEqual(podAnnotations(only(desiredItems(restarted({ web: d })))), {
      a: 'b',
      [Annotations.restartedAt]: '2026-12-07T13:00:00Z',
    });
    const sts = { ...deployment(), kind: 'StatefulSet' };
    assert.equal(podAnnotations(only(desiredItems(restarted({ db: sts })))), undefined);
  });

  void test('a pod template whose annotations are not a map of strings makes that resource invalid, naming the field', () => {
    const d = deployment();
    (d['spec'] as { template: { metadata: Record<string, unknown> } }).template.metadata['annotations'] = [
      'x',
    ];
    assert.match(
      invalid(only(desiredItems(restarted({ web: d })))).message,
      /resource "web": Deployment\/customer-service: cannot inject openchoreo.dev\/restartedAt: spec.template.metadata.annotations/,
    );
  });
});

describe('desired objects of a RenderedRelease', () => {
  test("carry upstream's labels and managed-by value, and of a Release's labels only the organization's; a long name goes into upstream's annotation", () => {
    const name = `${'checkout-production-release-'.repeat(3)}v1`;
    const rendered: Release = { ...release({ web: deployment() }, name), kind: 'RenderedRelease' };
    const item = valid(only(desiredItems(rendered)));
    const labels = item.object.metadata.labels ?? {};
    assert.equal(labels[Labels.managedBy], 'renderedrelease-controller');
    assert.equal(labels['openchoreo.dev/rendered-release-resource-id'], 'web');
    assert.equal(labels['openchoreo.dev/rendered-release-uid'], RELEASE_UID);
    assert.equal(labels['openchoreo.dev/rendered-release-namespace'], 'acme');
    assert.equal(labels['openchoreo.dev/rendered-release-name'], labelValue(name));
    assert.equal(item.object.metadata.annotations?.['openchoreo.dev/rendered-release-name'], name);
    for (const key of [Labels.resourceId, Labels.releaseUid, Labels.releaseName])
      assert.equal(labels[key], undefined, key);
    // The organization a DataPlane's watches select, one key for both kinds (watches.ts managedSelector).
    assert.equal(labels[Labels.releaseNamespace], 'acme');
    assert.equal(item.object.metadata.annotations?.[Labels.releaseName], undefined);
    assert.deepEqual(releaseKeyOfObject(item.object), { namespace: 'acme', name, uid: RELEASE_UID });
  });

  test('ignore-fields may not name its tracking labels', () => {
    const rendered: Release = {
      ...release({
        web: deployment({
          annotations: {
            [Annotations.ignoreFields]: '/metadata/labels/openchoreo.dev~1rendered-release-uid',
          },
        }),
      }),
      kind: 'RenderedRelease',
    };
    const [item] = desiredItems(rendered);
    assert.equal(item?.ok, false);
  });
});

describe('shard labels (--release-selector keys)', () => {
  const KEY = 'sharding.example/key';
  const labelled = (labels: Record<string, string> | undefined, objectLabels?: Record<string, string>) => {
    const r = release({ web: deployment(objectLabels ? { labels: objectLabels } : {}) });
    return { ...r, metadata: { ...r.metadata, ...(labels && { labels }) } };
  };
  const labelsOf = (r: Release) => valid(only(desiredItems(r, [KEY]))).object.metadata.labels ?? {};

  test("every object carries its Release's value of each key, over the object's own", () => {
    assert.equal(labelsOf(labelled({ [KEY]: 'a' }))[KEY], 'a');
    assert.equal(labelsOf(labelled({ [KEY]: 'b' }, { [KEY]: 'a', team: 'pay' }))[KEY], 'b');
    assert.equal(labelsOf(labelled({ [KEY]: 'b' }, { team: 'pay' }))['team'], 'pay');
  });

  test("a key the Release lacks is absent from the object, even when the object's own labels have it", () => {
    assert.ok(!(KEY in labelsOf(labelled(undefined))), 'a Release without the key');
    assert.ok(
      !(KEY in labelsOf(labelled({ other: 'x' }, { [KEY]: 'a' }))),
      "the object's own value is dropped",
    );
  });

  test('moving the Release to another shard changes the desired hash (the object is applied again)', () => {
    const hash = (value: string) => valid(only(desiredItems(labelled({ [KEY]: value }), [KEY]))).hash;
    assert.notEqual(hash('a'), hash('b'));
    assert.equal(
      valid(only(desiredItems(labelled({ [KEY]: 'a' })))).object.metadata.labels?.[KEY],
      undefined,
      'without shard keys nothing is carried',
    );
  });

  test('ignore-fields may not name a shard label', () => {
    const r = labelled({ [KEY]: 'a' });
    const web = deployment({
      annotations: { [Annotations.ignoreFields]: '/metadata/labels/sharding.example~1key' },
    });
    const item = invalid(
      only(desiredItems({ ...r, spec: { ...r.spec, resources: [{ id: 'web', object: web }] } }, [KEY])),
    );
    assert.match(
      item.message,
      /covers \/metadata\/labels\/sharding.example~1key, which the controller must apply/,
    );
  });
});
