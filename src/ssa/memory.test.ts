import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { KubeObject, ManagedFieldsEntry } from '../api/object.ts';
import type { ResourceInfo } from '../kube/discovery.ts';
import type { DataPlaneObjects } from '../dataplane/port.ts';
import { kindKey } from '../dataplane/port.ts';
import { newerOf } from './apply.ts';
import { MAX_REPORTED_FIELDS } from './fields.ts';
import {
  ApplyMemory,
  boundPlan,
  MAX_POINTER_LENGTH,
  appliedToken,
  driftOf,
  needsApply,
  ownFieldsHash,
  recallRecord,
  recordKey,
  type AppliedRecord,
  type Plan,
} from './memory.ts';
import { servedKind } from '../../test/support/fakedataplane.ts';

const FIELD_MANAGER = 'release-controller';

const UID = '7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';
const RELEASE_UID = '5f0c8a3e-2b1d-4c7a-9e6f-1a2b3c4d5e6f';

const DEPLOYMENTS: ResourceInfo = servedKind(
  { group: 'apps', version: 'v1', kind: 'Deployment' },
  'deployments',
);
const CONFIGMAPS: ResourceInfo = servedKind({ group: '', version: 'v1', kind: 'ConfigMap' }, 'configmaps');
const CLUSTERROLES: ResourceInfo = servedKind(
  { group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'ClusterRole' },
  'clusterroles',
  false,
);

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
    fieldsHash: ownFieldsHash(applied, FIELD_MANAGER),
    dataPlane: 'acme/dp-prod',
    owner: 'acme/customer-service-prod-release',
    ownerUid: RELEASE_UID,
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
      assert.equal(needsApply(c.live, c.record, c.hash ?? 'hash-1', FIELD_MANAGER), c.want);
    });
  }
});

describe('ownFieldsHash', () => {
  const base = ownFieldsHash(deployment('1', [ours()]), FIELD_MANAGER);

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
    assert.equal(ownFieldsHash(noisy, FIELD_MANAGER), base);
  });

  test('ignores the entry time', () => {
    assert.equal(
      ownFieldsHash(deployment('2', [{ ...ours(), time: '2025-06-02T08:00:00Z' }]), FIELD_MANAGER),
      base,
    );
  });

  test('changes when our field set changes', () => {
    assert.notEqual(
      ownFieldsHash(deployment('2', [ours({ 'f:spec': { 'f:replicas': {} } })]), FIELD_MANAGER),
      base,
    );
  });

  test('an Update by our manager, or our entry of a subresource, is not our Apply entry', () => {
    const none = ownFieldsHash(deployment('2', []), FIELD_MANAGER);
    assert.notEqual(none, base);
    assert.equal(ownFieldsHash(deployment('2', [{ ...ours(), operation: 'Update' }]), FIELD_MANAGER), none);
    assert.equal(ownFieldsHash(deployment('2', [{ ...ours(), subresource: 'status' }]), FIELD_MANAGER), none);
    assert.equal(ownFieldsHash(deployment('2', [{ ...ours(), manager: 'kubectl' }]), FIELD_MANAGER), none);
    const noManagedFields = deployment('2', []);
    delete noManagedFields.metadata.managedFields;
    assert.equal(ownFieldsHash(noManagedFields, FIELD_MANAGER), none);
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

/** watchedUpTo is a data plane whose watches have seen up to the given resourceVersion per kind. */
function watchedUpTo(seen: Array<[ResourceInfo, number]>, key = 'acme/dp-prod'): DataPlaneObjects {
  const upTo = new Map(seen.map(([info, rv]) => [kindKey(info), rv]));
  const port: Pick<DataPlaneObjects, 'key' | 'isBehind'> = {
    key,
    isBehind: (kind, resourceVersion) => {
      const rv = upTo.get(typeof kind === 'string' ? kind : kindKey(kind));
      return rv !== undefined && Number(resourceVersion) > rv;
    },
  };
  return port as DataPlaneObjects;
}

describe('unseenWrites', () => {
  function records(): ApplyMemory {
    const web = deployment('2000', [ours()]);
    return memoryOf([
      ['web', record(web)],
      ['old', record(deployment('1500', [ours()]))],
      ['cm', record(web, 'h', { resourceVersion: '2100', kind: kindKey(CONFIGMAPS) })],
      [
        'other',
        record(web, 'h', {
          resourceVersion: '2500',
          ownerUid: 'another-release-uid',
          owner: 'acme/other',
        }),
      ],
      ['unwatched', record(web, 'h', { resourceVersion: '9000', kind: kindKey(CLUSTERROLES) })],
      ['elsewhere', record(web, 'h', { resourceVersion: '9000', dataPlane: 'acme/dp-staging' })],
    ]);
  }

  test('lists the writes of this Release that its watches have not delivered yet', () => {
    const conn = watchedUpTo([
      [DEPLOYMENTS, 1800],
      [CONFIGMAPS, 2100],
    ]);
    assert.deepEqual(
      records()
        .unseenWrites(conn, RELEASE_UID)
        .map((r) => r.resourceVersion),
      ['2000'],
    );
  });

  test('nothing is unseen once every watch has caught up', () => {
    const conn = watchedUpTo([
      [DEPLOYMENTS, 3000],
      [CONFIGMAPS, 3000],
    ]);
    assert.deepEqual(records().unseenWrites(conn, RELEASE_UID), []);
  });

  test('writes of kinds no longer watched are not waited for', () => {
    assert.deepEqual(records().unseenWrites(watchedUpTo([]), RELEASE_UID), []);
  });
});

describe('ApplyMemory.forgetOwner', () => {
  test('drops the records of one owner only', () => {
    const web = deployment('2000', [ours()]);
    const memory = memoryOf([
      ['a', record(web)],
      ['b', record(web, 'h', { owner: 'acme/other', ownerUid: 'other-uid' })],
      ['c', record(web)],
      ['d', record(web, 'h', { owner: 'globex/customer-service-prod-release', ownerUid: 'globex-uid' })],
    ]);
    memory.forgetOwner('acme/customer-service-prod-release');
    assert.deepEqual(
      ['a', 'b', 'c', 'd'].filter((k) => memory.get(k)),
      ['b', 'd'],
    );
    assert.equal(memory.size, 2);
  });
});

function memoryOf(entries: Array<[string, AppliedRecord]>): ApplyMemory {
  const memory = new ApplyMemory();
  for (const [key, r] of entries) memory.remember(key, r);
  return memory;
}

void describe('driftOf', () => {
  const record = (over: Partial<AppliedRecord> = {}): AppliedRecord => ({
    dataPlane: 'dp',
    hash: 'h',
    uid: UID,
    resourceVersion: '1',
    fieldsHash: ownFieldsHash(deployment('1', [ours(OUR_FIELDS)]), FIELD_MANAGER),
    owner: 'acme/web',
    ownerUid: 'u',
    kind: 'apps/v1/Deployment',
    ...over,
  });

  void test('tells deleted, replaced and edited objects apart from ours and from spec changes', () => {
    const mine = deployment('1', [ours(OUR_FIELDS)]);
    assert.equal(driftOf(mine, undefined, 'h', FIELD_MANAGER), undefined, 'never applied here');
    assert.equal(driftOf(mine, record(), 'other', FIELD_MANAGER), undefined, 'the spec changed');
    assert.equal(driftOf(mine, record(), 'h', FIELD_MANAGER), undefined, 'as we left it');
    assert.equal(
      driftOf(deployment('5', [ours(OUR_FIELDS)]), record(), 'h', FIELD_MANAGER),
      undefined,
      'newer, our fields intact',
    );
    assert.equal(driftOf(undefined, record(), 'h', FIELD_MANAGER), 'deleted');
    assert.equal(
      driftOf(deployment('5', [ours(OUR_FIELDS)], 'other-uid'), record(), 'h', FIELD_MANAGER),
      'deleted',
    );
    assert.equal(driftOf(deployment('5', [ours({ 'f:spec': {} })]), record(), 'h', FIELD_MANAGER), 'fields');
  });
});

void describe('appliedToken and recallRecord', () => {
  const applied = deployment('1000', [ours()]);
  const where = {
    dataPlane: 'acme/dp-prod',
    owner: 'acme/customer-service-prod-release',
    ownerUid: RELEASE_UID,
    kind: kindKey(DEPLOYMENTS),
  };
  const token = appliedToken(record(applied));

  void test('a token recalls the record of the same apply on the same object, with the live version', () => {
    const live = deployment('1005', [ours(), STATUS_ENTRY]);
    const recalled = recallRecord(token, live, 'hash-1', FIELD_MANAGER, where);
    assert.deepEqual(recalled, { ...record(applied), resourceVersion: '1005' });
    assert.equal(needsApply(live, recalled, 'hash-1', FIELD_MANAGER), false);
  });

  void test('a field someone else took since is still drift: the record keeps the field set of the apply', () => {
    const live = deployment('1006', [ours({ 'f:metadata': {} }), HPA_ENTRY]);
    const recalled = recallRecord(token, live, 'hash-1', FIELD_MANAGER, where);
    assert.equal(recalled?.resourceVersion, '');
    assert.equal(needsApply(live, recalled, 'hash-1', FIELD_MANAGER), true);
    assert.equal(driftOf(live, recalled, 'hash-1', FIELD_MANAGER), 'fields');
  });

  void test('nothing is recalled for another desired object, another uid, or a token that does not parse', () => {
    const cases: Array<[string, string | undefined, KubeObject, string]> = [
      ['another desired object', token, applied, 'hash-2'],
      ['the object was recreated', token, deployment('1000', [ours()], 'another-uid'), 'hash-1'],
      ['no token', undefined, applied, 'hash-1'],
      ['garbage', 'not a token', applied, 'hash-1'],
      [
        'the digest of another object',
        `${'A'.repeat(22)}.${ownFieldsHash(applied, FIELD_MANAGER)}`,
        applied,
        'hash-1',
      ],
    ];
    for (const [name, t, live, hash] of cases) {
      assert.equal(recallRecord(t, live, hash, FIELD_MANAGER, where), undefined, name);
    }
  });
});

void describe('ApplyMemory.caughtUp', () => {
  void test('lets go of the apply response once the watch delivered that version or a later one, and tells our own write', () => {
    const memory = new ApplyMemory();
    const applied = deployment('1000', [ours()]);
    const key = recordKey('acme/dp-prod', DEPLOYMENTS, 'prod', 'customer-service');
    memory.remember(key, { ...record(applied), object: applied });

    assert.equal(memory.caughtUp('acme/dp-prod', deployment('999', [ours()])), false);
    assert.ok(memory.get(key)?.object, 'an older version from the watch keeps it');
    assert.equal(memory.caughtUp('other/dp', deployment('1000', [ours()])), false);
    assert.ok(memory.get(key)?.object, 'the same object on another data plane is another record');
    assert.equal(memory.caughtUp('acme/dp-prod', deployment('1000', [ours()])), true, 'our own write');
    assert.equal(memory.get(key)?.object, undefined);
    assert.equal(memory.get(key)?.resourceVersion, '1000', 'the record itself stays');
    assert.equal(memory.caughtUp('acme/dp-prod', deployment('1001', [ours()])), false, 'a change after it');
  });

  void test('the added event of an object whose create is in flight is our echo; once answered, only its version is', () => {
    const memory = new ApplyMemory();
    const key = recordKey('acme/dp-prod', DEPLOYMENTS, 'prod', 'customer-service');
    const done = memory.creatingNow(key);
    assert.equal(
      memory.caughtUp('acme/dp-prod', deployment('1000', [ours()]), true),
      true,
      'added, create in flight',
    );
    assert.equal(
      memory.caughtUp('acme/dp-prod', deployment('1001', [ours()]), false),
      false,
      'an update is never taken for the echo of a create',
    );
    done();
    assert.equal(
      memory.caughtUp('acme/dp-prod', deployment('1000', [ours()]), true),
      false,
      'no create in flight',
    );
  });
});

void describe('ApplyMemory plans', () => {
  void test('keepCurrent keeps the plans and refusals of the current objects only', () => {
    const memory = new ApplyMemory();
    for (let i = 0; i < 50; i++) memory.rememberPlan('acme/web', `k${i}`, 'basis', { action: 'Create' });
    memory.rememberPlan('acme/other', 'k0', 'basis', { action: 'Create' });
    for (const key of ['k3', 'k4'])
      memory.rememberRefusal('acme/web', key, 'basis', { message: 'no', failure: 'Invalid' });
    memory.keepCurrent('acme/web', ['k3', 'k7', 'gone']);
    assert.equal(memory.planCount('acme/web'), 2);
    assert.equal(memory.refusalCount('acme/web'), 1, 'refusals of current objects only');
    assert.deepEqual(memory.refusalOf('acme/web', 'k3', 'basis'), { message: 'no', failure: 'Invalid' });
    assert.equal(
      memory.refusalOf('acme/web', 'k3', 'other basis'),
      undefined,
      'another basis was never refused',
    );
    assert.deepEqual(memory.planOf('acme/web', 'k3', 'basis'), { action: 'Create' });
    assert.equal(memory.planOf('acme/web', 'k4', 'basis'), undefined);
    assert.equal(memory.planCount('acme/other'), 1, 'another owner keeps its plans');
    memory.keepCurrent('acme/web', []);
    assert.equal(memory.planCount('acme/web'), 0);
  });

  void test('a remembered plan has at most MAX_REPORTED_FIELDS pointers of at most MAX_POINTER_LENGTH', () => {
    const memory = new ApplyMemory();
    const fields = Array.from({ length: 5000 }, (_, i) => `/data/${'k'.repeat(10_000)}${i}`);
    const plan: Plan = { action: 'Update', fields };
    memory.rememberPlan('acme/web', 'k', 'basis', plan);
    const kept = memory.planOf('acme/web', 'k', 'basis')?.fields ?? [];
    assert.equal(kept.length, MAX_REPORTED_FIELDS);
    assert.ok(
      kept.every((p) => p.length <= MAX_POINTER_LENGTH),
      'every pointer is bounded',
    );
    assert.match(kept[0] ?? '', /^\/data\/k+…$/);
    assert.equal(plan.fields, kept, 'the caller reports what is remembered');
    const small: Plan = { action: 'Update', fields: ['/data/a'] };
    assert.deepEqual(boundPlan(small).fields, ['/data/a']);
  });
});
