/**
 * Credentials turn a DataPlane (inline certificates, or a kubeconfig Secret) into a KubeConfig.
 * Kubeconfigs from Secrets are tenant input: they may not run commands (`exec`, `auth-provider`)
 * or read files of the controller's own file system, so those are refused with a clear message.
 */
import { KubeConfig } from '@kubernetes/client-node';
import { parse } from 'yaml';
import type { DataPlane } from '../api/v1alpha1/schema.ts';
import { isRecord } from '../api/object.ts';

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
  metadata: { name?: string; namespace?: string; resourceVersion?: string };
  data?: Record<string, string>;
}

/** kubeConfigFromInline builds a KubeConfig from upstream's inline base64 PEM credentials. */
export function kubeConfigFromInline(dp: DataPlane): KubeConfig {
  const creds = dp.spec.kubernetesCluster.credentials;
  const where = `DataPlane ${dp.metadata.namespace}/${dp.metadata.name}`;
  if (!creds) throw new CredentialsError(`${where} has no spec.kubernetesCluster.credentials`);
  for (const field of ['caCert', 'clientCert', 'clientKey'] as const) {
    if (!looksLikeBase64Pem(creds[field])) {
      throw new CredentialsError(
        `${where}: spec.kubernetesCluster.credentials.${field} is not base64-encoded PEM (encode the PEM file with 'base64 -w0')`,
      );
    }
  }
  const kc = new KubeConfig();
  // The base64 PEM fields are exactly client-node's *Data encoding: pass them through undecoded.
  kc.loadFromOptions({
    clusters: [{ name: 'dataplane', server: creds.apiServerURL, caData: creds.caCert, skipTLSVerify: false }],
    users: [{ name: 'dataplane', certData: creds.clientCert, keyData: creds.clientKey }],
    contexts: [{ name: 'dataplane', cluster: 'dataplane', user: 'dataplane' }],
    currentContext: 'dataplane',
  });
  return kc;
}

/** kubeConfigFromSecret builds a KubeConfig from the kubeconfig a DataPlane's secretRef names. */
export function kubeConfigFromSecret(dp: DataPlane, secret: SecretLike | undefined): KubeConfig {
  const ref = dp.spec.kubernetesCluster.secretRef;
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
  let doc: unknown;
  try {
    doc = parse(text);
  } catch {
    throw new CredentialsError(
      `${where}: key '${key}' of Secret ${ref.name} is not a valid kubeconfig (YAML parse error)`,
    );
  }
  refuseUnsafeKubeconfig(doc, `${where}: kubeconfig in Secret ${ref.name}`);
  const kc = new KubeConfig();
  try {
    kc.loadFromString(text);
  } catch (err) {
    const why = err instanceof Error ? err.message.split('\n')[0] : 'invalid';
    throw new CredentialsError(`${where}: kubeconfig in Secret ${ref.name} cannot be loaded: ${why}`);
  }
  if (!kc.getCurrentCluster()) {
    throw new CredentialsError(
      `${where}: kubeconfig in Secret ${ref.name} has no current-context with a cluster`,
    );
  }
  return kc;
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
        `${where} uses users[].user.${refused.join(', ')}, which would read a local file of the controller; embed the data instead (client-certificate-data, client-key-data, token)`,
      );
    }
  }
  for (const entry of Array.isArray(doc['clusters']) ? doc['clusters'] : []) {
    const cluster = isRecord(entry) && isRecord(entry['cluster']) ? entry['cluster'] : {};
    const refused = Object.keys(cluster).filter((f) => !ALLOWED_CLUSTER_FIELDS.has(f));
    if (refused.length > 0) {
      throw new CredentialsError(
        `${where} uses clusters[].cluster.${refused.join(', ')}, which the controller does not accept; use server and certificate-authority-data`,
      );
    }
  }
}

function looksLikeBase64Pem(value: string): boolean {
  if (!/^[A-Za-z0-9+/=\s]+$/.test(value)) return false;
  return Buffer.from(value, 'base64').toString('utf8').includes('-----BEGIN ');
}
