/**
 * Health of Flux kinds: Kustomization (kustomize.toolkit.fluxcd.io), HelmRelease
 * (helm.toolkit.fluxcd.io) and the sources GitRepository, OCIRepository, HelmRepository, HelmChart and
 * Bucket (source.toolkit.fluxcd.io). All follow Flux's condition contract (fluxcd/pkg/runtime/conditions).
 */
import { conditionsOf } from '../api/object.ts';
import type { KubeObject } from '../api/object.ts';
import { staleCondition } from './conditions.ts';
import { boolAt, conditionText, findIn, generationLag, isTrue, stringAt } from './fields.ts';
import { health, HealthReasons, reasonOr } from './result.ts';
import type { HealthResult } from './result.ts';

// Ready=False reasons that Flux documents as waits rather than failures: a dependency listed in
// spec.dependsOn is not ready yet, or a reconciliation is under way.
const WAITING_REASONS = new Set(['DependencyNotReady', 'Progressing', 'ProgressingWithRetry']);

/**
 * fluxHealth: `spec.suspend` is Suspended (Flux stops reconciling, so no newer status will come);
 * a generation not yet observed, `Reconciling=True` or a Ready condition from an older generation is
 * Progressing; `Stalled=True` is Degraded (Flux gave up: invalid spec, retries exhausted); then
 * Ready decides, and Ready=False is Degraded unless a dependency or a retry is pending. Flux writes
 * Ready=False with Reconciling=True while it retries after a failure, which is Progressing here, with
 * the failure in the message.
 */
export function fluxHealth(obj: KubeObject, _now: Date): HealthResult {
  if (boolAt(obj, 'spec', 'suspend') === true) {
    return health('Suspended', HealthReasons.suspended, `${obj.kind} is suspended (spec.suspend)`);
  }
  const lag = generationLag(obj, !isStaticHelmRepository(obj));
  if (lag) return lag;
  const conditions = conditionsOf(obj);
  const ready = findIn(conditions, 'Ready');
  const stalled = findIn(conditions, 'Stalled');
  if (isTrue(stalled)) {
    return health('Degraded', reasonOr(stalled.reason, HealthReasons.stalled), conditionText(stalled));
  }
  const reconciling = findIn(conditions, 'Reconciling');
  if (isTrue(reconciling)) {
    const failing = ready?.status === 'False' ? `; last attempt: ${conditionText(ready)}` : '';
    return health(
      'Progressing',
      reasonOr(reconciling.reason, HealthReasons.reconciling),
      `${conditionText(reconciling)}${failing}`,
    );
  }
  if (!ready && isStaticHelmRepository(obj)) {
    // Since Flux 2.3 an OCI HelmRepository is static: the controller no longer reconciles it, so it
    // never gets a Ready condition; its charts are fetched by each HelmChart (or HelmRelease).
    return health(
      'Healthy',
      HealthReasons.noHealthSignal,
      'OCI HelmRepository: static, Flux does not reconcile it',
    );
  }
  if (!ready) {
    return health(
      'Progressing',
      HealthReasons.waitingForStatus,
      `waiting for Flux to reconcile the ${obj.kind}`,
    );
  }
  const stale = staleCondition(obj, ready);
  if (stale) return stale;
  if (isTrue(ready)) {
    const revision =
      stringAt(obj, 'status', 'lastAppliedRevision') ?? stringAt(obj, 'status', 'artifact', 'revision');
    const message = conditionText(ready);
    return health(
      'Healthy',
      HealthReasons.ready,
      revision && !message.includes(revision) ? `${message} (revision ${revision})` : message,
    );
  }
  const waiting =
    ready.status !== 'False' || (ready.reason !== undefined && WAITING_REASONS.has(ready.reason));
  return health(
    waiting ? 'Progressing' : 'Degraded',
    reasonOr(ready.reason, HealthReasons.notReady),
    conditionText(ready),
  );
}

function isStaticHelmRepository(obj: KubeObject): boolean {
  return obj.kind === 'HelmRepository' && stringAt(obj, 'spec', 'type') === 'oci';
}
