import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { KubeApiError, LimitReasons } from '../kube/client.ts';
import { KindNotServedError } from '../kube/discovery.ts';
import type { ApplyFailure } from './failure.ts';
import { classifyFailure, dataPlaneProblem, EXPECTED_FAILURES, TERMINAL_FAILURES } from './failure.ts';

const PATH = '/apis/apps/v1/namespaces/shop/deployments/web';

/** apiError builds the error KubeClient throws for a Status answer of the API server. */
function apiError(
  statusCode: number,
  reason: string,
  serverMessage: string,
  details?: Record<string, unknown>,
): KubeApiError {
  return new KubeApiError(`PATCH ${PATH} on acme/dp-prod: ${serverMessage}`, { statusCode, reason, details });
}

const SELECTOR_MISMATCH =
  'Deployment.apps "web" is invalid: spec.template.metadata.labels: Invalid value: map[string]string{"app":"api"}: `selector` does not match template `labels`';
const SELECTOR_IMMUTABLE =
  'Deployment.apps "web" is invalid: spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{"app":"web-v2"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable';
const JOB_TEMPLATE =
  'Job.batch "migrate" is invalid: spec.template: Invalid value: core.PodTemplateSpec{...}';
const FORBIDDEN =
  'deployments.apps "web" is forbidden: User "system:serviceaccount:openchoreo:release-controller" cannot patch resource "deployments" in API group "apps" in the namespace "shop"';
const MODIFIED =
  'Operation cannot be fulfilled on deployments.apps "web": the object has been modified; please apply your changes to the latest version and try again';
const WEBHOOK =
  'Internal error occurred: failed calling webhook "validate.policy.example.com": failed to call webhook: Post "https://policy.example.svc:443/validate": context deadline exceeded';

const cases: Array<{ name: string; error: unknown; want: ApplyFailure }> = [
  {
    name: '422 Invalid',
    error: apiError(422, 'Invalid', SELECTOR_MISMATCH, {
      name: 'web',
      group: 'apps',
      kind: 'Deployment',
      causes: [
        {
          reason: 'FieldValueInvalid',
          message:
            'Invalid value: map[string]string{"app":"api"}: `selector` does not match template `labels`',
          field: 'spec.template.metadata.labels',
        },
      ],
    }),
    want: { kind: 'Invalid', message: SELECTOR_MISMATCH, retryable: false },
  },
  {
    name: '422 with "field is immutable" in the message',
    error: apiError(422, 'Invalid', SELECTOR_IMMUTABLE, {
      name: 'web',
      group: 'apps',
      kind: 'Deployment',
      causes: [{ reason: 'FieldValueInvalid', message: 'Invalid value: ...', field: 'spec.selector' }],
    }),
    want: { kind: 'Immutable', message: SELECTOR_IMMUTABLE, retryable: false },
  },
  {
    name: '422 with "field is immutable" only in details.causes',
    error: apiError(422, 'Invalid', JOB_TEMPLATE, {
      name: 'migrate',
      group: 'batch',
      kind: 'Job',
      causes: [
        {
          reason: 'FieldValueInvalid',
          message: 'Invalid value: core.PodTemplateSpec{...}: field is immutable',
          field: 'spec.template',
        },
      ],
    }),
    want: { kind: 'Immutable', message: JOB_TEMPLATE, retryable: false },
  },
  {
    name: '400 BadRequest',
    error: apiError(400, 'BadRequest', '.spec.replicas: expected numeric (int or float), got string'),
    want: {
      kind: 'Invalid',
      message: '.spec.replicas: expected numeric (int or float), got string',
      retryable: false,
    },
  },
  {
    name: '413 Request entity too large',
    error: apiError(413, 'RequestEntityTooLarge', 'Request entity too large: limit is 3145728'),
    want: {
      kind: 'TooLarge',
      message: 'object too large: Request entity too large: limit is 3145728',
      retryable: false,
    },
  },
  {
    name: 'etcd refusing a request that is too large',
    error: apiError(500, 'InternalError', 'etcdserver: request is too large'),
    want: {
      kind: 'TooLarge',
      message: 'object too large: etcdserver: request is too large',
      retryable: false,
    },
  },
  {
    name: '404 for a missing namespace',
    error: apiError(404, 'NotFound', 'namespaces "shop" not found', { name: 'shop', kind: 'namespaces' }),
    want: { kind: 'NamespaceMissing', message: 'namespaces "shop" not found', retryable: true },
  },
  {
    name: '404 for anything else',
    error: apiError(404, 'NotFound', 'the server could not find the requested resource'),
    want: { kind: 'Failed', message: 'the server could not find the requested resource', retryable: true },
  },
  {
    name: '403 Forbidden',
    error: apiError(403, 'Forbidden', FORBIDDEN),
    want: {
      kind: 'Forbidden',
      message: `forbidden: the data-plane credentials may not do this (${FORBIDDEN})`,
      retryable: true,
    },
  },
  {
    name: '409 Conflict',
    error: apiError(409, 'Conflict', MODIFIED, { name: 'web', group: 'apps', kind: 'deployments' }),
    want: { kind: 'Conflict', message: MODIFIED, retryable: true },
  },
  {
    name: 'no answer (status 0)',
    error: new KubeApiError(`PATCH ${PATH} on acme/dp-prod: cannot reach the API server (ECONNREFUSED)`, {
      statusCode: 0,
      reason: 'ECONNREFUSED',
    }),
    want: { kind: 'Unreachable', message: 'cannot reach the API server (ECONNREFUSED)', retryable: true },
  },
  {
    name: '500 from an admission webhook',
    error: apiError(500, 'InternalError', WEBHOOK),
    want: {
      kind: 'WebhookUnavailable',
      message: `an admission webhook of the data plane did not answer (it may be starting; retried): ${WEBHOOK}`,
      retryable: true,
    },
  },
  {
    name: '429 Too Many Requests',
    error: apiError(429, 'TooManyRequests', 'Too many requests, please try again later.'),
    want: { kind: 'Failed', message: 'Too many requests, please try again later.', retryable: true },
  },
  {
    name: 'a kind the data plane does not serve',
    error: new KindNotServedError(
      { group: 'example.com', version: 'v1', kind: 'Widget' },
      'no kind Widget in example.com/v1',
    ),
    want: {
      kind: 'UnknownKind',
      message: 'the data plane does not serve Widget in example.com/v1: no kind Widget in example.com/v1',
      retryable: false,
    },
  },
  {
    name: 'a plain Error',
    error: new Error('socket hang up'),
    want: { kind: 'Failed', message: 'socket hang up', retryable: true },
  },
  {
    name: 'a thrown string',
    error: 'aborted',
    want: { kind: 'Failed', message: 'aborted', retryable: true },
  },
];

describe('classifyFailure', () => {
  for (const c of cases) {
    test(c.name, () => {
      assert.deepEqual(classifyFailure(c.error), c.want);
    });
  }

  test('the message never carries the request line of the client', () => {
    for (const c of cases) {
      const { message } = classifyFailure(c.error);
      assert.ok(!message.includes(PATH), `${c.name}: ${message}`);
      assert.ok(!message.includes('acme/dp-prod'), `${c.name}: ${message}`);
    }
  });

  test('a message without the request line is kept whole', () => {
    const err = new KubeApiError('admission webhook "deny.example.com" denied the request: no', {
      statusCode: 400,
      reason: 'BadRequest',
    });
    assert.equal(classifyFailure(err).message, 'admission webhook "deny.example.com" denied the request: no');
  });

  test('every verb of the client is stripped', () => {
    for (const verb of ['GET', 'PUT', 'POST', 'PATCH', 'DELETE']) {
      const err = new KubeApiError(`${verb} /api/v1/namespaces/shop/configmaps/settings on dp: boom`, {
        statusCode: 500,
        reason: 'InternalError',
      });
      assert.equal(classifyFailure(err).message, 'boom', verb);
    }
  });
});

test('a 403 from admission (not RBAC) is about the object, not the credentials', () => {
  const podSecurity = classifyFailure(
    apiError(403, 'Forbidden', 'pods "x" is forbidden: violates PodSecurity "restricted:latest": privileged'),
  );
  assert.equal(podSecurity.kind, 'AdmissionDenied');
  assert.match(podSecurity.message, /^the data plane refused the object: /);
  assert.doesNotMatch(podSecurity.message, /credentials/);
  assert.match(podSecurity.message, /violates PodSecurity/);
  assert.match(
    classifyFailure(apiError(403, 'Forbidden', FORBIDDEN)).message,
    /the data-plane credentials may not do this/,
  );
});

describe('a 401 is a refusal of the credentials, not silence', () => {
  const unauthorized = new KubeApiError('GET /api/v1/namespaces/kube-system on acme/dp-prod: Unauthorized', {
    statusCode: 401,
    reason: 'Unauthorized',
  });
  const describeErr = (err: unknown) => (err instanceof Error ? err.message : String(err));

  test('classifyFailure says the data plane refused the credentials and what to renew', () => {
    const failure = classifyFailure(unauthorized);
    assert.equal(failure.kind, 'Unauthorized');
    assert.equal(
      failure.message,
      "refused the DataPlane's credentials (HTTP 401: Unauthorized); renew the kubeconfig Secret or credentials the DataPlane names",
    );
  });

  test('dataPlaneProblem tells silence, an answer over a limit and a refusal apart', () => {
    assert.match(
      dataPlaneProblem(unauthorized, describeErr),
      /^refused the DataPlane's credentials \(HTTP 401: Unauthorized\)/,
    );
    assert.ok(!dataPlaneProblem(unauthorized, describeErr).includes('did not answer'), 'a 401 is an answer');
    const silent = new KubeApiError('GET /version on acme/dp-prod: connect ECONNREFUSED', {
      statusCode: 0,
      reason: 'Unreachable',
    });
    assert.match(dataPlaneProblem(silent, describeErr), /^did not answer: .*ECONNREFUSED/);
    const forbidden = new KubeApiError('GET /api/v1/namespaces/kube-system on acme/dp-prod: forbidden', {
      statusCode: 403,
      reason: 'Forbidden',
    });
    assert.match(dataPlaneProblem(forbidden, describeErr), /^refused the request \(HTTP 403\): /);
    assert.match(
      dataPlaneProblem(new Error('socket hang up'), describeErr),
      /^did not answer: socket hang up$/,
    );
    const huge = new KubeApiError(
      'GET /api on acme/dp-prod: the response body is larger than the limit of 64 MiB',
      {
        statusCode: 0,
        reason: LimitReasons.responseTooLarge,
      },
    );
    assert.match(
      dataPlaneProblem(huge, describeErr),
      /^sent an answer over a limit: .*larger than the limit/,
    );
  });
});

test("a field of the wrong type (server-side apply's 500) is the object's fault: Invalid, not retried", () => {
  const typed =
    'failed to create typed patch object (apps/v1, Kind=Deployment) shop/web: .spec.replicas: expected numeric (int or float), got string';
  const failure = classifyFailure(apiError(500, 'InternalError', typed));
  assert.deepEqual(failure, {
    kind: 'Invalid',
    message: `the data plane refused the object: ${typed}`,
    retryable: false,
  });
  assert.equal(
    classifyFailure(apiError(500, 'InternalError', 'etcdserver: request timed out')).kind,
    'Failed',
  );
});

test('a webhook that answered and denied is not a webhook that did not answer', () => {
  const denied = classifyFailure(
    apiError(400, 'BadRequest', 'admission webhook "deny.example.com" denied the request: replicas over 10'),
  );
  assert.equal(denied.kind, 'Invalid');
  const starting = classifyFailure(
    apiError(
      500,
      'InternalError',
      'Internal error occurred: failed calling webhook "webhook.cert-manager.io": failed to call webhook: Post "https://cert-manager-webhook.cert-manager.svc:443/validate?timeout=30s": no endpoints available for service "cert-manager-webhook"',
    ),
  );
  assert.equal(starting.kind, 'WebhookUnavailable');
  assert.equal(starting.retryable, true);
});

test('terminal and expected failures do not overlap, and an unknown kind is not terminal', () => {
  for (const kind of TERMINAL_FAILURES) assert.ok(!EXPECTED_FAILURES.has(kind), kind);
  assert.ok(!TERMINAL_FAILURES.has('UnknownKind'), 'a CRD may arrive');
  assert.ok(!EXPECTED_FAILURES.has('Failed'), 'an unclassified failure keeps its stack trace');
});
