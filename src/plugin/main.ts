/**
 * `kubectl release` (the executable `kubectl-release`, bin/kubectl-release): parses the command
 * line, connects with the user's kubeconfig, reads what the command needs and prints it. Exit
 * codes: 0 done, 1 an error, 2 a usage error; `diff` as `kubectl diff`: 0 no differences, 1
 * differences, 2 an error.
 */
import { readFile } from 'node:fs/promises';
import { pino } from 'pino';
import { parseAllDocuments, stringify } from 'yaml';
import { isRecord } from '../api/object.ts';
import { Annotations, API_VERSION, GROUP } from '../api/v1alpha1/constants.ts';
import type { Release } from '../api/v1alpha1/schema.ts';
import { isKubeApiError, type KubeClient } from '../kube/client.ts';
import { describeError } from '../kube/errors.ts';
import { Informer } from '../kube/informer.ts';
import { KubeconfigError } from '../kube/kubeconfig.ts';
import { readBuildInfo } from '../runtime/buildinfo.ts';
import { connectUser } from './access.ts';
import { HINT, parseArgs, UsageError, USAGE, type PluginArgs } from './args.ts';
import { completions } from './complete.ts';
import { runExternalDiff } from './external.ts';
import { printNames, printObjects } from './output.ts';
import { handledAt, waitState } from './progress.ts';
import { hasDifferences, renderDiff, type DiffEntry } from './diffview.ts';
import { NoAccessError, PlanError, planRelease } from './dryrun.ts';
import { eventView, renderEvents, sortEvents } from './events.ts';
import { getJson, renderGet, renderTree, STALE_NOTE, treeJson } from './render.ts';
import { colorEnabled, palette, type Palette } from './style.ts';
import { runUi } from './ui/command.ts';
import { objectName, releaseView } from './view.ts';

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

/** PATCH_TYPE is the content type of the annotation patches of suspend, resume and reconcile. */
const MERGE_PATCH = 'application/merge-patch+json';

/** PAGE_SIZE is the page of every list request. */
const PAGE_SIZE = 500;

/** run runs one command line and returns the exit code. */
export async function run(argv: readonly string[], io: PluginIO): Promise<number> {
  let args: PluginArgs;
  try {
    args = parseArgs(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.stderr.write(`error: ${err.message}\n${HINT}\n`);
    return 2;
  }
  if (args.command === 'help') {
    io.stdout.write(USAGE);
    return 0;
  }
  if (args.command === 'version') {
    const info = readBuildInfo();
    io.stdout.write(`kubectl-release ${info.version} (commit ${info.commit}, node ${info.node})\n`);
    return 0;
  }
  if (args.command === '__complete') return complete(args.words ?? [], io);
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
      case 'wait':
        return await wait(cluster.client, args, namespace, io);
      case 'reconcile':
        return await reconcile(cluster.client, args, namespace, io);
      case 'suspend':
      case 'resume':
        return await suspendOrResume(cluster.client, args, namespace, io);
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

/**
 * notFound is the one not-found answer of every command: the Release is not there (with how to
 * list what is), or the cluster serves no Releases at all (the CRDs are missing).
 */
function notFound(err: unknown, namespace: string, name?: string): PlanError {
  // A missing object's Status names it; a missing resource type answers 404 without details.
  const missingObject = isKubeApiError(err) && name !== undefined && err.details?.['name'] === name;
  if (name !== undefined && (missingObject || !isKubeApiError(err))) {
    return new PlanError(
      `Release ${namespace}/${name} not found (\`kubectl release get -n ${namespace}\` lists the Releases there)`,
    );
  }
  return new PlanError(
    `this cluster does not serve Releases (${API_VERSION}): install the CRDs of config/crd/`,
  );
}

/** readRelease reads one Release, or fails with notFound. */
async function readRelease(client: KubeClient, namespace: string, name: string): Promise<unknown> {
  try {
    return await client.request({
      method: 'GET',
      path: `${releasesPath(namespace)}/${encodeURIComponent(name)}`,
    });
  } catch (err) {
    if (isKubeApiError(err) && err.isNotFound) throw notFound(err, namespace, name);
    throw err;
  }
}

/**
 * follow watches the Releases in scope (our own supervised informer: relists and rewatches on its
 * own) and calls `onChange` for each change after the first list, which it returns; it runs until
 * the process is interrupted (Ctrl+C), as `kubectl get -w` does.
 */
async function follow(
  client: KubeClient,
  scope: { namespace: string | undefined; labelSelector?: string; name?: string },
  onChange: (type: 'added' | 'updated' | 'deleted', obj: unknown) => void,
): Promise<{ items: unknown[]; informer: Informer }> {
  let synced = false;
  const informer = new Informer({
    client,
    path: releasesPath(scope.namespace),
    name: 'plugin-watch',
    logger: pino({ level: 'silent' }),
    ...(scope.labelSelector && { labelSelector: scope.labelSelector }),
    ...(scope.name && { fieldSelector: `metadata.name=${scope.name}` }),
  });
  informer.addHandler((type, obj) => {
    if (synced) onChange(type, obj);
  });
  informer.start();
  await informer.waitForSync();
  synced = true;
  return { items: informer.list(), informer };
}

/** forever resolves never: a watch ends when the user interrupts it. */
function forever(): Promise<never> {
  return new Promise<never>(() => undefined);
}

async function get(
  client: KubeClient,
  args: PluginArgs,
  namespace: string,
  io: PluginIO,
  colors: Palette,
): Promise<number> {
  const scope = args.allNamespaces ? undefined : namespace;
  let items: unknown[];
  if (args.name !== undefined) {
    items = [await readRelease(client, namespace, args.name)];
  } else {
    items = await listAll(client, releasesPath(scope), {
      ...(args.selector && { labelSelector: args.selector }),
    }).catch((err: unknown) => {
      if (isKubeApiError(err) && err.isNotFound) throw notFound(err, namespace);
      if (isKubeApiError(err) && err.statusCode === 400 && args.selector)
        throw new PlanError(
          `-l ${args.selector} is not a label selector the API server accepts: ${err.message}`,
        );
      throw err;
    });
  }
  const byName = (a: ReturnType<typeof releaseView>, b: ReturnType<typeof releaseView>) =>
    a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name);
  if (args.output === 'json' || args.output === 'yaml') {
    io.stdout.write(printObjects(items, args.output, args.name !== undefined));
    return 0;
  }
  if (args.output === 'name') {
    io.stdout.write(printNames(items));
    return 0;
  }
  const views = items.map(releaseView).sort(byName);
  if (args.output === 'summary-json') {
    io.stdout.write(getJson(args.name !== undefined ? views.slice(0, 1) : views));
    return 0;
  }
  const table = (rows: typeof views, header: boolean) =>
    renderGet(rows, {
      allNamespaces: args.allNamespaces,
      now: io.now(),
      palette: colors,
      wide: args.output === 'wide',
      header,
    });
  if (views.length === 0 && !args.watch) {
    io.stderr.write(
      args.allNamespaces ? 'No Releases found.\n' : `No Releases found in ${namespace} namespace.\n`,
    );
    return 0;
  }
  if (!args.watch) {
    io.stdout.write(table(views, true));
    if (views.some((v) => v.stale)) io.stderr.write(STALE_NOTE);
    return 0;
  }
  // -w: the table once, then a row each time a Release's row changes (its age aside), as kubectl,
  // in the columns of everything shown so far so the rows stay aligned under the header.
  type View = (typeof views)[number];
  const key = (v: View) => `${v.namespace}/${v.name}`;
  const shown = new Map<string, View>();
  const last = new Map<string, string>();
  const rowText = (v: View) =>
    table([v], false)
      .trimEnd()
      .replace(/\s+\S+$/, '');
  let headerShown = false;
  const print = (v: View) => {
    shown.set(key(v), v);
    const all = [...shown.values()];
    const lines = table(all, true).split('\n');
    const row = lines[all.indexOf(v) + 1] ?? '';
    io.stdout.write(`${headerShown ? '' : `${lines[0] ?? ''}\n`}${row}\n`);
    headerShown = true;
  };
  const { items: listed } = await follow(
    client,
    { namespace: scope, labelSelector: args.selector, name: args.name },
    (type, obj) => {
      const view = releaseView(obj);
      if (type === 'deleted') {
        last.delete(key(view));
        print({ ...view, deleting: true });
        shown.delete(key(view));
        return;
      }
      const text = rowText(view);
      if (last.get(key(view)) === text) return;
      last.set(key(view), text);
      print(view);
    },
  );
  const initial = listed.map(releaseView).sort(byName);
  if (initial.length > 0) {
    io.stdout.write(table(initial, true));
    headerShown = true;
    for (const v of initial) {
      shown.set(key(v), v);
      last.set(key(v), rowText(v));
    }
  }
  return forever();
}

async function tree(
  client: KubeClient,
  args: PluginArgs,
  namespace: string,
  io: PluginIO,
  colors: Palette,
): Promise<number> {
  const name = args.name ?? '';
  const render = (raw: unknown) => {
    const view = releaseView(raw);
    if (args.output === 'json') return treeJson(view);
    if (args.output === 'yaml') return stringify(view);
    return renderTree(view, colors);
  };
  const first = await readRelease(client, namespace, name);
  io.stdout.write(render(first));
  if (!args.watch) return 0;
  // -w: the whole tree again, after a blank line, each time it reads differently.
  let shown = render(first);
  const done = new Promise<number>((resolve) => {
    void follow(client, { namespace, name }, (type, obj) => {
      if (type === 'deleted') {
        io.stdout.write(`\nRelease ${namespace}/${name} deleted\n`);
        resolve(0);
        return;
      }
      const text = render(obj);
      if (text === shown) return;
      shown = text;
      io.stdout.write(`\n${text}`);
    });
  });
  return done;
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
  let gone: PlanError | undefined;
  try {
    const release = await client.request<{ metadata?: { uid?: string } }>({
      method: 'GET',
      path: `${releasesPath(namespace)}/${encodeURIComponent(name)}`,
    });
    uid = release.metadata?.uid;
  } catch (err) {
    if (!(isKubeApiError(err) && err.isNotFound)) throw err;
    gone = notFound(err, namespace, name);
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
  // A deleted Release's last Events are still worth reading; nothing at all is the common not-found.
  if (gone && views.length === 0) throw gone;
  if (gone) io.stderr.write(`Release ${namespace}/${name} no longer exists; these are its last Events.\n`);
  if (args.output === 'json') {
    io.stdout.write(`${JSON.stringify(views, null, 2)}\n`);
    return 0;
  }
  if (args.output === 'yaml') {
    io.stdout.write(stringify(views));
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
  const external = io.env['KUBECTL_EXTERNAL_DIFF']?.trim();
  const all: DiffEntry[] = [];
  for (const release of releasesOfFile(
    text,
    file === '-' ? 'standard input' : file,
    args.namespace ?? namespace,
  )) {
    const plan = await planRelease(client, release);
    if (external) {
      // The program shows the objects; what it cannot show (failures, skips) is said here.
      for (const e of plan.entries.filter((x) => x.action === 'error' || x.action === 'skip'))
        io.stderr.write(
          `${plan.release}: ${objectName(e.ref)}: ${e.action === 'error' ? 'would fail' : 'skipped'}${e.note ? `: ${e.note}` : ''}\n`,
        );
      all.push(...plan.entries);
    } else {
      io.stdout.write(renderDiff(plan.release, plan.entries, colors));
    }
    differences ||= hasDifferences(plan.entries);
    failing ||= plan.entries.some((e) => e.action === 'error');
  }
  if (external) {
    const code = await runExternalDiff(external, all);
    // As kubectl: the program's 0 and 1 are ours; anything else is an error of the program.
    if (code > 1) throw new PlanError(`KUBECTL_EXTERNAL_DIFF (${external}) exited with ${code}`);
    return failing ? 2 : code;
  }
  return failing ? 2 : differences ? 1 : 0;
}

/**
 * wait waits, as `kubectl wait --for=condition=Ready`, until the condition holds for the current
 * generation of the spec, printing a progress line on standard error each time the state changes
 * and `release.openchoreo.dev/NAME condition met` on standard output at the end.
 */
async function wait(client: KubeClient, args: PluginArgs, namespace: string, io: PluginIO): Promise<number> {
  const name = args.name ?? '';
  const want = args.waitFor ?? { condition: 'Ready', status: 'True' };
  const first = await readRelease(client, namespace, name);
  let lastLine = '';
  const progress = (raw: unknown): boolean => {
    const state = waitState(raw, want);
    if (state.line !== lastLine) io.stderr.write(`release/${name}: ${state.line}\n`);
    lastLine = state.line;
    return state.met;
  };
  const met = `release.${GROUP}/${name} condition met\n`;
  if (progress(first)) {
    io.stdout.write(met);
    return 0;
  }
  return untilDone(
    client,
    namespace,
    name,
    args.timeoutMs ?? 30_000,
    (obj) => progress(obj),
    () => {
      io.stdout.write(met);
    },
    `${want.condition}=${want.status} on release/${name}`,
    () => lastLine,
  );
}

/**
 * untilDone follows one Release until `done(obj)` says so (resolves 0 after `onDone`), it is
 * deleted (an error), or the timeout passes (an error naming what was waited for and the last state).
 */
async function untilDone(
  client: KubeClient,
  namespace: string,
  name: string,
  timeoutMs: number,
  done: (obj: unknown) => boolean,
  onDone: () => void,
  what: string,
  last: () => string,
): Promise<number> {
  let informer: Informer | undefined;
  let timer: NodeJS.Timeout | undefined;
  try {
    return await new Promise<number>((resolve, reject) => {
      timer = setTimeout(
        () => reject(new PlanError(`timed out waiting for ${what} (last: ${last()})`)),
        timeoutMs,
      );
      follow(client, { namespace, name }, (type, obj) => {
        if (type === 'deleted')
          reject(new PlanError(`Release ${namespace}/${name} was deleted while waiting`));
        else if (done(obj)) {
          onDone();
          resolve(0);
        }
      }).then(({ items, informer: started }) => {
        informer = started;
        // A change between the first read and the watch is in the list.
        if (items.some((obj) => done(obj))) {
          onDone();
          resolve(0);
        }
      }, reject);
    });
  } finally {
    clearTimeout(timer);
    await informer?.stop();
  }
}

/** annotate merge-patches annotations of a Release (null removes one) and returns the patched Release. */
async function annotate(
  client: KubeClient,
  namespace: string,
  name: string,
  annotations: Record<string, string | null>,
): Promise<unknown> {
  try {
    return await client.request({
      method: 'PATCH',
      path: `${releasesPath(namespace)}/${encodeURIComponent(name)}`,
      contentType: MERGE_PATCH,
      body: { metadata: { annotations } },
    });
  } catch (err) {
    if (isKubeApiError(err) && err.isNotFound) throw notFound(err, namespace, name);
    throw err;
  }
}

/**
 * reconcile asks for a pass now (annotation openchoreo.dev/reconcile-requested-at, as Flux's
 * reconcile.fluxcd.io/requestedAt) and waits until the controller says it handled that request
 * (status.lastHandledReconcileAt), then prints the Ready condition; `--timeout=0` returns at once.
 */
async function reconcile(
  client: KubeClient,
  args: PluginArgs,
  namespace: string,
  io: PluginIO,
): Promise<number> {
  const name = args.name ?? '';
  const requested = new Date(io.now()).toISOString();
  await annotate(client, namespace, name, { [Annotations.reconcileRequestedAt]: requested });
  io.stdout.write(
    `release.${GROUP}/${name} reconcile requested (${Annotations.reconcileRequestedAt}: ${requested})\n`,
  );
  if (args.timeoutMs === 0) return 0;
  let ready = '';
  return untilDone(
    client,
    namespace,
    name,
    args.timeoutMs ?? 60_000,
    (obj) => {
      ready = waitState(obj, { condition: 'Ready', status: 'True' }).line;
      return handledAt(obj) === requested;
    },
    () => {
      io.stdout.write(`release.${GROUP}/${name} reconciled: ${ready}\n`);
    },
    `the controller to handle the reconcile request of release/${name} (is it running?)`,
    () => ready,
  );
}

/**
 * suspendOrResume sets or removes openchoreo.dev/suspend. Resuming also asks for a pass, so the
 * Release applies again at once rather than at its next timer.
 */
async function suspendOrResume(
  client: KubeClient,
  args: PluginArgs,
  namespace: string,
  io: PluginIO,
): Promise<number> {
  const name = args.name ?? '';
  const before = releaseView(await readRelease(client, namespace, name));
  const suspend = args.command === 'suspend';
  if (before.suspended === suspend) {
    io.stdout.write(
      `release.${GROUP}/${name} ${suspend ? 'already suspended' : 'not suspended'} (no change)\n`,
    );
    return 0;
  }
  await annotate(
    client,
    namespace,
    name,
    suspend
      ? { [Annotations.suspend]: 'true' }
      : { [Annotations.suspend]: null, [Annotations.reconcileRequestedAt]: new Date(io.now()).toISOString() },
  );
  io.stdout.write(
    suspend
      ? `release.${GROUP}/${name} suspended: nothing is written or pruned on its data plane until \`kubectl release resume ${name}\`\n`
      : `release.${GROUP}/${name} resumed\n`,
  );
  return 0;
}

/** complete answers `__complete` (bin/kubectl_complete-release): candidates, then Cobra's directive. */
async function complete(words: readonly string[], io: PluginIO): Promise<number> {
  const flag = (name: string) => {
    for (let i = 0; i < words.length - 1; i++) {
      const w = words[i] ?? '';
      if (w === name) return words[i + 1];
      if (w.startsWith(`${name}=`)) return w.slice(name.length + 1);
    }
    return undefined;
  };
  let cluster: Awaited<ReturnType<typeof connectUser>> | undefined;
  try {
    const text = await completions(words, async (what, namespace) => {
      try {
        cluster ??= await connectUser(
          { kubeconfig: flag('--kubeconfig'), context: flag('--context') },
          io.env,
        );
        const items = await listAll(
          cluster.client,
          what === 'namespaces' ? '/api/v1/namespaces' : releasesPath(namespace ?? cluster.namespace),
        );
        return items
          .map((i) => (isRecord(i) && isRecord(i['metadata']) ? i['metadata']['name'] : undefined))
          .filter((n): n is string => typeof n === 'string' && n !== '')
          .sort();
      } catch {
        return []; // no cluster, no rights: nothing to offer, and nothing printed into the prompt
      }
    });
    io.stdout.write(text);
    return 0;
  } finally {
    await cluster?.client.close();
  }
}
