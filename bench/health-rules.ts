/**
 * Cost of one health evaluation with the built-in rules (issue 29): every fixture of
 * src/health/testdata/crds through assessHealth, warmed up, then timed over many rounds. A few
 * seconds of CPU; not part of `npm run bench`, which needs clusters.
 *
 *   npx tsx bench/health-rules.ts [--rounds 2000]
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { KubeObject } from '../src/api/object.ts';
import { genericHealth } from '../src/health/generic.ts';
import { assessHealth } from '../src/health/index.ts';
import type { HealthCheckResolver } from '../src/health/index.ts';

const DIR = join(import.meta.dirname, '../src/health/testdata/crds');
const NOW = new Date('2025-06-01T12:00:00Z');

interface Family {
  family: string;
  objects: KubeObject[];
}

function load(): Family[] {
  return readdirSync(DIR)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => {
      const file = JSON.parse(readFileSync(join(DIR, f), 'utf8')) as {
        family: string;
        cases: Array<{ object: KubeObject }>;
      };
      return { family: file.family, objects: file.cases.map((c) => c.object) };
    });
}

// Returns nanoseconds per evaluation; the sink keeps the JIT from dropping the calls.
function time(objects: KubeObject[], rounds: number, resolve?: HealthCheckResolver): number {
  let sink = 0;
  for (let i = 0; i < 200; i++)
    for (const o of objects) sink += assessHealth(o, NOW, undefined, resolve).message.length;
  const start = process.hrtime.bigint();
  for (let i = 0; i < rounds; i++)
    for (const o of objects) sink += assessHealth(o, NOW, undefined, resolve).message.length;
  const ns = Number(process.hrtime.bigint() - start);
  if (sink < 0) console.log(sink);
  return ns / (rounds * objects.length);
}

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '2000' } } });
const rounds = Number(values.rounds);
const families = load();
const all = families.flatMap((f) => f.objects);
console.log(`| rule set | objects | ns per evaluation |`);
console.log(`|---|---|---|`);
console.log(`| all fixtures, built-in + generic | ${all.length} | ${time(all, rounds).toFixed(0)} |`);
console.log(
  `| all fixtures, generic only | ${all.length} | ${time(all, rounds, () => genericHealth).toFixed(0)} |`,
);
for (const f of families) {
  console.log(`| ${f.family} | ${f.objects.length} | ${time(f.objects, rounds).toFixed(0)} |`);
}
