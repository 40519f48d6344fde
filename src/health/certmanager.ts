/** Health of cert-manager.io kinds: Certificate, CertificateRequest, Issuer, ClusterIssuer. */
import { conditionsOf } from '../api/object.ts';
import type { KubeObject } from '../api/object.ts';
import { readyConditionHealth, staleCondition } from './conditions.ts';
import { conditionText, findIn, isFalse, isTrue, stringAt } from './fields.ts';
import { health, HealthReasons, reasonOr } from './result.ts';
import type { HealthResult } from './result.ts';

// CertificateRequest reasons of Ready=False (cert-manager's apis/certmanager/v1 constants): Pending
// waits for the issuer; Failed and Denied are terminal, so a new request must be made.
const REQUEST_WAITING = new Set(['Pending']);

/**
 * certificateHealth reads cert-manager's two Certificate conditions. `Issuing=True` means a new
 * certificate is being requested (first issuance or renewal) and is Progressing while `Ready` is not
 * True; a valid certificate being renewed stays Healthy. `Ready=False` with no issuance under way is
 * Degraded: the Secret is missing, expired or wrong and cert-manager is backing off (`Issuing=False`,
 * reason `Failed`, retried after `status.lastFailureTime`).
 */
export function certificateHealth(obj: KubeObject, _now: Date): HealthResult {
  const conditions = conditionsOf(obj);
  const ready = findIn(conditions, 'Ready');
  const issuing = findIn(conditions, 'Issuing');
  const stale = ready && staleCondition(obj, ready);
  if (stale) return stale;
  if (isTrue(ready)) {
    const expires = stringAt(obj, 'status', 'notAfter');
    if (isFalse(issuing) && issuing.reason === 'Failed') {
      // The current certificate still works; say so and name the failed renewal.
      return health(
        'Healthy',
        HealthReasons.renewalFailed,
        `certificate valid${expires ? ` until ${expires}` : ''}, but renewal failed: ${conditionText(issuing)}`,
      );
    }
    return health('Healthy', HealthReasons.ready, conditionText(ready));
  }
  if (isTrue(issuing)) {
    return health('Progressing', HealthReasons.issuing, `issuing certificate: ${conditionText(issuing)}`);
  }
  if (isFalse(ready)) {
    const failure = isFalse(issuing) ? `; last attempt: ${conditionText(issuing)}` : '';
    return health(
      'Degraded',
      reasonOr(ready.reason, HealthReasons.notReady),
      `${conditionText(ready)}${failure}`,
    );
  }
  if (ready)
    return health('Progressing', reasonOr(ready.reason, HealthReasons.notReady), conditionText(ready));
  return health(
    'Progressing',
    HealthReasons.waitingForStatus,
    'waiting for cert-manager to check the certificate',
  );
}

/**
 * certificateRequestHealth: `Denied=True` or `InvalidRequest=True` are terminal failures; then Ready
 * decides (Pending waits for the issuer, Failed is terminal).
 */
export function certificateRequestHealth(obj: KubeObject, _now: Date): HealthResult {
  const conditions = conditionsOf(obj);
  for (const type of ['Denied', 'InvalidRequest']) {
    const c = findIn(conditions, type);
    if (isTrue(c)) return health('Degraded', reasonOr(c.reason, type), conditionText(c));
  }
  return readyConditionHealth(obj, {
    waitingReasons: REQUEST_WAITING,
    waiting: 'waiting for the request to be approved and signed',
  });
}

/**
 * issuerHealth (Issuer, ClusterIssuer): Ready=True once the issuer is usable (ACME account
 * registered, CA Secret found); Ready=False is a configuration error such as
 * `ErrRegisterACMEAccount` or `ErrGetKeyPair`, retried but needing a fix.
 */
export function issuerHealth(obj: KubeObject, _now: Date): HealthResult {
  return readyConditionHealth(obj, { waiting: `waiting for cert-manager to set up the ${obj.kind}` });
}
