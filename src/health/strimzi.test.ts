import { describe } from 'node:test';
import { fixtureRows, runTable } from '../../test/support/health-table.ts';
import { assessHealth } from './index.ts';

// The cases live in testdata/crds/strimzi.json, shared with the agreement test (crds.test.ts); they
// go through assessHealth so that the dispatch to the rule is tested too.
void describe('Strimzi rules', () => {
  runTable(assessHealth, fixtureRows('strimzi.json'));
});
