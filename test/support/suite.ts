/**
 * integrationSuite: the set-up most integration test files share. Called in a `describe`, it
 * registers a `before` that gets the test clusters, installs the CRDs, creates an organization and
 * starts the controller, and an `after` that kills the controllers, closes the clients and ends the
 * clusters the file started itself. The fields of the suite it returns are filled in by `before`.
 */
import { after, before } from 'node:test';
import type { Cluster } from '../../testbed/cluster.ts';
import { downOwnClusters, ownCluster, testClusters, type TestClusters } from './clusters.ts';
import { startTestController, type ControllerProcess } from './controller.ts';
import { createOrg, installCRDs, type Org } from './fixtures.ts';
import { TestKube } from './kube.ts';

/** SuiteOptions choose what `before` sets up. */
export interface SuiteOptions {
  /** credentials: how the organization's DataPlane reaches its cluster (default 'secret'). */
  credentials?: 'secret' | 'inline';
  /** org: whether `before` creates an organization (default true); files that make one per test say false. */
  org?: boolean;
  /**
   * ownDataPlane: the name prefix of a data-plane cluster of this file's own (one the tests may stop),
   * which `dataPlane`, `dp` and `org` then use instead of the shared data plane.
   */
  ownDataPlane?: string;
  /** controller: whether `before` starts a controller (default true). */
  controller?: boolean;
  /** controllerArgs: extra flags for every controller the suite starts. */
  controllerArgs?: string[];
}

/** IntegrationSuite is what the tests of one `describe` share. */
export interface IntegrationSuite {
  /** clusters are the shared control-plane and data-plane clusters. */
  readonly clusters: TestClusters;
  /** dataPlane is the cluster of `dp` and `org`: the shared data plane, or the file's own. */
  readonly dataPlane: Cluster;
  /** cp is an admin client of the control plane. */
  readonly cp: TestKube;
  /** dp is an admin client of `dataPlane`, made on first use. */
  readonly dp: TestKube;
  /** org is the organization `before` created, with its DataPlane on `dataPlane`. */
  readonly org: Org;
  /** controller is the controller process `before` started (or `restartController` last started). */
  readonly controller: ControllerProcess;
  /** ready tells whether `before` has finished. */
  readonly ready: boolean;
  /** startController starts another controller (with extra flags), which `after` kills. */
  startController(args?: string[]): Promise<ControllerProcess>;
  /** restartController kills `controller` (if it still runs) and starts a new one in its place. */
  restartController(): Promise<ControllerProcess>;
}

/** integrationSuite registers the shared `before` and `after` hooks in the current `describe`. */
export function integrationSuite(options: SuiteOptions = {}): IntegrationSuite {
  const suite = new Suite(options);
  before(() => suite.setUp());
  after(() => suite.tearDown());
  return suite;
}

class Suite implements IntegrationSuite {
  #ready = false;
  #clusters: TestClusters | undefined;
  #dataPlane: Cluster | undefined;
  #cp: TestKube | undefined;
  #dp: TestKube | undefined;
  #org: Org | undefined;
  #controller: ControllerProcess | undefined;
  /** #running are all controllers started, killed by `after`. */
  readonly #running: ControllerProcess[] = [];

  constructor(private readonly options: SuiteOptions) {}

  async setUp(): Promise<void> {
    this.#clusters = await testClusters();
    this.#dataPlane = this.options.ownDataPlane
      ? await ownCluster(this.options.ownDataPlane)
      : this.#clusters.dp;
    this.#cp = new TestKube(this.#clusters.cp);
    await installCRDs(this.#cp);
    if (this.options.org ?? true) {
      this.#org = await createOrg(this.#cp, this.#dataPlane, { credentials: this.options.credentials });
    }
    if (this.options.controller ?? true) this.#controller = await this.startController();
    this.#ready = true;
  }

  async tearDown(): Promise<void> {
    await Promise.all(this.#running.map((c) => c.kill()));
    await this.#cp?.close();
    await this.#dp?.close();
    await downOwnClusters();
  }

  get ready(): boolean {
    return this.#ready;
  }
  get clusters(): TestClusters {
    return set(this.#clusters, 'clusters');
  }
  get dataPlane(): Cluster {
    return set(this.#dataPlane, 'dataPlane');
  }
  get cp(): TestKube {
    return set(this.#cp, 'cp');
  }
  get dp(): TestKube {
    this.#dp ??= new TestKube(this.dataPlane);
    return this.#dp;
  }
  get org(): Org {
    if (this.options.org === false)
      throw new Error('integrationSuite: this suite creates no org (org: false)');
    return set(this.#org, 'org');
  }
  get controller(): ControllerProcess {
    if (this.options.controller === false)
      throw new Error('integrationSuite: this suite starts no controller (controller: false)');
    return set(this.#controller, 'controller');
  }

  async startController(args: string[] = []): Promise<ControllerProcess> {
    const controller = await startTestController({
      kubeconfig: this.clusters.cp.kubeconfigPath,
      args: [...(this.options.controllerArgs ?? []), ...args],
    });
    this.#running.push(controller);
    return controller;
  }

  async restartController(): Promise<ControllerProcess> {
    const old = this.controller;
    await old.kill();
    this.#running.splice(this.#running.indexOf(old), 1);
    this.#controller = await this.startController();
    return this.#controller;
  }
}

/** set returns a field `before` fills in, or says that `before` has not run (or failed). */
function set<T>(value: T | undefined, field: string): T {
  if (value === undefined) {
    throw new Error(
      `integrationSuite: ${field} is set by the suite's before hook, which has not run (or failed); use it in tests and hooks, not in the describe body`,
    );
  }
  return value;
}
