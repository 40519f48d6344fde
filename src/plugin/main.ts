/**
 * `kubectl release` (the executable `kubectl-release`, bin/kubectl-release): parses the command
 * line, connects with the user's kubeconfig, reads what the command needs and prints it. Exit
 * codes: 0 done, 1 an error, 2 a usage error; `diff` as `kubectl diff`: 0 no differences, 1
 * differences, 2 an error.
 */
import { readFile } from 'node:fs/promises';
import { parseAllDocuments } from 'yaml';
import { isRecord } from '../api/object.ts';
import { API_VERSION } from '../api/v1alpha1/constants.ts';
import type { Release } from '../api/v1alpha1/schema.ts';
import { isKubeApiError, type KubeClient } from '../kube/client.ts';
import { describeError } from '../kube/errors.ts';
import { KubeconfigError } from '../kube/kubeconfig.ts';
import { connectUser } from './access.ts';
import { parseArgs, UsageError, USAGE, type PluginArgs } from './args.ts';
import { hasDifferences, renderDiff } from './diffview.ts';
import { NoAccessError, PlanError, planRelease } from './dryrun.ts';
import { eventView, renderEvents, sortEvents } from './events.ts';
import { getJson, renderGet, renderTree, treeJson } from './render.ts';
import { colorEnabled, palette, type Palette } from './style.ts';
import { runUi } from './ui/command.ts';
import { releaseView } from './view.ts';

/** PluginIO is the plugin's world: output streams, environment, clock, standard input. */
export interface PluginIO {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
  env: Record<string, string | undefined>;
  /** isTTY tells whether stdout is a terminal (colours in `--color=auto`). */
  isTTY: boolean;
  now: () => number;
  readStdin: () => Promise<string>;
}

/** PAGE_SIZE is the page of every list request. */
const PAGE_SIZE = 500;

/** run runs one command line and returns the exit code. */
export async function run(argv: readonly string[], io: PluginIO): Promise<number> {
  let args: PluginArgs;
  try {
    args = parseArgs(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.stderr.write(`error: ${err.message}\n\n${USAGE}`);
    return 2;
  }
  if (args.command === 'help') {
    io.stdout.write(USAGE);
    return 0;
  }
  const failure = args.command === 'diff' ? 2 : 1;
  let cluster: Awaited<ReturnType<typeof connectUser>> | undefined;
  try {
    cluster = await connectUser(args, io.env);
    const colors = palette(colorEnabled(args.color, io.isTTY, io.env));
    const namespace = args.namespace ?? cluster.namespace;
    switch (args.command) {
      case 'get':
        return await get(cluster.client, args, namespace, io, colors);
      case 'tree':
        return await tree(cluster.client, args, namespace, io, colors);
      case 'events':
        return await events(cluster.client, args, namespace, io, colors);
      case 'diff':
        return await diff(cluster.client, args, namespace, io, colors);
      case 'ui':
        return await runUi({
          client: cluster.client,
          namespace: args.allNamespaces ? undefined : namespace,
          port: args.port ?? 0,
          open: args.open !== false,
          stdout: io.stdout,
        });
    }
    return 0;
  } catch (err) {
    io.stderr.write(`error: ${message(err)}\n`);
    return failure;
  } finally {
    await cluster?.client.close();
  }
}

/** message renders an error for a person; our own errors are already sentences. */
function message(err: unknown): string {
  if (err instanceof NoAccessError || err instanceof PlanError || err instanceof KubeconfigError)
    return err.message;
  if (isKubeApiError(err) && err.statusCode === 403)
    return `${err.message} (Forbidden: your kubeconfig's user lacks that permission)`;
  if (isKubeApiError(err) && err.statusCode === 401)
    return `${err.message} (Unauthorized: your kubeconfig's credentials were refused)`;
  return describeError(err);
}

function releasesPath(namespace: string | undefined): string {
  return namespace === undefined
    ? `/apis/${API_VERSION}/releases`
    : `/apis/${API_VERSION}/namespaces/${encodeURIComponent(namespace)}/releases`;
}

/** listAll lists a collection page by page. */
async function listAll(
  client: KubeClient,
  path: string,
  query: Record<string, string> = {},
): Promise<unknown[]> {
  const items: unknown[] = [];
  let next: string | undefined;
  do {
    const page = await client.request<{ items?: unknown[]; metadata?: { continue?: string } }>({
      method: 'GET',
      path,
      query: { ...query, limit: PAGE_SIZE, continue: next },
    });
    items.push(...(page.items ?? []));
    next = page.metadata?.continue || undefined;
  } while (next);
  return items;
}

/** readRelease reads one Release, or fails with `Release ns/name not found`. */
async function readRelease(client: KubeClient, namespace: string, name: string): Promise<unknown> {
  try {
    return await client.request({
      method: 'GET',
      path: `${releasesPath(namespace)}/${encodeURIComponent(name)}`,
    });
  } catch (err) {
    if (isKubeApiError(err) && err.isNotFound) throw new PlanError(`Release ${namespace}/${name} not found`);
    throw err;
  }
}

async function get(
  client: KubeClient,
  args: PluginArgs,
  namespace: string,
  io: PluginIO,
  colors: Palette,
): Promise<number> {
  const items = await listAll(client, releasesPath(args.allNamespaces ? undefined : namespace)).catch(
    (err: unknown) => {
      if (isKubeApiError(err) && err.isNotFound) {
        throw new PlanError(
          `this cluster does not serve Releases (${API_VERSION}): install the CRDs of config/crd/`,
        );
      }
      throw err;
    },
  );
  const views = items
    .map(releaseView)
    .sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
  if (args.output === 'json') {
    io.stdout.write(getJson(views));
    return 0;
  }
  if (views.length === 0) {
    io.stderr.write(
      args.allNamespaces ? 'No Releases found.\n' : `No Releases found in ${namespace} namespace.\n`,
    );
    return 0;
  }
  io.stdout.write(renderGet(views, { allNamespaces: args.allNamespaces, now: io.now(), palette: colors }));
  return 0;
}

async function tree(
  client: KubeClient,
  args: PluginArgs,
  namespace: string,
  io: PluginIO,
  colors: Palette,
): Promise<number> {
  const view = releaseView(await readRelease(client, namespace, args.name ?? ''));
  io.stdout.write(args.output === 'json' ? treeJson(view) : renderTree(view, colors));
  return 0;
}

/**
 * events lists the Release's Events through events.k8s.io/v1, which serves the controller's own
 * and those written through core/v1 alike; core/v1 is the fallback for a cluster without it. A
 * Release that exists is matched by uid (not an older Release of the same name); a deleted one by
 * name, so its last Events can still be read.
 */
async function events(
  client: KubeClient,
  args: PluginArgs,
  namespace: string,
  io: PluginIO,
  colors: Palette,
): Promise<number> {
  const name = args.name ?? '';
  let uid: string | undefined;
  try {
    const release = await client.request<{ metadata?: { uid?: string } }>({
      method: 'GET',
      path: `${releasesPath(namespace)}/${encodeURIComponent(name)}`,
    });
    uid = release.metadata?.uid;
  } catch (err) {
    if (!(isKubeApiError(err) && err.isNotFound)) throw err;
  }
  const ns = encodeURIComponent(namespace);
  const selector = (prefix: string) =>
    [`${prefix}.kind=Release`, `${prefix}.name=${name}`, ...(uid ? [`${prefix}.uid=${uid}`] : [])].join(',');
  let raw: unknown[];
  try {
    raw = await listAll(client, `/apis/events.k8s.io/v1/namespaces/${encodeURIComponent(ns)}/events`, {
      fieldSelector: selector('regarding'),
    });
  } catch (err) {
    if (!(isKubeApiError(err) && err.isNotFound)) throw err;
    raw = await listAll(client, `/api/v1/namespaces/${encodeURIComponent(ns)}/events`, {
      fieldSelector: selector('involvedObject'),
    });
  }
  const ours = raw.filter((e) => {
    const ref = isRecord(e) ? (isRecord(e['regarding']) ? e['regarding'] : e['involvedObject']) : undefined;
    return (
      !isRecord(ref) ||
      typeof ref['apiVersion'] !== 'string' ||
      ref['apiVersion'].startsWith('openchoreo.dev/')
    );
  });
  const views = sortEvents(ours.map(eventView));
  if (args.output === 'json') {
    io.stdout.write(`${JSON.stringify(views, null, 2)}\n`);
    return 0;
  }
  if (views.length === 0) {
    io.stderr.write(`No Events found for Release ${namespace}/${name}.\n`);
    return 0;
  }
  io.stdout.write(renderEvents(views, io.now(), colors));
  return 0;
}

/** releasesOfFile reads the Releases of a manifest file (other kinds in it are ignored). */
export function releasesOfFile(text: string, file: string, namespace: string): Release[] {
  const releases: Release[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0)
      throw new PlanError(`${file} is not valid YAML: ${doc.errors[0]?.message ?? ''}`);
    const obj: unknown = doc.toJS();
    if (!isRecord(obj) || obj['kind'] !== 'Release' || obj['apiVersion'] !== API_VERSION) continue;
    const metadata = isRecord(obj['metadata']) ? obj['metadata'] : {};
    const spec = isRecord(obj['spec']) ? obj['spec'] : {};
    if (typeof metadata['name'] !== 'string' || metadata['name'] === '')
      throw new PlanError(`${file}: a Release has no metadata.name`);
    if (typeof spec['environmentName'] !== 'string') {
      throw new PlanError(`${file}: Release ${metadata['name']} has no spec.environmentName`);
    }
    releases.push({
      ...(obj as unknown as Release),
      metadata: {
        ...(metadata as Release['metadata']),
        namespace:
          typeof metadata['namespace'] === 'string' && metadata['namespace']
            ? metadata['namespace']
            : namespace,
      },
    });
  }
  if (releases.length === 0) throw new PlanError(`${file} holds no Release (${API_VERSION})`);
  return releases;
}

async function diff(
  client: KubeClient,
  args: PluginArgs,
  namespace: string,
  io: PluginIO,
  colors: Palette,
): Promise<number> {
  const file = args.file ?? '-';
  let text: string;
  try {
    text = file === '-' ? await io.readStdin() : await readFile(file, 'utf8');
  } catch (err) {
    throw new PlanError(`cannot read ${file}: ${(err as Error).message}`);
  }
  let differences = false;
  let failing = false;
  for (const release of releasesOfFile(
    text,
    file === '-' ? 'standard input' : file,
    args.namespace ?? namespace,
  )) {
    const plan = await planRelease(client, release);
    io.stdout.write(renderDiff(plan.release, plan.entries, colors));
    differences ||= hasDifferences(plan.entries);
    failing ||= plan.entries.some((e) => e.action === 'error');
  }
  return failing ? 2 : differences ? 1 : 0;
}
