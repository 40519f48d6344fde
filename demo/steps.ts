/**
 * What the demo does on the clusters: the organization (CRDs, namespace, kubeconfig Secret,
 * DataPlane, Environment), the sample Release, and the numbered lifecycle steps. Each step says in
 * one line what it shows, prints the equivalent kubectl command, acts, and waits for the observable
 * result, with a timeout.
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseAllDocuments, stringify as toYaml } from 'yaml';
import type { KubeObject } from '../src/api/object.ts';
import { API_VERSION, GROUP, Labels, TenancyKeys, VERSION } from '../src/api/v1alpha1/constants.ts';
import type { DataPlane, Environment, Release } from '../src/api/v1alpha1/schema.ts';
import { objectPath } from '../src/kube/discovery.ts';
import type { Cluster } from '../testbed/cluster.ts';
import type { TestKube } from '../test/support/kube.ts';
import { ROOT } from './controller.ts';
import type { LiveView } from './display.ts';
import type { ReleaseTracker } from './tracker.ts';

/** FIELD_MANAGER owns what the demo writes, as `kubectl` would own what a person writes. */
export const FIELD_MANAGER = 'rc-demo';

/**
 * APPLY is the kubectl verb and flags of what the demo runs for every object it writes: a
 * server-side apply as FIELD_MANAGER that takes over conflicting fields (TestKube.apply), so the
 * printed commands are what really runs.
 */
const APPLY = `apply --server-side --field-manager=${FIELD_MANAGER} --force-conflicts`;

/** Timeouts of the waits, in milliseconds. */
export const Timeouts = {
  crds: 30_000,
  firstReady: 90_000,
  step: 60_000,
} as const;

/** TTY_PAUSE_MS is the pause after each step on a terminal, so a person can follow. */
const TTY_PAUSE_MS = 2_000;

/** DemoContext is everything the steps act on. */
export interface DemoContext {
  cp: Cluster;
  dp: Cluster;
  cpKube: TestKube;
  dpKube: TestKube;
  view: LiveView;
  tracker: ReleaseTracker;
  /** history records the health values each resource id went through since `history.clear()`. */
  history: HealthHistory;
  /** dir is the demo folder: manifests, controller log and pid. */
  dir: string;
  samples: Samples;
}

/** Samples are config/samples/*.yaml moved into the organization namespace. */
export interface Samples {
  org: string;
  dataPlane: DataPlane;
  environment: Environment;
  release: Release;
  /** secretName and secretKey locate the data plane's kubeconfig, as the DataPlane's secretRef says. */
  secretName: string;
  secretKey: string;
}

/** HealthHistory collects the distinct consecutive health values of each resource id. */
export class HealthHistory {
  private readonly seen = new Map<string, string[]>();

  /** record takes one observed state of the Release. */
  record(release: Release | undefined): void {
    for (const r of release?.status?.resources ?? []) {
      const list = this.seen.get(r.id) ?? [];
      if (list.at(-1) !== r.healthStatus) list.push(r.healthStatus);
      this.seen.set(r.id, list);
    }
  }

  /** of returns the health values of one id, in order. */
  of(id: string): string[] {
    return this.seen.get(id) ?? [];
  }

  /** clear starts a new history for each id, from its current value. */
  clear(): void {
    for (const [id, list] of this.seen) this.seen.set(id, list.slice(-1));
  }
}

/** loadSamples reads config/samples/ and moves the DataPlane, Environment and Release into `org`. */
export async function loadSamples(org: string): Promise<Samples> {
  const read = async <T extends KubeObject>(file: string): Promise<T> => {
    const text = await readFile(join(ROOT, 'config/samples', file), 'utf8');
    const obj = parseAllDocuments(text)
      .map((d) => d.toJS() as T)
      .find((o) => o?.apiVersion === API_VERSION);
    if (!obj) throw new Error(`config/samples/${file} holds no ${API_VERSION} object; restore it from git`);
    obj.metadata.namespace = org;
    return obj;
  };
  const dataPlane = await read<DataPlane & KubeObject>('dataplane.yaml');
  const environment = await read<Environment & KubeObject>('environment.yaml');
  const release = await read<Release & KubeObject>('release.yaml');
  const ref = dataPlane.spec.kubernetesCluster?.secretRef;
  if (!ref) {
    throw new Error(
      'config/samples/dataplane.yaml must use kubernetesCluster.secretRef; restore it from git',
    );
  }
  return { org, dataPlane, environment, release, secretName: ref.name, secretKey: ref.key ?? 'kubeconfig' };
}

/** dataPlaneNamespace returns the namespace of the sample Release's objects on the data plane. */
export function dataPlaneNamespace(samples: Samples): string {
  const ns = (samples.release.spec.resources ?? [])
    .map((r) => (r.object['metadata'] as { namespace?: string } | undefined)?.namespace)
    .find((n) => n);
  if (!ns) throw new Error('config/samples/release.yaml: its objects name no namespace; restore it from git');
  return ns;
}

/** setUpOrganization installs the CRDs and creates the organization with its DataPlane and Environment. */
export async function setUpOrganization(ctx: DemoContext): Promise<void> {
  const { cpKube, view, samples } = ctx;
  const crdDir = join(ROOT, 'config/crd');
  view.log(`- CRDs Release, Environment, DataPlane`);
  view.log(`    $ kubectl --kubeconfig $CP ${APPLY} -f config/crd/`);
  for (const file of (await readdir(crdDir)).filter((f) => f.endsWith('.yaml')).sort()) {
    for (const doc of parseAllDocuments(await readFile(join(crdDir, file), 'utf8'))) {
      const crd = doc.toJS() as KubeObject | null;
      if (crd?.kind === 'CustomResourceDefinition') await cpKube.apply(crd, FIELD_MANAGER);
    }
  }
  await waitFor(
    'the CRDs to be served',
    async () => {
      const doc = await cpKube.client.request<{ resources: Array<{ name: string }> }>({
        method: 'GET',
        path: `/apis/${API_VERSION}`,
      });
      return ['releases', 'environments', 'dataplanes'].every((r) => doc.resources.some((x) => x.name === r));
    },
    Timeouts.crds,
  );

  view.log(`- organization namespace ${samples.org}`);
  view.log(
    `    $ kubectl create namespace ${samples.org} --dry-run=client -o yaml | kubectl --kubeconfig $CP ${APPLY} -f -`,
  );
  await cpKube.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: samples.org } }, FIELD_MANAGER);

  view.log(`- Secret ${samples.org}/${samples.secretName} holding the data plane's kubeconfig`);
  view.log(
    `    $ kubectl -n ${samples.org} create secret generic ${samples.secretName} ` +
      `--from-file=${samples.secretKey}=$DP --dry-run=client -o yaml | kubectl --kubeconfig $CP ${APPLY} -f -`,
  );
  // The platform operator marks it as data-plane credentials (the value names the cluster): the
  // controller uses no other Secret (docs/tenancy.md).
  const cluster = samples.dataPlane.spec.kubernetesCluster?.name ?? samples.dataPlane.metadata.name;
  view.log(
    `    $ kubectl --kubeconfig $CP -n ${samples.org} label secret ${samples.secretName} ` +
      `${TenancyKeys.dataPlaneCredentials}=${cluster}`,
  );
  const kubeconfig = await readFile(ctx.dp.kubeconfigPath);
  await cpKube.apply(
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: samples.secretName,
        namespace: samples.org,
        labels: { [TenancyKeys.dataPlaneCredentials]: cluster },
      },
      type: 'Opaque',
      data: { [samples.secretKey]: kubeconfig.toString('base64') },
    },
    FIELD_MANAGER,
  );

  const dpFile = join(ctx.dir, 'dataplane.yaml');
  const envFile = join(ctx.dir, 'environment.yaml');
  await writeFile(dpFile, toYaml(samples.dataPlane));
  await writeFile(envFile, toYaml(samples.environment));
  view.log(
    `- DataPlane ${samples.org}/${samples.dataPlane.metadata.name} (secretRef ${samples.secretName}) and ` +
      `Environment ${samples.org}/${samples.environment.metadata.name}`,
  );
  view.log(`    $ kubectl --kubeconfig $CP ${APPLY} -f ${dpFile} -f ${envFile}`);
  await cpKube.apply(samples.dataPlane, FIELD_MANAGER);
  await cpKube.apply(samples.environment, FIELD_MANAGER);
}

/** deployRelease applies the sample Release and waits until it is Ready. */
export async function deployRelease(ctx: DemoContext): Promise<void> {
  const { samples, view } = ctx;
  const file = join(ctx.dir, 'release.yaml');
  await writeFile(file, toYaml(samples.release));
  view.log('');
  view.log(`The specification's example Release: a Deployment (3 replicas) and a Service.`);
  view.log(`    $ kubectl --kubeconfig $CP ${APPLY} -f ${file}`);
  const started = performance.now();
  await ctx.cpKube.apply(samples.release, FIELD_MANAGER);
  await ctx.tracker.until('the Release to be Ready', () => isSettled(ctx.tracker.latest), {
    timeoutMs: Timeouts.firstReady,
  });
  await done(ctx, 'Ready: every resource is applied and Healthy', started);
}

/** lifecycle runs the numbered steps: scale, self-heal, prune, delete. */
export async function lifecycle(ctx: DemoContext): Promise<void> {
  const { samples } = ctx;
  const rel = samples.release.metadata;
  const ns = dataPlaneNamespace(samples);
  const deployment = resourceOf(samples, 'Deployment');
  const service = resourceOf(samples, 'Service');

  // 1. Scale through the Release.
  {
    const index = await resourceIndex(ctx, deployment.id);
    const patch = [{ op: 'replace', path: `/spec/resources/${index}/object/spec/replicas`, value: 5 }];
    step(
      ctx,
      1,
      `Scale the Deployment from 3 to 5 replicas by editing the Release`,
      'The controller applies the change to the data plane and reports the rollout in the status.',
      `kubectl --kubeconfig $CP -n ${rel.namespace} patch release ${rel.name} --field-manager=${FIELD_MANAGER} --type=json -p '${JSON.stringify(patch)}'`,
    );
    const started = performance.now();
    ctx.history.clear();
    const generation = (await patchRelease(ctx, patch)).metadata.generation ?? 0;
    await ctx.tracker.until(
      `Deployment ${ns}/${deployment.name} to report 5/5 replicas available`,
      () => {
        const r = ctx.tracker.latest;
        const s = r?.status?.resources?.find((x) => x.id === deployment.id);
        return (
          isSettled(r) &&
          (r?.status?.observedGeneration ?? 0) >= generation &&
          s?.message?.includes('5/5') === true
        );
      },
      { timeoutMs: Timeouts.step },
    );
    await done(ctx, `rolled out to 5/5 (health: ${ctx.history.of(deployment.id).join(' -> ')})`, started);
  }

  // 2. Self-heal: delete the Service behind the controller's back.
  {
    step(
      ctx,
      2,
      `Delete the Service on the data plane, behind the controller's back`,
      'The controller watches what it applied, so it notices at once and puts the Service back.',
      `kubectl --kubeconfig $DP -n ${ns} delete service ${service.name}`,
    );
    const before = await ctx.dpKube.get('v1', 'Service', ns, service.name);
    if (!before)
      throw new Error(`Service ${ns}/${service.name} is not on the data plane; the demo cannot go on`);
    const started = performance.now();
    await ctx.dpKube.delete('v1', 'Service', ns, service.name);
    let uid = '';
    await ctx.tracker.until(
      `Service ${ns}/${service.name} to come back on the data plane`,
      async () => {
        const now = await ctx.dpKube.get('v1', 'Service', ns, service.name);
        uid = now?.metadata.uid ?? '';
        return uid !== '' && uid !== before.metadata.uid && isSettled(ctx.tracker.latest);
      },
      { timeoutMs: Timeouts.step, pollMs: 250 },
    );
    await done(ctx, `Service re-created (uid ${short(before.metadata.uid)} -> ${short(uid)})`, started);
  }

  // 3. Prune: drop the Service from the Release.
  {
    const index = await resourceIndex(ctx, service.id);
    const patch = [{ op: 'remove', path: `/spec/resources/${index}` }];
    step(
      ctx,
      3,
      `Remove the Service (id "${service.id}") from the Release`,
      'The controller deletes from the data plane what the Release no longer lists, and drops it from the status.',
      `kubectl --kubeconfig $CP -n ${rel.namespace} patch release ${rel.name} --field-manager=${FIELD_MANAGER} --type=json -p '${JSON.stringify(patch)}'`,
    );
    const started = performance.now();
    const generation = (await patchRelease(ctx, patch)).metadata.generation ?? 0;
    await ctx.tracker.until(
      `Service ${ns}/${service.name} to be pruned`,
      async () => {
        const r = ctx.tracker.latest;
        if ((r?.status?.observedGeneration ?? 0) < generation || !isSettled(r)) return false;
        if (r?.status?.resources?.some((x) => x.id === service.id)) return false;
        return (await ctx.dpKube.get('v1', 'Service', ns, service.name)) === undefined;
      },
      { timeoutMs: Timeouts.step, pollMs: 250 },
    );
    await done(ctx, `Service pruned from the data plane and from status`, started);
  }

  // 4. Delete the Release.
  {
    step(
      ctx,
      4,
      'Delete the Release',
      `Its finalizer holds it until the controller has deleted every object it applied; the namespace ${ns} stays.`,
      `kubectl --kubeconfig $CP -n ${rel.namespace} delete release ${rel.name}`,
    );
    const started = performance.now();
    await ctx.cpKube.delete(API_VERSION, 'Release', rel.namespace, rel.name);
    const selector = `${Labels.releaseName}=${rel.name}`;
    await ctx.tracker.until(
      'the Release to be gone and the data plane to be empty',
      async () => {
        const names = (kind: string, objects: KubeObject[]) =>
          objects.map((o) => `${kind}/${o.metadata.name}`);
        const left = [
          ...names('Deployment', await ctx.dpKube.list('apps/v1', 'Deployment', ns, selector)),
          ...names('Service', await ctx.dpKube.list('v1', 'Service', ns, selector)),
          ...names('Pod', await ctx.dpKube.list('v1', 'Pod', ns)),
        ];
        if (left.length > 0) throw new Error(`still on the data plane: ${left.join(', ')}`);
        return ctx.tracker.latest === undefined;
      },
      { timeoutMs: Timeouts.step, pollMs: 500 },
    );
    await done(ctx, `the Release is gone and ${ns} on the data plane is empty`, started);
  }
}

/** isSettled tells whether the controller has caught up with the Release and reports it Ready. */
export function isSettled(release: Release | undefined): boolean {
  if (!release?.status) return false;
  const ready = release.status.conditions?.find((c) => c.type === 'Ready');
  const generation = release.metadata.generation ?? 0;
  return (
    ready?.status === 'True' &&
    (ready.observedGeneration ?? 0) >= generation &&
    (release.status.observedGeneration ?? generation) >= generation
  );
}

function resourceOf(samples: Samples, kind: string): { id: string; name: string } {
  const r = (samples.release.spec.resources ?? []).find((x) => x.object['kind'] === kind);
  const name = (r?.object['metadata'] as { name?: string } | undefined)?.name;
  if (!r || !name) throw new Error(`config/samples/release.yaml has no ${kind}; restore it from git`);
  return { id: r.id, name };
}

async function resourceIndex(ctx: DemoContext, id: string): Promise<number> {
  const { namespace, name } = ctx.samples.release.metadata;
  const release = await ctx.cpKube.get<Release & KubeObject>(API_VERSION, 'Release', namespace, name);
  const index = release?.spec.resources?.findIndex((r) => r.id === id) ?? -1;
  if (index < 0) throw new Error(`Release ${namespace}/${name} has no resource "${id}"; re-run the demo`);
  return index;
}

async function patchRelease(ctx: DemoContext, patch: unknown[]): Promise<Release> {
  const { namespace, name } = ctx.samples.release.metadata;
  const info = await ctx.cpKube.discovery.resolve({ group: GROUP, version: VERSION, kind: 'Release' });
  return ctx.cpKube.client.request<Release>({
    method: 'PATCH',
    path: objectPath(info, namespace, name),
    query: { fieldManager: FIELD_MANAGER },
    body: patch,
    contentType: 'application/json-patch+json',
  });
}

function step(ctx: DemoContext, n: number, title: string, why: string, command: string): void {
  ctx.view.log('');
  ctx.view.log(`${n}. ${title}`);
  ctx.view.log(`   ${why}`);
  ctx.view.log(`    $ ${command}`);
}

async function done(ctx: DemoContext, what: string, started: number): Promise<void> {
  const ms = performance.now() - started;
  ctx.view.log(`   ✓ ${what} in ${ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`}`);
  // On a terminal, give the reader a moment before the next step scrolls the table.
  if (ctx.view.tty) await new Promise((r) => setTimeout(r, TTY_PAUSE_MS));
}

function short(uid: string | undefined): string {
  return (uid ?? '').slice(0, 8);
}

/** waitFor retries `check` every 250 ms until it returns true, for waits no watch covers. */
async function waitFor(description: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    try {
      if (await check()) return;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    if (Date.now() >= deadline) {
      throw new Error(
        `timed out after ${timeoutMs / 1000} s waiting for ${description}${last ? ` (${last})` : ''}`,
      );
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}
