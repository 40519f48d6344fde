import { describe } from 'node:test';
import { fixtureRows, runTable } from '../../test/support/health-table.ts';
import { assessHealth } from './index.ts';

// Custom resources of projects without a built-in rule: the generic rule's signals (Succeeded,
// phase, replica counts, spec.paused, Stalled) on real shapes, from testdata/crds/other.json.
void describe('custom resources without a built-in rule', () => {
  runTable(assessHealth, fixtureRows('other.json'));
});
