/**
 * Apply order: what other objects depend on goes first (Namespaces and CRDs, then cluster-wide
 * RBAC and classes, then configuration, Services, workloads), and what intercepts requests to
 * other objects (admission webhooks, APIServices) goes last, so a webhook never rejects the
 * objects of its own Release before its backend exists. Deletion runs in reverse.
 */

/** APPLY_STAGES lists, in order, the kinds of each stage; kinds not listed fall in `DEFAULT_STAGE`. */
export const APPLY_STAGES: readonly (readonly string[])[] = [
  ['Namespace', 'CustomResourceDefinition'],
  [
    'PriorityClass',
    'StorageClass',
    'IngressClass',
    'RuntimeClass',
    'GatewayClass',
    'ClusterRole',
    'ClusterRoleBinding',
  ],
  [
    'ResourceQuota',
    'LimitRange',
    'ServiceAccount',
    'Role',
    'RoleBinding',
    'NetworkPolicy',
    'PodSecurityPolicy',
  ],
  ['Secret', 'ConfigMap', 'PersistentVolume', 'PersistentVolumeClaim'],
  ['Service', 'Endpoints', 'EndpointSlice'],
  // custom resources and every other kind
  [],
  ['Pod', 'ReplicaSet', 'ReplicationController', 'Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob'],
  ['HorizontalPodAutoscaler', 'PodDisruptionBudget', 'Ingress', 'Gateway', 'HTTPRoute', 'GRPCRoute'],
  [
    'MutatingWebhookConfiguration',
    'ValidatingWebhookConfiguration',
    'ValidatingAdmissionPolicy',
    'ValidatingAdmissionPolicyBinding',
    'APIService',
  ],
];

/** DEFAULT_STAGE is the stage of kinds not named in APPLY_STAGES. */
export const DEFAULT_STAGE = APPLY_STAGES.findIndex((s) => s.length === 0);

const STAGE_OF = new Map<string, number>(
  APPLY_STAGES.flatMap((kinds, i) => kinds.map((k) => [k, i] as const)),
);

/** applyStage is the stage index of a kind; lower stages are applied first. */
export function applyStage(kind: string): number {
  return STAGE_OF.get(kind) ?? DEFAULT_STAGE;
}

/** groupByStage splits items into stages in apply order, keeping input order within a stage. */
export function groupByStage<T>(items: readonly T[], kindOf: (item: T) => string): T[][] {
  const stages: T[][] = APPLY_STAGES.map(() => []);
  for (const item of items) stages[applyStage(kindOf(item))]?.push(item);
  return stages.filter((s) => s.length > 0);
}

/** deleteOrder sorts items for deletion: the reverse of apply order. */
export function deleteOrder<T>(items: readonly T[], kindOf: (item: T) => string): T[] {
  return [...items].sort((a, b) => applyStage(kindOf(b)) - applyStage(kindOf(a)));
}
