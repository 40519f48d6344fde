import { describe } from 'node:test';
import { fixtureRows, runTable } from '../../test/support/health-table.ts';
import { assessHealth } from './index.ts';

// The cases live in testdata/crds/cert-manager.json, shared with the agreement test (crds.test.ts); they
// go through assessHealth so that the dispatch to the rule is tested too.
void describe('cert-manager.io rules', () => {
  runTable(assessHealth, fixtureRows('cert-manager.json'));
});
