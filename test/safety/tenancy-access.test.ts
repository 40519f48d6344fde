/**
 * Tenancy access (issue "Tenancy", invariants 6 and 7, and the DataPlane limit), on the shared data
 * plane with the controller's default flags (multi-tenant):
 * - impersonation per organization on a real RBAC API server: a TenantPolicy makes every request of
 *   its organizations act as `openchoreo:org:{organization}`; the data plane's RBAC grants each
 *   organization its own namespace only, so writing into the other's shows the data plane's
 *   Forbidden, while its own is Ready;
 * - a Secret the operator did not mark as data-plane credentials is neither used nor protected, and
 *   the refusal says what the operator must do; once marked, it is used;
 * - inline credentials, `insecure-skip-tls-verify` and another organization's tunnel agent are
 *   refused by the safe default; a DataPlane beyond the policy's limit is refused naming it.
 * No refusal quotes the server of a kubeconfig Secret.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { parse, stringify } from 'yaml';
import type { KubeObject } from '../../src/api/object.ts';
import { Annotations, API_VERSION, IN_USE_FINALIZER, TenancyKeys } from '../../src/api/v1alpha1/constants.ts';
import type { TenantPolicySpec } from '../../src/api/v1alpha1/tenancy.ts';
import { eventually } from '../support/eventually.ts';
import {
  condition,
  configMap,
  createOrg,
  credentialsLabels,
  dataPlaneObject,
  deleteRelease,
  environmentObject,
  getRelease,
  releaseObject,
  uniqueName,
  waitReady,
  type Org,
} from '../support/fixtures.ts';
import { integrationSuite } from '../support/suite.ts';
import type { TestKube } from '../support/kube.ts';

const RBAC = 'rbac.authorization.k8s.io/v1';
const FAST = { interval: '1s', progressingInterval: '1s' };
/**
 * REFUSED is a Release whose DataPlane is refused: with no usable data plane its cleanup cannot be
 * confirmed, so it is let go without one (it applied nothing).
 */
const REFUSED = { ...FAST, annotations: { [Annotations.deletionPolicy]: 'Orphan' } };
const ORGS_GROUP = 'openchoreo:orgs';

/** refusal waits until a Release's ResourcesApplied is False with `reason`, and returns its message. */
async function refusal(cp: TestKube, org: Pick<Org, 'namespace'>, name: string, reason: string) {
  const applied = await eventually(
    async () => {
      const c = condition(await getRelease(cp, org.namespace, name), 'ResourcesApplied');
      assert.equal(c?.reason, reason, `ResourcesApplied: ${JSON.stringify(c)}`);
      return c;
    },
    { timeoutMs: 60_000, description: `Release ${org.namespace}/${name} to be refused with ${reason}` },
  );
  return applied?.message ?? '';
}

describe('tenancy: data-plane access', () => {
  const suite = integrationSuite({ org: false, controllerArgs: ['--single-tenant=false'] });
  const id = uniqueName('access');
  const policy = `${id}-impersonating`;
  const cleanup: Array<() => Promise<unknown>> = [];
  let orgA: Org;
  let orgB: Org;
  const nsOf = (org: Org) => `${id}-${org.namespace}`;

  before(async () => {
    const { cp, dp, clusters } = suite;
    orgA = await createOrg(cp, clusters.dp);
    orgB = await createOrg(cp, clusters.dp);
    // One policy for both: the identity differs by organization only through {organization}.
    const spec: TenantPolicySpec = {
      organizations: { names: [orgA.namespace, orgB.namespace] },
      namespaces: { allow: [`${id}-*`] },
      impersonation: { user: 'openchoreo:org:{organization}', groups: [ORGS_GROUP] },
      limits: { dataPlanesPerOrganization: 1 },
    };
    await cp.create({ apiVersion: API_VERSION, kind: 'TenantPolicy', metadata: { name: policy }, spec });
    cleanup.push(() => cp.delete(API_VERSION, 'TenantPolicy', undefined, policy));

    // The data plane's RBAC: what every organization's identity needs to read (the cluster's
    // identity, the namespaces it writes into, its watches), granted to the impersonated group, so
    // the test also proves Impersonate-Group is sent; and each organization's own namespace.
    const create = async (obj: KubeObject) => {
      await dp.create(obj);
      if (!obj.metadata.namespace)
        cleanup.push(() => dp.delete(RBAC, obj.kind, undefined, obj.metadata.name ?? ''));
    };
    await create({
      apiVersion: RBAC,
      kind: 'ClusterRole',
      metadata: { name: `${id}-read` },
      rules: [
        { apiGroups: [''], resources: ['namespaces'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: [''], resources: ['configmaps'], verbs: ['list', 'watch'] },
      ],
    });
    await create({
      apiVersion: RBAC,
      kind: 'ClusterRoleBinding',
      metadata: { name: `${id}-read` },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: `${id}-read` },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: ORGS_GROUP }],
    });
    for (const org of [orgA, orgB]) {
      const namespace = nsOf(org);
      await dp.ensureNamespace(namespace);
      await create({
        apiVersion: RBAC,
        kind: 'Role',
        metadata: { name: 'configmaps', namespace },
        rules: [
          {
            apiGroups: [''],
            resources: ['configmaps'],
            verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'],
          },
        ],
      });
      await create({
        apiVersion: RBAC,
        kind: 'RoleBinding',
        metadata: { name: 'configmaps', namespace },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'configmaps' },
        subjects: [
          { apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: `openchoreo:org:${org.namespace}` },
        ],
      });
    }
  });

  after(async () => {
    if (!suite.ready) return;
    for (const undo of cleanup.reverse()) await undo();
  });

  test("each organization acts as its policy's identity: the data plane's Forbidden in the other's namespace, Ready in its own", async () => {
    const { cp, dp } = suite;
    const intruding = uniqueName('intrude');
    await cp.create(releaseObject(orgA, intruding, [configMap('cm', nsOf(orgB), 'intruder')], FAST));
    const message = await refusal(cp, orgA, intruding, 'ApplyFailed');
    assert.match(message, /forbidden/i);
    assert.match(
      message,
      new RegExp(`User "openchoreo:org:${orgA.namespace}" cannot`),
      "the data plane names organization A's identity",
    );
    assert.equal(await dp.get('v1', 'ConfigMap', nsOf(orgB), 'intruder'), undefined, 'nothing was written');

    // The same controller, the same admin credentials: each organization's own namespace works.
    for (const org of [orgA, orgB]) {
      const own = uniqueName('own');
      await cp.create(releaseObject(org, own, [configMap('cm', nsOf(org), own)], FAST));
      await waitReady(cp, org, own);
      assert.ok(await dp.get('v1', 'ConfigMap', nsOf(org), own), `the ConfigMap is in ${nsOf(org)}`);
      await deleteRelease(cp, org.namespace, own);
      assert.equal(
        await dp.get('v1', 'ConfigMap', nsOf(org), own),
        undefined,
        'cleaned up as the organization',
      );
    }
    await deleteRelease(cp, orgA.namespace, intruding);
  });

  test("a DataPlane beyond the policy's limit is refused, naming the limit; the oldest keeps working", async () => {
    const { cp, clusters } = suite;
    const extra = uniqueName('extra');
    await cp.create({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: `${extra}-kubeconfig`,
        namespace: orgA.namespace,
        labels: credentialsLabels(clusters.dp.name),
      },
      data: { kubeconfig: (await readFile(clusters.dp.kubeconfigPath)).toString('base64') },
    });
    await cp.create(dataPlaneObject(orgA.namespace, extra, clusters.dp, 'secret'));
    await cp.create(environmentObject(orgA.namespace, extra, extra));
    const name = uniqueName('rel');
    await cp.create(
      releaseObject({ ...orgA, environment: extra }, name, [configMap('cm', nsOf(orgA), name)], REFUSED),
    );
    const message = await refusal(cp, orgA, name, 'DataPlaneInvalid');
    assert.equal(
      message,
      `DataPlane ${orgA.namespace}/${extra}: the organization has 2 DataPlanes and TenantPolicy ${policy} (spec.limits.dataPlanesPerOrganization) allows 1; this one is beyond the limit (the oldest count first), so it is not used. Delete a DataPlane the organization no longer needs, or ask the platform operator to raise the limit`,
    );
    const oldest = uniqueName('oldest');
    await cp.create(releaseObject(orgA, oldest, [configMap('cm', nsOf(orgA), oldest)], FAST));
    await waitReady(cp, orgA, oldest);
    await deleteRelease(cp, orgA.namespace, oldest);
    await deleteRelease(cp, orgA.namespace, name);
    await cp.delete(API_VERSION, 'DataPlane', orgA.namespace, extra);
  });
});

describe('tenancy: credentials and tunnels under the safe default', () => {
  const suite = integrationSuite({ org: false, controllerArgs: ['--single-tenant=false'] });

  /** orgWith makes an organization (no TenantPolicy selects it) whose DataPlane is `dataPlane`, plus a Secret when given. */
  const orgWith = async (
    dataPlane: (namespace: string) => KubeObject,
    secret?: { labels?: Record<string, string>; kubeconfig: string },
  ): Promise<Org> => {
    const { cp } = suite;
    const namespace = uniqueName('org');
    await cp.ensureNamespace(namespace);
    if (secret)
      await cp.create({
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'dp-kubeconfig', namespace, ...(secret.labels ? { labels: secret.labels } : {}) },
        data: { kubeconfig: secret.kubeconfig },
      });
    await cp.create(dataPlane(namespace));
    await cp.create(environmentObject(namespace, 'production', 'dp'));
    return { namespace, environment: 'production', dataPlane: 'dp' };
  };
  const adminKubeconfig = async () => (await readFile(suite.clusters.dp.kubeconfigPath)).toString('base64');
  const withSecret = (namespace: string) =>
    dataPlaneObject(namespace, 'dp', suite.clusters.dp, 'secret', 'dp-kubeconfig');
  /** server is the data plane's address, which no refusal may quote. */
  const server = () => new URL(suite.clusters.dp.server).host;

  test('a Secret without the credentials label is neither used nor protected; once the operator marks it, it is', async () => {
    const { cp, clusters } = suite;
    const org = await orgWith(withSecret, { kubeconfig: await adminKubeconfig() });
    const name = uniqueName('rel');
    await cp.create(releaseObject(org, name, [configMap('cm', uniqueName('own'), name)], FAST));
    const message = await refusal(cp, org, name, 'DataPlaneInvalid');
    assert.equal(
      message,
      `DataPlane ${org.namespace}/dp: Secret ${org.namespace}/dp-kubeconfig (spec.kubernetesCluster.secretRef) is not marked as data-plane credentials, so the controller neither uses nor protects it (no TenantPolicy selects organization ${org.namespace}, so the safe default applies). If the platform operator made it for this organization, the operator marks it with the cluster's name: kubectl label secret -n ${org.namespace} dp-kubeconfig ${TenancyKeys.dataPlaneCredentials}=<cluster>`,
    );
    assert.ok(!message.includes(server()), 'the server is not quoted');
    // The protection pass of the namespace has run once the Environment is protected: the
    // unmarked Secret got neither our finalizer nor our label.
    await eventually(
      async () => {
        const env = await cp.get(API_VERSION, 'Environment', org.namespace, 'production');
        assert.ok(env?.metadata.finalizers?.includes(IN_USE_FINALIZER), 'the Environment is protected');
      },
      { timeoutMs: 30_000, description: 'the Environment to be protected' },
    );
    const unmarked = await cp.get('v1', 'Secret', org.namespace, 'dp-kubeconfig');
    assert.deepEqual(unmarked?.metadata.finalizers ?? [], [], 'no finalizer on the unmarked Secret');
    assert.deepEqual(Object.keys(unmarked?.metadata.labels ?? {}), [], 'no label on the unmarked Secret');

    // The operator marks it: the change alone makes the Release use it, and protects it.
    await cp.patch('v1', 'Secret', org.namespace, 'dp-kubeconfig', {
      metadata: { labels: credentialsLabels(clusters.dp.name) },
    });
    await waitReady(cp, org, name);
    await eventually(
      async () => {
        const marked = await cp.get('v1', 'Secret', org.namespace, 'dp-kubeconfig');
        assert.ok(marked?.metadata.finalizers?.includes(IN_USE_FINALIZER), 'the marked Secret is protected');
      },
      { timeoutMs: 30_000, description: 'the marked Secret to be protected' },
    );
    await deleteRelease(cp, org.namespace, name);
  });

  test('inline credentials are refused by the safe default, naming the field and the TenantPolicy switch', async () => {
    const { cp } = suite;
    const org = await orgWith((namespace) => dataPlaneObject(namespace, 'dp', suite.clusters.dp, 'inline'));
    const name = uniqueName('rel');
    await cp.create(releaseObject(org, name, [configMap('cm', uniqueName('own'), name)], REFUSED));
    const message = await refusal(cp, org, name, 'DataPlaneInvalid');
    assert.match(
      message,
      new RegExp(
        `^DataPlane ${org.namespace}/dp: spec\\.kubernetesCluster\\.credentials \\(inline credentials\\) are refused by the safe default: .*TenantPolicy spec\\.inlineCredentials: Allowed\\)$`,
      ),
    );
    await deleteRelease(cp, org.namespace, name);
  });

  test('insecure-skip-tls-verify in a marked kubeconfig is refused by the safe default, quoting nothing of it', async () => {
    const { cp, clusters } = suite;
    const kubeconfig = parse(await readFile(clusters.dp.kubeconfigPath, 'utf8')) as {
      clusters: Array<{ cluster: Record<string, unknown> }>;
    };
    for (const c of kubeconfig.clusters) {
      delete c.cluster['certificate-authority-data'];
      c.cluster['insecure-skip-tls-verify'] = true;
    }
    const org = await orgWith(withSecret, {
      labels: credentialsLabels(clusters.dp.name),
      kubeconfig: Buffer.from(stringify(kubeconfig)).toString('base64'),
    });
    const name = uniqueName('rel');
    await cp.create(releaseObject(org, name, [configMap('cm', uniqueName('own'), name)], REFUSED));
    const message = await refusal(cp, org, name, 'DataPlaneInvalid');
    assert.match(
      message,
      new RegExp(
        `^DataPlane ${org.namespace}/dp: kubeconfig in Secret dp-kubeconfig sets clusters\\[\\]\\.cluster\\.insecure-skip-tls-verify, which the safe default refuses`,
      ),
    );
    assert.ok(!message.includes(server()), 'the server is not quoted');
    await deleteRelease(cp, org.namespace, name);
  });

  test("another organization's tunnel agent is refused: an organization routes only to its own", async () => {
    const { cp, clusters } = suite;
    const victim = uniqueName('victim');
    const org = await orgWith(
      (namespace) => {
        const dp = withSecret(namespace) as KubeObject & {
          spec: { kubernetesCluster: Record<string, unknown> };
        };
        dp.spec.kubernetesCluster['tunnel'] = { host: victim };
        return dp;
      },
      { labels: credentialsLabels(clusters.dp.name), kubeconfig: await adminKubeconfig() },
    );
    const name = uniqueName('rel');
    await cp.create(releaseObject(org, name, [configMap('cm', uniqueName('own'), name)], REFUSED));
    const message = await refusal(cp, org, name, 'DataPlaneInvalid');
    assert.equal(
      message,
      `DataPlane ${org.namespace}/dp: spec.kubernetesCluster.tunnel.host ${victim} is not an agent of organization ${org.namespace} by the safe default (${org.namespace} or ${org.namespace}.*), so it is not used: an organization routes only to its own agents. Use the host of the agent the platform operator started for the organization`,
    );
    await deleteRelease(cp, org.namespace, name);
  });
});
