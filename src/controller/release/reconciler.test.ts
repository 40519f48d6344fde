import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { pino } from 'pino';
import type { KubeObject } from '../../api/object.ts';
import {
  Annotations,
  ConditionTypes,
  EventReasons,
  FINALIZER,
  Labels,
  Reasons,
} from '../../api/v1alpha1/constants.ts';
import type { Condition, Release, ReleaseStatus } from '../../api/v1alpha1/schema.ts';
import { KubeApiError } from '../../kube/client.ts';
import { FakeDataPlane, servedKind } from '../../../test/support/fakedataplane.ts';
import { NAMESPACE_KIND } from '../../dataplane/port.ts';
import type { ReleaseStore } from './controlplane.ts';
import { ReconcileError } from './errors.ts';
import { placementsOf } from './placement.ts';
import { KeyedLimiter } from '../../runtime/limiter.ts';
import {
  DEFER_REQUEUE_MS,
  ReleaseReconciler,
  type DataPlaneSlots,
  endpointSlotKey,
  type ReleaseEvents,
  type ReleaseObserver,
} from './reconciler.ts';

const CONFIGMAP = servedKind({ group: '', version: 'v1', kind: 'ConfigMap' }, 'configmaps');
const CRD = servedKind(
  { group: 'apiextensions.k8s.io', version: 'v1', kind: 'CustomResourceDefinition' },
  'customresourcedefinitions',
  false,
);
const WIDGET = servedKind({ group: 'example.com', version: 'v1', kind: 'Widget' }, 'widgets');

const signal = new AbortController().signal;

function configMap(name: string, data: Record<string, string> = { a: '1' }, namespace = 'apps'): KubeObject {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace }, data };
}

function releaseOf(resources: Record<string, KubeObject>, name = 'web', uid = `uid-${name}`): Release {
  return {
    apiVersion: 'openchoreo.dev/v1alpha1',
    kind: 'Release',
    metadata: { name, namespace: 'acme', uid, generation: 1, resourceVersion: '1' },
    spec: {
      owner: { projectName: 'shop', componentName: name },
      environmentName: 'prod',
      resources: Object.entries(resources).map(([id, object]) => ({ id, object })),
    },
  };
}

/** deleted marks a Release as deleted, as the API server does for a Release with a finalizer. */
function deleted(r: Release): Release {
  return { ...r, metadata: { ...r.metadata, deletionTimestamp: '2026-12-03T10:00:00Z' } };
}

/** World is a control plane in memory: Releases with their status and finalizers, and the Events. */
class World implements ReleaseStore {
  readonly releases = new Map<string, Release>();
  readonly events: Array<{ release: string; type: string; reason: string; message: string }> = [];
  statusWrites = 0;
  /** written is every status written, in order. */
  readonly written: ReleaseStatus[] = [];

  add(release: Release): void {
    this.releases.set(`${release.metadata.namespace}/${release.metadata.name}`, release);
  }
  get(namespace: string, name: string): Release | undefined {
    return this.releases.get(`${namespace}/${name}`);
  }
  status(name: string): ReleaseStatus {
    return this.get('acme', name)?.status ?? {};
  }
  condition(name: string, type: string): Condition | undefined {
    return this.status(name).conditions?.find((c) => c.type === type);
  }
  freshest(cached: Release): Release {
    return cached;
  }
  forget(): void {}
  writeStatus(release: Release, status: ReleaseStatus): Promise<Release> {
    this.statusWrites++;
    this.written.push(status);
    return Promise.resolve(this.update(release, { status }));
  }
  metadataWrites = 0;
  addFinalizer(release: Release, _signal?: AbortSignal, placement?: string): Promise<Release> {
    this.metadataWrites++;
    const current = release.metadata.finalizers ?? [];
    const finalizers = current.includes(FINALIZER) ? current : [...current, FINALIZER];
    const annotations =
      placement === undefined
        ? release.metadata.annotations
        : { ...release.metadata.annotations, [Annotations.placement]: placement };
    return Promise.resolve(
      this.update(release, {
        metadata: { ...release.metadata, finalizers, ...(annotations && { annotations }) },
      }),
    );
  }
  removeFinalizer(release: Release): Promise<void> {
    const key = `${release.metadata.namespace}/${release.metadata.name}`;
    const finalizers = (release.metadata.finalizers ?? []).filter((f) => f !== FINALIZER);
    if (release.metadata.deletionTimestamp && finalizers.length === 0) this.releases.delete(key);
    else this.update(release, { metadata: { ...release.metadata, finalizers } });
    return Promise.resolve();
  }
  /** edit replaces a Release's spec or metadata as a user would (its status stays, unless the change sets one). */
  edit(name: string, change: (r: Release) => Release): void {
    const current = this.get('acme', name);
    assert.ok(current, `Release ${name} exists`);
    const next = change(current);
    this.add(next.status || !current.status ? next : { ...next, status: current.status });
  }
  private update(release: Release, patch: Partial<Release>): Release {
    const key = `${release.metadata.namespace}/${release.metadata.name}`;
    const current = this.releases.get(key) ?? release;
    const next: Release = {
      ...current,
      ...patch,
      metadata: {
        ...(patch.metadata ?? current.metadata),
        resourceVersion: String(Number(current.metadata.resourceVersion) + 1),
      },
    };
    this.releases.set(key, next);
    return next;
  }
}

/** setup builds a reconciler; passing the world and data plane of an earlier one models a restart. */
function setup(
  kinds = [CONFIGMAP],
  world = new World(),
  dataPlane = new FakeDataPlane('acme/dp', kinds),
  slots?: DataPlaneSlots,
  observer?: ReleaseObserver,
) {
  const events: ReleaseEvents = {
    emit: (release, type, reason, message) =>
      world.events.push({ release: release.metadata.name, type, reason, message }),
  };
  const reconciler = new ReleaseReconciler({
    releases: world,
    resolver: {
      resolve: () => Promise.resolve({ dataPlane }),
      dataPlane: () => Promise.resolve({ dataPlane }),
      get: () => dataPlane,
    },
    writer: world,
    events,
    ...(slots && { slots }),
    ...(observer && { observer }),
    logger: pino({ level: 'silent' }),
    now: () => new Date('2026-12-03T10:00:00Z'),
    random: () => 0,
  });
  const reconcile = (name = 'web') => reconciler.reconcile(`acme/${name}`, signal);
  return { world, dataPlane, reconciler, reconcile };
}

void describe('ReleaseReconciler', () => {
  void test('applies every object with tracking labels, creates the namespace, and reports Ready', async () => {
    const { world, dataPlane, reconcile } = setup();
    world.add(releaseOf({ settings: configMap('settings'), flags: configMap('flags') }));

    const result = await reconcile();

    const live = dataPlane.get(CONFIGMAP, 'apps', 'settings');
    assert.equal(live?.metadata.labels?.[Labels.releaseUid], 'uid-web');
    assert.equal(live?.metadata.labels?.[Labels.resourceId], 'settings');
    assert.ok(dataPlane.get(NAMESPACE_KIND, undefined, 'apps'), 'the missing namespace was created');
    assert.deepEqual(world.get('acme', 'web')?.metadata.finalizers, [FINALIZER]);
    assert.equal(world.condition('web', ConditionTypes.resourcesApplied)?.status, 'True');
    assert.equal(world.condition('web', ConditionTypes.ready)?.status, 'True');
    assert.deepEqual(
      world.status('web').resources?.map((r) => [r.id, r.healthStatus]),
      [
        ['settings', 'Healthy'],
        ['flags', 'Healthy'],
      ],
    );
    assert.ok(result.requeueAfterMs !== undefined && result.requeueAfterMs > 0, 'a resync is scheduled');
  });

  void test('an object refused as invalid waits for the Release to change; an unknown kind is looked at again soon', async () => {
    const { world, dataPlane, reconcile } = setup();
    dataPlane.refuse = (object) =>
      object.metadata.name === 'typed'
        ? new KubeApiError(
            'PATCH /api/v1/namespaces/apps/configmaps/typed on acme/dp: failed to create typed patch object (/v1, Kind=ConfigMap) apps/typed: .data: expected map, got string',
            {
              statusCode: 500,
              reason: 'InternalError',
            },
          )
        : undefined;
    const typed: KubeObject = { ...configMap('typed'), data: 'oops' };
    const noKind: KubeObject = { apiVersion: 'v1', metadata: { name: 'x', namespace: 'apps' } } as KubeObject;
    world.add(releaseOf({ settings: configMap('settings'), typed, noKind }));

    const result = await reconcile();
    assert.deepEqual(
      world.status('web').resources?.map((r) => [r.id, r.healthStatus, r.healthReason]),
      [
        ['settings', 'Healthy', world.status('web').resources?.[0]?.healthReason],
        ['typed', 'Unknown', Reasons.invalidResource],
        ['noKind', 'Unknown', Reasons.invalidResource],
      ],
    );
    assert.equal(world.condition('web', ConditionTypes.resourcesApplied)?.reason, Reasons.invalidResource);
    assert.equal(
      result.requeueAfterMs,
      300_000,
      'interval, not progressingInterval: a retry gets the same answer',
    );

    const widget: KubeObject = {
      apiVersion: 'example.com/v1',
      kind: 'Widget',
      metadata: { name: 'w', namespace: 'apps' },
    };
    world.edit('web', (r) => ({
      ...releaseOf({ settings: configMap('settings'), widget }),
      metadata: { ...r.metadata, generation: 2 },
      status: r.status,
    }));
    const later = await reconcile();
    assert.equal(later.requeueAfterMs, 10_000, 'progressingInterval: the CRD of an unknown kind may arrive');
  });

  void test('a second reconcile of an unchanged Release sends no request and writes no status', async () => {
    const { world, dataPlane, reconcile } = setup();
    world.add(releaseOf({ settings: configMap('settings') }));
    await reconcile();
    const requests = dataPlane.requests.length;
    const statusWrites = world.statusWrites;

    await reconcile();

    assert.deepEqual(dataPlane.requests.slice(requests), []);
    assert.equal(world.statusWrites, statusWrites);
  });

  void test('an object removed from the spec is pruned, with a Pruned Event', async () => {
    const { world, dataPlane, reconcile } = setup();
    world.add(releaseOf({ settings: configMap('settings'), flags: configMap('flags') }));
    await reconcile();

    world.edit('web', () => releaseOf({ settings: configMap('settings') }));
    await reconcile();

    assert.equal(dataPlane.get(CONFIGMAP, 'apps', 'flags'), undefined);
    assert.ok(dataPlane.get(CONFIGMAP, 'apps', 'settings'), 'the kept object is still there');
    const pruned = world.events.filter((e) => e.reason === EventReasons.pruned);
    assert.deepEqual(
      pruned.map((e) => e.message),
      ['deleted ConfigMap/apps/flags (resource "flags" no longer in spec as this object)'],
    );
  });

  void test('nothing is pruned while a watch of the data plane is not connected', async () => {
    const { world, dataPlane, reconcile } = setup();
    world.add(releaseOf({ settings: configMap('settings'), flags: configMap('flags') }));
    await reconcile();

    dataPlane.complete = false;
    world.edit('web', () => releaseOf({ settings: configMap('settings') }));
    await reconcile();
    assert.ok(dataPlane.get(CONFIGMAP, 'apps', 'flags'), 'kept on an incomplete picture');
    // Never Ready on an incomplete picture: the Release says that pruning waits, and for which watch.
    for (const type of [ConditionTypes.resourcesApplied, ConditionTypes.ready]) {
      const c = world.condition('web', type);
      assert.equal(c?.status, 'False', `${type} is False`);
      assert.equal(c?.reason, Reasons.pruneDeferred);
      assert.match(
        c?.message ?? '',
        /^pruning deferred: the watch of ConfigMap \(v1\): the watch is not connected .* on data plane acme\/dp is broken, .*nothing is deleted from an incomplete picture.*goes on by itself once the watch is connected again/,
      );
    }

    dataPlane.complete = true;
    await reconcile();
    assert.equal(dataPlane.get(CONFIGMAP, 'apps', 'flags'), undefined);
    assert.equal(world.condition('web', ConditionTypes.ready)?.status, 'True');
  });

  void test('cleanup on an incomplete picture names the broken watch, the objects known there and the remedy', async () => {
    const { world, dataPlane, reconcile } = setup();
    world.add(releaseOf({ settings: configMap('settings') }));
    await reconcile();

    dataPlane.complete = false;
    world.edit('web', deleted);
    await assert.rejects(reconcile(), ReconcileError);
    assert.deepEqual(world.get('acme', 'web')?.metadata.finalizers, [FINALIZER]);
    assert.ok(dataPlane.get(CONFIGMAP, 'apps', 'settings'), 'nothing deleted from an incomplete picture');
    const message = world.condition('web', ConditionTypes.finalizing)?.message ?? '';
    assert.match(
      message,
      /^cleanup of data plane acme\/dp waits for a complete picture: the watch of ConfigMap \(v1\).* is broken, so the Release's objects there cannot be proven gone \(known there: ConfigMap\/apps\/settings\); check that the data plane's API server answers lists and watches of that kind/,
    );
    assert.ok(
      message.indexOf('goes on by itself') < message.indexOf('Orphan'),
      'the remedy comes before the Orphan annotation, which says it leaves the objects',
    );

    dataPlane.complete = true;
    await reconcile(); // deletes
    await reconcile(); // sees it gone
    assert.equal(world.get('acme', 'web'), undefined, 'the finalizer was removed');
  });

  void test('a new object that fails to apply never deletes the good old one of its id', async () => {
    const { world, dataPlane, reconcile } = setup();
    world.add(releaseOf({ settings: configMap('settings') }));
    await reconcile();

    dataPlane.refuse = (o) =>
      o.metadata.name === 'settings-v2'
        ? new KubeApiError('admission webhook denied the request', { statusCode: 403, reason: 'Forbidden' })
        : undefined;
    world.edit('web', () => releaseOf({ settings: configMap('settings-v2') }));
    await assert.rejects(reconcile(), ReconcileError);

    assert.ok(dataPlane.get(CONFIGMAP, 'apps', 'settings'), 'the old object is kept');
    const applied = world.condition('web', ConditionTypes.resourcesApplied);
    assert.equal(applied?.status, 'False');
    assert.equal(applied?.reason, Reasons.applyFailed);
    assert.match(applied?.message ?? '', /resource "settings": ConfigMap\/apps\/settings-v2: .*denied/);
  });

  void test('an object of another live Release is not taken over: Conflict, and nothing is written', async () => {
    const { world, dataPlane, reconcile } = setup();
    world.add(releaseOf({ settings: configMap('settings', { owner: 'first' }) }, 'first'));
    await reconcile('first');
    world.add(releaseOf({ settings: configMap('settings', { owner: 'second' }) }, 'second'));
    const writes = dataPlane.writes().length;

    await reconcile('second');

    assert.equal(dataPlane.writes().length, writes);
    assert.deepEqual(dataPlane.get(CONFIGMAP, 'apps', 'settings')?.['data'], { owner: 'first' });
    const applied = world.condition('second', ConditionTypes.resourcesApplied);
    assert.equal(applied?.reason, Reasons.conflict);
    assert.match(
      applied?.message ?? '',
      /ConfigMap\/apps\/settings belongs to Release acme\/first; not taken over/,
    );
  });

  const foreignConfigMap = (name: string): KubeObject => ({
    ...configMap(name, { owner: 'helm' }),
    metadata: {
      name,
      namespace: 'apps',
      labels: { 'app.kubernetes.io/managed-by': 'Helm' },
      managedFields: [{ manager: 'helm', operation: 'Update', apiVersion: 'v1' }],
    },
  });
  const adopting = (name: string, mode: string): KubeObject => {
    const cm = configMap(name, { owner: 'release' });
    return { ...cm, metadata: { ...cm.metadata, annotations: { [Annotations.adopt]: mode } } };
  };

  void test('an object someone else made is not taken over: Conflict naming its managers, nothing written', async () => {
    const { world, dataPlane, reconcile } = setup();
    dataPlane.put(CONFIGMAP, foreignConfigMap('coredns'));
    world.add(releaseOf({ dns: configMap('coredns', { owner: 'release' }) }));

    await reconcile();

    assert.deepEqual(dataPlane.get(CONFIGMAP, 'apps', 'coredns')?.['data'], { owner: 'helm' });
    assert.equal(dataPlane.writes().filter((w) => w.verb === 'apply').length, 0, 'no apply was sent');
    const applied = world.condition('web', ConditionTypes.resourcesApplied);
    assert.equal(applied?.reason, Reasons.conflict);
    assert.match(
      applied?.message ?? '',
      /ConfigMap\/apps\/coredns already exists on the data plane and was not created by a Release \(managed by helm\); not taken over\. To adopt it, set annotation openchoreo\.dev\/adopt: "true"/,
    );
  });

  void test('adopt: "true" takes it over, marks it, and gives it back when it leaves the spec', async () => {
    const { world, dataPlane, reconcile } = setup();
    dataPlane.put(CONFIGMAP, foreignConfigMap('shared'));
    world.add(releaseOf({ shared: adopting('shared', 'true'), own: configMap('own') }));
    await reconcile();
    const adopted = dataPlane.get(CONFIGMAP, 'apps', 'shared');
    assert.deepEqual(adopted?.['data'], { owner: 'release' });
    assert.equal(adopted?.metadata.annotations?.[Annotations.adopted], 'true');
    assert.equal(adopted?.metadata.labels?.[Labels.releaseUid], 'uid-web');

    world.edit('web', () => releaseOf({ own: configMap('own') }));
    await reconcile();

    const givenBack = dataPlane.get(CONFIGMAP, 'apps', 'shared');
    assert.ok(givenBack, 'the adopted object is kept');
    assert.equal(givenBack.metadata.labels?.[Labels.releaseUid], undefined, 'our labels are gone');
    assert.equal(givenBack.metadata.labels?.[Labels.managedBy], undefined);
    assert.equal(givenBack.metadata.annotations?.[Annotations.adopted], undefined);
    assert.ok(
      !(givenBack.metadata.managedFields ?? []).some((m) => m.manager === 'release-controller'),
      'our field ownership is gone',
    );
    assert.ok(
      world.events.some(
        (e) => e.reason === EventReasons.givenBack && e.message.includes('ConfigMap/apps/shared'),
      ),
      'a GivenBack Event',
    );
  });

  /** labelled builds a ConfigMap that carries a Release's labels (as its apply, or anyone with patch, writes them). */
  const labelled = (name: string, id: string, release = 'web'): KubeObject => {
    const cm = configMap(name, { owner: 'someone' });
    cm.metadata.labels = {
      [Labels.managedBy]: 'release-controller',
      [Labels.resourceId]: id,
      [Labels.releaseUid]: `uid-${release}`,
      [Labels.releaseName]: release,
      [Labels.releaseNamespace]: 'acme',
    };
    cm.metadata.managedFields = [{ manager: 'kubectl-patch', operation: 'Update', apiVersion: 'v1' }];
    return cm;
  };

  void test('the status inventory records the uid of each object the Release created, and how it leaves', async () => {
    const { world, dataPlane, reconcile } = setup();
    world.add(releaseOf({ settings: configMap('settings') }));
    await reconcile();
    const [entry] = world.status('web').resources ?? [];
    assert.deepEqual(
      [entry?.uid, entry?.origin, entry?.removal],
      [dataPlane.get(CONFIGMAP, 'apps', 'settings')?.metadata.uid, 'Created', 'Delete'],
    );
  });

  void test('an object labelled with the Release uid but never recorded is left in place when unwanted, and reported once', async () => {
    const { world, dataPlane, reconcile } = setup();
    // Labelled by someone with patch, or applied just before a crash and then dropped from the spec.
    dataPlane.put(CONFIGMAP, labelled('stray', 'stray'));
    world.add(releaseOf({ settings: configMap('settings') }));
    await reconcile();
    await reconcile();

    const stray = dataPlane.get(CONFIGMAP, 'apps', 'stray');
    assert.ok(stray, 'not pruned');
    assert.equal(stray.metadata.labels?.[Labels.releaseUid], 'uid-web', 'nor given back: not ours to touch');
    const reported = world.events.filter((e) => e.reason === EventReasons.notProven);
    assert.equal(reported.length, 1, 'reported once, not on every pass');
    assert.equal(reported[0]?.type, 'Warning');
    assert.match(reported[0]?.message ?? '', /left in place: ConfigMap\/apps\/stray/);
  });

  void test('the crash window: an unrecorded object still in the spec is written and recorded as Found, then given back, never deleted', async () => {
    const { world, dataPlane, reconcile } = setup();
    dataPlane.put(CONFIGMAP, labelled('settings', 'settings'));
    world.add(releaseOf({ settings: configMap('settings'), own: configMap('own') }));
    await reconcile();
    const live = dataPlane.get(CONFIGMAP, 'apps', 'settings');
    assert.deepEqual(live?.['data'], { a: '1' }, "written as the Release's");
    const [found] = world.status('web').resources ?? [];
    assert.deepEqual([found?.uid, found?.origin, found?.removal], [live?.metadata.uid, 'Found', 'GiveBack']);

    world.edit('web', () => releaseOf({ own: configMap('own') }));
    await reconcile();
    const back = dataPlane.get(CONFIGMAP, 'apps', 'settings');
    assert.ok(back, 'given back, not deleted');
    assert.equal(back.metadata.labels?.[Labels.releaseUid], undefined);
  });

  void test('a status written before uids were recorded: an apply token that names the live object proves it was created', async () => {
    const world = new World();
    const dataPlane = new FakeDataPlane('acme/dp', [CONFIGMAP]);
    const first = setup([CONFIGMAP], world, dataPlane);
    world.add(releaseOf({ settings: configMap('settings'), flags: configMap('flags') }));
    await first.reconcile();
    // The status an earlier version wrote: apply tokens, no uids.
    world.edit('web', (r) => ({
      ...r,
      status: {
        ...r.status,
        resources: r.status?.resources?.map(
          ({ uid: _uid, origin: _origin, removal: _removal, ...rest }) => rest,
        ),
      },
    }));
    const second = setup([CONFIGMAP], world, dataPlane); // a new process
    await second.reconcile();
    assert.deepEqual(
      world.status('web').resources?.map((r) => [r.id, r.origin, r.removal]),
      [
        ['settings', 'Created', 'Delete'],
        ['flags', 'Created', 'Delete'],
      ],
    );
    world.edit('web', () => releaseOf({ settings: configMap('settings') }));
    await second.reconcile();
    assert.equal(dataPlane.get(CONFIGMAP, 'apps', 'flags'), undefined, 'pruned as before');
  });

  void test('an object a gone Release left behind is foreign: Conflict without adopt, adopted when asked', async () => {
    const { world, dataPlane, reconcile } = setup();
    dataPlane.put(CONFIGMAP, labelled('orphan', 'cm', 'old'));
    world.add(releaseOf({ cm: configMap('orphan', { owner: 'release' }) }));
    await reconcile();
    assert.deepEqual(
      dataPlane.get(CONFIGMAP, 'apps', 'orphan')?.['data'],
      { owner: 'someone' },
      'not written',
    );
    const applied = world.condition('web', ConditionTypes.resourcesApplied);
    assert.equal(applied?.reason, Reasons.conflict);
    assert.match(
      applied?.message ?? '',
      /ConfigMap\/apps\/orphan already exists on the data plane and carries the labels of Release acme\/old \(uid uid-old\), which no longer exists .*not taken over\. To adopt it, set annotation openchoreo\.dev\/adopt/,
    );
    assert.equal(world.status('web').resources?.[0]?.uid, undefined, 'nothing recorded');

    world.edit('web', () => releaseOf({ cm: adopting('orphan', 'true') }));
    await reconcile();
    assert.deepEqual(dataPlane.get(CONFIGMAP, 'apps', 'orphan')?.['data'], { owner: 'release' });
    const [entry] = world.status('web').resources ?? [];
    assert.deepEqual([entry?.origin, entry?.removal], ['Adopted', 'GiveBack']);
  });

  void test('our managed-by label alone is no claim: such an object is foreign', async () => {
    const { world, dataPlane, reconcile } = setup();
    const bare = configMap('bare', { owner: 'someone' });
    bare.metadata.labels = { [Labels.managedBy]: 'release-controller' };
    dataPlane.put(CONFIGMAP, bare);
    world.add(releaseOf({ cm: configMap('bare', { owner: 'release' }) }));
    await reconcile();
    assert.deepEqual(dataPlane.get(CONFIGMAP, 'apps', 'bare')?.['data'], { owner: 'someone' });
    assert.match(
      world.condition('web', ConditionTypes.resourcesApplied)?.message ?? '',
      /carries the openchoreo\.dev\/managed-by label but names no Release .*not taken over/,
    );
  });

  void test('a rewritten live adopt: "delete" (or adopted mark) does not turn a give-back into a delete', async () => {
    const { world, dataPlane, reconcile } = setup();
    dataPlane.put(CONFIGMAP, foreignConfigMap('shared'));
    world.add(releaseOf({ shared: adopting('shared', 'true') }));
    await reconcile();
    const adopted = dataPlane.get(CONFIGMAP, 'apps', 'shared');
    assert.ok(adopted, 'adopted');
    assert.equal(adopted.metadata.annotations?.[Annotations.adopt], undefined, 'adopt is not sent');
    dataPlane.put(CONFIGMAP, {
      ...adopted,
      metadata: {
        ...adopted.metadata,
        annotations: { [Annotations.adopt]: 'delete', [Annotations.adopted]: 'false' },
      },
    });

    world.edit('web', deleted);
    await reconcile();
    await reconcile();
    const back = dataPlane.get(CONFIGMAP, 'apps', 'shared');
    assert.ok(back, 'given back, as the inventory recorded at adoption');
    assert.equal(back.metadata.labels?.[Labels.releaseUid], undefined);
    assert.equal(world.get('acme', 'web'), undefined);
  });

  void test('adopt: "delete" deletes the adopted object with the Release; a created one is deleted as always', async () => {
    const { world, dataPlane, reconcile } = setup();
    dataPlane.put(CONFIGMAP, foreignConfigMap('legacy'));
    dataPlane.put(CONFIGMAP, foreignConfigMap('kept'));
    world.add(releaseOf({ legacy: adopting('legacy', 'delete'), kept: adopting('kept', 'true') }));
    await reconcile();

    world.edit('web', deleted);
    await reconcile();
    await reconcile();

    assert.equal(dataPlane.get(CONFIGMAP, 'apps', 'legacy'), undefined, 'adopt: delete is deleted');
    assert.ok(dataPlane.get(CONFIGMAP, 'apps', 'kept'), 'adopt: true is given back');
    assert.equal(world.get('acme', 'web'), undefined, 'the finalizer was removed');
  });

  void test('a Namespace the controller created for one Release survives another that lists it and goes', async () => {
    const { world, dataPlane, reconcile } = setup();
    world.add(releaseOf({ settings: configMap('settings', {}, 'shared') }, 'a'));
    await reconcile('a'); // creates Namespace shared for a's ConfigMap
    world.add(releaseOf({ other: configMap('other', {}, 'shared') }, 'b'));
    await reconcile('b');
    const ns: KubeObject = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shared' } };
    world.edit('a', () => releaseOf({ ns, settings: configMap('settings', {}, 'shared') }, 'a'));
    await reconcile('a');

    world.edit('a', deleted);
    await reconcile('a');
    await reconcile('a');

    assert.equal(world.get('acme', 'a'), undefined, 'a is gone');
    assert.ok(dataPlane.get(NAMESPACE_KIND, undefined, 'shared'), 'the namespace is kept');
    assert.ok(dataPlane.get(CONFIGMAP, 'shared', 'other'), "b's object in it is kept");
    assert.equal(dataPlane.get(CONFIGMAP, 'shared', 'settings'), undefined, "a's own object is deleted");
  });

  void test('an object carrying only the Release labels, its uid not recorded, is left in place at cleanup and reported', async () => {
    const { world, dataPlane, reconcile } = setup();
    world.add(releaseOf({ settings: configMap('settings') }));
    await reconcile();
    const stray = configMap('stray');
    stray.metadata.labels = { [Labels.managedBy]: 'release-controller', [Labels.releaseUid]: 'uid-web' };
    dataPlane.put(CONFIGMAP, stray);

    world.edit('web', deleted);
    await reconcile();
    await reconcile();

    assert.ok(
      dataPlane.get(CONFIGMAP, 'apps', 'stray'),
      'a labelled object the Release cannot prove is kept',
    );
    assert.equal(dataPlane.get(CONFIGMAP, 'apps', 'settings'), undefined, 'its own object is deleted');
    assert.equal(world.get('acme', 'web'), undefined, 'the finalizer is removed: nothing proven is left');
    const reported = world.events.filter((e) => e.reason === EventReasons.notProven);
    assert.deepEqual(
      reported.map((e) => [e.type, e.message.split(';')[0]]),
      [
        [
          'Warning',
          "1 object carries this Release's labels but was not created or adopted by it (uid not in its status inventory)",
        ],
      ],
    );
    assert.match(reported[0]?.message ?? '', /left in place: ConfigMap\/apps\/stray/);
  });

  void test('an unreachable data plane is reported and the last inventory is kept', async () => {
    const { world, dataPlane, reconcile } = setup();
    world.add(releaseOf({ settings: configMap('settings') }));
    await reconcile();
    const inventory = world.status('web').resources;

    dataPlane.unreachable = true;
    world.edit('web', (r) => ({
      ...releaseOf({ settings: configMap('settings', { a: '2' }) }),
      metadata: { ...r.metadata, generation: 2 },
      status: r.status,
    }));
    await assert.rejects(reconcile(), ReconcileError);

    const applied = world.condition('web', ConditionTypes.resourcesApplied);
    assert.equal(applied?.reason, Reasons.dataPlaneUnreachable);
    assert.deepEqual(world.status('web').resources, inventory);
  });

  void test('objects of a CRD carried by the same Release wait for it, then apply', async () => {
    const { world, dataPlane, reconcile } = setup([CONFIGMAP, CRD]);
    const crd: KubeObject = {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'widgets.example.com' },
      spec: { group: 'example.com', names: { kind: 'Widget', plural: 'widgets' } },
    };
    const widget: KubeObject = {
      apiVersion: 'example.com/v1',
      kind: 'Widget',
      metadata: { name: 'w', namespace: 'apps' },
    };
    world.add(releaseOf({ crd, widget }));

    await reconcile();
    const applied = world.condition('web', ConditionTypes.resourcesApplied);
    assert.equal(applied?.reason, Reasons.waitingForCRD);
    assert.match(
      applied?.message ?? '',
      /waiting for CustomResourceDefinition widgets.example.com \(resource "crd"\)/,
    );

    dataPlane.serve(WIDGET);
    await reconcile();
    assert.ok(dataPlane.get(WIDGET, 'apps', 'w'), 'the Widget was applied');
    assert.equal(world.condition('web', ConditionTypes.resourcesApplied)?.status, 'True');
  });

  void test('a Namespace that existed before is marked adopted and survives deletion of the Release', async () => {
    const { world, dataPlane, reconcile } = setup();
    dataPlane.put(NAMESPACE_KIND, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shared' } });
    const ns: KubeObject = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shared' } };
    world.add(releaseOf({ ns, settings: configMap('settings', {}, 'shared') }));
    await reconcile();
    assert.equal(
      dataPlane.get(NAMESPACE_KIND, undefined, 'shared')?.metadata.annotations?.[Annotations.adopted],
      'true',
    );

    world.edit('web', deleted);
    await reconcile(); // deletes
    await reconcile(); // sees them gone

    assert.equal(dataPlane.get(CONFIGMAP, 'shared', 'settings'), undefined);
    assert.ok(dataPlane.get(NAMESPACE_KIND, undefined, 'shared'), 'the adopted namespace is kept');
    assert.equal(world.get('acme', 'web'), undefined, 'the finalizer was removed');
  });

  void test('a cleanup whose deletes all complete at once removes the finalizer in that pass, with no status write', async () => {
    const { world, dataPlane, reconcile } = setup();
    world.add(releaseOf({ settings: configMap('settings'), flags: configMap('flags') }));
    await reconcile();
    const writes = world.statusWrites;
    const before = dataPlane.requests.length;

    world.edit('web', deleted);
    const result = await reconcile();

    assert.deepEqual(result, {}, 'nothing to look at again');
    assert.equal(world.get('acme', 'web'), undefined, 'the finalizer was removed in the same pass');
    assert.equal(
      world.statusWrites,
      writes,
      'no Finalizing status was written for a Release about to vanish',
    );
    assert.equal(dataPlane.get(CONFIGMAP, 'apps', 'settings'), undefined);
    assert.equal(dataPlane.get(CONFIGMAP, 'apps', 'flags'), undefined);
    assert.deepEqual(
      dataPlane.requests
        .slice(before)
        .filter((r) => r.verb !== 'watch')
        .map((r) => `${r.verb} ${r.name}`)
        .sort(),
      ['delete flags', 'delete settings'],
      'one DELETE per object and nothing else on the data plane',
    );
  });

  void test('deletion waits for terminating objects with Finalizing=CleanupInProgress naming them', async () => {
    const { world, dataPlane, reconcile } = setup();
    world.add(releaseOf({ settings: configMap('settings') }));
    await reconcile();
    dataPlane.deleteKeepsObject = true;

    world.edit('web', deleted);
    const result = await reconcile();

    assert.ok(result.requeueAfterMs !== undefined, 'cleanup looks again');
    const finalizing = world.condition('web', ConditionTypes.finalizing);
    assert.equal(finalizing?.reason, Reasons.cleanupInProgress);
    assert.match(finalizing?.message ?? '', /waiting for 1 object to be deleted: ConfigMap\/apps\/settings/);
    const writes = world.statusWrites;
    await reconcile();
    assert.equal(world.statusWrites, writes, 'the same wait is not written again');

    dataPlane.remove(CONFIGMAP, 'apps', 'settings');
    await reconcile();
    assert.equal(world.get('acme', 'web'), undefined);
  });

  void test('a Release deleted while the controller was down is cleaned up by the next process', async () => {
    const { world, dataPlane, reconcile } = setup();
    world.add(releaseOf({ settings: configMap('settings') }));
    await reconcile();
    world.edit('web', deleted);

    dataPlane.restart();
    const next = setup([CONFIGMAP], world, dataPlane);
    await next.reconcile(); // deletes
    assert.equal(dataPlane.get(CONFIGMAP, 'apps', 'settings'), undefined, 'the ConfigMap was deleted');
    await next.reconcile(); // sees it gone
    assert.equal(world.get('acme', 'web'), undefined, 'the finalizer was removed');
    assert.deepEqual(dataPlane.watchedKinds(), [], 'the watches of the cleanup were released');
  });

  void test('the data-plane cluster is recorded in status.appliedTo before anything is applied there', async () => {
    const { world, dataPlane, reconcile } = setup();
    dataPlane.refuse = () =>
      new KubeApiError('admission webhook denied the request', { statusCode: 403, reason: 'Forbidden' });
    world.add(releaseOf({ settings: configMap('settings') }));
    await assert.rejects(reconcile(), ReconcileError);
    assert.deepEqual(world.status('web').appliedTo, [{ dataPlane: 'dp', cluster: 'cluster-1' }]);
  });

  void test('a first apply writes the Release twice: the finalizer with the placement, then the status that takes it in', async () => {
    const { world, dataPlane, reconcile } = setup();
    world.add(releaseOf({ settings: configMap('settings') }));
    const order: string[] = [];
    const writeStatus = world.writeStatus.bind(world);
    const addFinalizer = world.addFinalizer.bind(world);
    world.writeStatus = (r, s) => (order.push('status'), writeStatus(r, s));
    world.addFinalizer = (r, sig, p) => {
      order.push(
        `finalizer+placement ${p ?? 'none'} (objects on the data plane: ${dataPlane.writes().filter((w) => w.verb === 'apply').length})`,
      );
      return addFinalizer(r, sig, p);
    };
    await reconcile();
    const placement = JSON.stringify([{ dataPlane: 'dp', cluster: 'cluster-1' }]);
    assert.deepEqual(order, [`finalizer+placement ${placement} (objects on the data plane: 0)`, 'status']);
    assert.equal(world.get('acme', 'web')?.metadata.annotations?.[Annotations.placement], placement);
    assert.deepEqual(world.status('web').appliedTo, [{ dataPlane: 'dp', cluster: 'cluster-1' }]);
    await reconcile();
    assert.equal(order.length, 2, 'the steady state writes nothing');
  });

  void test('a placement written with the finalizer and never taken into the status is swept at deletion', async () => {
    const { world, dataPlane, reconcile } = setup();
    // As a crash right after the first apply leaves it: placement recorded, the objects applied
    // (and proven by an earlier status), no status write since.
    world.add(releaseOf({ settings: configMap('settings') }));
    await reconcile();
    world.edit('web', (r) => deleted({ ...r, status: { ...r.status, appliedTo: [] } }));
    assert.deepEqual(placementsOf(world.get('acme', 'web') as Release), [
      { dataPlane: 'dp', cluster: 'cluster-1' },
    ]);
    await reconcile();
    await reconcile();
    assert.equal(
      dataPlane.get(CONFIGMAP, 'apps', 'settings'),
      undefined,
      'deleted through the placement annotation',
    );
    assert.equal(world.get('acme', 'web'), undefined, 'the finalizer was removed');
  });

  void test('a Release moved to another data plane applies there, then leaves the old one clean', async () => {
    const world = new World();
    const dp1 = new FakeDataPlane('acme/dp1', [CONFIGMAP]);
    const dp2 = new FakeDataPlane('acme/dp2', [CONFIGMAP]);
    dp2.cluster = 'cluster-2';
    let current = dp1;
    const reconciler = new ReleaseReconciler({
      releases: world,
      resolver: {
        resolve: () => Promise.resolve({ dataPlane: current }),
        dataPlane: (_ns, name) => Promise.resolve({ dataPlane: name === 'dp1' ? dp1 : dp2 }),
        get: (key) => (key === dp1.key ? dp1 : dp2),
      },
      writer: world,
      events: { emit: () => undefined },
      logger: pino({ level: 'silent' }),
    });
    world.add(releaseOf({ settings: configMap('settings') }));
    await reconciler.reconcile('acme/web', signal);
    assert.ok(dp1.get(CONFIGMAP, 'apps', 'settings'), 'applied to the first data plane');

    current = dp2;
    dp1.unreachable = true;
    await reconciler.reconcile('acme/web', signal);
    assert.ok(dp2.get(CONFIGMAP, 'apps', 'settings'), 'applied to the new data plane');
    assert.ok(dp1.get(CONFIGMAP, 'apps', 'settings'), 'kept on the old one while it does not answer');
    const applied = world.condition('web', ConditionTypes.resourcesApplied);
    assert.equal(applied?.reason, Reasons.dataPlaneUnreachable);
    assert.match(
      applied?.message ?? '',
      /moving off a previous data plane: objects may remain on DataPlane acme\/dp1/,
    );
    assert.equal(world.status('web').appliedTo?.length, 2, 'both clusters are recorded');
    assert.deepEqual(
      world.status('web').pendingRemovals?.map((e) => [e.name, e.uid]),
      [['settings', dp1.get(CONFIGMAP, 'apps', 'settings')?.metadata.uid]],
      "the old data plane's object stays recorded until it is removed",
    );

    dp1.unreachable = false;
    await reconciler.reconcile('acme/web', signal); // deletes on dp1
    await reconciler.reconcile('acme/web', signal); // sees dp1 clean
    assert.equal(dp1.get(CONFIGMAP, 'apps', 'settings'), undefined, 'moved off the old data plane');
    assert.deepEqual(world.status('web').appliedTo, [{ dataPlane: 'dp2', cluster: 'cluster-2' }]);
    assert.equal(world.condition('web', ConditionTypes.ready)?.status, 'True');
    assert.equal(world.status('web').pendingRemovals, undefined, 'verified gone: no longer recorded');
  });

  void test('a Release moved to another plane object of the same cluster deletes nothing there', async () => {
    const world = new World();
    // Two ports of one cluster (a DataPlane and a ClusterDataPlane naming it): one store of objects.
    const dp1 = new FakeDataPlane('acme/dp1', [CONFIGMAP]);
    const shared = new FakeDataPlane('ClusterDataPlane/shared', [CONFIGMAP]);
    let current = dp1;
    const reconciler = new ReleaseReconciler({
      releases: world,
      resolver: {
        resolve: () => Promise.resolve({ dataPlane: current }),
        dataPlane: (_ns, name) => Promise.resolve({ dataPlane: name === 'dp1' ? dp1 : shared }),
        get: (key) => (key === dp1.key ? dp1 : shared),
      },
      writer: world,
      events: { emit: () => undefined },
      logger: pino({ level: 'silent' }),
    });
    world.add(releaseOf({ settings: configMap('settings') }));
    await reconciler.reconcile('acme/web', signal);
    assert.ok(dp1.get(CONFIGMAP, 'apps', 'settings'), 'applied through the first plane object');

    current = shared;
    await reconciler.reconcile('acme/web', signal);
    await reconciler.reconcile('acme/web', signal);
    assert.ok(dp1.get(CONFIGMAP, 'apps', 'settings'), 'nothing deleted through the old plane object');
    assert.deepEqual(world.status('web').appliedTo, [
      { dataPlane: 'ClusterDataPlane/shared', cluster: 'cluster-1' },
    ]);
  });

  void test('deletion after the DataPlane was re-pointed at another cluster keeps the finalizer until it is back', async () => {
    const { world, dataPlane, reconcile } = setup();
    world.add(releaseOf({ settings: configMap('settings') }));
    await reconcile();

    dataPlane.cluster = 'cluster-2';
    dataPlane.restart(); // a new connection, to a cluster where nothing of the Release is seen
    const moved = dataPlane.get(CONFIGMAP, 'apps', 'settings');
    dataPlane.remove(CONFIGMAP, 'apps', 'settings');
    world.edit('web', deleted);
    await assert.rejects(reconcile(), ReconcileError);
    assert.deepEqual(world.get('acme', 'web')?.metadata.finalizers, [FINALIZER]);
    const finalizing = world.condition('web', ConditionTypes.finalizing);
    assert.equal(finalizing?.reason, Reasons.cleanupFailed);
    assert.match(
      finalizing?.message ?? '',
      /objects may remain on DataPlane acme\/dp \(cluster cluster-1\), but DataPlane dp now reaches another cluster \(cluster-2\)/,
    );

    dataPlane.cluster = 'cluster-1';
    if (moved) dataPlane.put(CONFIGMAP, moved);
    await reconcile(); // deletes
    await reconcile(); // sees it gone
    assert.equal(dataPlane.get(CONFIGMAP, 'apps', 'settings'), undefined);
    assert.equal(world.get('acme', 'web'), undefined, 'the finalizer was removed');
  });

  void test('a deleted Release whose Environment is gone is cleaned up through the planes it recorded', async () => {
    const world = new World();
    const dataPlane = new FakeDataPlane('acme/dp', [CONFIGMAP]);
    let environment = true;
    let planeExists = true;
    const gone = { reason: Reasons.environmentNotFound, message: 'Environment acme/production not found' };
    const reconciler = new ReleaseReconciler({
      releases: world,
      resolver: {
        resolve: () => Promise.resolve(environment ? { dataPlane } : gone),
        dataPlane: () =>
          Promise.resolve(
            planeExists
              ? { dataPlane }
              : { reason: Reasons.dataPlaneNotFound, message: 'DataPlane acme/dp not found' },
          ),
        get: () => dataPlane,
      },
      writer: world,
      events: { emit: () => undefined },
      logger: pino({ level: 'silent' }),
    });
    const reconcile = (name: string) => reconciler.reconcile(`acme/${name}`, signal);

    // Never applied anywhere (its Environment never existed): nothing to hold the finalizer for.
    environment = false;
    world.add(releaseOf({ settings: configMap('settings') }, 'never'));
    await reconcile('never');
    world.edit('never', deleted);
    await reconcile('never');
    assert.equal(world.get('acme', 'never'), undefined, 'released at once');

    // Applied, then its Environment deleted: the recorded plane is swept, then the finalizer goes.
    environment = true;
    world.add(releaseOf({ settings: configMap('settings') }));
    await reconcile('web');
    assert.ok(dataPlane.get(CONFIGMAP, 'apps', 'settings'), 'applied');
    environment = false;
    world.edit('web', deleted);
    await reconcile('web');
    await reconcile('web');
    assert.equal(dataPlane.get(CONFIGMAP, 'apps', 'settings'), undefined, 'deleted through status.appliedTo');
    assert.equal(world.get('acme', 'web'), undefined, 'the finalizer was removed');

    // Applied, then the plane object itself deleted: objects may remain, so the finalizer stays.
    environment = true;
    world.add(releaseOf({ settings: configMap('kept') }, 'stuck'));
    await reconcile('stuck');
    environment = false;
    planeExists = false;
    world.edit('stuck', deleted);
    await assert.rejects(reconcile('stuck'), ReconcileError);
    assert.deepEqual(world.get('acme', 'stuck')?.metadata.finalizers, [FINALIZER]);
    assert.match(
      world.condition('stuck', ConditionTypes.finalizing)?.message ?? '',
      /Environment acme\/production not found; DataPlane acme\/dp not found.*deletion-policy=Orphan/,
    );
  });

  void test('deletion with an unreachable data plane keeps the finalizer and says how to let go', async () => {
    const { world, dataPlane, reconcile } = setup();
    world.add(releaseOf({ settings: configMap('settings') }));
    await reconcile();

    dataPlane.unreachable = true;
    world.edit('web', deleted);
    await assert.rejects(reconcile(), ReconcileError);

    assert.deepEqual(world.get('acme', 'web')?.metadata.finalizers, [FINALIZER]);
    const finalizing = world.condition('web', ConditionTypes.finalizing);
    assert.equal(finalizing?.reason, Reasons.cleanupFailed);
    assert.match(
      finalizing?.message ?? '',
      new RegExp(
        `leave the objects on the data plane, unmanaged, annotate the Release with ${Annotations.deletionPolicy}=Orphan`,
      ),
    );
    assert.ok(
      world.events.some((e) => e.type === 'Warning' && e.reason === Reasons.cleanupFailed),
      'a CleanupFailed Warning Event',
    );
  });

  void test('a Release whose data plane uses its share of the workers is deferred: nothing sent, nothing written', async () => {
    const slots = new KeyedLimiter({ limit: 1 });
    const { world, dataPlane, reconcile } = setup([CONFIGMAP], new World(), undefined, slots);
    world.add(releaseOf({ settings: configMap('settings') }));
    // Another Release of the same data plane is being reconciled.
    const held = slots.tryAcquire('acme/dp', 'acme/api');
    assert.ok(held, 'the other Release holds the only slot');

    const result = await reconcile();
    assert.equal(result.deferred, true);
    assert.ok((result.requeueAfterMs ?? 0) >= DEFER_REQUEUE_MS, 'a safety-net requeue');
    assert.deepEqual(dataPlane.requests, [], 'nothing was sent to the data plane');
    assert.equal(world.statusWrites, 0, 'no status written');
    assert.equal(slots.waiting('acme/dp'), 1, 'it waits to be woken when a slot frees');

    held.release();
    const next = await reconcile();
    assert.equal(next.deferred, undefined);
    assert.equal(world.condition('web', ConditionTypes.ready)?.status, 'True');
    assert.equal(slots.inUse().size, 0, 'the slot is given back after the reconcile');
  });

  void test('a Release whose endpoint is used by other DataPlanes up to its share is deferred', async () => {
    const slots = new KeyedLimiter({ limit: 1 });
    const { world, dataPlane, reconcile } = setup([CONFIGMAP], new World(), undefined, slots);
    dataPlane.endpoint = '10.0.0.9:6443';
    world.add(releaseOf({ settings: configMap('settings') }));
    // A Release of another organization, on another DataPlane at the same (silent) server.
    const held = slots.tryAcquire(endpointSlotKey('10.0.0.9:6443'), 'other/api');
    assert.ok(held, "the other organization holds the endpoint's only slot");

    assert.equal((await reconcile()).deferred, true);
    assert.deepEqual(dataPlane.requests, [], 'nothing was sent to the data plane');
    assert.equal(slots.waiting(endpointSlotKey('10.0.0.9:6443')), 1, 'it waits for the endpoint');
    assert.equal(slots.inUse().size, 1, 'the data plane and organization slots it took were given back');

    held?.release();
    assert.equal((await reconcile()).deferred, undefined);
    assert.equal(world.condition('web', ConditionTypes.ready)?.status, 'True');
    assert.equal(slots.inUse().size, 0);
  });

  void test('the slot is given back when a reconcile fails, and cleanup waits for one too', async () => {
    const slots = new KeyedLimiter({ limit: 1 });
    const { world, dataPlane, reconcile } = setup([CONFIGMAP], new World(), undefined, slots);
    world.add(releaseOf({ settings: configMap('settings') }));
    await reconcile();
    dataPlane.unreachable = true;
    world.edit('web', (r) => ({ ...r, metadata: { ...r.metadata, generation: 2 } }));
    await assert.rejects(reconcile(), ReconcileError);
    assert.equal(slots.inUse().size, 0, 'a failed reconcile gives its slot back');

    dataPlane.unreachable = false;
    world.edit('web', deleted);
    const held = slots.tryAcquire('acme/dp', 'acme/api');
    const before = dataPlane.requests.length;
    assert.equal((await reconcile()).deferred, true);
    assert.equal(dataPlane.requests.length, before, 'cleanup sent nothing without a slot');
    assert.deepEqual(world.get('acme', 'web')?.metadata.finalizers, [FINALIZER]);
    held?.release();
    await reconcile();
    await reconcile();
    assert.equal(world.get('acme', 'web'), undefined, 'cleaned up once a slot was free');
  });
});

/** respec replaces a Release's resources as a user's edit does: metadata and status stay. */
function respec(world: World, resources: Record<string, KubeObject>, name = 'web'): void {
  world.edit(name, (r) => ({
    ...r,
    metadata: { ...r.metadata, generation: (r.metadata.generation ?? 1) + 1 },
    spec: releaseOf(resources, name).spec,
  }));
}

/** withPolicy returns a ConfigMap carrying policy annotations. */
function withPolicy(object: KubeObject, annotations: Record<string, string>): KubeObject {
  return { ...object, metadata: { ...object.metadata, annotations } };
}

void describe('ReleaseReconciler: per-object policies', () => {
  void test('prune: Disabled keeps an object removed from the spec, gives it back, and says so', async () => {
    const { world, dataPlane, reconcile } = setup();
    const kept = withPolicy(configMap('kept'), { [Annotations.prune]: 'Disabled' });
    world.add(releaseOf({ kept, other: configMap('other') }));
    await reconcile();
    assert.equal(
      dataPlane.get(CONFIGMAP, 'apps', 'kept')?.metadata.annotations,
      undefined,
      'the annotation is not sent',
    );
    assert.deepEqual(world.status('web').resources?.[0]?.policy, { prune: 'Disabled' });

    respec(world, { other: configMap('other') });
    await reconcile();

    const live = dataPlane.get(CONFIGMAP, 'apps', 'kept');
    assert.ok(live, 'the object is kept');
    assert.equal(live.metadata.labels?.[Labels.managedBy], undefined, 'our labels are removed');
    assert.equal(live.metadata.labels?.[Labels.releaseUid], undefined);
    assert.deepEqual(live.metadata.managedFields, [{}], 'our field ownership is removed');
    assert.deepEqual(world.status('web').retained, [
      {
        id: 'kept',
        group: '',
        version: 'v1',
        kind: 'ConfigMap',
        namespace: 'apps',
        name: 'kept',
        reason: 'annotation openchoreo.dev/prune: Disabled',
      },
    ]);
    assert.deepEqual(
      world.events.filter((e) => e.reason === EventReasons.retained).map((e) => e.message),
      [
        'kept ConfigMap/apps/kept (annotation openchoreo.dev/prune: Disabled; resource "kept" no longer in spec): given back, our labels and field ownership removed, the object kept',
      ],
    );
    assert.equal(world.events.filter((e) => e.reason === EventReasons.pruned).length, 0, 'nothing pruned');

    // Listed again, it is someone else's now: not taken for ours without openchoreo.dev/adopt.
    respec(world, { other: configMap('other'), kept: configMap('kept') });
    await reconcile();
    assert.equal(world.condition('web', ConditionTypes.resourcesApplied)?.reason, Reasons.conflict);
  });

  void test('prune: Disabled and Observe keep their objects when the Release is deleted', async () => {
    const { world, dataPlane, reconcile } = setup();
    world.add(
      releaseOf({
        kept: withPolicy(configMap('kept'), { [Annotations.prune]: 'Disabled' }),
        mine: configMap('mine'),
        gone: configMap('gone'),
      }),
    );
    await reconcile();
    // An object of ours the Release now only observes is never deleted either.
    respec(world, {
      kept: withPolicy(configMap('kept'), { [Annotations.prune]: 'Disabled' }),
      mine: withPolicy(configMap('mine'), { [Annotations.apply]: 'Observe' }),
      gone: configMap('gone'),
    });
    await reconcile();

    world.edit('web', deleted);
    await reconcile();
    await reconcile();

    assert.equal(world.get('acme', 'web'), undefined, 'the finalizer was removed');
    assert.equal(dataPlane.get(CONFIGMAP, 'apps', 'gone'), undefined, 'a plain object is deleted');
    for (const name of ['kept', 'mine']) {
      const live = dataPlane.get(CONFIGMAP, 'apps', name);
      assert.ok(live, `${name} is kept`);
      assert.equal(live.metadata.labels?.[Labels.managedBy], undefined, `${name} is given back`);
    }
    assert.deepEqual(
      world.events
        .filter((e) => e.reason === EventReasons.retained)
        .map((e) => e.message.split(' (')[0])
        .sort(),
      ['kept ConfigMap/apps/kept', 'kept ConfigMap/apps/mine'],
    );
  });

  void test('Observe never writes an object someone else manages, reports it missing, and never deletes it', async () => {
    const { world, dataPlane, reconcile } = setup();
    world.add(releaseOf({ gateway: withPolicy(configMap('gateway'), { [Annotations.apply]: 'Observe' }) }));
    await reconcile();
    assert.equal(dataPlane.get(CONFIGMAP, 'apps', 'gateway'), undefined, 'not created');
    const missing = world.status('web').resources?.[0];
    assert.equal(missing?.healthStatus, 'Unknown');
    assert.equal(
      missing?.message,
      'ConfigMap/apps/gateway does not exist; it is only observed (Observe), not created',
    );

    dataPlane.put(CONFIGMAP, {
      ...configMap('gateway', { owner: 'platform' }),
      status: { ok: true },
    });
    await reconcile();
    assert.deepEqual(world.status('web').resources?.[0]?.status, { ok: true });
    assert.equal(world.condition('web', ConditionTypes.ready)?.status, 'True');

    world.edit('web', deleted);
    await reconcile();
    await reconcile();
    assert.equal(world.get('acme', 'web'), undefined);
    assert.deepEqual(dataPlane.get(CONFIGMAP, 'apps', 'gateway')?.['data'], { owner: 'platform' });
    assert.deepEqual(
      dataPlane.writes().filter((w) => w.name === 'gateway'),
      [],
      'never written',
    );
    assert.deepEqual(dataPlane.observedBy('acme/web'), [], 'its watch is released with the Release');
  });

  void test('CreateOnly is not updated after a spec change', async () => {
    const { world, dataPlane, reconcile } = setup();
    const seed = (v: string) => withPolicy(configMap('seed', { v }), { [Annotations.apply]: 'CreateOnly' });
    world.add(releaseOf({ seed: seed('1') }));
    await reconcile();
    respec(world, { seed: seed('2') });
    const before = dataPlane.requests.length;
    await reconcile();
    assert.deepEqual(dataPlane.requests.slice(before), []);
    assert.deepEqual(dataPlane.get(CONFIGMAP, 'apps', 'seed')?.['data'], { v: '1' });
    assert.equal(world.condition('web', ConditionTypes.ready)?.status, 'True');
  });

  void test('an unknown policy value is InvalidResource naming the annotation; the others apply', async () => {
    const { world, dataPlane, reconcile } = setup();
    world.add(
      releaseOf({ bad: withPolicy(configMap('bad'), { [Annotations.prune]: 'Never' }), ok: configMap('ok') }),
    );
    await reconcile();
    const applied = world.condition('web', ConditionTypes.resourcesApplied);
    assert.equal(applied?.reason, Reasons.invalidResource);
    assert.match(applied?.message ?? '', /annotation openchoreo\.dev\/prune is "Never"/);
    assert.ok(dataPlane.get(CONFIGMAP, 'apps', 'ok'), 'the valid object is applied');
  });

  void test('the steady state sends no request and writes no status under every object policy', async () => {
    const { world, dataPlane, reconcile } = setup();
    dataPlane.put(CONFIGMAP, configMap('theirs'));
    world.add(
      releaseOf({
        created: withPolicy(configMap('created'), { [Annotations.apply]: 'CreateOnly' }),
        existing: withPolicy(configMap('theirs'), { [Annotations.apply]: 'CreateOnly' }),
        observed: withPolicy(configMap('observed'), { [Annotations.apply]: 'Observe' }),
        ignoring: withPolicy(configMap('ignoring', { a: '1', b: '2' }), {
          [Annotations.ignoreFields]: '/data/b',
        }),
        kept: withPolicy(configMap('kept'), { [Annotations.prune]: 'Disabled' }),
      }),
    );
    await reconcile();
    const requests = dataPlane.requests.length;
    const statusWrites = world.statusWrites;

    await reconcile();

    assert.deepEqual(dataPlane.requests.slice(requests), []);
    assert.equal(world.statusWrites, statusWrites);
  });
});

/** annotate sets annotations on a Release, as a user's edit does. */
function annotate(world: World, annotations: Record<string, string | undefined>, name = 'web'): void {
  world.edit(name, (r) => {
    const next = { ...(r.metadata.annotations ?? {}) };
    for (const [k, v] of Object.entries(annotations)) {
      if (v === undefined) delete next[k];
      else next[k] = v;
    }
    return { ...r, metadata: { ...r.metadata, annotations: next } };
  });
}

/** Counted is what a ReleaseObserver was told, for metric assertions. */
class Counted implements ReleaseObserver {
  corrections: string[] = [];
  drifted = new Map<string, number>();
  applied(): void {}
  pruned(): void {}
  deferred(): void {}
  driftCorrected(dataPlane: string, kind: string): void {
    this.corrections.push(`${dataPlane}/${kind}`);
  }
  observed(key: string, _ready: string, _health: unknown, drifted: number): void {
    this.drifted.set(key, drifted);
  }
  forgotten(key: string): void {
    this.drifted.delete(key);
  }
}

void describe('ReleaseReconciler: drift', () => {
  const start = async (mode?: string) => {
    const observer = new Counted();
    const env = setup(
      [CONFIGMAP],
      new World(),
      new FakeDataPlane('acme/dp', [CONFIGMAP]),
      undefined,
      observer,
    );
    const release = releaseOf({
      settings: configMap('settings', { a: '1', b: '2' }),
      other: configMap('other'),
    });
    if (mode) release.metadata.annotations = { [Annotations.drift]: mode };
    env.world.add(release);
    await env.reconcile();
    return { ...env, observer };
  };

  void test('Correct re-applies an edit by another manager, with a DriftCorrected Event and the counter', async () => {
    const { world, dataPlane, reconcile, observer } = await start();
    dataPlane.edit(CONFIGMAP, 'apps', 'settings', 'kubectl-edit', { '/data/a': 'edited' });
    await reconcile();
    assert.deepEqual(dataPlane.get(CONFIGMAP, 'apps', 'settings')?.['data'], { a: '1', b: '2' });
    assert.deepEqual(
      world.events.filter((e) => e.reason === EventReasons.driftCorrected).map((e) => e.message),
      ['ConfigMap/apps/settings applied again: /data/a changed or removed by another field manager'],
    );
    assert.deepEqual(observer.corrections, ['acme/dp/ConfigMap']);
    assert.equal(
      world.status('web').resources?.[0]?.drift,
      undefined,
      'a corrected drift is not in the status',
    );

    dataPlane.remove(CONFIGMAP, 'apps', 'other');
    await reconcile();
    assert.ok(dataPlane.get(CONFIGMAP, 'apps', 'other'), 'a deleted object is created again');
    assert.match(world.events.at(-1)?.message ?? '', /ConfigMap\/apps\/other created again: it was deleted/);
    assert.deepEqual(observer.corrections, ['acme/dp/ConfigMap', 'acme/dp/ConfigMap']);
  });

  void test('Report writes nothing, reports the fields in status, Ready and one Event, and counts it', async () => {
    const { world, dataPlane, reconcile, observer } = await start('Report');
    dataPlane.edit(CONFIGMAP, 'apps', 'settings', 'kubectl-edit', { '/data/a': 'edited' });
    dataPlane.remove(CONFIGMAP, 'apps', 'other');
    await reconcile();

    assert.deepEqual(dataPlane.get(CONFIGMAP, 'apps', 'settings')?.['data'], { a: 'edited', b: '2' });
    assert.equal(dataPlane.get(CONFIGMAP, 'apps', 'other'), undefined, 'not created again');
    const [settings, other] = world.status('web').resources ?? [];
    assert.deepEqual(settings?.drift, { fields: [{ path: '/data/a', manager: 'kubectl-edit' }] });
    assert.deepEqual(other?.drift, { fields: [], deleted: true });
    const ready = world.condition('web', ConditionTypes.ready);
    assert.equal(ready?.reason, Reasons.drifted);
    assert.match(
      ready?.message ?? '',
      /^2 of 2 resources drifted and not corrected \(openchoreo.dev\/drift: Report\): ConfigMap\/apps\/settings: \/data\/a \(now kubectl-edit's\)/,
    );
    assert.equal(observer.drifted.get('acme/web'), 2);
    const detected = world.events.filter((e) => e.reason === EventReasons.driftDetected);
    assert.deepEqual(
      detected.map((e) => e.message),
      [
        "ConfigMap/apps/settings drifted: /data/a (now kubectl-edit's); not corrected (openchoreo.dev/drift: Report)",
        'ConfigMap/apps/other drifted: deleted (or stripped of our labels) by someone else; not corrected (openchoreo.dev/drift: Report)',
      ],
    );

    // Steady while drifted: no request, no status write, no new Event.
    const requests = dataPlane.requests.length;
    const writes = world.statusWrites;
    const events = world.events.length;
    await reconcile();
    assert.deepEqual(dataPlane.requests.slice(requests), []);
    assert.equal(world.statusWrites, writes);
    assert.equal(world.events.length, events);

    // Back to Correct: corrected at once.
    annotate(world, { [Annotations.drift]: 'Correct' });
    await reconcile();
    assert.deepEqual(dataPlane.get(CONFIGMAP, 'apps', 'settings')?.['data'], { a: '1', b: '2' });
    assert.ok(dataPlane.get(CONFIGMAP, 'apps', 'other'), 'created again');
    assert.equal(world.condition('web', ConditionTypes.ready)?.status, 'True');
    assert.equal(observer.drifted.get('acme/web'), 0);
    assert.equal(world.events.filter((e) => e.reason === EventReasons.driftCorrected).length, 2);
  });

  for (const mode of ['Correct', 'Report']) {
    void test(`the steady state sends no request and writes no status in drift mode ${mode}`, async () => {
      const { world, dataPlane, reconcile } = await start(mode);
      await reconcile();
      const requests = dataPlane.requests.length;
      const statusWrites = world.statusWrites;
      await reconcile();
      assert.deepEqual(dataPlane.requests.slice(requests), []);
      assert.equal(world.statusWrites, statusWrites);
    });
  }
});

void describe('ReleaseReconciler: restart', () => {
  /** start applies two ConfigMaps, then models a restart: a new reconciler with no memory, on the same world and data plane. */
  const start = async (annotations?: Record<string, string>) => {
    const observer = new Counted();
    const first = setup([CONFIGMAP]);
    const release = releaseOf({
      settings: configMap('settings', { a: '1', b: '2' }),
      other: configMap('other'),
    });
    if (annotations) release.metadata.annotations = annotations;
    first.world.add(release);
    await first.reconcile();
    const restart = () => {
      first.dataPlane.restart();
      return setup([CONFIGMAP], first.world, first.dataPlane, undefined, observer);
    };
    return { ...first, restart, observer };
  };
  const applies = (dataPlane: FakeDataPlane, from: number) =>
    dataPlane.requests
      .slice(from)
      .filter((r) => r.verb === 'apply')
      .map((r) => r.name);

  void test('objects the data plane holds as applied are not applied again, and no status is written', async () => {
    const { world, dataPlane, restart } = await start();
    const tokens = world.status('web').resources?.map((r) => r.applied);
    assert.ok(
      tokens?.every((t) => t && /^[\w-]{22}\.[\w-]{43}$/.test(t)),
      `tokens: ${String(tokens)}`,
    );
    const requests = dataPlane.requests.length;
    const statusWrites = world.statusWrites;

    const next = restart();
    await next.reconcile();

    assert.deepEqual(applies(dataPlane, requests), []);
    assert.deepEqual(
      dataPlane.requests.slice(requests).filter((r) => r.verb !== 'watch'),
      [],
      'no read either: the watch cache answers',
    );
    assert.equal(world.statusWrites, statusWrites);
    assert.equal(world.condition('web', ConditionTypes.ready)?.status, 'True');
  });

  void test('what changed while the controller was down is applied, and only that', async () => {
    const { world, dataPlane, restart, observer } = await start();
    dataPlane.edit(CONFIGMAP, 'apps', 'settings', 'kubectl-edit', { '/data/a': 'edited' });
    const requests = dataPlane.requests.length;

    await restart().reconcile();

    assert.deepEqual(applies(dataPlane, requests), ['settings']);
    assert.deepEqual(dataPlane.get(CONFIGMAP, 'apps', 'settings')?.['data'], { a: '1', b: '2' });
    assert.deepEqual(observer.corrections, ['acme/dp/ConfigMap'], 'counted as a drift correction');
    assert.match(
      world.events.filter((e) => e.reason === EventReasons.driftCorrected).at(-1)?.message ?? '',
      /ConfigMap\/apps\/settings applied again: \/data\/a changed or removed by another field manager/,
    );
  });

  void test('drift mode Report keeps reporting a drift made while the controller was down, and corrects nothing', async () => {
    const { world, dataPlane, restart } = await start({ [Annotations.drift]: 'Report' });
    dataPlane.edit(CONFIGMAP, 'apps', 'settings', 'kubectl-edit', { '/data/a': 'edited' });
    const requests = dataPlane.requests.length;

    await restart().reconcile();

    assert.deepEqual(applies(dataPlane, requests), []);
    assert.deepEqual(dataPlane.get(CONFIGMAP, 'apps', 'settings')?.['data'], { a: 'edited', b: '2' });
    assert.deepEqual(world.status('web').resources?.[0]?.drift, {
      fields: [{ path: '/data/a', manager: 'kubectl-edit' }],
    });
  });

  void test('a spec changed while the controller was down, a recreated object or a token that does not match are applied', async () => {
    const { world, dataPlane, restart } = await start();
    respec(world, { settings: configMap('settings', { a: '3', b: '2' }), other: configMap('other') });
    world.edit('web', (r) => ({
      ...r,
      status: {
        ...r.status,
        resources: r.status?.resources?.map((e) =>
          e.id === 'other' ? { ...e, applied: 'forged.token' } : e,
        ),
      },
    }));
    const requests = dataPlane.requests.length;

    await restart().reconcile();

    assert.deepEqual(applies(dataPlane, requests).sort(), ['other', 'settings']);
    assert.deepEqual(dataPlane.get(CONFIGMAP, 'apps', 'settings')?.['data'], { a: '3', b: '2' });
    const tokens = world.status('web').resources?.map((r) => r.applied);
    assert.ok(!tokens?.includes('forged.token'), 'the token is replaced by the new apply');
  });
});

void describe('ReleaseReconciler: dry run', () => {
  const DRY_RUN = { [Annotations.applyMode]: 'DryRun' };

  void test('a preview whose objects are renamed on every update keeps only the current plans', async () => {
    const { world, reconciler, reconcile } = setup();
    world.add(releaseOf({ a: configMap('a-0'), b: configMap('b-0') }));
    annotate(world, DRY_RUN);
    for (let i = 0; i < 20; i++) {
      respec(world, { a: configMap(`a-${i}`), b: configMap(`b-${i}`) });
      annotate(world, DRY_RUN);
      await reconcile();
    }
    assert.equal(reconciler.memory.planCount('acme/web'), 2, 'one plan per current object, not 40');
  });

  void test('a preview plans every resource and the deletions, changes nothing, and says Previewed', async () => {
    const { world, dataPlane, reconcile } = setup();
    world.add(
      releaseOf({ same: configMap('same'), changed: configMap('changed'), dropped: configMap('dropped') }),
    );
    await reconcile();
    annotate(world, DRY_RUN);
    respec(world, {
      same: configMap('same'),
      changed: configMap('changed', { a: '2' }),
      added: configMap('added'),
      bad: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'bad' } },
    });
    const writes = dataPlane.writes().length;

    await reconcile();

    assert.equal(dataPlane.writes().length, writes, 'nothing written, nothing pruned');
    assert.ok(dataPlane.get(CONFIGMAP, 'apps', 'dropped'), 'not pruned');
    assert.equal(dataPlane.get(CONFIGMAP, 'apps', 'added'), undefined, 'not created');
    const status = world.status('web');
    assert.deepEqual(
      status.resources?.map((r) => [r.id, r.plan]),
      [
        ['same', { action: 'Unchanged' }],
        ['changed', { action: 'Update', fields: ['/data/a'] }],
        ['added', { action: 'Create' }],
        [
          'bad',
          {
            action: 'Error',
            message: 'resource "bad": ConfigMap/bad is namespaced but has no metadata.namespace',
          },
        ],
      ],
    );
    assert.deepEqual(status.plannedDeletions, [
      { id: 'dropped', group: '', version: 'v1', kind: 'ConfigMap', namespace: 'apps', name: 'dropped' },
    ]);
    const ready = world.condition('web', ConditionTypes.ready);
    assert.equal(ready?.reason, Reasons.previewed);
    assert.equal(ready?.status, 'False');
    assert.match(
      ready?.message ?? '',
      /^dry run \(openchoreo.dev\/apply-mode: DryRun\), nothing was changed on the data plane: 1 to create, 1 to update, 1 unchanged, 1 to delete, 1 would fail: /,
    );
    assert.equal(world.condition('web', ConditionTypes.resourcesApplied)?.reason, Reasons.previewed);
    const previewed = world.events.filter((e) => e.reason === Reasons.previewed);
    assert.deepEqual(
      previewed.map((e) => e.type),
      ['Normal'],
      'one Normal Event on the transition, no Warning',
    );

    // Steady: nothing sent, nothing written.
    const requests = dataPlane.requests.length;
    const statusWrites = world.statusWrites;
    await reconcile();
    assert.deepEqual(dataPlane.requests.slice(requests), []);
    assert.equal(world.statusWrites, statusWrites);

    // Without the annotation it applies for real, prunes, and the plan goes.
    annotate(world, { [Annotations.applyMode]: undefined });
    await reconcile();
    assert.deepEqual(dataPlane.get(CONFIGMAP, 'apps', 'changed')?.['data'], { a: '2' });
    assert.ok(dataPlane.get(CONFIGMAP, 'apps', 'added'), 'created');
    assert.equal(dataPlane.get(CONFIGMAP, 'apps', 'dropped'), undefined, 'pruned');
    assert.equal(world.status('web').plannedDeletions, undefined);
    assert.ok(
      world.status('web').resources?.every((r) => r.plan === undefined),
      'no plan left',
    );
  });

  void test('an apply mode that is not understood previews rather than applies', async () => {
    const { world, dataPlane, reconcile } = setup();
    world.add({
      ...releaseOf({ settings: configMap('settings') }),
      metadata: { ...releaseOf({}).metadata, annotations: { [Annotations.applyMode]: 'Preveiw' } },
    });
    await reconcile();
    assert.equal(dataPlane.get(CONFIGMAP, 'apps', 'settings'), undefined);
    assert.equal(world.condition('web', ConditionTypes.ready)?.reason, Reasons.previewed);
  });

  void test('a long first pass writes its progress at most three times; the next passes write none', async () => {
    const { world, reconcile } = setup();
    const objects = Object.fromEntries(
      Array.from({ length: 59 }, (_, i) => [`cm-${i}`, configMap(`cm-${i}`)]),
    );
    world.add(releaseOf(objects));

    await reconcile();
    const progress = world.written
      .map((st) => st.conditions?.find((c) => c.type === ConditionTypes.ready))
      .filter((c) => c?.reason === Reasons.applying)
      .map((c) => c?.message);
    assert.equal(progress.length, 3, JSON.stringify(progress));
    assert.match(progress[0] ?? '', /applied \d+ of 59 resources/);
    assert.equal(
      world.condition('web', ConditionTypes.ready)?.status,
      'True',
      'the final status is written last',
    );
    assert.equal(world.status('web').resources?.length, 59);
    assert.equal(
      world.events.filter((e) => e.reason === Reasons.applying).length,
      0,
      'progress is status only, not Events',
    );
    const changeSets = world.events.filter((e) => e.reason === EventReasons.changeSet);
    assert.equal(changeSets.length, 1);
    assert.match(
      changeSets[0]?.message ?? '',
      /^created 59, configured 0, deleted 0: ConfigMap\/apps\/cm-0 created/,
    );

    const writes = world.statusWrites;
    await reconcile();
    assert.equal(world.statusWrites, writes, 'the steady state writes nothing');
    assert.equal(
      world.events.filter((e) => e.reason === EventReasons.changeSet).length,
      1,
      'nothing changed',
    );
  });
});

void describe('ReleaseReconciler: suspend and reconcile requests', () => {
  void test('a suspended Release writes and prunes nothing, reports the drift, says Suspended; resume applies', async () => {
    const { world, dataPlane, reconcile } = setup();
    world.add(releaseOf({ kept: configMap('kept'), dropped: configMap('dropped') }));
    await reconcile();
    annotate(world, { [Annotations.suspend]: 'true' });
    respec(world, { kept: configMap('kept', { a: '2' }), added: configMap('added') });
    const writes = dataPlane.writes().length;

    await reconcile();

    assert.equal(dataPlane.writes().length, writes, 'nothing written, nothing pruned');
    assert.ok(dataPlane.get(CONFIGMAP, 'apps', 'dropped'), 'not pruned');
    assert.equal(dataPlane.get(CONFIGMAP, 'apps', 'added'), undefined, 'not created');
    assert.deepEqual(
      world.status('web').resources?.map((r) => [r.id, r.plan?.action]),
      [
        ['kept', 'Update'],
        ['added', 'Create'],
      ],
      'what a resume would do is reported',
    );
    for (const type of [ConditionTypes.ready, ConditionTypes.resourcesApplied]) {
      const c = world.condition('web', type);
      assert.equal(c?.status, 'False');
      assert.equal(c?.reason, Reasons.suspended);
      assert.match(
        c?.message ?? '',
        /^suspended \(annotation openchoreo.dev\/suspend\), nothing is written or pruned on the data plane; .*a resume would apply: 1 to create, 1 to update, 0 unchanged, 1 to delete, 0 would fail\. Resume with `kubectl release resume web` or by removing the annotation$/,
      );
    }

    annotate(world, { [Annotations.suspend]: undefined });
    await reconcile();
    assert.deepEqual(dataPlane.get(CONFIGMAP, 'apps', 'kept')?.['data'], { a: '2' });
    assert.ok(dataPlane.get(CONFIGMAP, 'apps', 'added'), 'created on resume');
    assert.equal(dataPlane.get(CONFIGMAP, 'apps', 'dropped'), undefined, 'pruned on resume');
    assert.notEqual(world.condition('web', ConditionTypes.ready)?.reason, Reasons.suspended);
  });

  void test('a suspend value that is not understood suspends rather than applies', async () => {
    const { world, dataPlane, reconcile } = setup();
    world.add({
      ...releaseOf({ settings: configMap('settings') }),
      metadata: { ...releaseOf({}).metadata, annotations: { [Annotations.suspend]: 'yes' } },
    });
    await reconcile();
    assert.equal(dataPlane.get(CONFIGMAP, 'apps', 'settings'), undefined);
    assert.equal(world.condition('web', ConditionTypes.ready)?.reason, Reasons.suspended);
  });

  void test('a reconcile request is recorded as handled in status.lastHandledReconcileAt', async () => {
    const { world, reconcile } = setup();
    world.add(releaseOf({ settings: configMap('settings') }));
    await reconcile();
    assert.equal(world.status('web').lastHandledReconcileAt, undefined);
    annotate(world, { [Annotations.reconcileRequestedAt]: '2026-12-07T16:00:00Z' });
    await reconcile();
    assert.equal(world.status('web').lastHandledReconcileAt, '2026-12-07T16:00:00Z');
  });
});
