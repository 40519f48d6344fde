/**
 * Test clusters: the control-plane (plain) and data-plane (full: controllers, scheduler, kwok)
 * clusters shared by the integration suite. `test/run.ts` starts them once and names them in
 * RC_TEST_CP / RC_TEST_DP; a test file run on its own starts its own and ends them on exit.
 */
import { attach, up, type Cluster } from '../../testbed/cluster.ts';

/** TestClusters are the clusters a test talks to. */
export interface TestClusters {
  cp: Cluster;
  dp: Cluster;
}

let shared: Promise<TestClusters> | undefined;

async function named(envVar: string, fallback: string, full: boolean): Promise<Cluster> {
  const name = process.env[envVar];
  if (name) {
    const cluster = await attach(name);
    if (!cluster?.running()) throw new Error(`${envVar}=${name} names no running test-bed cluster`);
    return cluster;
  }
  const cluster = await up(`${fallback}-${process.pid}`, { full });
  owned.push(cluster);
  return cluster;
}

const owned: Cluster[] = [];

/**
 * downOwnClusters ends the clusters this test file started itself (none when test/run.ts shares
 * its clusters); call it from the file's top-level `after`. Attached cluster processes also end
 * when the test process exits.
 */
export async function downOwnClusters(): Promise<void> {
  await Promise.all(owned.splice(0).map((c) => c.down()));
}

/** testClusters returns the shared control-plane and data-plane clusters. */
export function testClusters(): Promise<TestClusters> {
  shared ??= (async () => {
    const [cp, dp] = await Promise.all([
      named('RC_TEST_CP', 'rc-cp', false),
      named('RC_TEST_DP', 'rc-dp', true),
    ]);
    return { cp, dp };
  })();
  return shared;
}

/**
 * ownCluster starts a cluster for one test file only (fault tests stop and start it); `isolated`
 * puts it in a network namespace of its own (tunnel tests; needs root).
 */
export async function ownCluster(prefix: string, full = false, isolated = false): Promise<Cluster> {
  const cluster = await up(`${prefix}-${process.pid}`, { full, isolated });
  owned.push(cluster);
  return cluster;
}
