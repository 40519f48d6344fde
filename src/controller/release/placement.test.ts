import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Release } from '../../api/v1alpha1/schema.ts';
import { isBoundTo, withPlacement } from './placement.ts';

const release: Release = {
  apiVersion: 'openchoreo.dev/v1alpha1',
  kind: 'Release',
  metadata: { name: 'web', namespace: 'acme', uid: 'uid-web' },
  spec: { owner: { projectName: 'shop', componentName: 'web' }, environmentName: 'prod' },
  status: { appliedTo: [{ dataPlane: 'old', cluster: 'c-old' }] },
};

void describe('isBoundTo', () => {
  void test('an event of the data plane the Release uses now, or applied through, wakes it', () => {
    assert.equal(isBoundTo(release, 'uid-web', 'acme/dp', 'dp'), true);
    assert.equal(
      isBoundTo(release, 'uid-web', 'acme/old', 'dp'),
      true,
      'an earlier data plane (a move in progress)',
    );
  });
  void test('forged labels do not: another uid, another organization, or an unrelated data plane', () => {
    assert.equal(isBoundTo(release, 'uid-other', 'acme/dp', 'dp'), false);
    assert.equal(isBoundTo(release, 'uid-web', 'evil/dp', 'dp'), false);
    assert.equal(isBoundTo(release, 'uid-web', 'acme/other', 'dp'), false);
  });
});

void describe('withPlacement', () => {
  void test('adds a placement once', () => {
    const p = { dataPlane: 'dp', cluster: 'c1' };
    assert.deepEqual(withPlacement(undefined, p), [p]);
    assert.deepEqual(withPlacement([p], { ...p }), [p]);
    assert.equal(withPlacement([p], { dataPlane: 'dp', cluster: 'c2' }).length, 2);
  });
});
