/**
 * The ownership key: the secret with which the controller seals which organization owns a
 * data-plane namespace (tenancy.ts). It lives in a Secret of the controller's own namespace on the
 * control plane, which tenants cannot read, and is created with a random key on first start, so
 * every replica and every restart seals alike.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { KubeObject } from '../../api/object.ts';
import { isKubeApiError, type KubeClient } from '../../kube/client.ts';

/** OWNERSHIP_KEY_FIELD is the key of the Secret's data that holds the ownership key. */
export const OWNERSHIP_KEY_FIELD = 'key';
/** OWNERSHIP_KEY_BYTES is the length of a new ownership key. */
const OWNERSHIP_KEY_BYTES = 32;

type Secret = KubeObject & { data?: Record<string, string> };

/**
 * loadOwnershipKey reads the ownership key from Secret `namespace/name`, creating the Secret with a
 * random key when it does not exist (two replicas starting at once agree on whichever was created).
 */
export async function loadOwnershipKey(
  client: KubeClient,
  namespace: string,
  name: string,
  logger: Logger,
  signal: AbortSignal,
): Promise<Buffer> {
  const path = `/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets`;
  const where = `Secret ${namespace}/${name} (--ownership-key-secret)`;
  const read = async (): Promise<Secret | undefined> => {
    try {
      return await client.request<Secret>({
        method: 'GET',
        path: `${path}/${encodeURIComponent(name)}`,
        signal,
      });
    } catch (err) {
      if (isKubeApiError(err) && err.isNotFound) return undefined;
      throw new Error(`reading the ownership key ${where} failed`, { cause: err });
    }
  };
  let secret = await read();
  if (!secret) {
    try {
      secret = await client.request<Secret>({
        method: 'POST',
        path,
        body: {
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { name, namespace, labels: { 'app.kubernetes.io/name': 'release-controller' } },
          type: 'Opaque',
          data: { [OWNERSHIP_KEY_FIELD]: randomBytes(OWNERSHIP_KEY_BYTES).toString('base64') },
        },
        signal,
      });
      logger.info({ secret: `${namespace}/${name}` }, 'created the namespace ownership key');
    } catch (err) {
      if (!(isKubeApiError(err) && err.isConflict))
        throw new Error(`creating the ownership key ${where} failed`, { cause: err });
      secret = await read();
    }
  }
  const encoded = secret?.data?.[OWNERSHIP_KEY_FIELD];
  const key = encoded ? Buffer.from(encoded, 'base64') : Buffer.alloc(0);
  if (key.length < 16)
    throw new Error(
      `${where} has no usable key in data.${OWNERSHIP_KEY_FIELD} (at least 16 bytes, base64); restore it from a backup, or delete the Secret to start over (every namespace sealed with the old key then belongs to nobody)`,
    );
  return key;
}
