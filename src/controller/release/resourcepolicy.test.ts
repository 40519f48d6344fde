import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { KubeObject } from '../../api/object.ts';
import type { DesiredObject } from './desired.ts';
import { admissionOf, globMatch, matchesKind } from './resourcepolicy.ts';

const item = (group: string, kind: string, namespace: string, name = 'x'): DesiredObject => {
  const object: KubeObject = {
    apiVersion: group ? `${group}/v1` : 'v1',
    kind,
    metadata: { name, ...(namespace && { namespace }) },
  };
  return { ok: true, id: name, index: 0, group, version: 'v1', kind, name, namespace, object, hash: 'h' };
};

void describe('globMatch', () => {
  void test('* stands for any characters, none included', () => {
    assert.equal(globMatch('kube-*', 'kube-system'), true);
    assert.equal(globMatch('kube-*', 'kube-'), true);
    assert.equal(globMatch('kube-*', 'team-kube-x'), false);
    assert.equal(globMatch('*-prod', 'shop-prod'), true);
    assert.equal(globMatch('a*b*c', 'aXbYc'), true);
    assert.equal(globMatch('a*b*c', 'acb'), false);
    assert.equal(globMatch('ab*ba', 'aba'), false, 'prefix and suffix may not overlap');
    assert.equal(globMatch('exact', 'exact'), true);
    assert.equal(globMatch('exact', 'exactly'), false);
  });
});

void describe('matchesKind', () => {
  void test('Kind matches any group; group/Kind one group; core is the core group', () => {
    assert.equal(matchesKind('ClusterRoleBinding', 'rbac.authorization.k8s.io', 'ClusterRoleBinding'), true);
    assert.equal(matchesKind('rbac.authorization.k8s.io/*', 'rbac.authorization.k8s.io', 'Role'), true);
    assert.equal(matchesKind('core/Secret', '', 'Secret'), true);
    assert.equal(matchesKind('core/Secret', 'example.com', 'Secret'), false);
    assert.equal(matchesKind('apps/Deployment', '', 'Deployment'), false);
  });
});

void describe('admissionOf', () => {
  void test('no namespaces or kinds rule: no check at all', () => {
    assert.equal(admissionOf(undefined, 'acme/dp'), undefined);
    assert.equal(admissionOf({ adoption: 'Forbidden' }, 'acme/dp'), undefined);
  });

  void test('a deny wins over an allow, and the message names the object, the DataPlane and the rule', () => {
    const admit = admissionOf({ namespaces: { allow: ['team-*'], deny: ['team-secret'] } }, 'acme/dp');
    assert.ok(admit, 'a check exists');
    assert.equal(admit(item('', 'ConfigMap', 'team-a')), undefined);
    const refused = admit(item('', 'ConfigMap', 'team-secret', 'cm'));
    assert.match(
      refused ?? '',
      /resource "cm": ConfigMap team-secret\/cm is not allowed on DataPlane acme\/dp/,
    );
    assert.match(refused ?? '', /spec\.resourcePolicy\.namespaces\.deny: "team-secret"/);
    assert.match(admit(item('', 'ConfigMap', 'kube-system')) ?? '', /namespaces\.allow/);
  });

  void test('a Namespace is checked by its name; other cluster-scoped objects by kind alone', () => {
    const admit = admissionOf(
      { namespaces: { deny: ['kube-*'] }, kinds: { deny: ['ClusterRoleBinding'] } },
      'acme/dp',
    );
    assert.ok(admit, 'a check exists');
    assert.match(admit(item('', 'Namespace', '', 'kube-system')) ?? '', /namespace kube-system/);
    assert.equal(admit(item('rbac.authorization.k8s.io', 'ClusterRole', '')), undefined);
    assert.match(
      admit(item('rbac.authorization.k8s.io', 'ClusterRoleBinding', '')) ?? '',
      /kind rbac\.authorization\.k8s\.io\/ClusterRoleBinding is refused by spec\.resourcePolicy\.kinds\.deny/,
    );
  });

  void test('an allow list of kinds admits only those', () => {
    const admit = admissionOf({ kinds: { allow: ['apps/*', 'core/ConfigMap'] } }, 'acme/dp');
    assert.ok(admit, 'a check exists');
    assert.equal(admit(item('apps', 'Deployment', 'a')), undefined);
    assert.equal(admit(item('', 'ConfigMap', 'a')), undefined);
    assert.match(
      admit(item('', 'Secret', 'a')) ?? '',
      /kind core\/Secret is refused by spec\.resourcePolicy\.kinds\.allow/,
    );
  });
});
