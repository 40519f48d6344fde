/**
 * Kubeconfig: how to reach one API server (server URL, TLS material, a token), read from a
 * kubeconfig document, from in-cluster service-account files, or from a DataPlane. A small reader
 * of our own: @kubernetes/client-node's loader pulls in its whole generated API (about 80 MiB of
 * memory and 0.4 s of start-up), so it is loaded only for kubeconfigs that need its credential
 * plugins (`exec`, `auth-provider`), which only an operator's own --kubeconfig may use.
 */
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import { isRecord } from '../api/object.ts';
import { KubeClient, type KubeClientOptions } from './client.ts';
import type { Impersonation } from './impersonation.ts';

/** ClusterAccess is everything needed to talk to one API server. */
export interface ClusterAccess {
  server: string;
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  token?: string;
  /** tokenFile is re-read regularly: projected service-account tokens rotate. */
  tokenFile?: string;
  username?: string;
  password?: string;
  insecureSkipTLSVerify?: boolean;
  tlsServerName?: string;
  /** impersonate is the user's `as`, `as-uid`, `as-groups` and `as-user-extra`: who requests act as. */
  impersonate?: Impersonation;
}

/** KubeconfigError says a kubeconfig cannot be used, naming where it came from and the field. */
export class KubeconfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KubeconfigError';
  }
}

/** NEEDS_PLUGIN marks a kubeconfig whose user needs a credential plugin (exec, auth-provider). */
export const NEEDS_PLUGIN = Symbol('needs a credential plugin');

/** ReadOptions say how much a kubeconfig may do. */
export interface ReadOptions {
  /** source names the kubeconfig in errors. */
  source: string;
  /** baseDir resolves relative file references; undefined forbids file references. */
  baseDir?: string;
}

const IN_CLUSTER_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/**
 * accessFromKubeconfig reads the current context of a kubeconfig text. File references are read
 * only when `baseDir` is given; a credential plugin returns NEEDS_PLUGIN.
 */
export async function accessFromKubeconfig(
  text: string,
  options: ReadOptions,
): Promise<ClusterAccess | typeof NEEDS_PLUGIN> {
  // Loaded on first use: the YAML parser is about 5 MiB of RSS that an in-cluster process with no
  // kubeconfig never needs (docs/performance.md, "Idle process").
  const { parse } = await import('yaml');
  let doc: unknown;
  try {
    doc = parse(text);
  } catch {
    throw new KubeconfigError(`${options.source} is not valid YAML`);
  }
  return accessFromDocument(doc, options);
}

/** accessFromDocument is accessFromKubeconfig on an already parsed document. */
export async function accessFromDocument(
  doc: unknown,
  options: ReadOptions,
): Promise<ClusterAccess | typeof NEEDS_PLUGIN> {
  if (!isRecord(doc)) throw new KubeconfigError(`${options.source} is not a kubeconfig document`);
  const named = (list: string, name: string | undefined, field: string): Record<string, unknown> => {
    const entries = Array.isArray(doc[list]) ? doc[list] : [];
    const entry = entries.find((e): e is Record<string, unknown> => isRecord(e) && e['name'] === name);
    const value = entry?.[field];
    if (!isRecord(value)) {
      throw new KubeconfigError(
        `${options.source}: no ${list} entry named "${name ?? ''}" (from current-context)`,
      );
    }
    return value;
  };
  const contextName = typeof doc['current-context'] === 'string' ? doc['current-context'] : undefined;
  if (!contextName) throw new KubeconfigError(`${options.source} has no current-context`);
  const context = named('contexts', contextName, 'context');
  const cluster = named('clusters', str(context['cluster']), 'cluster');
  const user = context['user'] === undefined ? {} : named('users', str(context['user']), 'user');
  if (user['exec'] !== undefined || user['auth-provider'] !== undefined) return NEEDS_PLUGIN;

  const server = str(cluster['server']);
  if (!server)
    throw new KubeconfigError(`${options.source}: cluster "${str(context['cluster'])}" has no server`);
  const file = async (
    owner: Record<string, unknown>,
    field: string,
    where: string,
  ): Promise<Buffer | undefined> => {
    const path = str(owner[field]);
    if (!path) return undefined;
    if (options.baseDir === undefined) {
      throw new KubeconfigError(
        `${options.source} refers to a local file (${where}.${field}); embed the data instead`,
      );
    }
    return readFile(isAbsolute(path) ? path : join(options.baseDir, path));
  };
  const data = (owner: Record<string, unknown>, field: string): Buffer | undefined => {
    const value = str(owner[field]);
    return value ? Buffer.from(value, 'base64') : undefined;
  };
  const tokenFile = str(user['tokenFile']) || str(user['token-file']);
  if (tokenFile && options.baseDir === undefined) {
    throw new KubeconfigError(
      `${options.source} refers to a local file (users[].user.token-file); embed the token instead`,
    );
  }
  return {
    server,
    ca:
      data(cluster, 'certificate-authority-data') ??
      (await file(cluster, 'certificate-authority', 'clusters[].cluster')),
    cert: data(user, 'client-certificate-data') ?? (await file(user, 'client-certificate', 'users[].user')),
    key: data(user, 'client-key-data') ?? (await file(user, 'client-key', 'users[].user')),
    token: str(user['token']) || undefined,
    tokenFile:
      tokenFile && options.baseDir !== undefined && !isAbsolute(tokenFile)
        ? join(options.baseDir, tokenFile)
        : tokenFile || undefined,
    username: str(user['username']) || undefined,
    password: str(user['password']) || undefined,
    insecureSkipTLSVerify: cluster['insecure-skip-tls-verify'] === true,
    tlsServerName: str(cluster['tls-server-name']) || undefined,
    impersonate: readImpersonation(user, options.source),
  };
}

/**
 * headerUnsafe tells whether an HTTP header value cannot carry a string unchanged: a control
 * character (a line break would end the header) or surrounding white space (servers trim it, so
 * `" admin"` would act as `admin`).
 */
function headerUnsafe(value: string): boolean {
  if (value.trim() !== value) return true;
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}

/**
 * readImpersonation reads a user's impersonation fields, checking their types. Errors name the
 * field, never its value: the message reaches a tenant's conditions and Events.
 */
function readImpersonation(user: Record<string, unknown>, source: string): Impersonation | undefined {
  const invalid = (field: string, what: string) =>
    new KubeconfigError(`${source}: users[].user.${field} must be ${what}`);
  const text = (value: unknown, field: string, what: string): string => {
    if (typeof value !== 'string' || value === '' || headerUnsafe(value)) throw invalid(field, what);
    return value;
  };
  const optional = (field: string): string | undefined => {
    const value = user[field];
    if (value === undefined || value === null || value === '') return undefined;
    return text(value, field, 'a string without control characters or surrounding spaces');
  };
  const list = (value: unknown, field: string): string[] => {
    const what = 'a list of non-empty strings without control characters or surrounding spaces';
    if (!Array.isArray(value)) throw invalid(field, what);
    return value.map((v) => text(v, field, what));
  };
  const username = optional('as');
  const uid = optional('as-uid');
  const rawGroups = user['as-groups'];
  const groups = rawGroups === undefined || rawGroups === null ? [] : list(rawGroups, 'as-groups');
  const rawExtra = user['as-user-extra'];
  const extra: Record<string, string[]> = {};
  if (rawExtra !== undefined && rawExtra !== null) {
    if (!isRecord(rawExtra)) throw invalid('as-user-extra', 'a map of keys to lists of strings');
    for (const [key, values] of Object.entries(rawExtra)) {
      if (key === '') throw invalid('as-user-extra', 'a map whose keys are not empty');
      if (values !== null) extra[key] = list(values, 'as-user-extra');
    }
  }
  const hasExtra = Object.keys(extra).length > 0;
  if (!username) {
    // The API server refuses a uid, groups or extra without a user, on every request: say so once.
    const orphan = uid ? 'as-uid' : groups.length > 0 ? 'as-groups' : hasExtra ? 'as-user-extra' : '';
    if (orphan) throw invalid(orphan, 'accompanied by users[].user.as (the user to impersonate)');
    return undefined;
  }
  return {
    user: username,
    ...(uid ? { uid } : {}),
    ...(groups.length > 0 ? { groups } : {}),
    ...(hasExtra ? { extra } : {}),
  };
}

/** inClusterAccess is the pod's own service account, as client-go's rest.InClusterConfig. */
export async function inClusterAccess(): Promise<ClusterAccess> {
  const host = process.env['KUBERNETES_SERVICE_HOST'];
  const port = process.env['KUBERNETES_SERVICE_PORT'] ?? '443';
  if (!host)
    throw new KubeconfigError(
      'not running in a cluster: KUBERNETES_SERVICE_HOST is not set; pass --kubeconfig',
    );
  return {
    server: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
    ca: await readFile(join(IN_CLUSTER_DIR, 'ca.crt')),
    tokenFile: join(IN_CLUSTER_DIR, 'token'),
  };
}

/** ControlPlaneConfig is where the controller's own kubeconfig came from, for the log. */
export interface ControlPlaneConfig {
  source: string;
  access: ClusterAccess | typeof NEEDS_PLUGIN;
  /** path of the kubeconfig file, when one was used (plugin kubeconfigs are loaded from it). */
  path?: string;
}

/**
 * controlPlaneConfig finds the controller's own credentials like client-go: --kubeconfig, then
 * $KUBECONFIG (first file), then in-cluster, then ~/.kube/config.
 */
export async function controlPlaneConfig(flag: string, env: NodeJS.ProcessEnv): Promise<ControlPlaneConfig> {
  const fromFile = async (path: string, source: string): Promise<ControlPlaneConfig> => {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      throw new KubeconfigError(`cannot read the kubeconfig ${path} (${source}): ${(err as Error).message}`);
    }
    return {
      source,
      path,
      access: await accessFromKubeconfig(text, { source: `kubeconfig ${path}`, baseDir: dirname(path) }),
    };
  };
  if (flag) return fromFile(flag, '--kubeconfig');
  const envPath = env['KUBECONFIG']?.split(':').find((p) => p !== '');
  if (envPath) return fromFile(envPath, '$KUBECONFIG');
  if (env['KUBERNETES_SERVICE_HOST'])
    return { source: 'in-cluster service account', access: await inClusterAccess() };
  return fromFile(join(homedir(), '.kube', 'config'), '~/.kube/config');
}

/** clientFor builds a KubeClient for a ClusterAccess. */
export function clientFor(access: ClusterAccess, options: Omit<KubeClientOptions, 'server'>): KubeClient {
  const basic =
    access.username !== undefined && access.password !== undefined
      ? `Basic ${Buffer.from(`${access.username}:${access.password}`).toString('base64')}`
      : undefined;
  const authorization = access.tokenFile
    ? async () => `Bearer ${(await readFile(access.tokenFile ?? '', 'utf8')).trim()}`
    : access.token
      ? () => Promise.resolve(`Bearer ${access.token}`)
      : basic
        ? () => Promise.resolve(basic)
        : undefined;
  return new KubeClient({
    ...options,
    server: access.server,
    ca: access.ca,
    cert: access.cert,
    key: access.key,
    rejectUnauthorized: !access.insecureSkipTLSVerify,
    servername: access.tlsServerName,
    authorization,
    impersonate: access.impersonate,
  });
}

function str(value: unknown): string {
  return typeof value === 'string' ? value : '';
}
