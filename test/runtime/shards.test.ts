/**
 * Shards that divide memory (docs/architecture.md, "High availability and scale"): two controller
 * processes, each given a --release-selector, watch and serve only their own Releases, and open
 * (and cache the objects of) only the DataPlanes those Releases use. What another shard's Release
 * protects stays protected: its data-plane objects are not taken over by a Release of this shard
 * (the owner, outside this shard's cache, is read from the API server), and an Environment both
 * shards' Releases use keeps its in-use finalizer until the last of them is gone.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../src/api/object.ts';
import { Annotations, API_VERSION, IN_USE_FINALIZER, Reasons } from '../../src/api/v1alpha1/constants.ts';
import type { Release } from '../../src/api/v1alpha1/schema.ts';
import { metricValue, type ControllerProcess } from '../support/controller.ts';
import { eventually } from '../support/eventually.ts';
import {
  condition,
  configMap,
  createOrg,
  deleteRelease,
  getRelease,
  releaseObject,
  uniqueName,
  waitReady,
  type Org,
} from '../support/fixtures.ts';
import { integrationSuite } from '../support/suite.ts';

const SHARD_KEY = 'sharding.openchoreo.dev/key';
const FAST = { interval: '1s', progressingInterval: '1s' };

describe('shards by Release selector', () => {
  const suite = integrationSuite({ org: false, controller: false });
  // Unique shard keys: these controllers see none of the other files' Releases.
  const keys = [uniqueName('shard-a'), uniqueName('shard-b')] as const;
  let shards: ControllerProcess[] = [];
  const startShards = async () => {
    if (shards.length === 0)
      shards = [
        await suite.startController([`--release-selector=${SHARD_KEY}=${keys[0]}`]),
        await suite.startController([`--release-selector=${SHARD_KEY}=${keys[1]}`]),
      ];
    return shards as [ControllerProcess, ControllerProcess];
  };
  const inShard = (release: Release, shard: 0 | 1): Release => ({
    ...release,
    metadata: { ...release.metadata, labels: { [SHARD_KEY]: keys[shard] } },
  });
  const reconciles = (c: ControllerProcess, key: string) =>
    c.logLines().filter((l) => l['msg'] === 'reconciled' && l['release'] === key).length;
  const cached = (text: string, org: Org) =>
    metricValue(text, 'release_controller_dataplane_cached_objects', {
      data_plane: `${org.namespace}/${org.dataPlane}`,
    });

  test("each shard serves only its Releases and caches only their organizations' objects", async () => {
    const { cp, dataPlane } = suite;
    const [a, b] = [await createOrg(cp, dataPlane), await createOrg(cp, dataPlane)];
    const [shardA, shardB] = await startShards();
    const ns = uniqueName('sharded');
    const relsA = [uniqueName('rel'), uniqueName('rel')];
    const relB = uniqueName('rel');
    await cp.create(
      inShard(releaseObject(a, relsA[0]!, [configMap('one', ns, 'a-one'), configMap('two', ns, 'a-two')]), 0),
    );
    await cp.create(inShard(releaseObject(a, relsA[1]!, [configMap('one', ns, 'a-three')]), 0));
    await cp.create(
      inShard(releaseObject(b, relB, [configMap('one', ns, 'b-one'), configMap('two', ns, 'b-two')]), 1),
    );
    for (const name of relsA) await waitReady(cp, a, name);
    await waitReady(cp, b, relB);

    // The "reconciled" line follows the status write that made the Release Ready.
    await eventually(
      () => {
        for (const name of relsA)
          assert.ok(reconciles(shardA, `${a.namespace}/${name}`) > 0, `shard A reconciled ${name}`);
        assert.ok(reconciles(shardB, `${b.namespace}/${relB}`) > 0, 'shard B reconciled its Release');
      },
      { description: 'each shard to log the reconciles of its Releases' },
    );
    for (const name of relsA)
      assert.equal(reconciles(shardB, `${a.namespace}/${name}`), 0, `shard B never reconciled ${name}`);
    assert.equal(reconciles(shardA, `${b.namespace}/${relB}`), 0, "shard A never reconciled B's Release");
    await eventually(
      async () => {
        const [textA, textB] = [await shardA.metrics(), await shardB.metrics()];
        assert.equal(cached(textA, a), 3, "shard A caches its organization's three objects");
        assert.equal(cached(textB, b), 2, "shard B caches its organization's two objects");
        // A DataPlane no Release of the shard uses is never opened: no cache, no series.
        assert.doesNotMatch(textA, new RegExp(`data_plane="${b.namespace}/`), 'shard A has no cache of B');
        assert.doesNotMatch(textB, new RegExp(`data_plane="${a.namespace}/`), 'shard B has no cache of A');
      },
      { timeoutMs: 30_000, description: 'each shard to cache only its own organization objects' },
    );

    // A Release of shard B names an object of A's Release (same organization: same DataPlane):
    // A's Release is not in shard B's cache, is read from the API server, and still owns it.
    const intruder = uniqueName('rel');
    await cp.create(
      inShard(releaseObject(a, intruder, [configMap('take', ns, 'a-one', { key: 'b' })], FAST), 1),
    );
    await eventually(
      async () => {
        const r = await getRelease(cp, a.namespace, intruder);
        assert.equal(condition(r, 'ResourcesApplied')?.status, 'False');
        assert.match(
          r?.status?.resources?.[0]?.message ?? '',
          new RegExp(`belongs to Release ${a.namespace}/${relsA[0]}`),
        );
      },
      { timeoutMs: 30_000, description: "shard B's Release to be refused the object of shard A's" },
    );
    const one = await suite.dp.get<KubeObject & { data?: Record<string, string> }>(
      'v1',
      'ConfigMap',
      ns,
      'a-one',
    );
    assert.equal(one?.data?.['key'], 'value', "A's object is as A's Release applied it");
    assert.equal(
      reconciles(shardA, `${a.namespace}/${intruder}`),
      0,
      'shard A never reconciled the intruder',
    );
    await deleteRelease(cp, a.namespace, intruder);
  });

  const dpConfigMap = (ns: string, name: string) => suite.dp.get('v1', 'ConfigMap', ns, name);
  const shardOfObject = async (ns: string, name: string) =>
    (await dpConfigMap(ns, name))?.metadata.labels?.[SHARD_KEY];
  const logged = (c: ControllerProcess, msg: string, key: string) =>
    c.logLines().filter((l) => l['msg'] === msg && l['release'] === key).length;

  test("in one organization, each shard's data-plane watch delivers only its own Releases' objects", async () => {
    const { cp, dataPlane } = suite;
    const org = await createOrg(cp, dataPlane);
    const [shardA, shardB] = await startShards();
    const ns = uniqueName('sharded');
    const [relA, relB] = [uniqueName('rel'), uniqueName('rel')];
    await cp.create(
      inShard(releaseObject(org, relA, [configMap('one', ns, 'a-one'), configMap('two', ns, 'a-two')]), 0),
    );
    await cp.create(inShard(releaseObject(org, relB, [configMap('one', ns, 'b-one')]), 1));
    await waitReady(cp, org, relA);
    await waitReady(cp, org, relB);
    // Each object carries its Release's shard label: the shard's watches select on it.
    assert.equal(await shardOfObject(ns, 'a-one'), keys[0]);
    assert.equal(await shardOfObject(ns, 'b-one'), keys[1]);
    await eventually(
      async () => {
        assert.equal(cached(await shardA.metrics(), org), 2, "shard A caches only its Release's two objects");
        assert.equal(cached(await shardB.metrics(), org), 1, "shard B caches only its Release's object");
      },
      { timeoutMs: 30_000, description: 'each shard to cache only its own Releases objects' },
    );
    await deleteRelease(cp, org.namespace, relA);
    await deleteRelease(cp, org.namespace, relB);
    for (const name of ['a-one', 'a-two', 'b-one'])
      assert.equal(await dpConfigMap(ns, name), undefined, `${name} was cleaned up`);
  });

  test('a Release relabelled to another shard is taken over by it, nothing deleted by the old one; what it left behind is still pruned', async () => {
    const { cp, dataPlane } = suite;
    const org = await createOrg(cp, dataPlane);
    const [shardA, shardB] = await startShards();
    const ns = uniqueName('sharded');
    const rel = uniqueName('rel');
    const key = `${org.namespace}/${rel}`;
    await cp.create(
      inShard(
        releaseObject(org, rel, [configMap('keep', ns, 'm-keep'), configMap('drop', ns, 'm-drop')], FAST),
        0,
      ),
    );
    await waitReady(cp, org, rel);
    const kept = await dpConfigMap(ns, 'm-keep');
    assert.equal(kept?.metadata.labels?.[SHARD_KEY], keys[0]);

    // One change moves it to shard B and drops an id: shard A never sees the new spec, and shard B's
    // watch never saw m-drop (it carries shard A's label): B must find it by its recorded name.
    await cp.patch(API_VERSION, 'Release', org.namespace, rel, {
      metadata: { labels: { [SHARD_KEY]: keys[1] } },
      spec: { resources: [configMap('keep', ns, 'm-keep')] },
    });
    await eventually(
      async () => {
        assert.equal(await shardOfObject(ns, 'm-keep'), keys[1], 'm-keep carries shard B now');
        assert.equal(await dpConfigMap(ns, 'm-drop'), undefined, 'm-drop was pruned');
      },
      { timeoutMs: 30_000, description: 'shard B to take the Release over' },
    );
    assert.equal(
      (await dpConfigMap(ns, 'm-keep'))?.metadata.uid,
      kept?.metadata.uid,
      'm-keep was never replaced',
    );
    await waitReady(cp, org, rel);
    assert.equal(logged(shardA, 'pruned', key), 0, 'shard A deleted nothing');
    assert.ok(logged(shardB, 'pruned', key) > 0, 'shard B pruned m-drop');
    await eventually(
      async () => {
        assert.equal(cached(await shardA.metrics(), org), 0, 'shard A caches nothing of it any more');
        assert.equal(cached(await shardB.metrics(), org), 1, 'shard B caches m-keep');
      },
      { timeoutMs: 30_000, description: 'the object to move between the shards caches' },
    );
    await deleteRelease(cp, org.namespace, rel);
    assert.equal(await dpConfigMap(ns, 'm-keep'), undefined, 'cleaned up by shard B');
  });

  test("deleting a Release cleans up its objects outside its shard's watches (applied by another shard)", async () => {
    const { cp, dataPlane } = suite;
    const org = await createOrg(cp, dataPlane);
    const [, shardB] = await startShards();
    const ns = uniqueName('sharded');
    const rel = uniqueName('rel');
    const key = `${org.namespace}/${rel}`;
    await cp.create(inShard(releaseObject(org, rel, [configMap('one', ns, 'd-one')], FAST), 0));
    await waitReady(cp, org, rel);
    // Moved to shard B in apply mode DryRun: B sends only dry runs, so d-one keeps shard A's label
    // and is never in B's watch; its deletion must still be found and waited for.
    await cp.patch(API_VERSION, 'Release', org.namespace, rel, {
      metadata: { labels: { [SHARD_KEY]: keys[1] }, annotations: { [Annotations.applyMode]: 'DryRun' } },
    });
    await eventually(
      async () => {
        assert.equal(condition(await getRelease(cp, org.namespace, rel), 'Ready')?.reason, Reasons.previewed);
        assert.ok(logged(shardB, 'reconciled', key) > 0, 'shard B reconciled it');
      },
      { description: 'shard B to preview the moved Release' },
    );
    assert.equal(await shardOfObject(ns, 'd-one'), keys[0], "d-one still carries shard A's label");
    await deleteRelease(cp, org.namespace, rel);
    assert.equal(
      await dpConfigMap(ns, 'd-one'),
      undefined,
      'd-one was deleted before the finalizer came off',
    );
  });

  test("an Environment both shards' Releases use stays protected until the last is gone", async () => {
    const { cp, dataPlane } = suite;
    const org = await createOrg(cp, dataPlane);
    const [shardA, shardB] = await startShards();
    const ns = uniqueName('sharded');
    const [relA, relB] = [uniqueName('rel'), uniqueName('rel')];
    await cp.create(inShard(releaseObject(org, relA, [configMap('one', ns, 'one')]), 0));
    await cp.create(inShard(releaseObject(org, relB, [configMap('one', ns, 'two')]), 1));
    await waitReady(cp, org, relA);
    await waitReady(cp, org, relB);
    const environment = () => cp.get(API_VERSION, 'Environment', org.namespace, org.environment);
    await eventually(
      async () =>
        assert.ok((await environment())?.metadata.finalizers?.includes(IN_USE_FINALIZER), 'protected'),
      { description: 'the Environment to carry the in-use finalizer' },
    );
    const removals = () =>
      [shardA, shardB].flatMap((s) =>
        s
          .logLines()
          .filter(
            (l) =>
              l['msg'] === 'no Release uses it any more: removed the in-use finalizer' &&
              l['namespace'] === org.namespace,
          ),
      ).length;

    // Shard A's Release goes: shard A reconciles the namespace's protection on that deletion, and
    // must count shard B's Release, which it does not cache.
    const before = metricValue(await shardA.metrics(), 'controller_runtime_reconcile_total', {
      controller: 'in-use-protection',
    });
    await deleteRelease(cp, org.namespace, relA);
    // A change to the Environment makes every shard reconcile the namespace after the deletion.
    await cp.patch(API_VERSION, 'Environment', org.namespace, org.environment, {
      metadata: { annotations: { 'test.openchoreo.dev/touched': relA } },
    });
    await eventually(
      async () => {
        const after = metricValue(await shardA.metrics(), 'controller_runtime_reconcile_total', {
          controller: 'in-use-protection',
        });
        assert.ok(after > before, 'shard A reconciled the protection of the namespace');
      },
      { description: "shard A to reconcile the namespace's protection" },
    );
    assert.equal(removals(), 0, "no shard removed a finalizer while shard B's Release uses the Environment");
    assert.ok((await environment())?.metadata.finalizers?.includes(IN_USE_FINALIZER), 'still protected');

    // The last Release goes: the finalizer comes off.
    await deleteRelease(cp, org.namespace, relB);
    await eventually(
      async () =>
        assert.ok(!(await environment())?.metadata.finalizers?.includes(IN_USE_FINALIZER), 'unprotected'),
      { description: 'the in-use finalizer to come off the Environment' },
    );
  });
});
