/**
 * Health of live data-plane objects: pure functions from an object to {status, reason, message},
 * one module per API group, dispatched here by group and kind.
 */
import { isRecord, parseApiVersion } from '../api/object.ts';
import type { KubeObject } from '../api/object.ts';
import { HEALTH_STATUSES } from '../api/v1alpha1/constants.ts';
import type { HealthStatus } from '../api/v1alpha1/constants.ts';
import { customResourceDefinitionHealth } from './apiextensions.ts';
import { apiServiceHealth } from './apiregistration.ts';
import { applicationHealth, rolloutHealth } from './argo.ts';
import { certificateHealth, certificateRequestHealth, issuerHealth } from './certmanager.ts';
import { cnpgClusterHealth } from './cnpg.ts';
import { crossplaneHealth, isCrossplaneResource } from './crossplane.ts';
import { externalSecretHealth, secretStoreHealth } from './externalsecrets.ts';
import { fluxHealth } from './flux.ts';
import { kedaHealth } from './keda.ts';
import { knativeHealth } from './knative.ts';
import { prometheusOperatorHealth } from './monitoring.ts';
import { strimziHealth } from './strimzi.ts';
import { daemonSetHealth, deploymentHealth, replicaSetHealth, statefulSetHealth } from './apps.ts';
import { horizontalPodAutoscalerHealth } from './autoscaling.ts';
import { cronJobHealth, jobHealth } from './batch.ts';
import { namespaceHealth, persistentVolumeClaimHealth, podHealth, serviceHealth } from './core.ts';
import { gatewayHealth, routeHealth } from './gateway.ts';
import { genericHealth } from './generic.ts';
import { ingressHealth } from './networking.ts';
import { podDisruptionBudgetHealth } from './policy.ts';
import { health, HealthReasons } from './result.ts';
import type { HealthCheck, HealthResult } from './result.ts';

export { HealthReasons, MAX_MESSAGE_LENGTH } from './result.ts';
export type { HealthCheck, HealthResult } from './result.ts';

const GATEWAY_GROUP = 'gateway.networking.k8s.io';

// Keyed by group only, not version: every served version of these kinds has the same status shape,
// and `extensions` still appears in old manifests for Deployment, DaemonSet, ReplicaSet and Ingress.
const CHECKS: ReadonlyMap<string, HealthCheck> = new Map<string, HealthCheck>([
  ['apps/Deployment', deploymentHealth],
  ['apps/StatefulSet', statefulSetHealth],
  ['apps/DaemonSet', daemonSetHealth],
  ['apps/ReplicaSet', replicaSetHealth],
  ['extensions/Deployment', deploymentHealth],
  ['extensions/DaemonSet', daemonSetHealth],
  ['extensions/ReplicaSet', replicaSetHealth],
  ['/Pod', podHealth],
  ['/Service', serviceHealth],
  ['/PersistentVolumeClaim', persistentVolumeClaimHealth],
  ['/Namespace', namespaceHealth],
  ['/ReplicationController', replicaSetHealth],
  ['batch/Job', jobHealth],
  ['batch/CronJob', cronJobHealth],
  ['networking.k8s.io/Ingress', ingressHealth],
  ['extensions/Ingress', ingressHealth],
  ['autoscaling/HorizontalPodAutoscaler', horizontalPodAutoscalerHealth],
  ['policy/PodDisruptionBudget', podDisruptionBudgetHealth],
  ['apiextensions.k8s.io/CustomResourceDefinition', customResourceDefinitionHealth],
  ['apiregistration.k8s.io/APIService', apiServiceHealth],
  [`${GATEWAY_GROUP}/Gateway`, gatewayHealth],
  [`${GATEWAY_GROUP}/HTTPRoute`, routeHealth],
  [`${GATEWAY_GROUP}/GRPCRoute`, routeHealth],
  [`${GATEWAY_GROUP}/TLSRoute`, routeHealth],
  [`${GATEWAY_GROUP}/TCPRoute`, routeHealth],
  [`${GATEWAY_GROUP}/UDPRoute`, routeHealth],
  // Custom resources platforms run most (issue 29), one module per project.
  ['cert-manager.io/Certificate', certificateHealth],
  ['cert-manager.io/CertificateRequest', certificateRequestHealth],
  ['cert-manager.io/Issuer', issuerHealth],
  ['cert-manager.io/ClusterIssuer', issuerHealth],
  ['kustomize.toolkit.fluxcd.io/Kustomization', fluxHealth],
  ['helm.toolkit.fluxcd.io/HelmRelease', fluxHealth],
  ['source.toolkit.fluxcd.io/GitRepository', fluxHealth],
  ['source.toolkit.fluxcd.io/OCIRepository', fluxHealth],
  ['source.toolkit.fluxcd.io/HelmRepository', fluxHealth],
  ['source.toolkit.fluxcd.io/HelmChart', fluxHealth],
  ['source.toolkit.fluxcd.io/Bucket', fluxHealth],
  ['argoproj.io/Rollout', rolloutHealth],
  ['argoproj.io/Application', applicationHealth],
  ['external-secrets.io/ExternalSecret', externalSecretHealth],
  ['external-secrets.io/SecretStore', secretStoreHealth],
  ['external-secrets.io/ClusterSecretStore', secretStoreHealth],
  ['keda.sh/ScaledObject', kedaHealth],
  ['keda.sh/ScaledJob', kedaHealth],
  ['serving.knative.dev/Service', knativeHealth],
  ['serving.knative.dev/Route', knativeHealth],
  ['serving.knative.dev/Configuration', knativeHealth],
  ['serving.knative.dev/Revision', knativeHealth],
  ['postgresql.cnpg.io/Cluster', cnpgClusterHealth],
  ['kafka.strimzi.io/Kafka', strimziHealth],
  ['kafka.strimzi.io/KafkaTopic', strimziHealth],
  ['kafka.strimzi.io/KafkaUser', strimziHealth],
  ['monitoring.coreos.com/Prometheus', prometheusOperatorHealth],
  ['monitoring.coreos.com/Alertmanager', prometheusOperatorHealth],
]);

/**
 * HealthCheckResolver picks the rule for a live object. assessHealth takes one so that the HealthRule
 * engine can put the operator's rules in front of ours: it wraps builtinHealthCheck and answers
 * first for the kinds it has a rule for (operator rules > built-in rules > generic rule). The
 * pre-checks of assessHealth (missing, malformed, being deleted, a rule that throws) apply to every
 * rule alike.
 */
export type HealthCheckResolver = (group: string, kind: string, obj: KubeObject) => HealthCheck;

/**
 * builtinHealthCheck is the default HealthCheckResolver: the rule for the group and kind, else
 * Crossplane's rule for an object shaped like a Crossplane resource (their groups are open-ended),
 * else the generic rule.
 */
export function builtinHealthCheck(group: string, kind: string, obj: KubeObject): HealthCheck {
  const check = CHECKS.get(`${group}/${kind}`);
  if (check) return check;
  if (isCrossplaneResource(group, obj)) return crossplaneHealth;
  return genericHealth;
}

// The fields every rule may rely on; anything else in a live object is read defensively.
function malformed(obj: unknown): string | undefined {
  if (!isRecord(obj)) return 'the object is not a JSON object';
  if (typeof obj['apiVersion'] !== 'string') return 'apiVersion is missing or not a string';
  if (typeof obj['kind'] !== 'string') return 'kind is missing or not a string';
  if (!isRecord(obj['metadata'])) return `${obj['kind']} has no metadata object`;
  return undefined;
}

/**
 * assessHealth computes the health of a live object; `undefined` means the object is missing.
 * `now` feeds the few time-based rules (grace periods), so a caller that requeues Progressing
 * objects sees them turn Degraded once a grace expires. `override` is the operator's HealthRules
 * (HealthRuleRegistry.prepare): an object they cover gets their result instead of the built-in one.
 */
export function assessHealth(
  obj: KubeObject | undefined,
  now: Date = new Date(),
  override?: (obj: KubeObject) => HealthResult | undefined,
  resolve: HealthCheckResolver = builtinHealthCheck,
): HealthResult {
  if (obj === undefined) return health('Unknown', HealthReasons.notFound, 'object not found');
  // A data plane may send anything: every step, the pre-checks too, is inside the catch.
  try {
    const problem = malformed(obj);
    if (problem) return health('Unknown', HealthReasons.malformedObject, `cannot assess health: ${problem}`);
    const deletionTimestamp: unknown = obj.metadata.deletionTimestamp;
    if (deletionTimestamp) {
      // Any truthy value means deletion was requested; only a string is worth echoing.
      const at = typeof deletionTimestamp === 'string' ? deletionTimestamp : 'an unreadable time';
      const finalizers: unknown = obj.metadata.finalizers;
      const names = Array.isArray(finalizers) ? finalizers.filter((f) => typeof f === 'string') : [];
      const waiting = names.length > 0 ? `; waiting for finalizers: ${names.join(', ')}` : '';
      return health('Progressing', HealthReasons.terminating, `deletion requested at ${at}${waiting}`);
    }
    // HealthRules (operator-owned, src/health/rules/) win over the built-in and generic rules.
    const ruled = override?.(obj);
    if (ruled) return ruled;
    const { group } = parseApiVersion(obj.apiVersion);
    return resolve(group, obj.kind, obj)(obj, now);
  } catch (err) {
    // The rules read untrusted JSON defensively; this is the last line, as Argo CD's Lua errors are.
    const detail = err instanceof Error ? err.message : String(err);
    return health('Unknown', HealthReasons.checkFailed, `health check failed: ${detail}`);
  }
}

// Severity, best to worst: Healthy < Suspended < Progressing < Unknown < Degraded.
// - Suspended ranks just above Healthy: it is a deliberate steady state, but an aggregate that hides
//   it entirely would let a paused rollout go unnoticed.
// - Unknown ranks above Progressing: we cannot vouch for an object we cannot read (missing, data plane
//   unreachable), while a Progressing one is moving on its own.
// - Degraded ranks above Unknown, unlike Argo CD: a known failure needs action and must not be
//   masked by a neighbour we merely cannot see (kstatus orders Failed over Unknown too).
const SEVERITY: ReadonlyMap<HealthStatus, number> = new Map(HEALTH_STATUSES.map((status, i) => [status, i]));

/** healthSeverity ranks a status from 0 (Healthy) to 4 (Degraded). */
export function healthSeverity(status: HealthStatus): number {
  return SEVERITY.get(status) ?? SEVERITY.size;
}

/** compareHealth orders statuses worst first, for sorting objects to name in a Ready message. */
export function compareHealth(a: HealthStatus, b: HealthStatus): number {
  return healthSeverity(b) - healthSeverity(a);
}

/** worstHealth aggregates statuses; no statuses at all is Healthy (a Release with nothing to watch). */
export function worstHealth(statuses: Iterable<HealthStatus>): HealthStatus {
  let worst: HealthStatus = 'Healthy';
  for (const status of statuses) {
    if (healthSeverity(status) > healthSeverity(worst)) worst = status;
  }
  return worst;
}

/** isReadyHealth tells whether a status lets a Release be Ready: Healthy, or Suspended on purpose. */
export function isReadyHealth(status: HealthStatus): boolean {
  return status === 'Healthy' || status === 'Suspended';
}
