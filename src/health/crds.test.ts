import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { HealthStatus } from '../api/v1alpha1/constants.ts';
import { allCrdFixtures, NOW } from '../../test/support/health-table.ts';
import { genericHealth } from './generic.ts';
import { assessHealth } from './index.ts';
import type { HealthCheckResolver } from './index.ts';

// Agreement over every hand-made custom-resource fixture (testdata/crds/*.json), whose expected
// health is written from each project's documentation. The per-family tests check reasons and
// messages; this one checks the whole set and what the generic rule alone makes of it.
const files = allCrdFixtures();
const cases = files.flatMap((f) => f.cases.map((c) => ({ ...c, family: f.family })));
const genericOnly: HealthCheckResolver = () => genericHealth;

interface Tally {
  agree: number;
  total: number;
  byStatus: Map<HealthStatus, { agree: number; total: number }>;
}

function tally(resolve?: HealthCheckResolver): Tally {
  const t: Tally = { agree: 0, total: 0, byStatus: new Map() };
  for (const c of cases) {
    const got = assessHealth(c.object, c.now ? new Date(c.now) : NOW, undefined, resolve).status;
    const row = t.byStatus.get(c.expect.status) ?? { agree: 0, total: 0 };
    row.total++;
    t.total++;
    if (got === c.expect.status) {
      row.agree++;
      t.agree++;
    }
    t.byStatus.set(c.expect.status, row);
  }
  return t;
}

function describeTally(t: Tally): string {
  const parts = [...t.byStatus].map(([status, r]) => `${status} ${r.agree}/${r.total}`);
  return `${t.agree}/${t.total} (${Math.round((100 * t.agree) / t.total)}%): ${parts.join(', ')}`;
}

void describe('custom-resource fixtures', () => {
  void test('the set has at least 150 objects across the families', () => {
    assert.ok(cases.length >= 150, `only ${cases.length} fixtures`);
    assert.ok(files.length >= 10, `only ${files.length} families`);
  });

  void test('the rules agree with every documented expectation', (t) => {
    const misses = cases.filter(
      (c) => assessHealth(c.object, c.now ? new Date(c.now) : NOW).status !== c.expect.status,
    );
    t.diagnostic(`built-in + generic: ${describeTally(tally())}`);
    assert.deepEqual(
      misses.map((c) => `${c.family}: ${c.name}`),
      [],
    );
  });

  void test('the generic rule alone raises no false alarm', (t) => {
    t.diagnostic(`generic only: ${describeTally(tally(genericOnly))}`);
    const alarms = cases.filter((c) => {
      const got = assessHealth(c.object, c.now ? new Date(c.now) : NOW, undefined, genericOnly).status;
      return got === 'Degraded' && c.expect.status !== 'Degraded';
    });
    assert.deepEqual(
      alarms.map((c) => `${c.family}: ${c.name}`),
      [],
    );
  });
});
