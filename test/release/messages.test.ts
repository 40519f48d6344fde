/**
 * What a Release tells its operator (issue 31 items 4, 5, 11): the progress of a long first pass
 * in its status, one change-set Event per reconcile that changed something and an info line per
 * changed object, and a health reason of its own for each cause of a failed apply (a kind typo
 * with "did you mean", a webhook that does not answer yet, logged at info and retried).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { API_VERSION } from '../../src/api/v1alpha1/constants.ts';
import type { KubeObject } from '../../src/api/object.ts';
import type { Release, ReleaseResource } from '../../src/api/v1alpha1/schema.ts';
import { eventually } from '../support/eventually.ts';
import {
  condition,
  configMap,
  getRelease,
  releaseObject,
  uniqueName,
  waitReady,
} from '../support/fixtures.ts';
import { integrationSuite } from '../support/suite.ts';

type Event = KubeObject & { reason?: string; type?: string; note?: string; regarding?: { name?: string } };

/** closedPort is a loopback port nothing listens on: a webhook there is refused at once, as one still starting. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  assert.ok(address && typeof address === 'object', 'a port was bound');
  return address.port;
}

describe('messages', () => {
  const suite = integrationSuite();
  const eventsOf = async (name: string) =>
    (await suite.cp.list<Event>('events.k8s.io/v1', 'Event', suite.org.namespace)).filter(
      (e) => e.regarding?.name === name,
    );
  const logsOf = (name: string, msg: string) =>
    suite.controller
      .logLines()
      .filter((l) => l['msg'] === msg && l['release'] === `${suite.org.namespace}/${name}`);

  test('a long first pass shows its progress; each change is one ChangeSet Event and one info line', async () => {
    const { cp, org } = suite;
    const ns = uniqueName('many');
    const name = uniqueName('rel');
    const resources = Array.from({ length: 59 }, (_, i) =>
      configMap(`cm-${i}`, ns, `cm-${i}`, { secret: 'hunter2' }),
    );

    // Every version of the Release, from before it exists: a progress write is one of them.
    const seen: Array<{ reason?: string; message?: string }> = [];
    const watching = new AbortController();
    let opened!: () => void;
    const open = new Promise<void>((resolve) => (opened = resolve));
    const watch = cp.client
      .watch<Release>(
        `/apis/${API_VERSION}/namespaces/${org.namespace}/releases`,
        { fieldSelector: `metadata.name=${name}` },
        (e) => {
          const ready = condition(e.object, 'Ready');
          if (ready) seen.push({ reason: ready.reason, message: ready.message });
        },
        watching.signal,
        opened,
      )
      .catch(() => undefined);
    await open;
    try {
      await cp.create(releaseObject(org, name, resources));
      await waitReady(cp, org, name);
    } finally {
      watching.abort();
      await watch;
    }
    const progress = seen.filter((c) => c.reason === 'Applying');
    assert.ok(progress.length >= 1, `a status with partial progress was written: ${JSON.stringify(seen)}`);
    for (const c of progress) {
      const [, done] = /applied (\d+) of 59 resources/.exec(c.message ?? '') ?? [];
      assert.ok(done !== undefined && Number(done) < 59, `partial progress: ${c.message}`);
    }
    assert.ok(progress.length <= 3, 'at most three progress writes');

    const created = await eventually(
      async () => {
        const sets = (await eventsOf(name)).filter((e) => e.reason === 'ChangeSet');
        assert.equal(sets.length, 1, 'one ChangeSet Event for the first pass');
        return sets[0];
      },
      { description: 'the ChangeSet Event of the first pass' },
    );
    assert.equal(created?.type, 'Normal');
    assert.match(
      created?.note ?? '',
      new RegExp(`^created 59, configured 0, deleted 0: ConfigMap/${ns}/cm-0 created, .* and 49 more$`),
    );
    const lines = logsOf(name, 'applied changes');
    assert.equal(lines.length, 1, 'one info line for the pass');
    assert.equal(lines[0]?.['level'], 'info', 'at info');
    assert.equal(lines[0]?.['created'], 59);
    assert.equal(lines[0]?.['configured'], 0);
    const named = lines[0]?.['objects'] as string[];
    assert.equal(named.length, 10, 'naming at most ten objects');
    assert.equal(lines[0]?.['more'], 49);
    assert.ok(
      named.every((o) => /^created ConfigMap\//.test(o)) && !JSON.stringify(lines).includes('hunter2'),
      'each names the object, never its data',
    );

    // One object changed, one removed: the next change set says exactly that.
    const next: ReleaseResource[] = [
      configMap('cm-0', ns, 'cm-0', { secret: 'changed' }),
      ...resources.slice(1, 58),
    ];
    await cp.patch(API_VERSION, 'Release', org.namespace, name, { spec: { resources: next } });
    await eventually(
      async () => {
        const notes = (await eventsOf(name)).filter((e) => e.reason === 'ChangeSet').map((e) => e.note);
        assert.ok(
          notes.includes(
            `created 0, configured 1, deleted 1: ConfigMap/${ns}/cm-0 configured, ConfigMap/${ns}/cm-58 deleted`,
          ),
          JSON.stringify(notes),
        );
      },
      { description: 'the ChangeSet Event of the update' },
    );
    const update = logsOf(name, 'applied changes').at(-1);
    assert.deepEqual(
      [update?.['created'], update?.['configured'], update?.['objects']],
      [0, 1, [`configured ConfigMap/${ns}/cm-0 (cm-0)`]],
      'one info line naming the configured object',
    );
    assert.equal(
      seen.filter((c) => c.reason === 'Applying').length,
      progress.length,
      'a later pass writes no progress',
    );
  });

  test('each cause has its own reason: a kind typo says "did you mean", a webhook starting is waited for at info', async () => {
    const { cp, dp, org, controller } = suite;
    const ns = uniqueName('why');
    const name = uniqueName('rel');
    const webhook = uniqueName('starting');
    await dp.create({
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingWebhookConfiguration',
      metadata: { name: webhook },
      webhooks: [
        {
          name: 'starting.example.com',
          clientConfig: { url: `https://127.0.0.1:${await closedPort()}/validate` },
          rules: [
            {
              operations: ['CREATE', 'UPDATE'],
              apiGroups: [''],
              apiVersions: ['v1'],
              resources: ['configmaps'],
            },
          ],
          namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': ns } },
          failurePolicy: 'Fail',
          sideEffects: 'None',
          admissionReviewVersions: ['v1'],
          timeoutSeconds: 2,
        },
      ],
    });
    const typo: ReleaseResource = {
      id: 'typo',
      object: {
        apiVersion: 'apps/v1',
        kind: 'Deploymnet',
        metadata: { name: 'web', namespace: ns },
      },
    };
    try {
      await cp.create(
        releaseObject(org, name, [typo, configMap('settings', ns, 'settings')], { interval: '1s' }),
      );
      const r = await eventually(
        async () => {
          const rel = await getRelease(cp, org.namespace, name);
          const reasons = rel?.status?.resources?.map((e) => [e.id, e.healthReason]);
          assert.deepEqual(
            reasons,
            [
              ['typo', 'UnknownKind'],
              ['settings', 'WebhookUnavailable'],
            ],
            JSON.stringify(rel?.status?.resources),
          );
          return rel;
        },
        { description: 'a reason per cause' },
      );
      const entry = (id: string) => r?.status?.resources?.find((e) => e.id === id);
      assert.match(entry('typo')?.message ?? '', /no kind Deploymnet in apps\/v1; did you mean Deployment\?/);
      assert.match(
        entry('settings')?.message ?? '',
        /an admission webhook of the data plane did not answer \(it may be starting; retried\): .*starting\.example\.com/,
      );
      assert.match(condition(r, 'ResourcesApplied')?.message ?? '', /admission webhook .* did not answer/);

      const key = `${org.namespace}/${name}`;
      await eventually(
        () => {
          const retried = controller
            .logLines()
            .filter((l) => l['msg'] === 'Reconcile retried' && l['key'] === key);
          assert.ok(retried.length >= 2, 'the webhook is waited for: retried');
          assert.ok(
            retried.every((l) => l['level'] === 'info' && l['err'] === undefined),
            'at info, without an error object or a stack trace',
          );
        },
        { description: 'retries of the Release logged at info' },
      );
      const errors = controller.logLines().filter((l) => l['msg'] === 'Reconciler error' && l['key'] === key);
      assert.deepEqual(errors, [], 'no error line for a dependency being waited for');
    } finally {
      await dp.delete(
        'admissionregistration.k8s.io/v1',
        'ValidatingWebhookConfiguration',
        undefined,
        webhook,
      );
    }
    // Once the webhook is gone, the object is applied; the typo still waits for the Release to change.
    await eventually(
      async () => {
        const rel = await getRelease(cp, org.namespace, name);
        const settings = rel?.status?.resources?.find((e) => e.id === 'settings');
        assert.equal(settings?.healthStatus, 'Healthy', JSON.stringify(settings));
        assert.equal(rel?.status?.resources?.find((e) => e.id === 'typo')?.healthReason, 'UnknownKind');
      },
      { description: 'the object applied once its webhook is gone' },
    );
  });
});
