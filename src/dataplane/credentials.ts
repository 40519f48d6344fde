/**
 * Credentials turn a DataPlane (inline certificates, or a kubeconfig Secret) into a ClusterAccess.
 * Kubeconfigs from Secrets are tenant input: they may not run commands (`exec`, `auth-provider`)
 * or read files of the controller's own file system, so those are refused with a clear message.
 */
import type { DataPlane } from '../api/v1alpha1/schema.ts';
import { isRecord } from '../api/object.ts';
import { accessFromDocument, KubeconfigError, NEEDS_PLUGIN, type ClusterAccess } from '../kube/kubeconfig.ts';

/** DEFAULT_KUBECONFIG_KEY is the Secret key read when secretRef.key is empty. */
export const DEFAULT_KUBECONFIG_KEY = 'kubeconfig';

/** CredentialsError says a DataPlane's credentials cannot be used; its message never holds secret data. */
export class CredentialsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CredentialsError';
  }
}

/** SecretLike is the part of a Secret the controller reads. */
export interface SecretLike {
  metadata: { name?: string; namespace?: string; resourceVersion?: string; labels?: Record<string, string> };
  data?: Record<string, string>;
}

/** accessFromInline reads upstream's inline base64 PEM credentials. */
export function accessFromInline(dp: DataPlane): ClusterAccess {
  const creds = dp.spec.kubernetesCluster?.credentials;
  const where = `DataPlane ${dp.metadata.namespace}/${dp.metadata.name}`;
  if (!creds) throw new CredentialsError(`${where} has no spec.kubernetesCluster.credentials`);
  for (const field of ['caCert', 'clientCert', 'clientKey'] as const) {
    if (!looksLikeBase64Pem(creds[field])) {
      throw new CredentialsError(
        `${where}: spec.kubernetesCluster.credentials.${field} is not base64-encoded PEM (encode the PEM file with 'base64 -w0')`,
      );
    }
  }
  checkServer(creds.apiServerURL, `${where}: spec.kubernetesCluster.credentials.apiServerURL`);
  return {
    server: creds.apiServerURL,
    ca: Buffer.from(creds.caCert, 'base64'),
    cert: Buffer.from(creds.clientCert, 'base64'),
    key: Buffer.from(creds.clientKey, 'base64'),
  };
}

/** accessFromSecret reads the kubeconfig a DataPlane's secretRef names. */
export async function accessFromSecret(
  dp: DataPlane,
  secret: SecretLike | undefined,
): Promise<ClusterAccess> {
  const ref = dp.spec.kubernetesCluster?.secretRef;
  const where = `DataPlane ${dp.metadata.namespace}/${dp.metadata.name}`;
  if (!ref) throw new CredentialsError(`${where} has no spec.kubernetesCluster.secretRef`);
  const key = ref.key ?? DEFAULT_KUBECONFIG_KEY;
  if (!secret) {
    throw new CredentialsError(
      `${where}: Secret ${dp.metadata.namespace}/${ref.name} named by spec.kubernetesCluster.secretRef does not exist`,
    );
  }
  const encoded = secret.data?.[key];
  if (!encoded) {
    throw new CredentialsError(
      `${where}: Secret ${dp.metadata.namespace}/${ref.name} has no key '${key}' (set spec.kubernetesCluster.secretRef.key)`,
    );
  }
  const text = Buffer.from(encoded, 'base64').toString('utf8');
  // Loaded on first use, as in src/kube/kubeconfig.ts.
  const { parse } = await import('yaml');
  let doc: unknown;
  try {
    doc = parse(text);
  } catch {
    throw new CredentialsError(
      `${where}: key '${key}' of Secret ${ref.name} is not a valid kubeconfig (YAML parse error)`,
    );
  }
  refuseUnsafeKubeconfig(doc, `${where}: kubeconfig in Secret ${ref.name}`);
  let access: ClusterAccess | typeof NEEDS_PLUGIN;
  try {
    // No baseDir: a tenant's kubeconfig may not read files of the controller.
    access = await accessFromDocument(doc, { source: `${where}: kubeconfig in Secret ${ref.name}` });
  } catch (err) {
    if (err instanceof KubeconfigError) throw new CredentialsError(err.message);
    throw err;
  }
  if (access === NEEDS_PLUGIN) {
    throw new CredentialsError(
      `${where}: kubeconfig in Secret ${ref.name} needs a credential plugin, which the controller refuses to run`,
    );
  }
  checkServer(access.server, `${where}: kubeconfig in Secret ${ref.name}: server`);
  return access;
}

/** checkServer refuses an API server address that is not an http(s) URL, naming the field but not quoting it. */
function checkServer(server: string, field: string): void {
  let url: URL | undefined;
  try {
    url = new URL(server);
  } catch {
    url = undefined;
  }
  if (url?.protocol !== 'https:' && url?.protocol !== 'http:') {
    throw new CredentialsError(
      `${field} is not an https:// URL (for example https://dataplane.example:6443)`,
    );
  }
}

/**
 * Kubeconfig fields a tenant may use. Anything else is refused: client-node would read files
 * (`token-file`, `client-certificate`, ...) or run commands (`exec`, `auth-provider`) on the
 * controller's behalf, which would hand the controller's own credentials to a tenant's server.
 */
const ALLOWED_USER_FIELDS = new Set([
  'client-certificate-data',
  'client-key-data',
  'token',
  'username',
  'password',
  'as',
  'as-uid',
  'as-groups',
  'as-user-extra',
]);
const ALLOWED_CLUSTER_FIELDS = new Set([
  'server',
  'certificate-authority-data',
  'insecure-skip-tls-verify',
  'tls-server-name',
  'disable-compression',
  'extensions',
]);

/** KNOWN_FILE_FIELDS are kubeconfig fields that name files or proxies: safe to name in a message. */
const KNOWN_FILE_FIELDS = new Set([
  'client-certificate',
  'client-key',
  'token-file',
  'tokenFile',
  'certificate-authority',
  'proxy-url',
  'username-file',
]);

/**
 * describeFields names the refused fields that are known kubeconfig fields; any other key is only
 * counted, never quoted: a mistyped entry such as `{token:eyJ...}` parses as a key that holds the
 * secret itself, and the message goes into a condition and an Event.
 */
function describeFields(refused: string[]): string {
  const named = refused.filter((f) => KNOWN_FILE_FIELDS.has(f));
  const others = refused.length - named.length;
  const unknown =
    others > 0
      ? [
          `${others === 1 ? 'a field' : `${others} fields`} that no kubeconfig has (not shown: a mistyped field may hold a secret)`,
        ]
      : [];
  return [...named, ...unknown].join(', ');
}

function refuseUnsafeKubeconfig(doc: unknown, where: string): void {
  if (!isRecord(doc)) throw new CredentialsError(`${where} is not a kubeconfig document`);
  for (const entry of Array.isArray(doc['users']) ? doc['users'] : []) {
    const user = isRecord(entry) && isRecord(entry['user']) ? entry['user'] : {};
    if (user['exec'] !== undefined || user['auth-provider'] !== undefined) {
      throw new CredentialsError(
        `${where} uses exec or auth-provider credentials, which the controller refuses to run; use client certificates or a token`,
      );
    }
    const refused = Object.keys(user).filter((f) => !ALLOWED_USER_FIELDS.has(f));
    if (refused.length > 0) {
      throw new CredentialsError(
        `${where} uses users[].user.${describeFields(refused)}, which would read a local file of the controller; embed the data instead (client-certificate-data, client-key-data, token)`,
      );
    }
  }
  for (const entry of Array.isArray(doc['clusters']) ? doc['clusters'] : []) {
    const cluster = isRecord(entry) && isRecord(entry['cluster']) ? entry['cluster'] : {};
    const refused = Object.keys(cluster).filter((f) => !ALLOWED_CLUSTER_FIELDS.has(f));
    if (refused.length > 0) {
      throw new CredentialsError(
        `${where} uses clusters[].cluster.${describeFields(refused)}, which the controller does not accept; use server and certificate-authority-data`,
      );
    }
  }
}

function looksLikeBase64Pem(value: string): boolean {
  if (!/^[A-Za-z0-9+/=\s]+$/.test(value)) return false;
  return Buffer.from(value, 'base64').toString('utf8').includes('-----BEGIN ');
}
