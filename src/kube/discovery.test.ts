import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, mock, test } from 'node:test';
import type { KubeClient, KubeRequest } from './client.ts';
import { KubeApiError } from './client.ts';
import type { ResourceInfo } from './discovery.ts';
import {
  collectionPath,
  Discovery,
  FAILURE_TTL_MS,
  KindNotServedError,
  MAX_CACHED_GROUP_VERSIONS,
  NEGATIVE_TTL_MS,
  objectPath,
} from './discovery.ts';

const VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

// Trimmed from `kubectl get --raw /apis/apps/v1` of a 1.31 cluster.
const APPS_V1 = {
  kind: 'APIResourceList',
  apiVersion: 'v1',
  groupVersion: 'apps/v1',
  resources: [
    {
      name: 'deployments',
      singularName: 'deployment',
      namespaced: true,
      kind: 'Deployment',
      verbs: VERBS,
      shortNames: ['deploy'],
    },
    {
      name: 'deployments/scale',
      singularName: '',
      namespaced: true,
      group: 'autoscaling',
      version: 'v1',
      kind: 'Scale',
      verbs: ['get', 'patch', 'update'],
    },
    {
      name: 'deployments/status',
      singularName: '',
      namespaced: true,
      kind: 'Deployment',
      verbs: ['get', 'patch', 'update'],
    },
    {
      name: 'statefulsets',
      singularName: 'statefulset',
      namespaced: true,
      kind: 'StatefulSet',
      verbs: VERBS,
    },
  ],
};
const CORE_V1 = {
  kind: 'APIResourceList',
  groupVersion: 'v1',
  resources: [
    { name: 'configmaps', singularName: 'configmap', namespaced: true, kind: 'ConfigMap', verbs: VERBS },
    {
      name: 'namespaces',
      singularName: 'namespace',
      namespaced: false,
      kind: 'Namespace',
      verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
    },
    {
      name: 'namespaces/finalize',
      singularName: '',
      namespaced: false,
      kind: 'Namespace',
      verbs: ['update'],
    },
    { name: 'bindings', singularName: 'binding', namespaced: true, kind: 'Binding', verbs: ['create'] },
  ],
};
const WIDGETS_V1 = {
  kind: 'APIResourceList',
  groupVersion: 'example.com/v1',
  resources: [{ name: 'widgets', singularName: 'widget', namespaced: true, kind: 'Widget', verbs: VERBS }],
};

/** FakeApi answers discovery requests from a table of documents and counts them. */
class FakeApi {
  readonly paths: string[] = [];
  constructor(public docs: Record<string, unknown>) {}

  client(): KubeClient {
    const request = (req: KubeRequest): Promise<unknown> => {
      this.paths.push(req.path);
      const doc = this.docs[req.path];
      if (doc === undefined) {
        return Promise.reject(
          new KubeApiError(`GET ${req.path} on dp: the server could not find the requested resource`, {
            statusCode: 404,
            reason: 'NotFound',
          }),
        );
      }
      if (doc instanceof Error) return Promise.reject(doc);
      return Promise.resolve(structuredClone(doc));
    };
    return { request } as unknown as KubeClient;
  }

  count(path: string): number {
    return this.paths.filter((p) => p === path).length;
  }
}

const unreachable = () =>
  new KubeApiError('GET /apis/apps/v1 on dp: cannot reach the API server (ECONNREFUSED)', {
    statusCode: 0,
    reason: 'ECONNREFUSED',
  });

async function rejectsNotServed(promise: Promise<unknown>, message: string): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof KindNotServedError, `expected KindNotServedError, got ${String(err)}`);
    assert.equal(err.message, message);
    return true;
  });
}

describe('Discovery.resolve', () => {
  let clock = 10_000;
  beforeEach(() => {
    clock = 10_000;
    mock.method(performance, 'now', () => clock);
  });
  afterEach(() => {
    mock.restoreAll();
  });

  test('resolves a group kind from /apis/<group>/<version>', async () => {
    const api = new FakeApi({ '/apis/apps/v1': APPS_V1 });
    const info = await new Discovery(api.client()).resolve({
      group: 'apps',
      version: 'v1',
      kind: 'Deployment',
    });
    assert.deepEqual(info, {
      group: 'apps',
      version: 'v1',
      kind: 'Deployment',
      resource: 'deployments',
      namespaced: true,
      verbs: VERBS,
    });
  });

  test('resolves a core kind from /api/v1, cluster-scoped included', async () => {
    const api = new FakeApi({ '/api/v1': CORE_V1 });
    const discovery = new Discovery(api.client());
    const ns = await discovery.resolve({ group: '', version: 'v1', kind: 'Namespace' });
    assert.equal(ns.resource, 'namespaces', 'the subresource namespaces/finalize is not the kind');
    assert.equal(ns.namespaced, false);
    assert.deepEqual(ns.verbs, ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch']);
    const cm = await discovery.resolve({ group: '', version: 'v1', kind: 'ConfigMap' });
    assert.equal(cm.resource, 'configmaps');
    assert.equal(cm.namespaced, true);
    assert.deepEqual(api.paths, ['/api/v1'], 'one document serves every kind of its group-version');
  });

  test('ignores subresources, even when they name the same kind', async () => {
    const api = new FakeApi({ '/apis/apps/v1': APPS_V1 });
    const discovery = new Discovery(api.client());
    const d = await discovery.resolve({ group: 'apps', version: 'v1', kind: 'Deployment' });
    assert.equal(d.resource, 'deployments');
    assert.deepEqual(d.verbs, VERBS);
    await rejectsNotServed(
      discovery.resolve({ group: 'apps', version: 'v1', kind: 'Scale' }),
      'the data plane does not serve Scale in apps/v1: no kind Scale in apps/v1',
    );
  });

  test('an unknown kind of a served group-version is not served', async () => {
    const api = new FakeApi({ '/apis/example.com/v1': WIDGETS_V1 });
    await rejectsNotServed(
      new Discovery(api.client()).resolve({ group: 'example.com', version: 'v1', kind: 'Gadget' }),
      'the data plane does not serve Gadget in example.com/v1: no kind Gadget in example.com/v1',
    );
  });

  test('a kind close to a served one says which one was probably meant', async () => {
    const api = new FakeApi({ '/apis/apps/v1': APPS_V1, '/api/v1': CORE_V1 });
    const discovery = new Discovery(api.client());
    await rejectsNotServed(
      discovery.resolve({ group: 'apps', version: 'v1', kind: 'Deploymnet' }),
      'the data plane does not serve Deploymnet in apps/v1: no kind Deploymnet in apps/v1; did you mean Deployment?',
    );
    await rejectsNotServed(
      discovery.resolve({ group: '', version: 'v1', kind: 'configmap' }),
      'the data plane does not serve configmap in v1: no kind configmap in v1; did you mean ConfigMap?',
    );
  });

  test('a group-version the server does not know (404) is not served', async () => {
    const api = new FakeApi({});
    await rejectsNotServed(
      new Discovery(api.client()).resolve({ group: 'example.com', version: 'v1', kind: 'Widget' }),
      'the data plane does not serve Widget in example.com/v1: API version example.com/v1 is not served',
    );
    await rejectsNotServed(
      new Discovery(api.client()).resolve({ group: 'apps', version: 'v1beta1', kind: 'Deployment' }),
      'the data plane does not serve Deployment in apps/v1beta1: API version apps/v1beta1 is not served',
    );
  });

  test('an apiVersion that is not a DNS group and version is not served, without a request', async () => {
    const api = new FakeApi({ '/api/v1': CORE_V1 });
    const discovery = new Discovery(api.client());
    for (const version of ['v1?watch=true', 'v1 x', 'v1/../../apis', 'V1', '']) {
      await assert.rejects(discovery.resolve({ group: '', version, kind: 'ConfigMap' }), KindNotServedError);
    }
    await assert.rejects(discovery.resolve({ group: 'a b', version: 'v1', kind: 'Widget' }), /DNS subdomain/);
    assert.deepEqual(api.paths, [], 'nothing was asked');
  });

  test('made-up group-versions are kept at most MAX_CACHED_GROUP_VERSIONS, and "not served" at most NEGATIVE_TTL_MS', async () => {
    const api = new FakeApi({ '/apis/apps/v1': APPS_V1 });
    const discovery = new Discovery(api.client());
    await discovery.resolve({ group: 'apps', version: 'v1', kind: 'Deployment' });
    for (let i = 0; i < MAX_CACHED_GROUP_VERSIONS + 500; i++) {
      await assert.rejects(discovery.resolve({ group: `bogus${i}.example.com`, version: 'v1', kind: 'X' }));
      // The served group-version is in use all along: least recently used out keeps it.
      if (i % 100 === 0) await discovery.resolve({ group: 'apps', version: 'v1', kind: 'Deployment' });
    }
    assert.equal(discovery.size, MAX_CACHED_GROUP_VERSIONS);
    assert.equal(api.count('/apis/apps/v1'), 1, 'the document in use was never evicted');
    clock += NEGATIVE_TTL_MS;
    await discovery.resolve({ group: 'apps', version: 'v1', kind: 'StatefulSet' });
    await assert.rejects(discovery.resolve({ group: 'one.more.example.com', version: 'v1', kind: 'X' }));
    assert.equal(discovery.size, 2, 'the expired "not served" answers are gone');
  });

  test('a known kind is answered from the cache', async () => {
    const api = new FakeApi({ '/apis/apps/v1': APPS_V1 });
    const discovery = new Discovery(api.client());
    await discovery.resolve({ group: 'apps', version: 'v1', kind: 'Deployment' });
    clock += 60_000;
    await discovery.resolve({ group: 'apps', version: 'v1', kind: 'StatefulSet' });
    assert.equal(api.count('/apis/apps/v1'), 1);
  });

  test('concurrent lookups share one request', async () => {
    const api = new FakeApi({ '/apis/apps/v1': APPS_V1 });
    const discovery = new Discovery(api.client());
    await Promise.all([
      discovery.resolve({ group: 'apps', version: 'v1', kind: 'Deployment' }),
      discovery.resolve({ group: 'apps', version: 'v1', kind: 'StatefulSet' }),
      discovery.resolve({ group: 'apps', version: 'v1', kind: 'Deployment' }),
    ]);
    assert.equal(api.count('/apis/apps/v1'), 1);
  });

  test('a miss within a second of the fetch does not ask again', async () => {
    const api = new FakeApi({ '/apis/example.com/v1': { ...WIDGETS_V1, resources: [] } });
    const discovery = new Discovery(api.client());
    const gvk = { group: 'example.com', version: 'v1', kind: 'Widget' };
    await rejectsNotServed(
      discovery.resolve(gvk),
      'the data plane does not serve Widget in example.com/v1: no kind Widget in example.com/v1',
    );
    clock += 999;
    await assert.rejects(discovery.resolve(gvk), KindNotServedError);
    assert.equal(api.count('/apis/example.com/v1'), 1);
  });

  test('a miss more than a second after the fetch asks again and finds a new CRD', async () => {
    const api = new FakeApi({ '/apis/example.com/v1': { ...WIDGETS_V1, resources: [] } });
    const discovery = new Discovery(api.client());
    const gvk = { group: 'example.com', version: 'v1', kind: 'Widget' };
    await assert.rejects(discovery.resolve(gvk), KindNotServedError);
    api.docs['/apis/example.com/v1'] = WIDGETS_V1; // the CRD became Established
    clock += 1_001;
    const info = await discovery.resolve(gvk);
    assert.equal(info.resource, 'widgets');
    assert.equal(api.count('/apis/example.com/v1'), 2);
  });

  test('a group-version that appears later is found after a second', async () => {
    const api = new FakeApi({});
    const discovery = new Discovery(api.client());
    const gvk = { group: 'example.com', version: 'v1', kind: 'Widget' };
    await assert.rejects(discovery.resolve(gvk), KindNotServedError);
    api.docs['/apis/example.com/v1'] = WIDGETS_V1;
    clock += 500;
    await assert.rejects(discovery.resolve(gvk), KindNotServedError, 'the 404 is cached for a second');
    clock += 600;
    assert.equal((await discovery.resolve(gvk)).kind, 'Widget');
    assert.equal(api.count('/apis/example.com/v1'), 2);
  });

  test('a failed fetch is the answer for FAILURE_TTL_MS, then asked again', async () => {
    const api = new FakeApi({ '/apis/apps/v1': unreachable() });
    const discovery = new Discovery(api.client());
    const gvk = { group: 'apps', version: 'v1', kind: 'Deployment' };
    const isUnreachable = (err: unknown) => {
      assert.ok(
        err instanceof KubeApiError && err.isUnreachable,
        `expected the transport error, got ${String(err)}`,
      );
      return true;
    };
    await assert.rejects(discovery.resolve(gvk), isUnreachable);
    api.docs['/apis/apps/v1'] = APPS_V1;
    clock += FAILURE_TTL_MS - 1;
    await assert.rejects(discovery.resolve(gvk), isUnreachable, 'the failure is remembered');
    await assert.rejects(discovery.resolve({ ...gvk, kind: 'StatefulSet' }), isUnreachable);
    assert.equal(api.count('/apis/apps/v1'), 1, 'one request while the failure is remembered');
    clock += 2;
    assert.equal((await discovery.resolve(gvk)).resource, 'deployments', 'asked again after the TTL');
    assert.equal(api.count('/apis/apps/v1'), 2);
  });

  test('a cluster that does not answer fails every other group-version at once, not after a timeout each', async () => {
    const api = new FakeApi({
      '/apis/apps/v1': unreachable(),
      '/api/v1': CORE_V1,
      '/apis/example.com/v1': WIDGETS_V1,
    });
    const discovery = new Discovery(api.client());
    await discovery.resolve({ group: 'example.com', version: 'v1', kind: 'Widget' });
    await assert.rejects(discovery.resolve({ group: 'apps', version: 'v1', kind: 'Deployment' }));
    await assert.rejects(
      discovery.resolve({ group: '', version: 'v1', kind: 'ConfigMap' }),
      (err: unknown) => err instanceof KubeApiError && err.isUnreachable,
    );
    assert.equal(api.count('/api/v1'), 0, 'no request: the cluster just did not answer');
    assert.equal(
      (await discovery.resolve({ group: 'example.com', version: 'v1', kind: 'Widget' })).resource,
      'widgets',
      'what is cached still answers',
    );
    clock += FAILURE_TTL_MS;
    assert.equal(
      (await discovery.resolve({ group: '', version: 'v1', kind: 'ConfigMap' })).resource,
      'configmaps',
    );
  });

  test('an answered failure (500) is remembered for its own group-version only', async () => {
    const api = new FakeApi({
      '/apis/apps/v1': new KubeApiError('GET /apis/apps/v1 on dp: internal error', {
        statusCode: 500,
        reason: 'InternalError',
      }),
      '/api/v1': CORE_V1,
    });
    const discovery = new Discovery(api.client());
    await assert.rejects(discovery.resolve({ group: 'apps', version: 'v1', kind: 'Deployment' }));
    await assert.rejects(discovery.resolve({ group: 'apps', version: 'v1', kind: 'Deployment' }));
    assert.equal(api.count('/apis/apps/v1'), 1);
    assert.equal(
      (await discovery.resolve({ group: '', version: 'v1', kind: 'ConfigMap' })).resource,
      'configmaps',
    );
  });

  test('invalidate forgets every document', async () => {
    const api = new FakeApi({ '/apis/apps/v1': APPS_V1, '/api/v1': CORE_V1 });
    const discovery = new Discovery(api.client());
    await discovery.resolve({ group: 'apps', version: 'v1', kind: 'Deployment' });
    await discovery.resolve({ group: '', version: 'v1', kind: 'ConfigMap' });
    discovery.invalidate();
    await discovery.resolve({ group: 'apps', version: 'v1', kind: 'Deployment' });
    await discovery.resolve({ group: '', version: 'v1', kind: 'ConfigMap' });
    assert.equal(api.count('/apis/apps/v1'), 2);
    assert.equal(api.count('/api/v1'), 2);
  });

  test('malformed entries are skipped', async () => {
    const api = new FakeApi({
      '/apis/example.com/v1': {
        resources: [
          null,
          { name: 'gadgets', namespaced: true },
          { kind: 'Gizmo', namespaced: true },
          { name: 'widgets', kind: 'Widget', namespaced: 'yes', verbs: ['get', 7, 'patch'] },
        ],
      },
    });
    const info = await new Discovery(api.client()).resolve({
      group: 'example.com',
      version: 'v1',
      kind: 'Widget',
    });
    assert.equal(info.namespaced, false, 'only the boolean true means namespaced');
    assert.deepEqual(info.verbs, ['get', 'patch']);
  });
});

describe('collectionPath and objectPath', () => {
  const deployments: ResourceInfo = {
    group: 'apps',
    version: 'v1',
    kind: 'Deployment',
    resource: 'deployments',
    namespaced: true,
    verbs: VERBS,
  };
  const configmaps: ResourceInfo = {
    group: '',
    version: 'v1',
    kind: 'ConfigMap',
    resource: 'configmaps',
    namespaced: true,
    verbs: VERBS,
  };
  const namespaces: ResourceInfo = {
    group: '',
    version: 'v1',
    kind: 'Namespace',
    resource: 'namespaces',
    namespaced: false,
    verbs: VERBS,
  };
  const clusterRoles: ResourceInfo = {
    group: 'rbac.authorization.k8s.io',
    version: 'v1',
    kind: 'ClusterRole',
    resource: 'clusterroles',
    namespaced: false,
    verbs: VERBS,
  };

  const cases: Array<[string, string, string]> = [
    [collectionPath(deployments, 'shop'), '/apis/apps/v1/namespaces/shop/deployments', 'group, namespaced'],
    [collectionPath(deployments), '/apis/apps/v1/deployments', 'group, all namespaces'],
    [collectionPath(configmaps, 'shop'), '/api/v1/namespaces/shop/configmaps', 'core, namespaced'],
    [collectionPath(configmaps), '/api/v1/configmaps', 'core, all namespaces'],
    [collectionPath(namespaces), '/api/v1/namespaces', 'core, cluster-scoped'],
    [
      collectionPath(clusterRoles, 'shop'),
      '/apis/rbac.authorization.k8s.io/v1/clusterroles',
      'group, cluster-scoped ignores a namespace',
    ],
    [objectPath(deployments, 'shop', 'web'), '/apis/apps/v1/namespaces/shop/deployments/web', 'group object'],
    [
      objectPath(configmaps, 'shop', 'settings'),
      '/api/v1/namespaces/shop/configmaps/settings',
      'core object',
    ],
    [objectPath(namespaces, undefined, 'shop'), '/api/v1/namespaces/shop', 'cluster-scoped core object'],
    [
      objectPath(namespaces, 'ignored', 'shop'),
      '/api/v1/namespaces/shop',
      'a namespace of a cluster-scoped object is ignored',
    ],
    [
      objectPath(clusterRoles, undefined, 'system:aggregate-to-view'),
      '/apis/rbac.authorization.k8s.io/v1/clusterroles/system%3Aaggregate-to-view',
      'names are escaped',
    ],
    [
      collectionPath({ ...configmaps, version: 'v1?watch=true', resource: 'config maps' }, 'a/b'),
      '/api/v1%3Fwatch%3Dtrue/namespaces/a%2Fb/config%20maps',
      'every segment is escaped: version, namespace, resource',
    ],
    [
      collectionPath({ ...deployments, group: 'apps?x', version: 'v1#' }),
      '/apis/apps%3Fx/v1%23/deployments',
      'group and version are escaped',
    ],
  ];
  for (const [got, want, name] of cases) {
    test(name, () => {
      assert.equal(got, want);
    });
  }
});
