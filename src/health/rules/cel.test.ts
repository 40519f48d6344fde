import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileCel, evaluateCel, type CelRuleSpec } from './cel.ts';
import { RuleCompileError, RuleReasons } from './result.ts';

// A Certificate-like rule in Flux's healthCheckExprs style.
const certificate: CelRuleSpec = {
  suspended: 'spec.?suspend.orValue(false) == true',
  inProgress: 'status.?observedGeneration.orValue(0) != metadata.generation',
  failed:
    'status.?conditions.orValue([]).exists(c, c.type == "Ready" && c.status == "False" && c.reason == "Failed")',
  current: 'status.?conditions.orValue([]).exists(c, c.type == "Ready" && c.status == "True")',
  message: 'status.?conditions.orValue([]).filter(c, c.type == "Ready").map(c, c.message).join(", ")',
};

const obj = (status: unknown, spec: Record<string, unknown> = {}) => ({
  apiVersion: 'cert-manager.io/v1',
  kind: 'Certificate',
  metadata: { name: 'web', generation: 2 },
  spec,
  ...(status === undefined ? {} : { status }),
});

test('CEL rules: the first true expression decides, in the order suspended, inProgress, failed, current', () => {
  const rule = compileCel(certificate);
  const table: Array<[string, Record<string, unknown>, string, string, string]> = [
    [
      'no status yet',
      obj(undefined),
      'Progressing',
      RuleReasons.inProgress,
      'HealthRule r: spec.cel.inProgress is true',
    ],
    [
      'generation observed, nothing true',
      obj({ observedGeneration: 2 }),
      'Progressing',
      RuleReasons.noneTrue,
      'HealthRule r: no expression is true yet',
    ],
    [
      'ready',
      obj({ observedGeneration: 2, conditions: [{ type: 'Ready', status: 'True', message: 'issued' }] }),
      'Healthy',
      RuleReasons.current,
      'issued',
    ],
    [
      'failed',
      obj({
        observedGeneration: 2,
        conditions: [{ type: 'Ready', status: 'False', reason: 'Failed', message: 'bad issuer' }],
      }),
      'Degraded',
      RuleReasons.failed,
      'bad issuer',
    ],
    [
      'suspended wins over failed',
      obj(
        {
          observedGeneration: 2,
          conditions: [{ type: 'Ready', status: 'False', reason: 'Failed', message: 'x' }],
        },
        { suspend: true },
      ),
      'Suspended',
      RuleReasons.suspended,
      'x',
    ],
    [
      'stale generation wins over ready',
      obj({ observedGeneration: 1, conditions: [{ type: 'Ready', status: 'True', message: 'old' }] }),
      'Progressing',
      RuleReasons.inProgress,
      'old',
    ],
  ];
  for (const [name, o, status, reason, message] of table) {
    assert.deepEqual(evaluateCel(rule, o, 'r'), { status, reason, message }, name);
  }
});

test('CEL rules: JSON integers are CEL ints (arithmetic and comparisons with int literals work), fractions stay doubles', () => {
  const rule = compileCel({
    current: 'status.readyReplicas + 0 == spec.replicas && spec.replicas % 2 == 1 && status.ratio > 0.5',
    message: '"ready " + string(status.readyReplicas) + "/" + string(spec.replicas)',
  });
  assert.deepEqual(evaluateCel(rule, obj({ readyReplicas: 3, ratio: 0.75 }, { replicas: 3 }), 'r'), {
    status: 'Healthy',
    reason: RuleReasons.current,
    message: 'ready 3/3',
  });
});

test('CEL rules: a bad expression is a compile error naming its field', () => {
  const table: Array<[CelRuleSpec, string, RegExp]> = [
    [{ current: 'status.phase ==' }, 'spec.cel.current', /EOF|Unexpected/],
    [{ current: 'true', failed: 'phase == "Failed"' }, 'spec.cel.failed', /Unknown variable: phase/],
    [{ current: 'status.replicas + 1' }, 'spec.cel.current', /must be bool/],
    [{ current: 'true', message: '1 + 2' }, 'spec.cel.message', /must be string/],
    [
      { current: 'status.a.exists(x, status.b.exists(y, status.c.exists(z, x == y && y == z)))' },
      'spec.cel.current',
      /3 nested comprehensions/,
    ],
    [
      { current: Array.from({ length: 600 }, () => 'true').join(' && ') },
      'spec.cel.current',
      /AST|nodes|limit/i,
    ],
  ];
  for (const [spec, field, detail] of table) {
    assert.throws(
      () => compileCel(spec),
      (err: unknown) => err instanceof RuleCompileError && err.field === field && detail.test(err.detail),
      `${field}: ${String(detail)}`,
    );
  }
});

test('CEL rules: an evaluation error or a non-bool answer is Unknown with the error, never a throw', () => {
  const strict = compileCel({ current: 'status.conditions.exists(c, c.type == "Ready")' });
  const missing = evaluateCel(strict, obj({}), 'r');
  assert.equal(missing.status, 'Unknown');
  assert.equal(missing.reason, RuleReasons.evaluationFailed);
  assert.match(missing.message, /HealthRule r: spec\.cel\.current: .*conditions/);
  const dyn = compileCel({ current: 'status.phase' });
  assert.match(evaluateCel(dyn, obj({ phase: 'Running' }), 'r').message, /gave a string, not a bool/);
  const badMessage = compileCel({ current: 'true', message: 'status.nothing' });
  assert.match(
    evaluateCel(badMessage, obj({}), 'r').message,
    /spec\.cel\.current is true \(spec\.cel\.message failed/,
  );
});

test('CEL rules: optional-field syntax reads absent fields without an error', () => {
  const rule = compileCel({ current: 'status.?loadBalancer.?ingress.orValue([]).size() > 0' });
  assert.equal(evaluateCel(rule, obj({}), 'r').status, 'Progressing');
  assert.equal(
    evaluateCel(rule, obj({ loadBalancer: { ingress: [{ ip: '10.0.0.1' }] } }), 'r').status,
    'Healthy',
  );
});
