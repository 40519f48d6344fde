/**
 * The user's kubeconfig, chosen as kubectl chooses it: `--kubeconfig`, else every file of
 * `$KUBECONFIG` merged (the first file to name a cluster, user or context wins, and the first
 * current-context), else `~/.kube/config`; `--context` overrides the current context; the
 * namespace is `-n`, else the context's, else `default`. Pure: the caller reads the files.
 */
import { dirname, isAbsolute, join } from 'node:path';
import { isRecord } from '../api/object.ts';
import { KubeconfigError } from '../kube/kubeconfig.ts';

/** KubeconfigFile is one kubeconfig file, parsed. */
export interface KubeconfigFile {
  path: string;
  doc: unknown;
}

/** FILE_FIELDS are the kubeconfig fields holding file paths, resolved against their own file's folder. */
const FILE_FIELDS: Record<'clusters' | 'users', readonly string[]> = {
  clusters: ['certificate-authority'],
  users: ['client-certificate', 'client-key', 'token-file', 'tokenFile'],
};

/** kubeconfigPaths lists the files to read, and where the choice came from (for messages). */
export function kubeconfigPaths(
  flag: string | undefined,
  env: Record<string, string | undefined>,
  home: string,
): { paths: string[]; source: string } {
  if (flag) return { paths: [flag], source: '--kubeconfig' };
  const fromEnv = (env['KUBECONFIG'] ?? '').split(':').filter((p) => p !== '');
  if (fromEnv.length > 0) return { paths: fromEnv, source: '$KUBECONFIG' };
  return { paths: [join(home, '.kube', 'config')], source: '~/.kube/config' };
}

/**
 * mergeKubeconfigs merges kubeconfig files as kubectl does, with relative file references made
 * absolute against the folder of the file that holds them.
 */
export function mergeKubeconfigs(files: readonly KubeconfigFile[]): Record<string, unknown> {
  const merged: Record<string, unknown[]> = { clusters: [], users: [], contexts: [] };
  const seen: Record<string, Set<string>> = { clusters: new Set(), users: new Set(), contexts: new Set() };
  let currentContext: string | undefined;
  for (const { path, doc } of files) {
    if (!isRecord(doc)) continue;
    if (
      currentContext === undefined &&
      typeof doc['current-context'] === 'string' &&
      doc['current-context'] !== ''
    ) {
      currentContext = doc['current-context'];
    }
    for (const list of ['clusters', 'users', 'contexts'] as const) {
      for (const entry of Array.isArray(doc[list]) ? doc[list] : []) {
        if (!isRecord(entry) || typeof entry['name'] !== 'string' || seen[list]?.has(entry['name'])) continue;
        seen[list]?.add(entry['name']);
        merged[list]?.push(list === 'contexts' ? entry : absolutePaths(entry, list, dirname(path)));
      }
    }
  }
  return {
    apiVersion: 'v1',
    kind: 'Config',
    ...merged,
    ...(currentContext ? { 'current-context': currentContext } : {}),
  };
}

function absolutePaths(
  entry: Record<string, unknown>,
  list: 'clusters' | 'users',
  dir: string,
): Record<string, unknown> {
  const key = list === 'clusters' ? 'cluster' : 'user';
  const body = entry[key];
  if (!isRecord(body)) return entry;
  const copy = { ...body };
  for (const field of FILE_FIELDS[list]) {
    const value = copy[field];
    if (typeof value === 'string' && value !== '' && !isAbsolute(value)) copy[field] = join(dir, value);
  }
  return { ...entry, [key]: copy };
}

/** SelectedContext is the merged kubeconfig with the context to use made current, and its namespace. */
export interface SelectedContext {
  doc: Record<string, unknown>;
  context: string;
  /** namespace is the context's namespace, or undefined. */
  namespace?: string;
}

/** selectContext makes `--context` (or the current context) current, or says that it does not exist. */
export function selectContext(
  doc: Record<string, unknown>,
  contextFlag: string | undefined,
  source: string,
): SelectedContext {
  const name =
    contextFlag ?? (typeof doc['current-context'] === 'string' ? doc['current-context'] : undefined);
  if (!name) throw new KubeconfigError(`the kubeconfig (${source}) has no current-context; pass --context`);
  const contexts = Array.isArray(doc['contexts']) ? doc['contexts'] : [];
  const entry = contexts.find((c): c is Record<string, unknown> => isRecord(c) && c['name'] === name);
  if (!entry) {
    throw new KubeconfigError(
      `context "${name}" is not in the kubeconfig (${source})${contextFlag ? '' : ' (its current-context)'}`,
    );
  }
  const context = isRecord(entry['context']) ? entry['context'] : {};
  const namespace =
    typeof context['namespace'] === 'string' && context['namespace'] !== ''
      ? context['namespace']
      : undefined;
  return { doc: { ...doc, 'current-context': name }, context: name, namespace };
}
