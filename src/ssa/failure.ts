/**
 * Failure classification: turns the error of an apply or delete into what a user can act on (fix
 * the object, recreate it, wait for the data plane, create the namespace, or retry), with the API
 * server's own words and without the client's request line.
 */
import { isRecord } from '../api/object.ts';
import { isKubeApiError } from '../kube/client.ts';
import { KindNotServedError } from '../kube/discovery.ts';

/**
 * FailureKind says what a failed apply means for the user. Each kind is also the `healthReason` of
 * a resource that was not applied because of it (status.ts), so it reads as a reason.
 */
export type FailureKind =
  /** the object itself is wrong (422, 400, a field of the wrong type): fix the Release */
  | 'Invalid'
  /** an immutable field changed: recreate, or change the name */
  | 'Immutable'
  /** the object is over a size limit of the data plane */
  | 'TooLarge'
  /** the data plane does not serve the kind (yet: its CRD may arrive) */
  | 'UnknownKind'
  /** the data plane did not answer */
  | 'Unreachable'
  /** the namespace of the object is missing */
  | 'NamespaceMissing'
  /** the object changed under the write, or is in a state that refuses it (409): retried */
  | 'Conflict'
  /** the data plane's RBAC does not let the credentials do this (403) */
  | 'Forbidden'
  /** the data plane refused the credentials themselves (401) */
  | 'Unauthorized'
  /** admission refused the object (a 403 that is not RBAC: PodSecurity, quota, a policy) */
  | 'AdmissionDenied'
  /** an admission webhook the data plane calls did not answer (it may be starting): retried */
  | 'WebhookUnavailable'
  /** anything else; may pass on retry */
  | 'Failed';

/** ApplyFailure is a classified apply error with a message for conditions. */
export interface ApplyFailure {
  kind: FailureKind;
  message: string;
  retryable: boolean;
}

/**
 * TERMINAL_FAILURES are the kinds a retry of the same object cannot fix: the object waits for the
 * Release to change (like controller-runtime's TerminalError). UnknownKind is not one: a CRD may
 * arrive.
 */
export const TERMINAL_FAILURES: ReadonlySet<FailureKind> = new Set(['Invalid', 'Immutable', 'TooLarge']);

/**
 * EXPECTED_FAILURES are the kinds that say what is being waited for (a data plane, a webhook, a
 * namespace, a concurrent writer): retried without an error log line or a stack trace, as the
 * condition already says why.
 */
export const EXPECTED_FAILURES: ReadonlySet<FailureKind> = new Set([
  'Unreachable',
  'WebhookUnavailable',
  'NamespaceMissing',
  'Conflict',
  'UnknownKind',
]);

/**
 * TYPED_PATCH matches the API server's error for an applied object that does not fit the kind's
 * schema (apimachinery's structuredmerge.go: "failed to create typed patch object (GVK NN): ...").
 */
const TYPED_PATCH = /failed to create typed patch object/;

/**
 * WEBHOOK_CALL matches the API server's error when it could not call an admission webhook
 * (apiserver's admission/plugin/webhook/errors: "failed calling webhook"), as opposed to a webhook
 * that answered and denied ("admission webhook ... denied the request").
 */
const WEBHOOK_CALL = /failed calling webhook|failed to call webhook/;

/** classifyFailure turns an apply error into an ApplyFailure with the API server's own message. */
export function classifyFailure(err: unknown): ApplyFailure {
  if (err instanceof KindNotServedError)
    return { kind: 'UnknownKind', message: err.message, retryable: false };
  if (!isKubeApiError(err)) {
    return { kind: 'Failed', message: err instanceof Error ? err.message : String(err), retryable: true };
  }
  const serverMessage = stripPrefix(err.message);
  const causes = causesOf(err.details);
  if (err.isUnreachable) return { kind: 'Unreachable', message: serverMessage, retryable: true };
  if (err.statusCode === 422 || err.statusCode === 400) {
    const immutable = /immutable/i.test(err.message) || causes.some((c) => /immutable/i.test(c));
    return { kind: immutable ? 'Immutable' : 'Invalid', message: serverMessage, retryable: false };
  }
  if (err.statusCode === 500 && TYPED_PATCH.test(err.message)) {
    // Server-side apply answers a field of the wrong type (replicas: "three") with a 500, not a
    // 422: the object is wrong, and retrying it cannot help until the Release changes.
    return { kind: 'Invalid', message: refusedObject(serverMessage), retryable: false };
  }
  if (err.statusCode === 413 || /too large|too long/i.test(err.message)) {
    return { kind: 'TooLarge', message: `object too large: ${serverMessage}`, retryable: false };
  }
  if (WEBHOOK_CALL.test(err.message)) {
    return {
      kind: 'WebhookUnavailable',
      message: `an admission webhook of the data plane did not answer (it may be starting; retried): ${serverMessage}`,
      retryable: true,
    };
  }
  if (err.statusCode === 404 && isRecord(err.details) && err.details['kind'] === 'namespaces') {
    return { kind: 'NamespaceMissing', message: serverMessage, retryable: true };
  }
  if (err.statusCode === 409) return { kind: 'Conflict', message: serverMessage, retryable: true };
  if (err.statusCode === 401)
    return { kind: 'Unauthorized', message: refusedCredentials(serverMessage), retryable: true };
  if (err.statusCode === 403 && /\bcannot (get|list|watch|create|patch|update|delete)\b/.test(err.message)) {
    // An RBAC refusal; other 403s are admission denials (PodSecurity, quota, policies) about the object.
    return {
      kind: 'Forbidden',
      message: `forbidden: the data-plane credentials may not do this (${serverMessage})`,
      retryable: true,
    };
  }
  if (err.statusCode === 403)
    return { kind: 'AdmissionDenied', message: refusedObject(serverMessage), retryable: true };
  return { kind: 'Failed', message: serverMessage, retryable: true };
}

/** refusedObject says that the data plane answered and refused the object, in its own words. */
function refusedObject(serverMessage: string): string {
  return `the data plane refused the object: ${serverMessage}`;
}

/**
 * dataPlaneProblem says, after "the data plane ", what went wrong with a request that got no usable
 * answer: it did not answer, it answered over a limit we enforce, or it answered and refused (a 401
 * is an answer: the credentials are wrong or expired, not the network).
 */
export function dataPlaneProblem(err: unknown, describe: (err: unknown) => string): string {
  // A limit is checked first: the client reports it with status 0, like silence.
  if (isKubeApiError(err) && err.isLimitExceeded) return `sent an answer over a limit: ${describe(err)}`;
  if (!isKubeApiError(err) || err.isUnreachable) return `did not answer: ${describe(err)}`;
  if (err.statusCode === 401) return refusedCredentials(stripPrefix(err.message));
  return `refused the request (HTTP ${err.statusCode}): ${describe(err)}`;
}

/** refusedCredentials is the message of a 401: who refused what, and what to do. */
function refusedCredentials(serverMessage: string): string {
  return (
    `refused the DataPlane's credentials (HTTP 401: ${serverMessage}); ` +
    'renew the kubeconfig Secret or credentials the DataPlane names'
  );
}

function stripPrefix(message: string): string {
  // KubeClient prefixes "<VERB> <path> on <cluster>: "; users need the server's words.
  const at = message.indexOf(': ');
  return at > 0 && /^(GET|PUT|POST|PATCH|DELETE) /.test(message) ? message.slice(at + 2) : message;
}

function causesOf(details: Record<string, unknown> | undefined): string[] {
  const causes = details?.['causes'];
  if (!Array.isArray(causes)) return [];
  return causes
    .filter(isRecord)
    .map(
      (c) =>
        `${typeof c['field'] === 'string' ? c['field'] : ''}: ${typeof c['message'] === 'string' ? c['message'] : ''}`,
    );
}
