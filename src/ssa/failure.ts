/**
 * Failure classification: turns the error of an apply or delete into what a user can act on (fix
 * the object, recreate it, wait for the data plane, create the namespace, or retry), with the API
 * server's own words and without the client's request line.
 */
import { isRecord } from '../api/object.ts';
import { isKubeApiError } from '../kube/client.ts';
import { KindNotServedError } from '../kube/discovery.ts';

/** FailureKind says what a failed apply means for the user. */
export type FailureKind =
  /** the object itself is wrong: fix the Release */
  | 'Invalid'
  /** an immutable field changed: recreate, or change the name */
  | 'Immutable'
  /** the data plane did not answer */
  | 'Unreachable'
  /** the namespace of the object is missing */
  | 'NamespaceMissing'
  /** anything else; may pass on retry */
  | 'Failed';

/** ApplyFailure is a classified apply error with a message for conditions. */
export interface ApplyFailure {
  kind: FailureKind;
  message: string;
  retryable: boolean;
}

/**
 * TYPED_PATCH matches the API server's error for an applied object that does not fit the kind's
 * schema (apimachinery's structuredmerge.go: "failed to create typed patch object (GVK NN): ...").
 */
const TYPED_PATCH = /failed to create typed patch object/;

/** classifyFailure turns an apply error into an ApplyFailure with the API server's own message. */
export function classifyFailure(err: unknown): ApplyFailure {
  if (err instanceof KindNotServedError) return { kind: 'Invalid', message: err.message, retryable: false };
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
    return {
      kind: 'Invalid',
      message: `the data plane refused the object: ${serverMessage}`,
      retryable: false,
    };
  }
  if (err.statusCode === 413 || /too large|too long/i.test(err.message)) {
    return { kind: 'Invalid', message: `object too large: ${serverMessage}`, retryable: false };
  }
  if (err.statusCode === 404 && isRecord(err.details) && err.details['kind'] === 'namespaces') {
    return { kind: 'NamespaceMissing', message: serverMessage, retryable: true };
  }
  if (err.statusCode === 401)
    return { kind: 'Failed', message: refusedCredentials(serverMessage), retryable: true };
  if (err.statusCode === 403 && /\bcannot (get|list|watch|create|patch|update|delete)\b/.test(err.message)) {
    // An RBAC refusal; other 403s are admission denials (PodSecurity, quota, policies) about the object.
    return {
      kind: 'Failed',
      message: `forbidden: the data-plane credentials may not do this (${serverMessage})`,
      retryable: true,
    };
  }
  return { kind: 'Failed', message: serverMessage, retryable: true };
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
