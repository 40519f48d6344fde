/** Health of networking.k8s.io (and legacy extensions) Ingress. */
import type { KubeObject } from '../api/object.ts';
import { loadBalancerAddresses } from './core.ts';
import { health, HealthReasons } from './result.ts';
import type { HealthResult } from './result.ts';

/**
 * ingressHealth is Healthy with or without an address. Argo CD waits for an address and leaves the
 * Ingress Progressing forever under controllers that never publish status (argo-cd#1704, #14607);
 * a missing address is not a failure we can tell from a quiet controller, so we report it in the
 * message instead of holding the Release un-Ready.
 */
export function ingressHealth(obj: KubeObject, _now: Date): HealthResult {
  const addresses = loadBalancerAddresses(obj);
  if (addresses.length > 0) {
    return health('Healthy', HealthReasons.addressAssigned, `address ${addresses.join(', ')}`);
  }
  return health(
    'Healthy',
    HealthReasons.noAddressReported,
    'no load balancer address reported; the ingress controller may not publish status',
  );
}
