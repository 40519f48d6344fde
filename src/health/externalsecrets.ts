/** Health of external-secrets.io kinds: ExternalSecret, SecretStore, ClusterSecretStore. */
import type { KubeObject } from '../api/object.ts';
import { readyConditionHealth } from './conditions.ts';
import type { HealthResult } from './result.ts';

/**
 * externalSecretHealth: Ready=True once the target Secret is synced; Ready=False (`SecretSyncedError`)
 * means the provider refused or the key is missing, and the Secret is stale or absent; `SecretDeleted`
 * with a `deletionPolicy` of Delete is a deliberate outcome but leaves workloads without the Secret.
 */
export function externalSecretHealth(obj: KubeObject, _now: Date): HealthResult {
  return readyConditionHealth(obj, { waiting: 'waiting for the first sync from the secret store' });
}

/** secretStoreHealth (SecretStore, ClusterSecretStore): Ready=True when the provider validated; False is a bad provider config or credential. */
export function secretStoreHealth(obj: KubeObject, _now: Date): HealthResult {
  return readyConditionHealth(obj, { waiting: 'waiting for the store to be validated' });
}
