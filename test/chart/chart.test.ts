/**
 * The Helm chart (charts/release-controller) against a real API server of the test bed: it lints,
 * renders manifests the API server accepts (server-side dry-run), installs, and its RBAC is enough
 * for the real controller to reconcile a Release as the chart's ServiceAccount. Also checks that
 * the chart's CRDs and config/rbac stay copies of their single sources.
 *
 *   node --import tsx --test test/chart/chart.test.ts
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseAllDocuments, stringify } from 'yaml';
import { API_VERSION, ConditionTypes } from '../../src/api/v1alpha1/constants.ts';
import type { Cluster } from '../../testbed/cluster.ts';
import { kubectl, up } from '../../testbed/cluster.ts';
import { helm, HelmError, helmPath } from '../../testbed/helm.ts';
import { startTestController } from '../support/controller.ts';
import { eventually } from '../support/eventually.ts';
import {
  condition,
  configMap,
  createOrg,
  getRelease,
  releaseObject,
  uniqueName,
} from '../support/fixtures.ts';
import { TestKube } from '../support/kube.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const CHART = join(ROOT, 'charts/release-controller');
const CHART_CRDS = join(CHART, 'files/crds');
const CONFIG_CRDS = join(ROOT, 'config/crd');
const NAMESPACE = 'rc-system';
const RELEASE = 'rc';
const FULLNAME = 'rc-release-controller';

/** Manifest is one rendered object, loosely typed. */
interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  [field: string]: unknown;
}

interface Container {
  name: string;
  args?: string[];
  ports?: Array<{ name: string; containerPort: number }>;
  livenessProbe?: { httpGet?: { path: string; port: string | number } };
  readinessProbe?: { httpGet?: { path: string; port: string | number } };
  resources?: unknown;
  securityContext?: Record<string, unknown>;
}

interface DeploymentManifest extends Manifest {
  spec: {
    replicas: number;
    strategy: { type: string };
    template: {
      spec: {
        serviceAccountName: string;
        terminationGracePeriodSeconds: number;
        securityContext: Record<string, unknown>;
        containers: Container[];
      };
    };
  };
}

function parseManifests(text: string): Manifest[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS() as Manifest | null)
    .filter((m): m is Manifest => m !== null && typeof m === 'object');
}

function render(values: string[] = []): Promise<string> {
  return helm(['template', RELEASE, CHART, '--namespace', NAMESPACE, ...values.flatMap((v) => ['--set', v])]);
}

function ofKind<T extends Manifest = Manifest>(manifests: Manifest[], kind: string): T[] {
  return manifests.filter((m) => m.kind === kind) as T[];
}

function container(d: DeploymentManifest): Container {
  const c = d.spec.template.spec.containers[0];
  assert.ok(c, `Deployment ${d.metadata.name} has no container`);
  return c;
}

function flag(c: Container, name: string): string | undefined {
  const prefix = `--${name}=`;
  return c.args?.find((a) => a.startsWith(prefix))?.slice(prefix.length);
}

async function configCrds(): Promise<Map<string, Manifest>> {
  const crds = new Map<string, Manifest>();
  for (const file of (await readdir(CONFIG_CRDS)).filter((f) => f.endsWith('.yaml'))) {
    for (const m of parseManifests(await readFile(join(CONFIG_CRDS, file), 'utf8')))
      crds.set(m.metadata.name, m);
  }
  return crds;
}

describe('chart sources', () => {
  it('has byte-for-byte copies of config/crd as its CRDs', async () => {
    const yaml = (files: string[]) => files.filter((f) => f.endsWith('.yaml')).sort();
    const config = yaml(await readdir(CONFIG_CRDS));
    const chart = yaml(await readdir(CHART_CRDS));
    const fix =
      'run: rm -f charts/release-controller/files/crds/*.yaml && cp config/crd/*.yaml charts/release-controller/files/crds/';
    assert.deepEqual(chart, config, `the chart's CRD files differ from config/crd; ${fix}`);
    for (const file of config) {
      const [want, got] = await Promise.all([
        readFile(join(CONFIG_CRDS, file), 'utf8'),
        readFile(join(CHART_CRDS, file), 'utf8'),
      ]);
      assert.ok(got === want, `charts/release-controller/files/crds/${file} differs from config/crd; ${fix}`);
    }
  });
});

describe('chart on a real API server', () => {
  let cluster: Cluster;
  let kube: TestKube;

  before(async () => {
    cluster = await up(`rc-chart-${process.pid}`);
    kube = new TestKube(cluster);
  });

  after(async () => {
    await kube?.close();
    await cluster?.down();
  });

  it('passes helm lint --strict with default, sharded and single-replica values', async () => {
    await helm(['lint', '--strict', CHART]);
    await helm(['lint', '--strict', CHART, '--set', 'sharding.count=3', '--set', 'replicas=2']);
    await helm([
      'lint',
      '--strict',
      CHART,
      '--set',
      'leaderElection.enabled=false',
      '--set',
      'crds.install=false',
    ]);
  });

  it('renders the CRDs of config/crd, marked to survive helm uninstall', async () => {
    const rendered = ofKind(parseManifests(await render()), 'CustomResourceDefinition');
    const want = await configCrds();
    assert.deepEqual(rendered.map((c) => c.metadata.name).sort(), [...want.keys()].sort());
    for (const crd of rendered) {
      assert.equal(crd.metadata.annotations?.['helm.sh/resource-policy'], 'keep');
      const { labels: _labels, annotations: _annotations, ...metadata } = crd.metadata;
      assert.deepEqual({ ...crd, metadata }, want.get(crd.metadata.name), `CRD ${crd.metadata.name}`);
    }
    const without = parseManifests(await render(['crds.install=false']));
    assert.equal(ofKind(without, 'CustomResourceDefinition').length, 0);
  });

  it('has the same ClusterRole rules as config/rbac/role.yaml', async () => {
    const [chartRole] = ofKind(parseManifests(await render()), 'ClusterRole');
    const [plainRole] = parseManifests(await readFile(join(ROOT, 'config/rbac/role.yaml'), 'utf8'));
    assert.ok(chartRole && plainRole, 'expected chartRole && plainRole');
    assert.equal(plainRole.kind, 'ClusterRole');
    assert.deepEqual(chartRole['rules'], plainRole['rules']);
    const [chartLeaseRole] = ofKind(parseManifests(await render()), 'Role');
    const [plainLeaseRole] = parseManifests(
      await readFile(join(ROOT, 'config/rbac/leader_election_role.yaml'), 'utf8'),
    );
    assert.deepEqual(chartLeaseRole?.['rules'], plainLeaseRole?.['rules']);
  });

  it('renders the HealthRules of values.healthRules (CEL and a multi-line Lua script) and refuses a malformed one', async () => {
    const values = join(await mkdtemp(join(tmpdir(), 'rc-chart-')), 'rules.yaml');
    const lua = 'hs = {}\nif obj.status ~= nil then\n  hs.status = "Healthy"\nend\nreturn hs\n';
    await writeFile(
      values,
      JSON.stringify({
        healthRules: [
          {
            name: 'certificates',
            apiVersion: 'cert-manager.io',
            kind: 'Certificate',
            cel: {
              current: 'status.?conditions.orValue([]).exists(c, c.type == "Ready" && c.status == "True")',
            },
          },
          { name: 'widgets', apiVersion: 'example.com/v1', kind: 'Widget', lua },
        ],
      }),
    );
    const rendered = ofKind(
      parseManifests(await helm(['template', RELEASE, CHART, '--namespace', NAMESPACE, '-f', values])),
      'HealthRule',
    );
    assert.deepEqual(
      rendered.map((r) => [r.apiVersion, r.metadata.name, r['spec']]),
      [
        [
          API_VERSION,
          'certificates',
          {
            apiVersion: 'cert-manager.io',
            kind: 'Certificate',
            cel: {
              current: 'status.?conditions.orValue([]).exists(c, c.type == "Ready" && c.status == "True")',
            },
          },
        ],
        [API_VERSION, 'widgets', { apiVersion: 'example.com/v1', kind: 'Widget', lua }],
      ],
    );
    assert.equal(rendered[0]?.metadata.labels?.['app.kubernetes.io/managed-by'], 'Helm');
    assert.equal(ofKind(parseManifests(await render()), 'HealthRule').length, 0, 'none by default');
    await writeFile(
      values,
      JSON.stringify({
        healthRules: [
          { name: 'both', apiVersion: 'v1', kind: 'Service', cel: { current: 'true' }, lua: 'x' },
        ],
      }),
    );
    await assert.rejects(helm(['template', RELEASE, CHART, '-f', values]), /healthRules|oneOf|both/);
  });

  it('renders a hardened Deployment whose flags come from the values', async () => {
    const manifests = parseManifests(await render());
    const [deployment, ...others] = ofKind<DeploymentManifest>(manifests, 'Deployment');
    assert.ok(deployment, 'expected deployment');
    assert.equal(others.length, 0);
    assert.equal(deployment.metadata.name, FULLNAME);
    assert.equal(deployment.metadata.namespace, NAMESPACE);
    const pod = deployment.spec.template.spec;
    const c = container(deployment);
    assert.equal(pod.serviceAccountName, FULLNAME);
    // Above the controller's 25 s shutdown grace, so it finishes reconciles and releases its Lease.
    assert.equal(pod.terminationGracePeriodSeconds, 30);
    assert.equal(flag(c, 'shutdown-grace-period'), '25s');
    assert.deepEqual(pod.securityContext['seccompProfile'], { type: 'RuntimeDefault' });
    assert.equal(pod.securityContext['runAsNonRoot'], true);
    assert.equal(pod.securityContext['runAsUser'], 65532);
    assert.deepEqual(c.securityContext, {
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      runAsUser: 65532,
      capabilities: { drop: ['ALL'] },
    });
    assert.deepEqual(c.livenessProbe?.httpGet, { path: '/healthz', port: 'probes' });
    assert.deepEqual(c.readinessProbe?.httpGet, { path: '/readyz', port: 'probes' });
    assert.deepEqual(
      c.ports?.map((p) => [p.name, p.containerPort]),
      [
        ['metrics', 8080],
        ['probes', 8081],
      ],
    );
    assert.deepEqual(c.resources, {
      requests: { cpu: '100m', memory: '128Mi' },
      limits: { memory: '512Mi' },
    });
    assert.equal(flag(c, 'leader-elect'), 'true');
    assert.equal(flag(c, 'leader-election-namespace'), NAMESPACE);
    assert.equal(flag(c, 'metrics-bind-address'), ':8080');
    assert.equal(flag(c, 'health-probe-bind-address'), ':8081');
    assert.equal(flag(c, 'shard-count'), '1');
    // Inside a pod loopback is the controller's own: the chart denies it besides the metadata ranges.
    assert.equal(
      flag(c, 'dataplane-denied-cidrs'),
      '169.254.0.0/16,fe80::/10,fd00:ec2::254/128,100.100.100.200/32,127.0.0.0/8,0.0.0.0/8,::1/128,::/128',
    );
    assert.equal(flag(c, 'dataplane-allow-http'), 'false');
    assert.equal(deployment.spec.strategy.type, 'RollingUpdate');
    const [service] = ofKind(manifests, 'Service');
    assert.equal(service?.metadata.name, `${FULLNAME}-metrics`);

    const noElection = ofKind<DeploymentManifest>(
      parseManifests(await render(['leaderElection.enabled=false', 'logLevel=debug', 'concurrency=8'])),
      'Deployment',
    );
    assert.equal(noElection[0]?.spec.strategy.type, 'Recreate');
    const c2 = noElection[0] && container(noElection[0]);
    assert.ok(c2, 'expected c2');
    assert.equal(flag(c2, 'leader-elect'), 'false');
    assert.equal(flag(c2, 'log-level'), 'debug');
    assert.equal(flag(c2, 'concurrency'), '8');
  });

  it('renders one Deployment per shard, each with its index, or only the shard named by sharding.index', async () => {
    const deployments = ofKind<DeploymentManifest>(
      parseManifests(await render(['sharding.count=3', 'replicas=2'])),
      'Deployment',
    );
    assert.deepEqual(
      deployments.map((d) => [
        d.metadata.name,
        flag(container(d), 'shard-index'),
        flag(container(d), 'shard-count'),
      ]),
      [0, 1, 2].map((i) => [`${FULLNAME}-shard-${i}`, String(i), '3']),
    );
    for (const d of deployments) assert.equal(d.spec.replicas, 2);
    const one = ofKind<DeploymentManifest>(
      parseManifests(await render(['sharding.count=3', 'sharding.index=1'])),
      'Deployment',
    );
    assert.deepEqual(
      one.map((d) => [d.metadata.name, flag(container(d), 'shard-index')]),
      [[`${FULLNAME}-shard-1`, '1']],
    );
  });

  it('refuses values that would run two active controllers, a shard outside the count or a misspelt key', async () => {
    await assert.rejects(render(['replicas=2', 'leaderElection.enabled=false']), (err: unknown) => {
      assert.ok(err instanceof HelmError, 'expected err instanceof HelmError');
      assert.match(err.stderr, /replicas > 1 needs leaderElection.enabled=true/);
      return true;
    });
    await assert.rejects(render(['sharding.count=2', 'sharding.index=2']), /sharding.index must be between/);
    // values.schema.json catches these before the templates do.
    await assert.rejects(render(['sharding.count=0']), /sharding\/count/);
    await assert.rejects(render(['shardng.count=2']), /additional properties 'shardng' not allowed/);
  });

  it('renders the optional ServiceMonitor, PodDisruptionBudgets and NetworkPolicy only when asked; the API server accepts them', async () => {
    const kinds = ['ServiceMonitor', 'PodDisruptionBudget', 'NetworkPolicy'];
    const defaults = parseManifests(await render());
    for (const kind of kinds) assert.equal(ofKind(defaults, kind).length, 0, `no ${kind} by default`);
    const manifests = parseManifests(
      await render([
        'metrics.serviceMonitor.enabled=true',
        'metrics.serviceMonitor.labels.release=prometheus',
        'metrics.serviceMonitor.interval=30s',
        'podDisruptionBudget.enabled=true',
        'replicas=2',
        'sharding.count=2',
        'networkPolicy.enabled=true',
        'networkPolicy.egress.restrict=true',
        'tunnel.enabled=true',
        'tunnel.clientSecret=rc-tunnel-client',
        'tunnel.proxyServer.deploy=true',
        'tunnel.proxyServer.frontendSecret=rc-proxy-frontend',
        'tunnel.proxyServer.agentSecret=rc-proxy-agents',
      ]),
    );
    const selects = (selector: Record<string, string>, labels: Record<string, string> | undefined) =>
      Object.entries(selector).every(([k, v]) => labels?.[k] === v);
    type Selecting = Manifest & {
      spec: {
        selector?: { matchLabels: Record<string, string> };
        podSelector?: { matchLabels: Record<string, string> };
      } & Record<string, unknown>;
    };
    const podLabels = (d: DeploymentManifest) =>
      (d.spec.template as unknown as { metadata: { labels: Record<string, string> } }).metadata.labels;
    const deployments = ofKind<DeploymentManifest>(manifests, 'Deployment');

    // The ServiceMonitor scrapes the metrics Service alone, with the labels Prometheus selects it by.
    const [monitor] = ofKind<Selecting>(manifests, 'ServiceMonitor');
    assert.equal(monitor?.metadata.labels?.['release'], 'prometheus');
    const scraped = ofKind(manifests, 'Service').filter((svc) =>
      selects(monitor?.spec.selector?.matchLabels ?? {}, svc.metadata.labels),
    );
    assert.deepEqual(
      scraped.map((svc) => svc.metadata.name),
      [`${FULLNAME}-metrics`],
    );
    assert.deepEqual(monitor?.spec['endpoints'], [{ port: 'metrics', path: '/metrics', interval: '30s' }]);

    // One budget per shard, over that shard's pods.
    const budgets = ofKind<Selecting>(manifests, 'PodDisruptionBudget');
    assert.deepEqual(
      budgets.map((b) => b.metadata.name),
      [`${FULLNAME}-shard-0`, `${FULLNAME}-shard-1`],
    );
    for (const [i, budget] of budgets.entries()) {
      const covered = deployments.filter((d) =>
        selects(budget.spec.selector?.matchLabels ?? {}, podLabels(d)),
      );
      assert.deepEqual(
        covered.map((d) => d.metadata.name),
        [`${FULLNAME}-shard-${i}`],
      );
      assert.equal(budget.spec['maxUnavailable'], 1);
    }

    // The policy covers the controller pods of every shard, not the proxy server agents dial.
    const [policy] = ofKind<Selecting>(manifests, 'NetworkPolicy');
    const governed = deployments.filter((d) =>
      selects(policy?.spec.podSelector?.matchLabels ?? {}, podLabels(d)),
    );
    assert.deepEqual(
      governed.map((d) => d.metadata.name),
      [`${FULLNAME}-shard-0`, `${FULLNAME}-shard-1`],
    );
    assert.deepEqual(policy?.spec['policyTypes'], ['Ingress', 'Egress']);

    // The ServiceMonitor's CRD is prometheus-operator's, not on the test bed; the others are built in.
    await kube.ensureNamespace(NAMESPACE);
    const builtIn = manifests.filter((m) => m.kind === 'PodDisruptionBudget' || m.kind === 'NetworkPolicy');
    const out = await kubectl(
      cluster,
      [
        'apply',
        '--dry-run=server',
        '--server-side',
        '--field-manager=chart-test',
        '--validate=strict',
        '-f',
        '-',
      ],
      builtIn.map((m) => stringify(m)).join('---\n'),
    );
    assert.match(out, /poddisruptionbudget.policy\/rc-release-controller-shard-1 serverside-applied/);
    assert.match(out, /networkpolicy.networking.k8s.io\/rc-release-controller serverside-applied/);

    await assert.rejects(render(['podDisruptionBudget.enabled=true']), /needs replicas of 2 or more/);
    await assert.rejects(
      render(['metrics.serviceMonitor.enabled=true', 'metrics.service.enabled=false']),
      /needs metrics.enabled and metrics.service.enabled/,
    );
    await assert.rejects(render(['podDisruptionBudget.maxUnavailable=0']), /maxUnavailable/);
  });

  it('wires the tunnel: controller flags and client certificate, a destHost-only proxy server the controller Services do not select', async () => {
    const tunnel = [
      'tunnel.enabled=true',
      'tunnel.clientSecret=rc-tunnel-client',
      'tunnel.proxyServer.deploy=true',
      'tunnel.proxyServer.frontendSecret=rc-proxy-frontend',
      'tunnel.proxyServer.agentSecret=rc-proxy-agents',
    ];
    const manifests = parseManifests(await render(tunnel));
    const deployments = ofKind<DeploymentManifest>(manifests, 'Deployment');
    const controller = deployments.find((d) => d.metadata.name === FULLNAME);
    const proxy = deployments.find((d) => d.metadata.name === `${FULLNAME}-proxy-server`);
    assert.ok(controller && proxy, `Deployments: ${deployments.map((d) => d.metadata.name).join(', ')}`);
    const c = container(controller);
    assert.equal(flag(c, 'tunnel-proxy-address'), `${FULLNAME}-proxy-server.${NAMESPACE}.svc:8090`);
    assert.equal(flag(c, 'tunnel-proxy-cert-file'), '/etc/release-controller/tunnel/tls.crt');
    assert.match(JSON.stringify(controller.spec.template.spec), /"secretName":"rc-tunnel-client"/);
    const p = container(proxy);
    for (const want of [
      'mode=http-connect',
      'proxy-strategies=destHost',
      'server-ca-cert=/etc/proxy/frontend/ca.crt',
    ]) {
      assert.ok(p.args?.includes(`--${want}`), `proxy-server has --${want}: ${p.args?.join(' ')}`);
    }
    const services = ofKind(manifests, 'Service');
    const metrics = services.find((svc) => svc.metadata.name === `${FULLNAME}-metrics`);
    const proxyLabels = (proxy.spec.template as unknown as { metadata: { labels: Record<string, string> } })
      .metadata.labels;
    const selector = (metrics?.['spec'] as { selector: Record<string, string> }).selector;
    assert.ok(
      !Object.entries(selector).every(([k, v]) => proxyLabels[k] === v),
      'the metrics Service must not select the proxy server pod',
    );
    assert.deepEqual(services.map((svc) => svc.metadata.name).sort(), [
      `${FULLNAME}-metrics`,
      `${FULLNAME}-proxy-server`,
      `${FULLNAME}-proxy-server-agents`,
    ]);
    await kube.ensureNamespace(NAMESPACE);
    await kubectl(
      cluster,
      [
        'apply',
        '--dry-run=server',
        '--server-side',
        '--field-manager=chart-test',
        '--validate=strict',
        '-f',
        '-',
      ],
      await render(tunnel),
    );
    // An existing proxy server instead of the chart's.
    const external = ofKind<DeploymentManifest>(
      parseManifests(
        await render(['tunnel.enabled=true', 'tunnel.clientSecret=c', 'tunnel.address=proxy.example:8090']),
      ),
      'Deployment',
    );
    assert.deepEqual(
      external.map((d) => [d.metadata.name, flag(container(d), 'tunnel-proxy-address')]),
      [[FULLNAME, 'proxy.example:8090']],
    );
    // The documented data-plane side (config/tunnel/agent.yaml) is valid as written.
    await kube.ensureNamespace('release-controller-tunnel');
    await kubectl(
      cluster,
      [
        'apply',
        '--dry-run=server',
        '--server-side',
        '--field-manager=chart-test',
        '--validate=strict',
        '-f',
        '-',
      ],
      await readFile(join(ROOT, 'config/tunnel/agent.yaml'), 'utf8'),
    );
    await assert.rejects(
      render(['tunnel.enabled=true', 'tunnel.address=p:8090']),
      /needs tunnel.clientSecret/,
    );
    await assert.rejects(render(['tunnel.enabled=true', 'tunnel.clientSecret=c']), /needs tunnel.address/);
    await assert.rejects(render([...tunnel.slice(0, 3)]), /needs tunnel.proxyServer.frontendSecret/);
  });

  for (const [title, values] of [
    ['default values', []],
    [
      'leader election in another namespace and two shards',
      ['sharding.count=2', 'leaderElection.namespace=rc-leases'],
    ],
  ] as const) {
    it(`renders manifests the API server accepts (server-side dry-run): ${title}`, async () => {
      await kube.ensureNamespace(NAMESPACE);
      await kube.ensureNamespace('rc-leases');
      const out = await kubectl(
        cluster,
        [
          'apply',
          '--dry-run=server',
          '--server-side',
          '--field-manager=chart-test',
          '--validate=strict',
          '-f',
          '-',
        ],
        await render([...values]),
      );
      const kinds = out
        .trim()
        .split('\n')
        .map((l) => l.split('/')[0]);
      for (const kind of [
        'customresourcedefinition.apiextensions.k8s.io',
        'serviceaccount',
        'clusterrole.rbac.authorization.k8s.io',
        'clusterrolebinding.rbac.authorization.k8s.io',
        'role.rbac.authorization.k8s.io',
        'rolebinding.rbac.authorization.k8s.io',
        'service',
        'deployment.apps',
      ]) {
        assert.ok(kinds.includes(kind), `no ${kind} in the dry-run output:\n${out}`);
      }
      assert.equal(kinds.filter((k) => k === 'deployment.apps').length, values.length > 0 ? 2 : 1);
    });
  }

  it('installs: CRDs, ServiceAccount, ClusterRole and binding, Lease Role, Deployment and Service exist', async () => {
    await helm(['install', RELEASE, CHART, '--namespace', NAMESPACE, '--create-namespace'], {
      kubeconfig: cluster.kubeconfigPath,
    });
    await kubectl(cluster, [
      'wait',
      '--for=condition=Established',
      '--timeout=60s',
      'crd/releases.openchoreo.dev',
      'crd/environments.openchoreo.dev',
      'crd/dataplanes.openchoreo.dev',
    ]);
    const names = await kubectl(cluster, [
      'get',
      '-n',
      NAMESPACE,
      `serviceaccount/${FULLNAME}`,
      `clusterrole/${FULLNAME}`,
      `clusterrolebinding/${FULLNAME}`,
      `role/${FULLNAME}-leader-election`,
      `rolebinding/${FULLNAME}-leader-election`,
      `deployment/${FULLNAME}`,
      `service/${FULLNAME}-metrics`,
      '-o',
      'name',
    ]);
    assert.equal(names.trim().split('\n').length, 7, names);
    const status = await helm(['status', RELEASE, '--namespace', NAMESPACE, '-o', 'json'], {
      kubeconfig: cluster.kubeconfigPath,
    });
    assert.equal((JSON.parse(status) as { info: { status: string } }).info.status, 'deployed');
  });

  it("gives the controller enough RBAC: a Release reconciles and is cleaned up as the chart's ServiceAccount", async () => {
    // The controller runs here as the chart's ServiceAccount, with a token the API server issues.
    const token = (
      await kubectl(cluster, ['create', 'token', FULLNAME, '-n', NAMESPACE, '--duration=1h'])
    ).trim();
    const dir = await mkdtemp(join(tmpdir(), 'rc-chart-sa-'));
    const kubeconfig = join(dir, 'kubeconfig');
    await writeFile(
      kubeconfig,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters:',
        `- name: cp\n  cluster:\n    server: ${cluster.server}\n    certificate-authority-data: ${cluster.caData}`,
        `users:\n- name: sa\n  user:\n    token: ${token}`,
        'contexts:\n- name: sa\n  context:\n    cluster: cp\n    user: sa',
        'current-context: sa',
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
    // The data plane is the same cluster, reached with the admin kubeconfig in the DataPlane's Secret.
    const org = await createOrg(kube, cluster, { credentials: 'secret' });
    const leaseId = uniqueName('rc-chart');
    const controller = await startTestController({
      kubeconfig,
      args: ['--leader-elect', `--leader-election-namespace=${NAMESPACE}`, `--leader-election-id=${leaseId}`],
    });
    try {
      const target = uniqueName('target');
      const name = uniqueName('rel');
      await kube.create(releaseObject(org, name, [configMap('config', target, 'settings')]));
      await eventually(
        async () => {
          const ready = condition(await getRelease(kube, org.namespace, name), ConditionTypes.ready);
          assert.equal(ready?.status, 'True', `Ready is ${JSON.stringify(ready)}`);
        },
        { timeoutMs: 60_000, description: 'the Release to become Ready' },
      );
      assert.ok(
        await kube.get('v1', 'ConfigMap', target, 'settings'),
        'expected await kube.get("v1", "ConfigMap", target, "settings")',
      );
      assert.ok(await kube.get('coordination.k8s.io/v1', 'Lease', NAMESPACE, leaseId), 'no Lease');
      await eventually(
        async () => {
          const events = await kube.list<Manifest & { regarding?: { name?: string } }>(
            'events.k8s.io/v1',
            'Event',
            org.namespace,
          );
          assert.ok(
            events.some((e) => e.regarding?.name === name),
            'no Event about the Release',
          );
        },
        { timeoutMs: 30_000, description: 'an Event about the Release' },
      );

      await kube.delete(API_VERSION, 'Release', org.namespace, name);
      await eventually(async () => (await getRelease(kube, org.namespace, name)) === undefined, {
        timeoutMs: 60_000,
        description: 'the Release to be finalized and gone',
      });
      assert.equal(await kube.get('v1', 'ConfigMap', target, 'settings'), undefined);
      const log = await readFile(controller.logPath, 'utf8');
      assert.doesNotMatch(log, /forbidden|"statusCode":403/i, 'the controller was denied something');
    } finally {
      assert.equal(await controller.stop(), 0, controller.logTail());
    }
  });

  it('uninstalls and keeps the CRDs (deleting them would delete every Release)', async () => {
    await helm(['uninstall', RELEASE, '--namespace', NAMESPACE, '--wait', '--timeout=60s'], {
      kubeconfig: cluster.kubeconfigPath,
    });
    await eventually(
      async () => {
        const left = await kubectl(cluster, [
          'get',
          '-n',
          NAMESPACE,
          'deployments,serviceaccounts,roles',
          '-l',
          `app.kubernetes.io/instance=${RELEASE}`,
          '-o',
          'name',
        ]);
        assert.equal(left.trim(), '');
      },
      { description: 'the chart objects to be gone' },
    );
    const crds = await kubectl(cluster, ['get', 'crd', '-o', 'name']);
    for (const crd of ['releases', 'environments', 'dataplanes']) {
      assert.match(crds, new RegExp(`customresourcedefinition.apiextensions.k8s.io/${crd}.openchoreo.dev`));
    }
  });
  it('moves from the kubectl install to the chart in place, as docs/deploy.md says', async () => {
    const ns = 'release-controller-system';
    // The kubectl install: config/rbac and a Deployment rendered by helm template.
    await kubectl(cluster, ['apply', '-k', join(ROOT, 'config/rbac')]);
    const rendered = parseManifests(
      await helm(['template', 'release-controller', CHART, '--namespace', ns, '--set', 'crds.install=false']),
    );
    await kubectl(
      cluster,
      ['apply', '-n', ns, '-f', '-'],
      ofKind(rendered, 'Deployment')
        .map((m) => stringify(m))
        .join('---\n'),
    );
    const crdUid = async () =>
      (
        await kubectl(cluster, ['get', 'crd', 'releases.openchoreo.dev', '-o', 'jsonpath={.metadata.uid}'])
      ).trim();
    const before = await crdUid();

    // The commands of the guide, as written (the image placeholder filled in).
    const guide = await readFile(join(ROOT, 'docs/deploy.md'), 'utf8');
    const section = guide.slice(guide.indexOf('### Moving from the kubectl install to the chart'));
    const script = /```sh\n([\s\S]*?)```/.exec(section)?.[1];
    assert.ok(script, 'docs/deploy.md has the commands of the move');
    const bin = [dirname(await helmPath()), cluster.binDir, process.env['PATH'] ?? ''].join(':');
    await promisify(execFile)(
      'bash',
      ['-euo', 'pipefail', '-c', script.replaceAll('<registry>/release-controller', 'release-controller')],
      { cwd: ROOT, env: { ...process.env, PATH: bin, KUBECONFIG: cluster.kubeconfigPath }, timeout: 120_000 },
    );

    const status = JSON.parse(
      await helm(['status', 'release-controller', '--namespace', ns, '-o', 'json'], {
        kubeconfig: cluster.kubeconfigPath,
      }),
    ) as { info: { status: string } };
    assert.equal(status.info.status, 'deployed');
    assert.equal(
      await crdUid(),
      before,
      'the CRDs were adopted, never recreated (that would delete every Release)',
    );
    const owner = await kubectl(cluster, [
      'get',
      'clusterrole',
      'release-controller',
      '-o',
      'jsonpath={.metadata.annotations.meta\\.helm\\.sh/release-name}',
    ]);
    assert.equal(owner, 'release-controller');
    await helm(['uninstall', 'release-controller', '--namespace', ns, '--wait', '--timeout=60s'], {
      kubeconfig: cluster.kubeconfigPath,
    });
  });
});
