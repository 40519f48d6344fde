/** Table-driven tests of health rules (src/health/*.test.ts): one row per case, and captured fixtures. */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { KubeObject } from '../../src/api/object.ts';
import type { HealthStatus } from '../../src/api/v1alpha1/constants.ts';
import type { HealthCheck } from '../../src/health/result.ts';

/** NOW is the clock of every row that sets none. */
export const NOW = new Date('2025-06-01T12:00:00Z');

/** Row is one case: an object, and the status, reason and (optionally) message it must get. */
export interface Row {
  name: string;
  obj: KubeObject;
  now?: Date;
  status: HealthStatus;
  reason: string;
  message?: string | RegExp;
}

/** runTable registers one test per row. */
export function runTable(check: HealthCheck, rows: Row[]): void {
  for (const row of rows) {
    void test(row.name, () => {
      const result = check(row.obj, row.now ?? NOW);
      assert.equal(result.status, row.status, result.message);
      assert.equal(result.reason, row.reason, result.message);
      if (typeof row.message === 'string') assert.equal(result.message, row.message);
      else if (row.message) assert.match(result.message, row.message);
    });
  }
}

/** captured loads an object captured from the full-mode test bed (test/health/capture-fixtures.ts); `now` is the capture time. */
export function captured(file: string): { obj: KubeObject; now: Date } {
  const path = join(import.meta.dirname, '../../src/health/testdata', file);
  const fixture = JSON.parse(readFileSync(path, 'utf8')) as { capturedAt: string; object: KubeObject };
  return { obj: fixture.object, now: new Date(fixture.capturedAt) };
}

/** CRD_FIXTURES is the folder of hand-made custom-resource fixtures, one file per family (issue 29). */
export const CRD_FIXTURES = join(import.meta.dirname, '../../src/health/testdata/crds');

/** CrdFixture is one case of a fixture file: an object and the health its project's docs give it. */
export interface CrdFixture {
  name: string;
  /** now is the clock of the case (RFC 3339); NOW when absent. */
  now?: string;
  /** expect is the status and reason; message, when present, must occur in the result's message. */
  expect: { status: HealthStatus; reason: string; message?: string };
  object: KubeObject;
}

/** CrdFixtureFile is a fixture file: the family, where its expectations come from, and the cases. */
export interface CrdFixtureFile {
  family: string;
  documentedBy: string;
  cases: CrdFixture[];
}

/** crdFixtures reads one fixture file of CRD_FIXTURES. */
export function crdFixtures(file: string): CrdFixtureFile {
  return JSON.parse(readFileSync(join(CRD_FIXTURES, file), 'utf8')) as CrdFixtureFile;
}

/** allCrdFixtures reads every fixture file of CRD_FIXTURES, in name order. */
export function allCrdFixtures(): CrdFixtureFile[] {
  return readdirSync(CRD_FIXTURES)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map(crdFixtures);
}

function escapeRegExp(text: string): RegExp {
  return new RegExp(text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
}

/** fixtureRows turns a fixture file into table rows (the message as a substring match). */
export function fixtureRows(file: string): Row[] {
  return crdFixtures(file).cases.map((c) => ({
    name: c.name,
    obj: c.object,
    ...(c.now ? { now: new Date(c.now) } : {}),
    status: c.expect.status,
    reason: c.expect.reason,
    ...(c.expect.message ? { message: escapeRegExp(c.expect.message) } : {}),
  }));
}
