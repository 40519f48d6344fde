import { describe } from 'node:test';
import { fixtureRows, runTable } from '../../test/support/health-table.ts';
import { assessHealth } from './index.ts';

// The cases live in testdata/crds/external-secrets.json, shared with the agreement test (crds.test.ts); they
// go through assessHealth so that the dispatch to the rule is tested too.
void describe('External Secrets rules', () => {
  runTable(assessHealth, fixtureRows('external-secrets.json'));
});
