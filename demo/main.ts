/**
 * `npm run demo`: starts a local control plane and a full data plane, installs the CRDs and an
 * organization, runs the controller in the background, deploys the specification's example Release
 * and walks through its lifecycle while showing the Release's resources live. The clusters and the
 * controller keep running afterwards; `npm run demo -- --down` ends them.
 */
import '../src/node-version.ts'; // first: on a too-old Node.js, one line saying what to do
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { attach, list, runRoot, up } from '../testbed/cluster.ts';
import type { Cluster } from '../testbed/cluster.ts';
import { TestKube } from '../test/support/kube.ts';
import { describeController, startController, stopController } from './controller.ts';
import { LiveView } from './display.ts';
import {
  dataPlaneNamespace,
  deployRelease,
  HealthHistory,
  lifecycle,
  loadSamples,
  setUpOrganization,
  type DemoContext,
} from './steps.ts';
import { viewOf } from './table.ts';
import { ReleaseTracker } from './tracker.ts';

/** ORG is the organization namespace the demo creates on the control plane. */
const ORG = 'acme';
const PREFIX_PATTERN = /^[a-z0-9]([-a-z0-9]{0,34}[a-z0-9])?$/;

const prefix = process.env['DEMO_PREFIX'] || 'rc-demo';
const names = { cp: `${prefix}-cp`, dp: `${prefix}-dp` };
const dir = join(runRoot(), prefix);

const USAGE = `Usage: npm run demo [-- --down | --help]

Starts a local control-plane cluster (${names.cp}) and a data-plane cluster with controllers, a
scheduler and a fake node (${names.dp}), installs the CRDs, an organization "${ORG}" with a DataPlane and
an Environment, runs the controller in the background and deploys the specification's example Release.
Then it shows the Release's lifecycle: scale, self-healing, pruning, deletion. The clusters and the
controller keep running afterwards, so you can look around; a second run starts over.

Options:
  --down   stop the controller and both clusters and remove their files
  --help   show this help

Environment:
  DEMO_PREFIX          prefix of the cluster names and the demo folder (default rc-demo)
  TESTBED_RUN_DIR      where clusters and the demo folder live (now ${runRoot()})
  KUBEBUILDER_ASSETS   prebuilt Kubernetes binaries; otherwise testbed/build.sh builds them once`;

class UsageError extends Error {}

const out = (line = ''): void => void process.stdout.write(`${line}\n`);

async function run(): Promise<void> {
  const started = performance.now();
  const view = new LiveView(process.stdout);
  if (!PREFIX_PATTERN.test(prefix)) {
    throw new UsageError(`DEMO_PREFIX='${prefix}': use 1-36 lowercase letters, digits and '-'`);
  }
  const ended = await stopController(dir);
  if (ended !== undefined) view.log(`Ended the controller of an earlier demo (pid ${ended}).`);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });

  view.log(`Starting the clusters (an earlier demo's clusters are replaced):`);
  const log = (line: string): void => view.log(`    ${line}`);
  const [cp, dp] = await Promise.all([
    up(names.cp, { detached: true, log }),
    up(names.dp, { full: true, detached: true, log }),
  ]);
  view.log(`  control plane  ${cp.name}  ${cp.server}  (etcd, kube-apiserver)`);
  view.log(`  data plane     ${dp.name}  ${dp.server}  (+ controller-manager, scheduler, kwok fake node)`);
  view.log(`The kubectl commands below run as they are after:`);
  view.log(`  export PATH=${cp.binDir}:$PATH CP=${cp.kubeconfigPath} DP=${dp.kubeconfigPath}`);
  view.log('');

  const samples = await loadSamples(ORG);
  const rel = samples.release.metadata;
  const cpKube = new TestKube(cp);
  const dpKube = new TestKube(dp);
  const history = new HealthHistory();
  const tracker = new ReleaseTracker(cpKube, ORG, rel.name, (release) => {
    history.record(release);
    view.show(viewOf(`${ORG}/${rel.name}`, release));
  });
  const ctx: DemoContext = { cp, dp, cpKube, dpKube, view, tracker, history, dir, samples };
  try {
    view.log('Setting up the control plane:');
    await setUpOrganization(ctx);
    const controller = await startController(dir, cp.kubeconfigPath);
    view.log(`- the controller, in the background (pid ${controller.pid}, log ${controller.logPath})`);
    view.log(`    $ npm start -- --kubeconfig $CP`);
    await tracker.start();
    await deployRelease(ctx);
    await lifecycle(ctx);
  } catch (err) {
    throw new DemoFailure(err, view.current(), await describeController(dir));
  } finally {
    await tracker.stop();
    view.release();
    await cpKube.close();
    await dpKube.close();
  }

  const kubectl = join(cp.binDir, 'kubectl');
  const onCp = `${kubectl} --kubeconfig ${cp.kubeconfigPath}`;
  const onDp = `${kubectl} --kubeconfig ${dp.kubeconfigPath}`;
  out();
  out(
    `Done in ${((performance.now() - started) / 1000).toFixed(1)}s. The clusters and the controller keep running. Look around:`,
  );
  out(`  ${onCp} get releases,environments,dataplanes -A`);
  out(`  ${onCp} apply -f ${join(dir, 'release.yaml')}   # deploy the sample Release again`);
  out(`  ${onCp} -n ${ORG} get release ${rel.name} -o yaml --watch`);
  out(`  ${onDp} -n ${dataPlaneNamespace(samples)} get deploy,svc,pods`);
  out(`  tail -f ${join(dir, 'controller.log')}`);
  out('Stop the controller and both clusters and remove their files:');
  out('  npm run demo -- --down');
}

/** DemoFailure carries what the user needs to see when a step fails. */
class DemoFailure extends Error {
  constructor(
    cause: unknown,
    readonly lastState: string,
    readonly controller: string,
  ) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
  }
}

async function down(): Promise<void> {
  let any = false;
  const pid = await stopController(dir);
  if (pid !== undefined) {
    out(`Stopped the controller (pid ${pid}).`);
    any = true;
  }
  const clusters = await Promise.all(
    [names.cp, names.dp].map((name) => attach(name, { log: (l) => out(`    ${l}`) })),
  );
  await Promise.all(
    clusters.map(async (cluster: Cluster | undefined) => {
      if (!cluster) return;
      await cluster.down();
      out(`Removed cluster ${cluster.name}.`);
      any = true;
    }),
  );
  await rm(dir, { recursive: true, force: true });
  if (!any) out(`Nothing to stop: no controller and no cluster ${names.cp} or ${names.dp} in ${runRoot()}.`);
  const left = (await list()).filter((c) => c.name === names.cp || c.name === names.dp);
  if (left.length > 0) throw new Error(`clusters still listed: ${left.map((c) => c.name).join(', ')}`);
}

async function main(argv: string[]): Promise<void> {
  const unknown = argv.filter((a) => !['--down', '--help', '-h'].includes(a));
  if (unknown.length > 0) throw new UsageError(`unknown argument ${unknown.join(' ')}`);
  if (argv.includes('--help') || argv.includes('-h')) {
    out(USAGE);
    return;
  }
  if (argv.includes('--down')) {
    await down();
    return;
  }
  process.once('SIGINT', () => {
    out('\nInterrupted. What was started keeps running; `npm run demo -- --down` stops it.');
    process.exit(130);
  });
  await run();
}

try {
  await main(process.argv.slice(2));
  process.exit(0);
} catch (err) {
  if (err instanceof UsageError) {
    process.stderr.write(`error: ${err.message}\n\n${USAGE}\n`);
    process.exit(2);
  }
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`\nerror: ${message}\n`);
  if (err instanceof DemoFailure) {
    process.stderr.write(`\nThe Release as last seen:\n${err.lastState}\n\n${err.controller}\n`);
  }
  process.stderr.write(
    'The clusters and the controller are left running for inspection; `npm run demo -- --down` stops them.\n',
  );
  process.exit(1);
}
