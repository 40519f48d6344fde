/**
 * `npm run cluster -- <command>`: starts, pauses, resumes, lists and removes named local clusters.
 * Progress goes to stderr; `up` prints the kubeconfig path as the last line of stdout, so scripts can
 * do `KUBECONFIG=$(npm run -s cluster -- up cp | tail -1)`.
 */
import '../src/node-version.ts'; // first: on a too-old Node.js, one line saying what to do
import { attach, list, runRoot, up } from './cluster.ts';
import type { Cluster } from './cluster.ts';

const USAGE = `Usage: npm run cluster -- <command>

Commands:
  up NAME [--full] [--isolated]
                     start a cluster from scratch (replacing any earlier one of that name) and print
                     its kubeconfig path as the last line; --full adds kube-controller-manager,
                     kube-scheduler and a kwok fake node, so workloads get pods; --isolated runs it
                     in a network namespace (rctb-NAME, needs root) that nothing on the host can
                     connect into: use \`ip netns exec rctb-NAME kubectl --kubeconfig PATH ...\`, or
                     a tunnel agent inside (docs/deploy.md, "Data planes behind a firewall")
  stop NAME          pause it: its processes end; address, certificates and data stay
  start NAME         resume a paused cluster at the same address with the same data
  down NAME          stop it and remove its files
  list               show every cluster: name, mode, state, server, kubeconfig
  --help             show this help

Clusters live in $TESTBED_RUN_DIR (now ${runRoot()}); the binaries come from testbed/build.sh
(or $KUBEBUILDER_ASSETS).`;

class UsageError extends Error {}

const progress = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

async function existing(name: string | undefined): Promise<Cluster> {
  if (!name) throw new UsageError('missing cluster NAME');
  const cluster = await attach(name, { log: progress });
  if (!cluster) {
    throw new Error(
      `no cluster named '${name}' in ${runRoot()}; start one with \`npm run cluster -- up ${name}\``,
    );
  }
  return cluster;
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows
    .map((r) =>
      r
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

async function main(argv: string[]): Promise<void> {
  const flags = argv.filter((a) => a.startsWith('-'));
  const [command, name, ...extra] = argv.filter((a) => !a.startsWith('-'));
  if (flags.includes('--help') || flags.includes('-h') || command === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const unknown = flags.filter((f) => !(command === 'up' && (f === '--full' || f === '--isolated')));
  if (unknown.length > 0) throw new UsageError(`unknown option ${unknown.join(' ')}`);
  if (extra.length > 0) throw new UsageError(`unexpected argument ${extra.join(' ')}`);

  switch (command) {
    case 'up': {
      if (!name) throw new UsageError('missing cluster NAME');
      process.once('SIGINT', () => {
        progress(`interrupted; processes started so far keep running: \`npm run cluster -- down ${name}\``);
        process.exit(130);
      });
      const cluster = await up(name, {
        full: flags.includes('--full'),
        isolated: flags.includes('--isolated'),
        detached: true,
        log: progress,
      });
      if (cluster.isolation) {
        progress(
          `testbed: ${name}: reachable only inside its network namespace: ip netns exec ${cluster.isolation.netns} ` +
            `${cluster.binDir}/kubectl --kubeconfig ${cluster.kubeconfigPath} ...; an agent there advertises ` +
            `host=${cluster.isolation.tunnelHost} and reaches the host at ${cluster.isolation.hostAddress}`,
        );
      }
      process.stdout.write(`${cluster.kubeconfigPath}\n`);
      return;
    }
    case 'stop':
      await (await existing(name)).stop();
      return;
    case 'start': {
      const cluster = await existing(name);
      await cluster.start();
      progress(`testbed: ${cluster.name}: running at ${cluster.server}`);
      return;
    }
    case 'down':
      await (await existing(name)).down();
      return;
    case 'list': {
      if (name) throw new UsageError(`unexpected argument ${name}`);
      const rows = (await list()).map((c) => [
        c.name,
        (c.full ? 'full' : 'plain') + (c.isolated ? '+isolated' : ''),
        c.state,
        c.server,
        c.kubeconfigPath,
      ]);
      if (rows.length === 0) {
        progress(`no clusters in ${runRoot()}`);
        return;
      }
      process.stdout.write(`${table([['NAME', 'MODE', 'STATE', 'SERVER', 'KUBECONFIG'], ...rows])}\n`);
      return;
    }
    case undefined:
      throw new UsageError('missing command');
    default:
      throw new UsageError(`unknown command '${command}'`);
  }
}

try {
  await main(process.argv.slice(2));
} catch (err) {
  if (err instanceof UsageError) {
    process.stderr.write(`error: ${err.message}\n\n${USAGE}\n`);
    process.exit(2);
  }
  process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
