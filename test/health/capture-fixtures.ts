/**
 * capture-fixtures records real workload objects from a full-mode test-bed cluster (kube-controller-manager,
 * scheduler, kwok node) as the JSON fixtures under src/health/testdata/, which the health table tests
 * assert on. Not a test: run it by hand when the test bed's Kubernetes version changes.
 *
 *   npx tsx test/health/capture-fixtures.ts [FULL_CLUSTER_NAME]
 *
 * Without a name it starts a full cluster of its own and removes it at the end. A CronJob run waits
 * for the next minute, so a capture takes up to about 90 s.
 */
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { format, resolveConfig } from 'prettier';
import { attach, up, type Cluster } from '../../testbed/cluster.ts';
import type { KubeObject } from '../../src/api/object.ts';
import { isRecord, parseApiVersion } from '../../src/api/object.ts';
import { collectionPath } from '../../src/kube/discovery.ts';
import { eventually } from '../support/eventually.ts';
import { uniqueName } from '../support/fixtures.ts';
import { TestKube } from '../support/kube.ts';

const OUT = resolve(import.meta.dirname, '../../src/health/testdata');

/** Fixture is the content of one testdata file. */
interface Fixture {
  source: string;
  capturedAt: string;
  object: KubeObject;
}

// Only the spec fields the health rules read (plus the container list, to keep a Pod recognisable).
const SPEC_FIELDS: Record<string, string[]> = {
  Deployment: ['replicas', 'paused', 'minReadySeconds', 'progressDeadlineSeconds', 'strategy'],
  ReplicaSet: ['replicas', 'minReadySeconds'],
  StatefulSet: ['replicas', 'minReadySeconds', 'updateStrategy'],
  DaemonSet: ['minReadySeconds', 'updateStrategy'],
  Pod: ['restartPolicy', 'nodeName', 'nodeSelector', 'containers'],
  Job: ['completions', 'parallelism', 'backoffLimit', 'suspend'],
  CronJob: ['schedule', 'suspend', 'concurrencyPolicy'],
};

function pick(value: unknown, keys: string[]): Record<string, unknown> {
  if (!isRecord(value)) return {};
  return Object.fromEntries(keys.filter((k) => value[k] !== undefined).map((k) => [k, value[k]]));
}

function trim(obj: KubeObject): KubeObject {
  const spec = pick(obj['spec'], SPEC_FIELDS[obj.kind] ?? []);
  if (Array.isArray(spec['containers'])) {
    spec['containers'] = spec['containers'].map((c) => pick(c, ['name', 'image']));
  }
  const annotations = Object.fromEntries(
    Object.entries(obj.metadata.annotations ?? {}).filter(([k]) => k.endsWith('kubernetes.io/revision')),
  );
  return {
    apiVersion: obj.apiVersion,
    kind: obj.kind,
    metadata: {
      name: obj.metadata.name,
      namespace: 'shop',
      ...(obj.metadata.generation !== undefined ? { generation: obj.metadata.generation } : {}),
      ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
    },
    spec,
    status: obj['status'],
  };
}

function podTemplate(
  app: string,
  extra: Record<string, unknown> = {},
  image = 'registry.example.com/api:v1',
) {
  return {
    metadata: { labels: { app } },
    spec: { containers: [{ name: 'main', image }], ...extra },
  };
}

const UNMATCHED = { nodeSelector: { 'health.test/no-such-node': 'true' } };

async function main(): Promise<void> {
  const named = process.argv[2];
  let owned: Cluster | undefined;
  let cluster: Cluster;
  if (named) {
    const found = await attach(named);
    if (!found?.running()) throw new Error(`no running test-bed cluster named ${named}`);
    cluster = found;
  } else {
    owned = await up(uniqueName('capture'), { full: true, log: (l) => process.stderr.write(`${l}\n`) });
    cluster = owned;
  }
  if (!cluster.full) throw new Error(`${cluster.name} is not a full cluster`);
  const kube = new TestKube(cluster);
  const ns = uniqueName('capture');
  const source = `test-bed full mode (kube-controller-manager, kube-scheduler, kwok node); ${await serverVersion(kube)}`;
  const saved: string[] = [];
  const save = async (file: string, obj: KubeObject) => {
    const fixture: Fixture = { source, capturedAt: new Date().toISOString(), object: trim(obj) };
    const path = join(OUT, file);
    // Formatted as `prettier --check` expects.
    const options = { ...(await resolveConfig(path)), parser: 'json' };
    await writeFile(path, await format(JSON.stringify(fixture), options));
    saved.push(file);
  };
  const get = async (apiVersion: string, kind: string, name: string) => {
    const obj = await kube.get(apiVersion, kind, ns, name);
    if (!obj) throw new Error(`${kind}/${ns}/${name} not found`);
    return obj;
  };
  // capture polls an object until `ready` holds, then saves it; fast polls catch short-lived states.
  const capture = async (
    file: string,
    apiVersion: string,
    kind: string,
    name: string,
    ready: (obj: KubeObject) => boolean,
    timeoutMs = 60_000,
  ) => {
    const obj = await eventually(
      async () => {
        const o = await get(apiVersion, kind, name);
        if (!ready(o)) throw new Error(`${kind}/${name}: ${JSON.stringify(o['status'])}`);
        return o;
      },
      { timeoutMs, intervalMs: 100, description: `the state of ${file}` },
    );
    await save(file, obj);
  };
  // captureTransition watches an object from its current version while `trigger` runs, and saves the
  // first state that satisfies `pick`: for states too short-lived to catch by polling.
  const captureTransition = async (
    file: string,
    apiVersion: string,
    kind: string,
    name: string,
    pick: (obj: KubeObject) => boolean,
    trigger: () => Promise<unknown>,
  ) => {
    const info = await kube.discovery.resolve({ ...parseApiVersion(apiVersion), kind });
    const { resourceVersion } = (await get(apiVersion, kind, name)).metadata;
    const abort = new AbortController();
    let found: KubeObject | undefined;
    const watching = kube.client
      .watch<KubeObject>(
        collectionPath(info, ns),
        { fieldSelector: `metadata.name=${name}`, resourceVersion },
        (event) => {
          if (found === undefined && event.type === 'MODIFIED' && pick(event.object)) found = event.object;
        },
        abort.signal,
      )
      .catch(() => undefined);
    try {
      await trigger();
      await eventually(() => found !== undefined, { timeoutMs: 60_000, description: `the state of ${file}` });
    } finally {
      abort.abort();
      await watching;
    }
    await save(file, found!);
  };
  const conditionTrue = (obj: KubeObject, type: string) =>
    Array.isArray(status(obj)['conditions']) &&
    (status(obj)['conditions'] as unknown[]).some(
      (c) => isRecord(c) && c['type'] === type && c['status'] === 'True',
    );
  const status = (obj: KubeObject) => (isRecord(obj['status']) ? obj['status'] : {});
  const num = (obj: KubeObject, key: string) => {
    const v = status(obj)[key];
    return typeof v === 'number' ? v : 0;
  };

  try {
    await kube.ensureNamespace(ns);
    await eventually(async () => (await kube.get('v1', 'ServiceAccount', ns, 'default')) !== undefined, {
      timeoutMs: 60_000,
      description: 'the default ServiceAccount',
    });
    const deployment = (name: string, spec: Record<string, unknown>, image?: string): KubeObject => ({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, namespace: ns },
      spec: {
        selector: { matchLabels: { app: name } },
        template: podTemplate(name, {}, image),
        ...spec,
      },
    });
    await kube.create(deployment('api', { replicas: 2, minReadySeconds: 20 }));
    await kube.create(
      deployment('stuck', {
        replicas: 1,
        progressDeadlineSeconds: 1,
        template: podTemplate('stuck', UNMATCHED),
      }),
    );
    await kube.create({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'pending', namespace: ns },
      spec: podTemplate('pending', UNMATCHED).spec,
    });
    await kube.create({
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'migrate', namespace: ns },
      spec: { template: podTemplate('migrate', { restartPolicy: 'Never' }) },
    });
    await kube.create({
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'waiting', namespace: ns },
      spec: { template: podTemplate('waiting', { restartPolicy: 'Never', ...UNMATCHED }) },
    });
    await kube.create({
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'resumed', namespace: ns },
      spec: { suspend: true, template: podTemplate('resumed', { restartPolicy: 'Never' }) },
    });
    await kube.create({
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'failing', namespace: ns },
      spec: { backoffLimit: 0, template: podTemplate('failing', { restartPolicy: 'Never', ...UNMATCHED }) },
    });
    await kube.create({
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: { name: 'report', namespace: ns },
      spec: {
        schedule: '* * * * *',
        jobTemplate: { spec: { template: podTemplate('report', { restartPolicy: 'Never' }) } },
      },
    });
    await kube.create({
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: 'db', namespace: ns },
      spec: {
        replicas: 2,
        serviceName: 'db',
        selector: { matchLabels: { app: 'db' } },
        template: podTemplate('db'),
      },
    });
    await kube.create({
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: { name: 'agent', namespace: ns },
      spec: { selector: { matchLabels: { app: 'agent' } }, template: podTemplate('agent') },
    });

    // A new Deployment whose pods are ready but not yet available (minReadySeconds).
    await capture('deployment-new-unavailable.json', 'apps/v1', 'Deployment', 'api', (d) => {
      return num(d, 'readyReplicas') === 2 && num(d, 'availableReplicas') === 0;
    });
    const pod = (await kube.list('v1', 'Pod', ns, 'app=api'))[0];
    if (!pod) throw new Error('no api pod');
    // List items carry no apiVersion and kind.
    await save('pod-ready.json', { ...pod, apiVersion: 'v1', kind: 'Pod' });
    await capture('deployment-complete.json', 'apps/v1', 'Deployment', 'api', (d) => {
      return num(d, 'availableReplicas') === 2;
    });
    const rs = (await kube.list('apps/v1', 'ReplicaSet', ns, 'app=api'))[0];
    if (!rs) throw new Error('no api ReplicaSet');
    await save('replicaset-available.json', { ...rs, apiVersion: 'apps/v1', kind: 'ReplicaSet' });

    // A rolling update: one new pod surged, the old ones still serving.
    await kube.patch('apps/v1', 'Deployment', ns, 'api', {
      spec: {
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
        template: podTemplate('api', {}, 'registry.example.com/api:v2'),
      },
    });
    await capture('deployment-rolling-update.json', 'apps/v1', 'Deployment', 'api', (d) => {
      return num(d, 'updatedReplicas') === 1 && num(d, 'replicas') === 3;
    });
    await capture('deployment-progress-deadline-exceeded.json', 'apps/v1', 'Deployment', 'stuck', (d) => {
      return JSON.stringify(d['status']).includes('ProgressDeadlineExceeded');
    });
    await capture('pod-unschedulable.json', 'v1', 'Pod', 'pending', (p) => {
      return JSON.stringify(p['status']).includes('Unschedulable');
    });
    await capture('job-complete.json', 'batch/v1', 'Job', 'migrate', (j) => {
      return num(j, 'succeeded') === 1 && JSON.stringify(j['status']).includes('"Complete"');
    });
    await capture('job-active.json', 'batch/v1', 'Job', 'waiting', (j) => num(j, 'active') === 1);
    // kwok cannot fail a pod; write the failure the kubelet would report, and let the Job controller react.
    const failing = (await kube.list('v1', 'Pod', ns, 'batch.kubernetes.io/job-name=failing'))[0];
    if (!failing) throw new Error('no pod of Job failing');
    // The Job controller announces the outcome (FailureTarget, SuccessCriteriaMet) before it finishes
    // counting the pods and sets Failed or Complete.
    await captureTransition(
      'job-failure-target.json',
      'batch/v1',
      'Job',
      'failing',
      (j) => conditionTrue(j, 'FailureTarget') && !conditionTrue(j, 'Failed'),
      () =>
        kube.patch('v1', 'Pod', ns, failing.metadata.name ?? '', failedPodStatus(), {
          subresource: 'status',
        }),
    );
    await capture('job-failed.json', 'batch/v1', 'Job', 'failing', (j) => num(j, 'failed') === 1);
    await captureTransition(
      'job-success-criteria-met.json',
      'batch/v1',
      'Job',
      'resumed',
      (j) => conditionTrue(j, 'SuccessCriteriaMet') && !conditionTrue(j, 'Complete'),
      () => kube.patch('batch/v1', 'Job', ns, 'resumed', { spec: { suspend: false } }),
    );
    await capture('statefulset-ready.json', 'apps/v1', 'StatefulSet', 'db', (s) => {
      return num(s, 'availableReplicas') === 2;
    });
    await capture('daemonset-ready.json', 'apps/v1', 'DaemonSet', 'agent', (d) => {
      return num(d, 'desiredNumberScheduled') === 1 && num(d, 'numberAvailable') === 1;
    });
    // The schedule fires at the next full minute.
    await capture(
      'cronjob-last-run-succeeded.json',
      'batch/v1',
      'CronJob',
      'report',
      (c) => {
        const s = status(c);
        const active = Array.isArray(s['active']) ? s['active'].length : 0;
        return typeof s['lastSuccessfulTime'] === 'string' && active === 0;
      },
      90_000,
    );
  } finally {
    await kube.delete('v1', 'Namespace', undefined, ns);
    await kube.close();
    await owned?.down();
  }
  process.stdout.write(`wrote ${saved.length} fixtures to ${OUT}:\n${saved.join('\n')}\n`);
}

/** failedPodStatus is the status of a pod whose only container exited with code 1. */
function failedPodStatus() {
  const now = new Date().toISOString();
  return {
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
  };
}

async function serverVersion(kube: TestKube): Promise<string> {
  const v = await kube.client.request<{ gitVersion?: string }>({ method: 'GET', path: '/version' });
  return `kube ${v.gitVersion ?? '?'}`;
}

await main();
