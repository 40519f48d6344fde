import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { identityOf } from './watches.ts';

describe('identityOf', () => {
  test('names an object by group, kind, namespace and name', () => {
    assert.equal(identityOf('apps', 'Deployment', 'prod', 'web'), 'apps/Deployment/prod/web');
    assert.equal(identityOf('', 'ConfigMap', 'prod', 'settings'), '/ConfigMap/prod/settings');
  });

  test('a missing namespace is the empty namespace', () => {
    assert.equal(identityOf('', 'Namespace', undefined, 'prod'), identityOf('', 'Namespace', '', 'prod'));
    assert.equal(identityOf('', 'Namespace', undefined, 'prod'), '/Namespace//prod');
  });

  test('distinct objects have distinct identities', () => {
    const ids = new Set([
      identityOf('apps', 'Deployment', 'prod', 'web'),
      identityOf('apps', 'Deployment', 'staging', 'web'),
      identityOf('apps', 'Deployment', 'prod', 'api'),
      identityOf('apps', 'StatefulSet', 'prod', 'web'),
      identityOf('example.com', 'Deployment', 'prod', 'web'),
      identityOf('', 'Deployment', 'prod', 'web'),
    ]);
    assert.equal(ids.size, 6);
  });
});
