import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { KubeObject } from '../api/object.ts';
import { fixtureRows, runTable } from '../../test/support/health-table.ts';
import { isCrossplaneResource } from './crossplane.ts';
import { assessHealth } from './index.ts';

// The cases live in testdata/crds/crossplane.json, shared with the agreement test (crds.test.ts).
void describe('Crossplane rules', () => {
  runTable(assessHealth, fixtureRows('crossplane.json'));
});

void describe('isCrossplaneResource', () => {
  const o = (apiVersion: string, spec: unknown, conditions?: unknown[]): KubeObject => ({
    apiVersion,
    kind: 'Thing',
    metadata: { name: 'x' },
    spec,
    ...(conditions ? { status: { conditions } } : {}),
  });
  const cases: Array<[string, string, KubeObject, boolean]> = [
    ['a provider group under upbound.io', 's3.aws.upbound.io', o('s3.aws.upbound.io/v1beta1', {}), true],
    ['a group under crossplane.io', 'pkg.crossplane.io', o('pkg.crossplane.io/v1', {}), true],
    [
      'spec.forProvider with a Synced condition',
      'sql.example.org',
      o('sql.example.org/v1', { forProvider: {} }, [{ type: 'Synced', status: 'True' }]),
      true,
    ],
    [
      'spec.compositionRef before any status',
      'platform.example.org',
      o('platform.example.org/v1', { compositionRef: {} }),
      true,
    ],
    [
      'spec.resourceRef with only foreign conditions',
      'example.com',
      o('example.com/v1', { resourceRef: {} }, [{ type: 'Available', status: 'True' }]),
      false,
    ],
    ['a plain custom resource', 'example.com', o('example.com/v1', { size: 3 }), false],
    ['a spec that is not an object', 'example.com', o('example.com/v1', 'forProvider'), false],
  ];
  for (const [name, group, obj, expected] of cases) {
    void test(`${name} -> ${expected}`, () => assert.equal(isCrossplaneResource(group, obj), expected));
  }
});
