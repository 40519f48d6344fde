/**
 * Fixtures: an organization namespace with a DataPlane (reaching the data-plane test cluster by a
 * kubeconfig Secret or by inline certificates) and an Environment, and Release builders.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { Cluster } from '../../testbed/cluster.ts';
import type { KubeObject } from '../../src/api/object.ts';
import { API_VERSION, TenancyKeys } from '../../src/api/v1alpha1/constants.ts';
import type { Release, ReleaseResource } from '../../src/api/v1alpha1/schema.ts';
import { ALL_CRDS } from '../../src/api/v1alpha1/crd.ts';
import { eventually } from './eventually.ts';
import type { TestKube } from './kube.ts';

const ROOT = resolve(import.meta.dirname, '../..');

/** uniqueName returns a DNS-label name with a random suffix. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(3).toString('hex')}`;
}

/** installCRDs applies the generated CRDs and waits until Releases are served. */
export async function installCRDs(cp: TestKube): Promise<void> {
  for (const { crd } of ALL_CRDS) await cp.apply(crd as unknown as KubeObject, 'test-crds');
  await eventually(
    async () => {
      const doc = await cp.client.request<{ resources: Array<{ name: string }> }>({
        method: 'GET',
        path: `/apis/${API_VERSION}`,
      });
      return ['releases', 'environments', 'dataplanes', 'healthrules'].every((r) =>
        doc.resources.some((x) => x.name === r),
      );
    },
    { timeoutMs: 30_000, description: 'the CRDs to be served' },
  );
}

/**
 * credentialsLabels mark a kubeconfig Secret as data-plane credentials of a cluster, as the platform
 * operator does (docs/tenancy.md): outside --single-tenant, the controller uses no other Secret.
 */
export function credentialsLabels(cluster: string): Record<string, string> {
  return { [TenancyKeys.dataPlaneCredentials]: cluster };
}

/** OrgOptions chooses how the DataPlane reaches its cluster. */
export interface OrgOptions {
  credentials?: 'secret' | 'inline';
  environment?: string;
  dataPlane?: string;
}

/** Org is an organization namespace with its Environment and DataPlane. */
export interface Org {
  namespace: string;
  environment: string;
  dataPlane: string;
}

/** dataPlaneObject is a DataPlane for a test cluster. */
export function dataPlaneObject(
  namespace: string,
  name: string,
  dp: Cluster,
  credentials: 'secret' | 'inline',
  secretName = `${name}-kubeconfig`,
): KubeObject {
  return {
    apiVersion: API_VERSION,
    kind: 'DataPlane',
    metadata: { name, namespace },
    spec: {
      kubernetesCluster:
        credentials === 'secret'
          ? { name: dp.name, secretRef: { name: secretName } }
          : {
              name: dp.name,
              credentials: {
                apiServerURL: dp.server,
                caCert: dp.caData,
                clientCert: dp.certData,
                clientKey: dp.keyData,
              },
            },
    },
  };
}

/** createOrg creates an organization namespace, its DataPlane (and Secret) and Environment. */
export async function createOrg(cp: TestKube, dp: Cluster, options: OrgOptions = {}): Promise<Org> {
  const namespace = uniqueName('org');
  const environment = options.environment ?? 'production';
  const dataPlane = options.dataPlane ?? 'dp';
  const credentials = options.credentials ?? 'secret';
  await cp.ensureNamespace(namespace);
  if (credentials === 'secret') {
    const kubeconfig = await readFile(dp.kubeconfigPath);
    await cp.create({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: `${dataPlane}-kubeconfig`, namespace, labels: credentialsLabels(dp.name) },
      data: { kubeconfig: kubeconfig.toString('base64') },
    });
  }
  await cp.create(dataPlaneObject(namespace, dataPlane, dp, credentials));
  await cp.create(environmentObject(namespace, environment, dataPlane));
  return { namespace, environment, dataPlane };
}

/** environmentObject is an Environment naming a DataPlane. */
export function environmentObject(namespace: string, name: string, dataPlane: string): KubeObject {
  return {
    apiVersion: API_VERSION,
    kind: 'Environment',
    metadata: { name, namespace },
    spec: { dataPlaneRef: dataPlane, isProduction: true },
  };
}

/** releaseObject builds a Release. */
export function releaseObject(
  org: Pick<Org, 'namespace' | 'environment'>,
  name: string,
  resources: ReleaseResource[],
  extra: { interval?: string; progressingInterval?: string; annotations?: Record<string, string> } = {},
): Release {
  return {
    apiVersion: API_VERSION,
    kind: 'Release',
    metadata: { name, namespace: org.namespace, annotations: extra.annotations },
    spec: {
      owner: { projectName: 'my-project', componentName: 'customer-service' },
      environmentName: org.environment,
      resources,
      ...(extra.interval ? { interval: extra.interval } : {}),
      ...(extra.progressingInterval ? { progressingInterval: extra.progressingInterval } : {}),
    },
  };
}

/** sampleResources are the specification's example Deployment and Service, in a given namespace. */
export async function sampleResources(namespace: string): Promise<ReleaseResource[]> {
  const text = await readFile(join(ROOT, 'config/samples/release.yaml'), 'utf8');
  const release = parseAllDocuments(text)
    .map((d) => d.toJS() as Release)
    .find((d) => d.kind === 'Release');
  if (!release?.spec.resources) throw new Error('config/samples/release.yaml has no Release');
  return release.spec.resources.map((r) => {
    const object = structuredClone(r.object) as KubeObject;
    object.metadata.namespace = namespace;
    return { id: r.id, object };
  });
}

/** getRelease reads a Release. */
export function getRelease(cp: TestKube, namespace: string, name: string): Promise<Release | undefined> {
  return cp.get<Release>(API_VERSION, 'Release', namespace, name);
}

/** condition returns one condition of a Release. */
export function condition(release: Release | undefined, type: string) {
  return release?.status?.conditions?.find((c) => c.type === type);
}

/** waitReady waits until a Release's Ready condition is True and returns the Release. */
/** deleteRelease deletes a Release and waits until it is gone (its cleanup finished and its finalizer removed). */
export async function deleteRelease(
  cp: TestKube,
  namespace: string,
  name: string,
  timeoutMs = 30_000,
): Promise<void> {
  await cp.delete(API_VERSION, 'Release', namespace, name);
  // assert.ok, not assert.equal(release, undefined): an equality assertion renders a diff of the
  // whole Release on every failed poll, and for a Release of 1000 resources that diff alone took a
  // test process to 20 GiB.
  await eventually(
    async () =>
      assert.ok(
        (await getRelease(cp, namespace, name)) === undefined,
        `Release ${namespace}/${name} is gone`,
      ),
    { timeoutMs, description: `Release ${namespace}/${name} to be deleted` },
  );
}

/** isGone tells whether an object no longer exists or is being deleted. */
export function isGone(obj: KubeObject | undefined): boolean {
  return !obj || obj.metadata.deletionTimestamp !== undefined;
}

export async function waitReady(cp: TestKube, org: Pick<Org, 'namespace'>, name: string): Promise<Release> {
  return eventually(
    async () => {
      const release = await getRelease(cp, org.namespace, name);
      const conditions = JSON.stringify(release?.status?.conditions);
      assert.equal(condition(release, 'Ready')?.status, 'True', `Ready is not True: ${conditions}`);
      return release!;
    },
    { description: `Release ${org.namespace}/${name} to be Ready` },
  );
}

/** configMap builds a ConfigMap resource. */
export function configMap(
  id: string,
  namespace: string,
  name: string,
  data: Record<string, string> = { key: 'value' },
): ReleaseResource {
  return { id, object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace }, data } };
}
