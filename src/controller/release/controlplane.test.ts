import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { FINALIZER } from '../../api/v1alpha1/constants.ts';
import type { Release } from '../../api/v1alpha1/schema.ts';
import { KubeClient } from '../../kube/client.ts';
import { ReleaseWriter } from './controlplane.ts';

function release(resourceVersion: string, uid = 'uid-1'): Release {
  return {
    apiVersion: 'openchoreo.dev/v1alpha1',
    kind: 'Release',
    metadata: { name: 'web', namespace: 'acme', uid, resourceVersion, generation: 1 },
    spec: { owner: { projectName: 'p', componentName: 'c' }, environmentName: 'prod', resources: [] },
  };
}

void describe('ReleaseWriter', () => {
  let server: http.Server;
  let client: KubeClient;
  before(async () => {
    // The API server's answer to a status write: the Release at resourceVersion 5.
    server = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ ...release('5'), status: { observedGeneration: 1 } }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    client = new KubeClient({ name: 'cp', server: `http://127.0.0.1:${port}`, maxRetries: 0 });
  });
  after(async () => {
    await client.close();
    server.close();
  });

  void test('our last write is kept until the cache holds it, then dropped', async () => {
    const writer = new ReleaseWriter(client);
    await writer.writeStatus(release('4'), { observedGeneration: 1 });
    assert.equal(writer.freshest(release('4')).metadata.resourceVersion, '5', 'ours is newer than the cache');

    writer.seen(release('4'));
    assert.equal(writer.size, 1, 'an older copy in the cache keeps ours');
    writer.seen(release('5'));
    assert.equal(writer.size, 0, 'the cache caught up: ours is dropped without waiting for a reconcile');
    assert.equal(writer.freshest(release('5')).metadata.resourceVersion, '5');
  });

  void test('a write whose echo the cache delivered before its answer is not kept', async () => {
    // The watch delivered resourceVersion 5 (our write) before the PATCH answer was read.
    const writer = new ReleaseWriter(client, () => release('5'));
    const written = await writer.writeStatus(release('4'), { observedGeneration: 1 });
    assert.equal(written.metadata.resourceVersion, '5');
    assert.equal(writer.size, 0, 'the cache already holds our write: no second copy');
  });

  void test('a write the cache has not delivered yet is kept even when the cache holds the Release', async () => {
    const writer = new ReleaseWriter(client, () => release('4'));
    await writer.writeStatus(release('4'), { observedGeneration: 1 });
    assert.equal(writer.size, 1);
    assert.equal(writer.freshest(release('4')).metadata.resourceVersion, '5');
  });

  void test('a removed finalizer is remembered until the cache has it, so a reconcile woken meanwhile finds nothing to finalize', async () => {
    const writer = new ReleaseWriter(client);
    const cached: Release = {
      ...release('4'),
      metadata: {
        ...release('4').metadata,
        finalizers: [FINALIZER],
        deletionTimestamp: '2026-12-07T10:00:00Z',
      },
    };
    await writer.removeFinalizer(cached);
    assert.deepEqual(
      writer.freshest(cached).metadata.finalizers ?? [],
      [],
      'the stale cached copy is not used',
    );
  });

  void test('a Release recreated under the same name drops our copy of the old one', async () => {
    const writer = new ReleaseWriter(client);
    await writer.writeStatus(release('4'), { observedGeneration: 1 });
    writer.seen(release('2', 'uid-2'));
    assert.equal(writer.size, 0);
  });
});

void describe('ReleaseWriter with two writes in flight', () => {
  let server: http.Server;
  let client: KubeClient;
  let revision = 10;
  before(async () => {
    // Each write answers the next resourceVersion, as etcd does.
    server = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(release(String(++revision))));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    client = new KubeClient({ name: 'cp', server: `http://127.0.0.1:${port}`, maxRetries: 0 });
  });
  after(async () => {
    await client.close();
    server.close();
  });

  void test('the echo of the finalizer write is ours even when the status write came back first', async () => {
    const writer = new ReleaseWriter(client);
    const withFinalizer = await writer.addFinalizer(release('10'), undefined, '[]'); // 11
    await writer.writeStatus(withFinalizer, { observedGeneration: 1 }); // 12

    assert.equal(writer.seen(release('11')), true, 'the finalizer write (not the last) is an echo');
    assert.equal(writer.seen(release('12')), true, 'the status write is an echo');
    assert.equal(writer.seen(release('13')), false, "someone else's write is not");
    assert.equal(writer.size, 0);
  });

  void test("someone else's write between two of ours is not taken for an echo", async () => {
    const writer = new ReleaseWriter(client);
    const first = await writer.addFinalizer(release(String(revision)), undefined, '[]');
    const theirs = release(String(++revision));
    await writer.writeStatus(first, { observedGeneration: 1 });

    assert.equal(writer.seen(first), true);
    assert.equal(writer.seen(theirs), false, 'a user edit between our writes wakes the Release');
  });
});
