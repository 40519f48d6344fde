/**
 * Network namespaces for isolated clusters: a cluster the controller cannot reach directly, as a data
 * plane behind NAT or a firewall. Each isolated cluster gets a namespace `rctb-<name>` with only
 * loopback and one veth pair to the host, addressed from a private /30 used for nothing else
 * (10.213.<index>.0/30: the host side .1, the namespace side .2) and no default route, so processes
 * inside reach the host side of their own veth and nothing else. The namespace's /etc/hosts
 * (`/etc/netns/<ns>/hosts`, which `ip netns exec` mounts over /etc/hosts) maps the cluster name to
 * 127.0.0.1 (where its API server listens, inside) and the proxy server's agent-side name to the
 * host side of the veth. Needs root and iproute2.
 */
import { execFile } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PROXY_AGENT_SIDE_NAME } from './pki.ts';

/** Isolation is the network of one isolated cluster, as recorded in its cluster.json. */
export interface Isolation {
  /** netns is the network namespace the cluster's processes run in. */
  netns: string;
  /** index picks the /30 and names the veth pair (`rctb<index>h` on the host, `rctb<index>n` inside). */
  index: number;
  /** hostAddress is the host side of the veth: where processes inside reach the host (the proxy server). */
  hostAddress: string;
  /** nsAddress is the namespace side of the veth. */
  nsAddress: string;
  /** tunnelHost resolves to the API server inside the namespace: what an agent there advertises. */
  tunnelHost: string;
}

/** MAX_INDEX bounds the /30 blocks of 10.213.0.0/16 the test bed hands out. */
const MAX_INDEX = 250;
const NETNS_ETC = '/etc/netns';

/** ISOLATION_REQUIREMENT says what --isolated needs, for error messages and the README. */
export const ISOLATION_REQUIREMENT =
  'isolated clusters run in a network namespace: they need root and iproute2 (`ip netns`); run the tests as root, ' +
  'e.g. in CI or a container with CAP_NET_ADMIN and CAP_SYS_ADMIN';

function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: 30_000 }, (err, stdout, stderr) => {
      if (err) {
        const hint = (err as NodeJS.ErrnoException).code === 'ENOENT' ? ` (${cmd} is not installed)` : '';
        reject(
          new Error(`testbed: \`${cmd} ${args.join(' ')}\` failed${hint}: ${stderr.trim() || err.message}`),
        );
      } else resolve(stdout);
    });
  });
}

/** checkIsolationSupport fails clearly where network namespaces cannot be made. */
export async function checkIsolationSupport(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error(`testbed: not running as root: ${ISOLATION_REQUIREMENT}`);
  try {
    await run('ip', ['netns', 'list']);
  } catch (err) {
    throw new Error(`testbed: ${ISOLATION_REQUIREMENT}; ${(err as Error).message}`, { cause: err });
  }
}

/** netnsName is the namespace of the isolated cluster `name`. */
export function netnsName(name: string): string {
  return `rctb-${name}`;
}

/**
 * createIsolation makes the namespace and veth pair of cluster `name`. The index is claimed by
 * creating the veth pair: `ip link add` fails when another cluster holds the name, and the next
 * index is tried, so concurrent `up`s never share a /30.
 */
export async function createIsolation(name: string): Promise<Isolation> {
  const netns = netnsName(name);
  await removeNamespace(netns);
  await run('ip', ['netns', 'add', netns]);
  try {
    await run('ip', ['-n', netns, 'link', 'set', 'lo', 'up']);
    for (let index = 1; index <= MAX_INDEX; index++) {
      const iso: Isolation = {
        netns,
        index,
        hostAddress: `10.213.${index}.1`,
        nsAddress: `10.213.${index}.2`,
        tunnelHost: name,
      };
      try {
        await run('ip', [
          'link',
          'add',
          `rctb${index}h`,
          'type',
          'veth',
          'peer',
          'name',
          `rctb${index}n`,
          'netns',
          netns,
        ]);
      } catch {
        continue;
      }
      await configure(iso);
      return iso;
    }
    throw new Error(
      `testbed: all ${MAX_INDEX} isolated-cluster networks are in use; remove some with \`npm run cluster -- down\``,
    );
  } catch (err) {
    await removeNamespace(netns);
    throw err;
  }
}

/** ensureIsolation recreates a recorded isolation that is gone (after a reboot), for `start`. */
export async function ensureIsolation(iso: Isolation): Promise<void> {
  const present = (await run('ip', ['netns', 'list'])).split('\n').some((l) => l.split(' ')[0] === iso.netns);
  if (present) return;
  await run('ip', ['netns', 'add', iso.netns]);
  await run('ip', ['-n', iso.netns, 'link', 'set', 'lo', 'up']);
  await run('ip', [
    'link',
    'add',
    `rctb${iso.index}h`,
    'type',
    'veth',
    'peer',
    'name',
    `rctb${iso.index}n`,
    'netns',
    iso.netns,
  ]);
  await configure(iso);
}

async function configure(iso: Isolation): Promise<void> {
  const host = `rctb${iso.index}h`;
  const inside = `rctb${iso.index}n`;
  await run('ip', ['addr', 'add', `${iso.hostAddress}/30`, 'dev', host]);
  await run('ip', ['link', 'set', host, 'up']);
  await run('ip', ['-n', iso.netns, 'addr', 'add', `${iso.nsAddress}/30`, 'dev', inside]);
  await run('ip', ['-n', iso.netns, 'link', 'set', inside, 'up']);
  const etc = join(NETNS_ETC, iso.netns);
  await mkdir(etc, { recursive: true });
  await writeFile(
    join(etc, 'hosts'),
    [
      `127.0.0.1 localhost ${iso.tunnelHost}`,
      '::1 localhost',
      `${iso.hostAddress} ${PROXY_AGENT_SIDE_NAME}`,
      '',
    ].join('\n'),
  );
}

/** removeIsolation deletes the namespace (its end of the veth pair, and so the pair) and its /etc files. */
export async function removeIsolation(iso: Pick<Isolation, 'netns'>): Promise<void> {
  await removeNamespace(iso.netns);
}

async function removeNamespace(netns: string): Promise<void> {
  const present = (await run('ip', ['netns', 'list'])).split('\n').some((l) => l.split(' ')[0] === netns);
  if (present) await run('ip', ['netns', 'del', netns]);
  await rm(join(NETNS_ETC, netns), { recursive: true, force: true });
}

/** inNamespace turns a command into one that runs inside the namespace. */
export function inNamespace(netns: string | undefined, cmd: string, args: string[]): [string, string[]] {
  return netns ? ['ip', ['netns', 'exec', netns, cmd, ...args]] : [cmd, args];
}
