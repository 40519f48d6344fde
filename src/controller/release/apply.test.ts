import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { KubeObject, ManagedFieldsEntry } from '../../api/object.ts';
import { FIELD_MANAGER } from '../../api/v1alpha1/constants.ts';
import type { ResourceInfo } from '../../kube/discovery.ts';
import type { DataPlaneConnection } from '../../dataplane/pool.ts';
import { kindKey } from '../../dataplane/watches.ts';
import type { AppliedRecord, AppliedRecords } from './apply.ts';
import { forgetRecords, needsApply, newerOf, ownFieldsHash, recordKey, unseenWrites } from './apply.ts';

const UID = '7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';
const RELEASE_UID = '5f0c8a3e-2b1d-4c7a-9e6f-1a2b3c4d5e6f';

const DEPLOYMENTS: ResourceInfo = {
  group: 'apps',
  version: 'v1',
  kind: 'Deployment',
  resource: 'deployments',
  namespaced: true,
  verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
};
const CONFIGMAPS: ResourceInfo = {
  group: '',
  version: 'v1',
  kind: 'ConfigMap',
  resource: 'configmaps',
  namespaced: true,
  verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
};
const CLUSTERROLES: ResourceInfo = {
  group: 'rbac.authorization.k8s.io',
  version: 'v1',
  kind: 'ClusterRole',
  resource: 'clusterroles',
  namespaced: false,
  verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
};

const OUR_FIELDS = {
  'f:metadata': { 'f:labels': { 'f:app': {}, 'f:openchoreo.dev/managed-by': {} } },
  'f:spec': { 'f:replicas': {}, 'f:template': { 'f:spec': { 'f:containers': { 'k:{"name":"main"}': {} } } } },
};

function ours(fieldsV1: unknown = OUR_FIELDS): ManagedFieldsEntry {
  return {
    manager: FIELD_MANAGER,
    operation: 'Apply',
    apiVersion: 'apps/v1',
    time: '2025-06-01T12:00:00Z',
    fieldsType: 'FieldsV1',
    fieldsV1,
  };
}

function deployment(resourceVersion: string, managedFields: ManagedFieldsEntry[], uid = UID): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: 'customer-service',
      namespace: 'prod',
      uid,
      resourceVersion,
      generation: 2,
      managedFields,
    },
    spec: { replicas: 3 },
  };
}

const HPA_ENTRY: ManagedFieldsEntry = {
  manager: 'kube-controller-manager',
  operation: 'Update',
  apiVersion: 'apps/v1',
  fieldsType: 'FieldsV1',
  fieldsV1: { 'f:spec': { 'f:replicas': {} } },
};
const STATUS_ENTRY: ManagedFieldsEntry = {
  manager: 'kube-controller-manager',
  operation: 'Update',
  apiVersion: 'apps/v1',
  fieldsType: 'FieldsV1',
  fieldsV1: { 'f:status': { 'f:readyReplicas': {} } },
  subresource: 'status',
};

function record(applied: KubeObject, hash = 'hash-1', extra: Partial<AppliedRecord> = {}): AppliedRecord {
  return {
    hash,
    uid: applied.metadata.uid ?? '',
    resourceVersion: applied.metadata.resourceVersion ?? '',
    fieldsHash: ownFieldsHash(applied),
    release: 'acme/customer-service-prod-release',
    releaseUid: RELEASE_UID,
    kind: kindKey(DEPLOYMENTS),
    ...extra,
  };
}

describe('needsApply', () => {
  const applied = deployment('1000', [ours()]);
  const rec = record(applied);
  const cases: Array<{
    name: string;
    live: KubeObject | undefined;
    record: AppliedRecord | undefined;
    hash?: string;
    want: boolean;
  }> = [
    { name: 'the object does not exist', live: undefined, record: rec, want: true },
    { name: 'we have no record of applying it (a restart)', live: applied, record: undefined, want: true },
    { name: 'the desired object changed', live: applied, record: rec, hash: 'hash-2', want: true },
    {
      name: 'the object was deleted and recreated by someone else',
      live: deployment('1000', [ours()], 'another-uid'),
      record: rec,
      want: true,
    },
    { name: 'it is exactly what we applied', live: applied, record: rec, want: false },
    {
      name: 'only the status or other managers changed it, our fields are intact',
      live: deployment('1042', [ours(), STATUS_ENTRY, { ...HPA_ENTRY, fieldsV1: { 'f:metadata': {} } }]),
      record: rec,
      want: false,
    },
    {
      name: 'another manager took one of our fields',
      live: deployment('1042', [
        ours({
          'f:metadata': OUR_FIELDS['f:metadata'],
          'f:spec': { 'f:template': OUR_FIELDS['f:spec']['f:template'] },
        }),
        HPA_ENTRY,
      ]),
      record: rec,
      want: true,
    },
    {
      name: 'our Apply entry was removed altogether',
      live: deployment('1042', [HPA_ENTRY]),
      record: rec,
      want: true,
    },
  ];
  for (const c of cases) {
    test(`${c.want ? 'applies' : 'skips'} when ${c.name}`, () => {
      assert.equal(needsApply(c.live, c.record, c.hash ?? 'hash-1'), c.want);
    });
  }
});

describe('ownFieldsHash', () => {
  const base = ownFieldsHash(deployment('1', [ours()]));

  test('depends only on our Apply entry', () => {
    const noisy = deployment('2', [
      {
        manager: 'kubectl-edit',
        operation: 'Update',
        fieldsType: 'FieldsV1',
        fieldsV1: { 'f:spec': { 'f:paused': {} } },
      },
      ours(),
      STATUS_ENTRY,
    ]);
    assert.equal(ownFieldsHash(noisy), base);
  });

  test('ignores the entry time', () => {
    assert.equal(ownFieldsHash(deployment('2', [{ ...ours(), time: '2025-06-02T08:00:00Z' }])), base);
  });

  test('changes when our field set changes', () => {
    assert.notEqual(ownFieldsHash(deployment('2', [ours({ 'f:spec': { 'f:replicas': {} } })])), base);
  });

  test('an Update by our manager, or our entry of a subresource, is not our Apply entry', () => {
    const none = ownFieldsHash(deployment('2', []));
    assert.notEqual(none, base);
    assert.equal(ownFieldsHash(deployment('2', [{ ...ours(), operation: 'Update' }])), none);
    assert.equal(ownFieldsHash(deployment('2', [{ ...ours(), subresource: 'status' }])), none);
    assert.equal(ownFieldsHash(deployment('2', [{ ...ours(), manager: 'kubectl' }])), none);
    const noManagedFields = deployment('2', []);
    delete noManagedFields.metadata.managedFields;
    assert.equal(ownFieldsHash(noManagedFields), none);
  });
});

describe('newerOf', () => {
  const a = deployment('1000', [ours()]);
  const b = deployment('1200', [ours()]);

  test('picks the copy with the higher resourceVersion', () => {
    assert.equal(newerOf(a, b), b);
    assert.equal(newerOf(b, a), b);
  });

  test('keeps the first copy when the second is missing, equal or of another object', () => {
    assert.equal(newerOf(a, undefined), a);
    const same = deployment('1000', [ours()]);
    assert.equal(newerOf(a, same), a);
    assert.equal(newerOf(a, deployment('5000', [ours()], 'another-uid')), a);
  });

  test('compares resourceVersions as numbers, not text', () => {
    const v999 = deployment('999', [ours()]);
    const v1000 = deployment('1000', [ours()]);
    assert.equal(newerOf(v999, v1000), v1000);
  });

  test('keeps the first copy when a resourceVersion is not a number', () => {
    assert.equal(newerOf(a, deployment('opaque-7', [ours()])), a);
  });
});

describe('recordKey', () => {
  test('names data plane, kind and object', () => {
    assert.equal(
      recordKey('acme/dp-prod', DEPLOYMENTS, 'prod', 'customer-service'),
      'acme/dp-prod|apps/v1/Deployment|prod/customer-service',
    );
    assert.equal(
      recordKey('acme/dp-prod', CLUSTERROLES, undefined, 'reader'),
      'acme/dp-prod|rbac.authorization.k8s.io/v1/ClusterRole|/reader',
    );
  });

  test('distinct objects get distinct keys', () => {
    const keys = new Set([
      recordKey('acme/dp-prod', DEPLOYMENTS, 'prod', 'web'),
      recordKey('acme/dp-staging', DEPLOYMENTS, 'prod', 'web'),
      recordKey('acme/dp-prod', DEPLOYMENTS, 'staging', 'web'),
      recordKey('acme/dp-prod', CONFIGMAPS, 'prod', 'web'),
      recordKey('acme/dp-prod', DEPLOYMENTS, 'prod', 'api'),
    ]);
    assert.equal(keys.size, 5);
  });
});

/** fakeConnection is a data plane whose watches have seen up to the given resourceVersion per kind. */
function fakeConnection(seen: Array<[ResourceInfo, number]>): DataPlaneConnection {
  const watched = seen.map(([info, rv]) => ({
    info,
    informer: { isBehind: (wanted: string | undefined) => Number(wanted) > rv },
  }));
  return { key: 'acme/dp-prod', watches: { watched: () => watched } } as unknown as DataPlaneConnection;
}

describe('unseenWrites', () => {
  function records(): AppliedRecords {
    const web = deployment('2000', [ours()]);
    return new Map<string, AppliedRecord>([
      ['web', record(web)],
      ['old', record(deployment('1500', [ours()]))],
      ['cm', record(web, 'h', { resourceVersion: '2100', kind: kindKey(CONFIGMAPS) })],
      [
        'other',
        record(web, 'h', {
          resourceVersion: '2500',
          releaseUid: 'another-release-uid',
          release: 'acme/other',
        }),
      ],
      ['unwatched', record(web, 'h', { resourceVersion: '9000', kind: kindKey(CLUSTERROLES) })],
    ]);
  }

  test('lists the writes of this Release that its watches have not delivered yet', () => {
    const conn = fakeConnection([
      [DEPLOYMENTS, 1800],
      [CONFIGMAPS, 2100],
    ]);
    assert.deepEqual(
      unseenWrites(records(), conn, RELEASE_UID).map((r) => r.resourceVersion),
      ['2000'],
    );
  });

  test('nothing is unseen once every watch has caught up', () => {
    const conn = fakeConnection([
      [DEPLOYMENTS, 3000],
      [CONFIGMAPS, 3000],
    ]);
    assert.deepEqual(unseenWrites(records(), conn, RELEASE_UID), []);
  });

  test('writes of kinds no longer watched are not waited for', () => {
    assert.deepEqual(unseenWrites(records(), fakeConnection([]), RELEASE_UID), []);
  });
});

describe('forgetRecords', () => {
  test('drops the records of one Release only', () => {
    const web = deployment('2000', [ours()]);
    const records: AppliedRecords = new Map([
      ['a', record(web)],
      ['b', record(web, 'h', { release: 'acme/other', releaseUid: 'other-uid' })],
      ['c', record(web)],
      ['d', record(web, 'h', { release: 'globex/customer-service-prod-release', releaseUid: 'globex-uid' })],
    ]);
    forgetRecords(records, 'acme/customer-service-prod-release');
    assert.deepEqual([...records.keys()], ['b', 'd']);
  });
});
