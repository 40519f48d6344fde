/**
 * Health of Crossplane resources: managed resources (any provider's group), composite resources
 * (XRs) and claims (groups the platform team defines), and packages (pkg.crossplane.io). Their groups
 * are open-ended, so they are recognised by shape (isCrossplaneResource), not by group and kind.
 */
import { conditionsOf, isRecord } from '../api/object.ts';
import type { KubeObject } from '../api/object.ts';
import { annotationIs, staleCondition } from './conditions.ts';
import { conditionText, field, findIn, isFalse, isTrue } from './fields.ts';
import { health, HealthReasons, reasonOr } from './result.ts';
import type { HealthResult } from './result.ts';

const PAUSED_ANNOTATION = 'crossplane.io/paused';
// Ready=False reasons of crossplane-runtime that mean "being worked on" (Creating, Deleting) or
// "waiting for composed resources" (Waiting): Progressing. Unavailable (the external resource exists
// but reports it is not usable, also during modifications) is Progressing too, as in Argo CD.
const WAITING_READY_REASONS = new Set(['Creating', 'Deleting', 'Waiting', 'Unavailable']);

// spec fields that only Crossplane's three kinds of resource have.
const MANAGED_FIELDS = ['forProvider'];
const COMPOSITE_FIELDS = [
  'compositionRef',
  'compositionSelector',
  'compositionRevisionRef',
  'resourceRefs',
  'crossplane',
];
const CLAIM_FIELDS = ['resourceRef', 'compositeDeletePolicy'];

/**
 * isCrossplaneResource tells whether an object is a Crossplane managed resource, composite or claim:
 * a spec field only they carry (`forProvider`, `compositionRef`, `resourceRefs`, `spec.crossplane`,
 * ...) together with a Synced or Ready condition, or a group under crossplane.io or upbound.io.
 */
export function isCrossplaneResource(group: string, obj: KubeObject): boolean {
  if (group.endsWith('.crossplane.io') || group.endsWith('.upbound.io')) return true;
  const spec = field(obj, 'spec');
  if (!isRecord(spec)) return false;
  const shaped = [...MANAGED_FIELDS, ...COMPOSITE_FIELDS, ...CLAIM_FIELDS].some((key) => key in spec);
  if (!shaped) return false;
  const conditions = conditionsOf(obj);
  return conditions.length === 0 || conditions.some((c) => c.type === 'Synced' || c.type === 'Ready');
}

/**
 * crossplaneHealth reads crossplane-runtime's two conditions. The `crossplane.io/paused` annotation
 * (Synced=False, ReconcilePaused) is Suspended; Synced=False otherwise is Degraded (ReconcileError:
 * the provider cannot create or update the external resource); then Ready decides (Available is
 * Healthy; Creating, Deleting, Waiting and Unavailable are Progressing). Packages (Provider,
 * Configuration, Function) report `Installed` and `Healthy` instead.
 */
export function crossplaneHealth(obj: KubeObject, _now: Date): HealthResult {
  const conditions = conditionsOf(obj);
  const synced = findIn(conditions, 'Synced');
  if (annotationIs(obj, PAUSED_ANNOTATION, 'true') || synced?.reason === 'ReconcilePaused') {
    return health('Suspended', HealthReasons.reconcilePaused, `reconciliation paused (${PAUSED_ANNOTATION})`);
  }
  if (isFalse(synced)) {
    return health('Degraded', reasonOr(synced.reason, HealthReasons.notSynced), conditionText(synced));
  }
  const installed = findIn(conditions, 'Installed');
  const packageHealthy = findIn(conditions, 'Healthy');
  if (installed || packageHealthy) return packageHealth(installed, packageHealthy);

  const ready = findIn(conditions, 'Ready');
  if (!ready) {
    return health(
      'Progressing',
      HealthReasons.waitingForStatus,
      `waiting for Crossplane to reconcile the ${obj.kind}`,
    );
  }
  const stale = staleCondition(obj, ready);
  if (stale) return stale;
  if (isTrue(ready)) {
    return health('Healthy', HealthReasons.ready, conditionText(ready));
  }
  const waiting =
    ready.status !== 'False' || (ready.reason !== undefined && WAITING_READY_REASONS.has(ready.reason));
  return health(
    waiting ? 'Progressing' : 'Degraded',
    reasonOr(ready.reason, HealthReasons.notReady),
    conditionText(ready),
  );
}

function packageHealth(
  installed: ReturnType<typeof findIn>,
  healthy: ReturnType<typeof findIn>,
): HealthResult {
  if (isFalse(healthy))
    return health('Degraded', reasonOr(healthy.reason, HealthReasons.unhealthy), conditionText(healthy));
  if (isTrue(installed) && isTrue(healthy))
    return health('Healthy', HealthReasons.ready, 'package installed and healthy');
  const pending = [installed, healthy].find((c) => c !== undefined && !isTrue(c));
  return health(
    'Progressing',
    reasonOr(pending?.reason, HealthReasons.installing),
    pending ? conditionText(pending) : 'waiting for the package to become healthy',
  );
}
