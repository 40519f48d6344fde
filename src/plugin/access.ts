/**
 * The plugin's connection to the user's cluster: the user's kubeconfig (userconfig.ts) read from
 * disk, made into a KubeClient with our own reader (kube/kubeconfig.ts), or through
 * @kubernetes/client-node when the user needs a credential plugin (exec, auth-provider), as the
 * controller does for its own kubeconfig. A person runs this with their own credentials, so their
 * kubeconfig may read files and run its plugins, as kubectl lets it.
 */
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { stringify, parse } from 'yaml';
import { clientFromKubeConfig, type KubeClient } from '../kube/client.ts';
import { accessFromDocument, clientFor, KubeconfigError, NEEDS_PLUGIN } from '../kube/kubeconfig.ts';
import { kubeconfigPaths, mergeKubeconfigs, selectContext, type KubeconfigFile } from './userconfig.ts';

/** UserCluster is a client of the user's cluster and the namespace to use by default. */
export interface UserCluster {
  client: KubeClient;
  /** namespace is the context's namespace, else `default`. */
  namespace: string;
  /** context names the kubeconfig context in use. */
  context: string;
}

/** REQUEST_TIMEOUT_MS bounds every request of the plugin: a person is waiting. */
const REQUEST_TIMEOUT_MS = 30_000;

/** connectUser reads the user's kubeconfig (flags, $KUBECONFIG, ~/.kube/config) and connects. */
export async function connectUser(
  flags: { kubeconfig?: string; context?: string },
  env: Record<string, string | undefined>,
): Promise<UserCluster> {
  const { paths, source } = kubeconfigPaths(flags.kubeconfig, env, homedir());
  const files: KubeconfigFile[] = [];
  for (const path of paths) {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      // kubectl skips missing files of $KUBECONFIG, but not a missing --kubeconfig.
      if (source === '$KUBECONFIG' && (err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw new KubeconfigError(`cannot read the kubeconfig ${path} (${source}): ${(err as Error).message}`);
    }
    try {
      files.push({ path, doc: parse(text) });
    } catch {
      throw new KubeconfigError(`the kubeconfig ${path} (${source}) is not valid YAML`);
    }
  }
  if (files.length === 0) throw new KubeconfigError(`no kubeconfig found (${source}: ${paths.join(', ')})`);
  const selected = selectContext(mergeKubeconfigs(files), flags.context, source);
  const options = { name: `context ${selected.context}`, timeoutMs: REQUEST_TIMEOUT_MS, maxRetries: 1 };
  // Relative file references were made absolute by the merge; "/" lets the reader read them.
  const access = await accessFromDocument(selected.doc, { source: `kubeconfig (${source})`, baseDir: '/' });
  let client: KubeClient;
  if (access === NEEDS_PLUGIN) {
    const { KubeConfig } = await import('@kubernetes/client-node');
    const kc = new KubeConfig();
    kc.loadFromString(stringify(selected.doc));
    client = await clientFromKubeConfig(kc, options);
  } else {
    client = clientFor(access, options);
  }
  return { client, namespace: selected.namespace ?? 'default', context: selected.context };
}
