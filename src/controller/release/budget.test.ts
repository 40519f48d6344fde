import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { KubeObject } from '../../api/object.ts';
import { jsonStringBytes, truncateJson } from '../../api/text.ts';
import { ConditionTypes, type HealthStatus } from '../../api/v1alpha1/constants.ts';
import type { Condition, Release, ReleaseStatus, ResourceStatus } from '../../api/v1alpha1/schema.ts';
import {
  CONDITION_MESSAGE_MAX_BYTES,
  ENTRY_MESSAGE_MAX_BYTES,
  ENTRY_MESSAGE_MIN_BYTES,
  fitStatus,
  jsonBytes,
  OBJECT_RESERVE_BYTES,
  OBJECT_SIZE_LIMIT_BYTES,
  slimRelease,
  STATUS_BUDGET_BYTES,
  statusBudget,
  storedBytesWithoutStatus,
} from './budget.ts';

const KIB = 1024;
const NOW = '2025-06-01T12:00:00.000Z';
/** REFUSAL is a 1.5 KB admission message with characters the API server escapes. */
const REFUSAL = `denied request: ${'replicas must be <= 10 & > 0; '.repeat(52)}`;

function entry(i: number, extra: Partial<ResourceStatus> = {}): ResourceStatus {
  const id = `cm-${String(i).padStart(4, '0')}`;
  return {
    id,
    group: '',
    version: 'v1',
    kind: 'ConfigMap',
    name: id,
    namespace: 'shop',
    healthStatus: 'Healthy',
    healthReason: 'Exists',
    message: '',
    lastObservedTime: NOW,
    ...extra,
  };
}

function condition(type: string, message: string): Condition {
  return {
    type,
    status: 'False',
    reason: 'ApplyFailed',
    message,
    lastTransitionTime: NOW,
    observedGeneration: 1,
  };
}

function statusOf(resources: ResourceStatus[]): ReleaseStatus {
  return {
    observedGeneration: 1,
    resources,
    conditions: [
      condition(ConditionTypes.resourcesApplied, 'x'.repeat(CONDITION_MESSAGE_MAX_BYTES - 2)),
      condition(ConditionTypes.ready, 'y'.repeat(CONDITION_MESSAGE_MAX_BYTES - 2)),
    ],
  };
}

function refused(i: number): ResourceStatus {
  // status.ts caps every message as it writes it.
  const message = truncateJson(`resource "cm-${i}": ConfigMap cm-${i} ${REFUSAL}`, ENTRY_MESSAGE_MAX_BYTES);
  return entry(i, { healthStatus: 'Unknown', healthReason: 'NotApplied', message });
}

describe('jsonBytes', () => {
  const values: Array<[string, unknown]> = [
    ['null', null],
    ['numbers', [0, -1, 1.5, 1e21, 1e-7, 123456789]],
    ['booleans', [true, false]],
    ['empty object and array', { a: {}, b: [] }],
    ['nested', { a: [{ b: 'c', d: [1, 2, { e: null }] }], f: 'é状😀"\\\n' }],
    ['a Release status', statusOf([entry(1), entry(2, { status: { replicas: 3 } })])],
  ];
  for (const [name, value] of values) {
    test(`is the length of JSON.stringify in bytes: ${name}`, () => {
      assert.equal(jsonBytes(value), Buffer.byteLength(JSON.stringify(value)));
    });
  }

  test('skips keys whose value is undefined, as JSON does', () => {
    assert.equal(jsonBytes({ a: 1, b: undefined }), Buffer.byteLength('{"a":1}'));
    assert.equal(jsonBytes({ b: undefined }), 2);
  });

  test("counts Go's escaping of <, > and &", () => {
    assert.equal(jsonBytes({ m: 'a<b' }), Buffer.byteLength(JSON.stringify({ m: 'a<b' })) + 5);
  });
});

describe('statusBudget', () => {
  function release(specBytes: number, managedFieldsBytes = 0): KubeObject {
    return {
      apiVersion: 'openchoreo.dev/v1alpha1',
      kind: 'Release',
      metadata: {
        name: 'r',
        namespace: 'org',
        ...(managedFieldsBytes > 0 && {
          managedFields: [{ manager: 'kubectl', fieldsV1: { pad: 'm'.repeat(managedFieldsBytes) } }],
        }),
      },
      spec: { pad: 's'.repeat(specBytes) },
      status: { pad: 'status is not counted'.repeat(1000) },
    };
  }
  const left = (r: KubeObject) =>
    OBJECT_SIZE_LIMIT_BYTES - OBJECT_RESERVE_BYTES - jsonBytes({ ...r, status: undefined }) - 10;

  const cases: Array<[string, number, (r: KubeObject) => number]> = [
    ['a small spec leaves the whole status budget', 10 * KIB, () => STATUS_BUDGET_BYTES],
    ['a 1 MiB spec leaves what the limit has left', 1024 * KIB, left],
    ['a spec at the limit leaves nothing', 1530 * KIB, () => 0],
  ];
  for (const [name, specBytes, expected] of cases) {
    test(name, () => {
      const r = release(specBytes);
      assert.equal(statusBudget(r as Release), expected(r));
    });
  }

  test('managedFields count, though the cached Release no longer has them', () => {
    const full = release(900 * KIB, 200 * KIB);
    const slim = slimRelease(full);
    assert.equal(
      (slim as KubeObject).metadata.managedFields,
      undefined,
      'the cache does not hold managedFields',
    );
    assert.equal(storedBytesWithoutStatus(slim), jsonBytes({ ...full, status: undefined }));
    assert.equal(statusBudget(slim), left(full));
    assert.ok(statusBudget(slim) < statusBudget(release(900 * KIB) as Release), 'less is left');
  });
});

describe('fitStatus', () => {
  test('a status that fits is returned as it is', () => {
    const status = statusOf([entry(1), refused(2), entry(3, { status: { big: 'z'.repeat(10 * KIB) } })]);
    const fit = fitStatus(status, STATUS_BUDGET_BYTES);
    assert.equal(fit.status, status);
    assert.deepEqual([fit.statusOmitted, fit.messagesCut, fit.entriesOmitted], [[], 0, 0]);
  });

  test('1000 refused entries with long messages: every entry stays, every long message is cut and says so', () => {
    const resources = Array.from({ length: 1000 }, (_, i) => (i % 10 === 0 ? entry(i) : refused(i)));
    const fit = fitStatus(statusOf(resources), STATUS_BUDGET_BYTES);
    const out = fit.status.resources ?? [];
    assert.ok(jsonBytes(fit.status) <= STATUS_BUDGET_BYTES, `${jsonBytes(fit.status)} bytes`);
    assert.deepEqual(
      out.map((e) => e.id),
      resources.map((e) => e.id),
      'all entries, in spec order',
    );
    assert.equal(fit.messagesCut, 900);
    for (const [i, e] of out.entries()) {
      if (i % 10 === 0) {
        assert.equal(e.message, '', 'a short message is kept whole');
        continue;
      }
      assert.ok(jsonStringBytes(e.message ?? '') >= ENTRY_MESSAGE_MIN_BYTES - 8, 'cut to a common length');
      assert.match(e.message ?? '', new RegExp(`^resource "cm-${i}": ConfigMap cm-${i} denied request`));
      assert.match(e.message ?? '', /… \(truncated: \d+ more characters\)$/);
    }
    assert.deepEqual(fit.status.conditions, statusOf([]).conditions, 'conditions are kept');
  });

  test('live statuses go first, largest first, and messages are cut only if that is not enough', () => {
    const resources = [
      entry(0, { status: { pad: 'a'.repeat(300 * KIB) } }),
      entry(1, { status: { pad: 'b'.repeat(100 * KIB) } }),
      entry(2, { status: { pad: 'c'.repeat(200 * KIB) } }),
      refused(3),
    ];
    const fit = fitStatus(statusOf(resources), STATUS_BUDGET_BYTES);
    const out = fit.status.resources ?? [];
    assert.deepEqual(fit.statusOmitted, ['cm-0000']);
    assert.equal(fit.messagesCut, 0);
    assert.equal(out[0]?.status, undefined);
    assert.match(
      out[0]?.message ?? '',
      /^live status \(301 KiB\) omitted to keep the Release status under 512 KiB$/,
    );
    assert.equal(out[3]?.message, resources[3]?.message);

    const squeezed = fitStatus(statusOf(resources), 20 * KIB);
    assert.deepEqual(squeezed.statusOmitted, ['cm-0000', 'cm-0002', 'cm-0001']);
    assert.ok(jsonBytes(squeezed.status) <= 20 * KIB, 'it fits in 20 KiB');
    assert.equal(squeezed.status.resources?.[3]?.message, resources[3]?.message, 'it fits without cutting');
  });

  test('the omitted-status note survives a message cut', () => {
    const resources = Array.from({ length: 400 }, (_, i) =>
      refused(i).healthStatus === 'Unknown'
        ? { ...refused(i), status: { pad: 'p'.repeat(2 * KIB) } }
        : entry(i),
    );
    const fit = fitStatus(statusOf(resources), 250 * KIB);
    assert.ok(jsonBytes(fit.status) <= 250 * KIB, 'it fits in 250 KiB');
    assert.equal(fit.statusOmitted.length, 400);
    for (const e of fit.status.resources ?? []) {
      assert.match(e.message ?? '', /… \(truncated: \d+ more characters\); live status \(3 KiB\) omitted/);
    }
  });

  /** conditionsOnly is the size of the status without entries, with the Ready note. */
  const conditionsOnly = () => jsonBytes(statusOf([])) + 120;
  const tight: Array<[string, () => number, HealthStatus[]]> = [
    ['the worst first', () => 80 * KIB, ['Degraded']],
    ['then the other entries that are not ready', () => 130 * KIB, ['Degraded', 'Progressing']],
    ['with no room for one entry, none is listed', () => conditionsOnly() + 100, []],
  ];
  for (const [name, budgetOf, keptHealth] of tight) {
    test(`entries are omitted last, and Ready says how many are listed: ${name}`, () => {
      const budget = budgetOf();
      const health: HealthStatus[] = ['Healthy', 'Progressing', 'Suspended', 'Degraded'];
      const resources = Array.from({ length: 1000 }, (_, i) => ({
        ...refused(i),
        healthStatus: health[i % 4]!,
      }));
      const fit = fitStatus(statusOf(resources), budget);
      const out = fit.status.resources ?? [];
      assert.ok(jsonBytes(fit.status) <= budget, `${jsonBytes(fit.status)} bytes > ${budget}`);
      assert.equal(fit.entriesOmitted, 1000 - out.length);
      assert.ok(fit.entriesOmitted > 0, 'some entries are omitted');
      assert.deepEqual([...new Set(out.map((e) => e.healthStatus))].sort(), [...keptHealth].sort());
      const ids = out.map((e) => e.id);
      assert.deepEqual(ids, [...ids].sort(), 'spec order is kept');
      if (keptHealth.includes('Progressing')) {
        assert.ok(
          out.filter((e) => e.healthStatus === 'Degraded').length === 250,
          'every Degraded entry is kept',
        );
      }
      const ready = fit.status.conditions?.find((c) => c.type === ConditionTypes.ready);
      assert.match(
        ready?.message ?? '',
        new RegExp(
          `; status.resources lists ${out.length} of 1000 resources: the rest did not fit in the Release's size limit$`,
        ),
      );
    });
  }

  test('any budget: the result fits, or nothing but the conditions is left', () => {
    const resources = Array.from({ length: 300 }, (_, i) =>
      i % 3 === 0 ? entry(i, { status: { pad: 'q'.repeat(i * 10) } }) : refused(i),
    );
    for (const budget of [0, 5 * KIB, 10 * KIB, 33 * KIB, 64 * KIB, 100 * KIB, 200 * KIB, 512 * KIB]) {
      const fit = fitStatus(statusOf(resources), budget);
      const bytes = jsonBytes(fit.status);
      const rest = jsonBytes({ ...fit.status, resources: [] });
      assert.ok(bytes <= budget || (fit.status.resources ?? []).length === 0, `${bytes} > ${budget}`);
      assert.ok(bytes <= Math.max(budget, rest), `budget ${budget}`);
    }
  });
});
