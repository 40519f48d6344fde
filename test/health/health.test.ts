/**
 * Health as a user observes it: status.resources[] (healthStatus, healthReason, message) and the
 * Ready condition of a Release whose objects run on the full-mode data plane (kube-controller-manager,
 * scheduler, a kwok node), with the real controller process. Also `kubectl wait` and the Ready
 * printer column, and the status size budget.
 */
import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { kubectl, FAKE_NODE_NAME } from '../../testbed/cluster.ts';
import type { KubeObject } from '../../src/api/object.ts';
import { API_VERSION } from '../../src/api/v1alpha1/constants.ts';
import type { Release, ReleaseResource, ResourceStatus } from '../../src/api/v1alpha1/schema.ts';
import { STATUS_BUDGET_BYTES } from '../../src/controller/release/status.ts';
import { eventually } from '../support/eventually.ts';
import {
  condition,
  createOrg,
  getRelease,
  releaseObject,
  uniqueName,
  type Org,
} from '../support/fixtures.ts';
import { integrationSuite } from '../support/suite.ts';
import { ReleaseRecorder, type Snapshot } from './recorder.ts';

const TIMEOUT_MS = 60_000;

// Matches no node: the pods stay Pending, so kwok never marks them ready.
const NO_NODE = { 'health.test/no-such-node': 'true' };

function podSpec(extra: Record<string, unknown> = {}, image = 'registry.example.com/api:v1') {
  return { containers: [{ name: 'main', image }], ...extra };
}

function deployment(
  namespace: string,
  name: string,
  spec: Record<string, unknown> = {},
  pod: Record<string, unknown> = podSpec(),
): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: pod },
      ...spec,
    },
  };
}

/** job is a Job of one pod that never restarts, on nodes the selector picks. */
function job(namespace: string, name: string, nodeSelector: Record<string, string>): KubeObject {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, namespace },
    spec: { backoffLimit: 0, template: { spec: podSpec({ restartPolicy: 'Never', nodeSelector }) } },
  };
}

/** NodeGate holds pods Pending until the test opens it. */
interface NodeGate {
  selector: Record<string, string>;
  open: () => Promise<void>;
}

function entry(release: Release | undefined, id: string): ResourceStatus | undefined {
  return release?.status?.resources?.find((r) => r.id === id);
}

function describeStatus(release: Release | undefined): string {
  return JSON.stringify({
    resources: release?.status?.resources?.map(({ status: _s, ...rest }) => rest),
    conditions: release?.status?.conditions,
  });
}

describe('Release health on a full data plane', () => {
  // Each test makes its own organization (newOrg).
  const suite = integrationSuite({ org: false });

  /** newOrg makes the fresh organization namespace (DataPlane, Environment) of one test. */
  function newOrg(): Promise<Org> {
    return createOrg(suite.cp, suite.clusters.dp);
  }

  /**
   * nodeGate is a node label only one test sets: pods that select it stay Pending (so kwok leaves them
   * alone) until `open` puts the label on the kwok node. The label is removed when the test ends.
   */
  function nodeGate(t: TestContext): NodeGate {
    const label = `health.test/gate-${randomBytes(3).toString('hex')}`;
    const setLabel = (value: string | null) =>
      suite.dp.patch('v1', 'Node', undefined, FAKE_NODE_NAME, { metadata: { labels: { [label]: value } } });
    t.after(() => setLabel(null));
    return {
      selector: { [label]: 'true' },
      open: async () => {
        await setLabel('true');
      },
    };
  }

  /** released waits until the Release's status satisfies `check` and returns the Release. */
  function released(
    org: Org,
    name: string,
    description: string,
    check: (r: Release) => void,
  ): Promise<Release> {
    return eventually(
      async () => {
        const r = await getRelease(suite.cp, org.namespace, name);
        assert.ok(r, `Release ${org.namespace}/${name} exists`);
        try {
          check(r);
        } catch (err) {
          throw new Error(`${(err as Error).message}\nstatus: ${describeStatus(r)}`, { cause: err });
        }
        return r;
      },
      { timeoutMs: TIMEOUT_MS, description },
    );
  }

  test('a Deployment rolling out is Progressing, then Healthy, and Ready follows', async (t) => {
    const { cp, dp } = suite;
    const org = await newOrg();
    const target = uniqueName('rollout');
    const name = uniqueName('rel');
    // Each version's pods wait for a node label of their own, so every rollout holds still until the
    // test lets it go on: no race with kwok, which makes pods ready at once.
    const v1 = nodeGate(t);
    const v2 = nodeGate(t);
    const resources = (image: string, gate: NodeGate): ReleaseResource[] => [
      {
        id: 'web',
        object: deployment(target, 'web', { replicas: 2 }, podSpec({ nodeSelector: gate.selector }, image)),
      },
    ];
    const recorder = ReleaseRecorder.start(cp, org.namespace, name);
    t.after(() => recorder.stop());
    await cp.create(releaseObject(org, name, resources('registry.example.com/web:v1', v1)));

    const isProgressing = (s: Snapshot) =>
      s.resources['web']?.healthStatus === 'Progressing' &&
      s.ready?.status === 'False' &&
      s.ready.reason === 'Progressing';
    const isHealthy = (s: Snapshot) =>
      s.resources['web']?.healthStatus === 'Healthy' && s.ready?.status === 'True';

    const waiting = await recorder.waitFor(
      (s) => isProgressing(s) && s.resources['web']?.message === '0/2 replicas available',
      'the new Deployment to be Progressing with no replica available',
    );
    assert.equal(recorder.snapshots[waiting]?.resources['web']?.healthReason, 'ReplicasUnavailable');
    assert.equal(
      recorder.snapshots[waiting]?.ready?.message,
      `1 of 1 resources not ready: Deployment/${target}/web: Progressing (0/2 replicas available)`,
    );
    await v1.open();
    const ready1 = await recorder.waitFor(
      isHealthy,
      'the new Deployment to become Healthy and Ready',
      waiting,
    );
    const final1 = recorder.snapshots[ready1]!;
    assert.equal(final1.resources['web']?.healthReason, 'ReplicasAvailable');
    assert.equal(final1.resources['web']?.message, '2/2 replicas available');
    assert.equal(final1.ready?.reason, 'Ready');
    assert.equal(final1.ready?.message, 'all 1 resources are Healthy or Suspended');

    // An update rolls out a new ReplicaSet: one pod surges (25% of 2, rounded up) and waits, the old
    // two keep serving, so the Deployment is Progressing for generation 2 until the gate opens.
    await cp.patch(API_VERSION, 'Release', org.namespace, name, {
      spec: { resources: resources('registry.example.com/web:v2', v2) },
    });
    const rolling = await recorder.waitFor(
      (s) =>
        isProgressing(s) &&
        s.ready?.observedGeneration === 2 &&
        s.resources['web']?.message === '1/2 replicas updated',
      'the updated Deployment to be Progressing mid-rollout',
      ready1,
    );
    assert.equal(recorder.snapshots[rolling]?.resources['web']?.healthReason, 'ReplicasNotUpdated');
    await v2.open();
    await recorder.waitFor(
      (s) => isHealthy(s) && s.ready?.observedGeneration === 2,
      'the updated Deployment to become Healthy and Ready',
      rolling,
    );
    t.diagnostic(`states seen:\n${recorder.history()}`);
    assert.ok(
      recorder.snapshots.every((s) => s.resources['web']?.healthStatus !== 'Degraded'),
      `a rollout that makes progress never reads Degraded:\n${recorder.history()}`,
    );
    const pods = await dp.list('v1', 'Pod', target, 'app=web');
    assert.deepEqual(
      pods
        .filter((p) => !p.metadata.deletionTimestamp)
        .map((p) => (p['spec'] as { containers: Array<{ image: string }> }).containers[0]?.image),
      ['registry.example.com/web:v2', 'registry.example.com/web:v2'],
    );
  });

  test('a Deployment whose pods never get ready is Degraded after its progress deadline', async () => {
    const { cp } = suite;
    const org = await newOrg();
    const target = uniqueName('stuck');
    const name = uniqueName('rel');
    await cp.create(
      releaseObject(org, name, [
        {
          id: 'api',
          object: deployment(
            target,
            'api',
            { progressDeadlineSeconds: 1 },
            podSpec({ nodeSelector: NO_NODE }),
          ),
        },
        {
          id: 'config',
          object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg', namespace: target } },
        },
      ]),
    );
    const r = await released(org, name, 'the stuck Deployment to be Degraded', (r) => {
      assert.equal(entry(r, 'api')?.healthStatus, 'Degraded');
      assert.equal(condition(r, 'Ready')?.reason, 'Degraded');
    });
    const api = entry(r, 'api')!;
    assert.equal(api.healthReason, 'ProgressDeadlineExceeded');
    assert.match(api.message ?? '', /^ReplicaSet "api-[a-z0-9]+" has timed out progressing\.$/);
    assert.equal(entry(r, 'config')?.healthStatus, 'Healthy');
    const ready = condition(r, 'Ready')!;
    assert.equal(ready.status, 'False');
    assert.match(
      ready.message,
      new RegExp(
        `^1 of 2 resources not ready: Deployment/${target}/api: Degraded \\(ReplicaSet "api-\\w+" has timed out progressing\\.\\)$`,
      ),
    );
    assert.equal(condition(r, 'ResourcesApplied')?.status, 'True', 'the apply itself succeeded');
  });

  test('a crash-looping Pod is Degraded although it never became ready', async () => {
    const { cp, dp } = suite;
    const org = await newOrg();
    const target = uniqueName('crash');
    const name = uniqueName('rel');
    // Unschedulable, so kwok leaves the pod's status to us.
    await cp.create(
      releaseObject(org, name, [
        {
          id: 'worker',
          object: {
            apiVersion: 'v1',
            kind: 'Pod',
            metadata: { name: 'worker', namespace: target },
            spec: podSpec({ nodeSelector: NO_NODE }),
          },
        },
      ]),
    );
    await released(org, name, 'the unschedulable Pod to be Progressing', (r) => {
      assert.equal(entry(r, 'worker')?.healthStatus, 'Progressing');
      assert.equal(entry(r, 'worker')?.healthReason, 'Unschedulable');
      assert.equal(condition(r, 'Ready')?.reason, 'Progressing');
    });

    const finishedAt = new Date(Date.now() - 5_000).toISOString();
    await dp.patch(
      'v1',
      'Pod',
      target,
      'worker',
      {
        status: {
          containerStatuses: [
            {
              name: 'main',
              image: 'registry.example.com/api:v1',
              imageID: '',
              ready: false,
              started: false,
              restartCount: 4,
              state: {
                waiting: {
                  reason: 'CrashLoopBackOff',
                  message: 'back-off 1m20s restarting failed container=main',
                },
              },
              lastState: {
                terminated: { exitCode: 1, reason: 'Error', startedAt: finishedAt, finishedAt },
              },
            },
          ],
        },
      },
      { subresource: 'status' },
    );
    const r = await released(org, name, 'the crash-looping Pod to be Degraded', (r) => {
      assert.equal(entry(r, 'worker')?.healthStatus, 'Degraded');
    });
    const worker = entry(r, 'worker')!;
    assert.equal(worker.healthReason, 'CrashLoopBackOff');
    assert.equal(
      worker.message,
      'container main: CrashLoopBackOff after exit code 1 (Error): back-off 1m20s restarting failed container=main',
    );
    const ready = condition(r, 'Ready')!;
    assert.equal(ready.status, 'False');
    assert.equal(ready.reason, 'Degraded');
    assert.equal(
      ready.message,
      `1 of 1 resources not ready: Pod/${target}/worker: Degraded (${worker.message})`,
    );
  });

  test('a paused Deployment and a suspended CronJob are Suspended, and the Release is Ready', async () => {
    const { cp } = suite;
    const org = await newOrg();
    const target = uniqueName('paused');
    const name = uniqueName('rel');
    await cp.create(
      releaseObject(org, name, [
        { id: 'web', object: deployment(target, 'web', { paused: true, replicas: 2 }) },
        {
          id: 'report',
          object: {
            apiVersion: 'batch/v1',
            kind: 'CronJob',
            metadata: { name: 'report', namespace: target },
            spec: {
              schedule: '*/5 * * * *',
              suspend: true,
              jobTemplate: { spec: { template: { spec: podSpec({ restartPolicy: 'Never' }) } } },
            },
          },
        },
      ]),
    );
    const r = await released(org, name, 'both objects Suspended and the Release Ready', (r) => {
      assert.equal(entry(r, 'web')?.healthStatus, 'Suspended');
      assert.equal(entry(r, 'report')?.healthStatus, 'Suspended');
      assert.equal(condition(r, 'Ready')?.status, 'True');
    });
    assert.equal(entry(r, 'web')?.healthReason, 'Paused');
    assert.equal(entry(r, 'web')?.message, 'rollout is paused');
    assert.equal(entry(r, 'report')?.healthReason, 'Suspended');
    assert.equal(entry(r, 'report')?.message, 'schedule is suspended');
    assert.equal(condition(r, 'Ready')?.reason, 'Ready');
    assert.equal(condition(r, 'Ready')?.message, 'all 2 resources are Healthy or Suspended');
  });

  test('a Job is Progressing while its pod waits, then Healthy once it completes', async (t) => {
    const { cp } = suite;
    const org = await newOrg();
    const target = uniqueName('job');
    const name = uniqueName('rel');
    // The pod waits for the gate; once it opens, kwok runs the pod and completes it.
    const gate = nodeGate(t);
    await cp.create(
      releaseObject(org, name, [{ id: 'migrate', object: job(target, 'migrate', gate.selector) }]),
    );
    const running = await released(org, name, 'the Job to be Progressing with an active pod', (r) => {
      assert.equal(entry(r, 'migrate')?.healthStatus, 'Progressing');
      assert.equal(entry(r, 'migrate')?.message, '1 active, 0/1 succeeded');
    });
    assert.equal(entry(running, 'migrate')?.healthReason, 'Running');
    assert.deepEqual(
      {
        status: condition(running, 'Ready')?.status,
        reason: condition(running, 'Ready')?.reason,
        message: condition(running, 'Ready')?.message,
      },
      {
        status: 'False',
        reason: 'Progressing',
        message: `1 of 1 resources not ready: Job/${target}/migrate: Progressing (1 active, 0/1 succeeded)`,
      },
    );

    await gate.open();
    // The Job controller sets SuccessCriteriaMet a moment before it counts the pod in `succeeded`,
    // so the first Healthy state may still say 0/1; the count follows with the next Job update.
    const done = await released(org, name, 'the Job to complete and the Release to be Ready', (r) => {
      assert.equal(entry(r, 'migrate')?.healthStatus, 'Healthy');
      assert.equal(entry(r, 'migrate')?.message, 'completed: 1/1 succeeded');
      assert.equal(condition(r, 'Ready')?.status, 'True');
    });
    assert.equal(entry(done, 'migrate')?.healthReason, 'Complete');
  });

  test('a Job whose pod fails is Degraded once the Job controller gives up', async () => {
    const { cp, dp } = suite;
    const org = await newOrg();
    const target = uniqueName('job');
    const name = uniqueName('rel');
    await cp.create(releaseObject(org, name, [{ id: 'migrate', object: job(target, 'migrate', NO_NODE) }]));
    // kwok cannot fail a pod: write what the kubelet reports for a container that exited with 1.
    const pod = await eventually(
      async () => {
        const pods = await dp.list('v1', 'Pod', target, 'batch.kubernetes.io/job-name=migrate');
        assert.equal(pods.length, 1);
        return pods[0]!;
      },
      { timeoutMs: TIMEOUT_MS, description: 'the pod of the Job' },
    );
    const now = new Date().toISOString();
    await dp.patch(
      'v1',
      'Pod',
      target,
      pod.metadata.name ?? '',
      {
        status: {
          phase: 'Failed',
          containerStatuses: [
            {
              name: 'main',
              image: 'registry.example.com/api:v1',
              imageID: '',
              ready: false,
              restartCount: 0,
              state: { terminated: { exitCode: 1, reason: 'Error', startedAt: now, finishedAt: now } },
            },
          ],
        },
      },
      { subresource: 'status' },
    );
    const r = await released(org, name, 'the failed Job to be Degraded', (r) => {
      assert.equal(entry(r, 'migrate')?.healthStatus, 'Degraded');
    });
    assert.equal(entry(r, 'migrate')?.healthReason, 'BackoffLimitExceeded');
    assert.equal(entry(r, 'migrate')?.message, 'Job has reached the specified backoff limit');
    const ready = condition(r, 'Ready');
    assert.equal(ready?.status, 'False');
    assert.equal(ready?.reason, 'Degraded');
    assert.equal(
      ready?.message,
      `1 of 1 resources not ready: Job/${target}/migrate: Degraded (Job has reached the specified backoff limit)`,
    );
  });

  test('a LoadBalancer Service is Progressing until it has an address, then Healthy', async () => {
    const { cp } = suite;
    const org = await newOrg();
    const target = uniqueName('lb');
    const name = uniqueName('rel');
    await cp.create(releaseObject(org, name, [loadBalancer(target, 'edge')]));
    const waiting = await released(org, name, 'the Service to wait for its load balancer', (r) => {
      assert.equal(entry(r, 'edge')?.healthStatus, 'Progressing');
      assert.equal(condition(r, 'Ready')?.reason, 'Progressing');
    });
    assert.equal(entry(waiting, 'edge')?.healthReason, 'WaitingForLoadBalancer');
    assert.equal(
      condition(waiting, 'Ready')?.message,
      `1 of 1 resources not ready: Service/${target}/edge: Progressing (waiting for load balancer address)`,
    );

    await setLoadBalancerAddress(target, 'edge');
    const r = await released(org, name, 'the Service to be Healthy and the Release Ready', (r) => {
      assert.equal(entry(r, 'edge')?.healthStatus, 'Healthy');
      assert.equal(condition(r, 'Ready')?.status, 'True');
    });
    assert.equal(entry(r, 'edge')?.healthReason, 'LoadBalancerReady');
    assert.equal(entry(r, 'edge')?.message, 'load balancer at 1.2.3.4');
    assert.deepEqual(
      (entry(r, 'edge')?.status as { loadBalancer?: unknown } | undefined)?.loadBalancer,
      { ingress: [{ ip: '1.2.3.4', ipMode: 'VIP' }] },
      'the live status with the address is copied into the Release',
    );
  });

  test('kubectl wait --for=condition=Ready and the Ready printer column follow the Release', async () => {
    const { clusters, cp } = suite;
    const org = await newOrg();
    const target = uniqueName('wait');
    const name = uniqueName('rel');
    await cp.create(releaseObject(org, name, [loadBalancer(target, 'edge')]));
    await released(org, name, 'the Release to be not Ready yet', (r) => {
      assert.equal(condition(r, 'Ready')?.status, 'False');
    });
    assert.equal(await readyColumn(org, name), 'False');
    await assert.rejects(
      kubectl(clusters.cp, [
        'wait',
        '--for=condition=Ready',
        `release/${name}`,
        '-n',
        org.namespace,
        '--timeout=1s',
      ]),
      /timed out waiting for the condition/,
      'kubectl wait times out while the Release is not Ready',
    );

    const waited = kubectl(clusters.cp, [
      'wait',
      '--for=condition=Ready',
      `release/${name}`,
      '-n',
      org.namespace,
      '--timeout=60s',
    ]);
    await setLoadBalancerAddress(target, 'edge');
    assert.equal((await waited).trim(), `release.openchoreo.dev/${name} condition met`);
    assert.equal(await readyColumn(org, name), 'True');
  });

  test('live statuses too large for the Release are omitted with a note, and the status write succeeds', async (t) => {
    const { cp, dp } = suite;
    const org = await newOrg();
    const target = uniqueName('big');
    const name = uniqueName('rel');
    const group = `g${randomBytes(3).toString('hex')}.health.test`;
    const apiVersion = `${group}/v1`;
    const crd: KubeObject = {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: `blobs.${group}` },
      spec: {
        group,
        scope: 'Namespaced',
        names: { plural: 'blobs', singular: 'blob', kind: 'Blob', listKind: 'BlobList' },
        versions: [
          {
            name: 'v1',
            served: true,
            storage: true,
            subresources: { status: {} },
            schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
          },
        ],
      },
    };
    await dp.apply(crd);
    t.after(() =>
      dp.delete('apiextensions.k8s.io/v1', 'CustomResourceDefinition', undefined, `blobs.${group}`),
    );
    await eventually(
      async () => {
        const live = await dp.get(
          'apiextensions.k8s.io/v1',
          'CustomResourceDefinition',
          undefined,
          `blobs.${group}`,
        );
        return JSON.stringify(live?.['status']).includes('"type":"Established","status":"True"');
      },
      { timeoutMs: TIMEOUT_MS, description: 'the Blob CRD to be Established' },
    );

    const ids = ['blob-0', 'blob-1', 'blob-2', 'blob-3'];
    await cp.create(
      releaseObject(
        org,
        name,
        ids.map((id) => ({
          id,
          object: {
            apiVersion,
            kind: 'Blob',
            metadata: { name: id, namespace: target },
            spec: { size: 'large' },
          },
        })),
      ),
    );
    await released(org, name, 'the four Blobs to be applied', (r) => {
      assert.equal(condition(r, 'ResourcesApplied')?.status, 'True');
      assert.equal(r.status?.resources?.length, 4);
    });

    // 4 x 200 KiB of live status is well over the 512 KiB budget.
    const payload = 'x'.repeat(200 * 1024);
    for (const id of ids) {
      await dp.patch(
        apiVersion,
        'Blob',
        target,
        id,
        {
          status: {
            payload,
            conditions: [{ type: 'Ready', status: 'True', reason: 'Stored', message: 'blob stored' }],
          },
        },
        { subresource: 'status' },
      );
    }
    const r = await released(org, name, 'the big statuses to be observed', (r) => {
      const resources = r.status?.resources ?? [];
      assert.ok(
        resources.every((e) => e.healthReason === 'Ready'),
        'every Blob reports the Ready condition written with its big status',
      );
      assert.ok(
        resources.some((e) => e.status === undefined),
        'at least one live status is omitted',
      );
    });
    const resources = r.status!.resources!;
    const omitted = resources.filter((e) => e.status === undefined);
    const kept = resources.filter((e) => e.status !== undefined);
    for (const e of omitted) {
      assert.match(
        e.message ?? '',
        new RegExp(
          `^blob stored; live status \\(\\d+ KiB\\) omitted to keep the Release status under ${STATUS_BUDGET_BYTES / 1024} KiB$`,
        ),
      );
      assert.equal(e.healthStatus, 'Healthy', 'health is still computed from the full live object');
    }
    assert.ok(kept.length > 0, 'live statuses that fit the budget are still copied');
    for (const e of kept) {
      assert.equal((e.status as { payload?: string }).payload?.length, payload.length);
      assert.equal(e.message, 'blob stored');
    }
    assert.ok(
      JSON.stringify(resources).length <= STATUS_BUDGET_BYTES,
      `status.resources is ${JSON.stringify(resources).length} bytes`,
    );
    assert.equal(condition(r, 'ResourcesApplied')?.status, 'True');
    assert.equal(condition(r, 'Ready')?.status, 'True');

    // Remove the Release (and its Blobs) before the CRD goes.
    await cp.delete(API_VERSION, 'Release', org.namespace, name);
    await eventually(async () => (await getRelease(cp, org.namespace, name)) === undefined, {
      timeoutMs: TIMEOUT_MS,
      description: 'the Release to be deleted',
    });
  });

  function loadBalancer(namespace: string, name: string): ReleaseResource {
    return {
      id: name,
      object: {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name, namespace },
        spec: { type: 'LoadBalancer', selector: { app: name }, ports: [{ port: 80, targetPort: 8080 }] },
      },
    };
  }

  /** setLoadBalancerAddress writes an address as a cloud load-balancer controller would. */
  async function setLoadBalancerAddress(namespace: string, name: string): Promise<void> {
    await suite.dp.patch(
      'v1',
      'Service',
      namespace,
      name,
      { status: { loadBalancer: { ingress: [{ ip: '1.2.3.4', ipMode: 'VIP' }] } } },
      { subresource: 'status' },
    );
  }

  /** readyColumn returns the READY printer column of `kubectl get release`. */
  async function readyColumn(org: Org, name: string): Promise<string | undefined> {
    const out = await kubectl(suite.clusters.cp, ['get', 'release', name, '-n', org.namespace]);
    const [header, row] = out.trim().split('\n');
    const columns = header?.trim().split(/\s+/) ?? [];
    const values = row?.trim().split(/\s+/) ?? [];
    assert.deepEqual(columns, ['NAME', 'PROJECT', 'COMPONENT', 'ENVIRONMENT', 'READY', 'AGE']);
    return values[columns.indexOf('READY')];
  }
});
