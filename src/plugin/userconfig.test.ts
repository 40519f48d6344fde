import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KubeconfigError } from '../kube/kubeconfig.ts';
import { kubeconfigPaths, mergeKubeconfigs, selectContext } from './userconfig.ts';

test('kubeconfigPaths: --kubeconfig, else every file of $KUBECONFIG, else ~/.kube/config', () => {
  assert.deepEqual(kubeconfigPaths('/k', { KUBECONFIG: '/a:/b' }, '/home/u'), {
    paths: ['/k'],
    source: '--kubeconfig',
  });
  assert.deepEqual(kubeconfigPaths(undefined, { KUBECONFIG: '/a::/b' }, '/home/u'), {
    paths: ['/a', '/b'],
    source: '$KUBECONFIG',
  });
  assert.deepEqual(kubeconfigPaths(undefined, {}, '/home/u'), {
    paths: ['/home/u/.kube/config'],
    source: '~/.kube/config',
  });
});

test('mergeKubeconfigs: the first file naming an entry wins, the first current-context wins, relative files become absolute', () => {
  const merged = mergeKubeconfigs([
    {
      path: '/etc/kube/one',
      doc: {
        clusters: [{ name: 'c', cluster: { server: 'https://one', 'certificate-authority': 'ca.crt' } }],
        users: [{ name: 'u', user: { 'client-certificate': 'u.crt', 'client-key': '/abs/u.key' } }],
        contexts: [{ name: 'x', context: { cluster: 'c', user: 'u', namespace: 'team' } }],
      },
    },
    {
      path: '/home/me/two',
      doc: {
        'current-context': 'x',
        clusters: [
          { name: 'c', cluster: { server: 'https://two' } },
          { name: 'd', cluster: { server: 'https://d' } },
        ],
        contexts: [{ name: 'x', context: { cluster: 'd' } }],
      },
    },
    { path: '/three', doc: { 'current-context': 'y' } },
  ]);
  assert.deepEqual(merged, {
    apiVersion: 'v1',
    kind: 'Config',
    'current-context': 'x',
    clusters: [
      { name: 'c', cluster: { server: 'https://one', 'certificate-authority': '/etc/kube/ca.crt' } },
      { name: 'd', cluster: { server: 'https://d' } },
    ],
    users: [{ name: 'u', user: { 'client-certificate': '/etc/kube/u.crt', 'client-key': '/abs/u.key' } }],
    contexts: [{ name: 'x', context: { cluster: 'c', user: 'u', namespace: 'team' } }],
  });
  const selected = selectContext(merged, undefined, '$KUBECONFIG');
  assert.equal(selected.context, 'x');
  assert.equal(selected.namespace, 'team');
});

test('selectContext: --context wins; a missing context or none at all is a clear error', () => {
  const doc = {
    'current-context': 'a',
    contexts: [
      { name: 'a', context: {} },
      { name: 'b', context: { namespace: 'ns-b' } },
    ],
  };
  const b = selectContext(doc, 'b', '--kubeconfig');
  assert.equal(b.doc['current-context'], 'b');
  assert.equal(b.namespace, 'ns-b');
  assert.equal(selectContext(doc, undefined, 'x').namespace, undefined);
  assert.throws(
    () => selectContext(doc, 'zz', '--kubeconfig'),
    (e: unknown) =>
      e instanceof KubeconfigError &&
      /context "zz" is not in the kubeconfig \(--kubeconfig\)/.test(e.message),
  );
  assert.throws(
    () => selectContext({}, undefined, '~/.kube/config'),
    /has no current-context; pass --context/,
  );
});
