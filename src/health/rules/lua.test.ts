import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LuaRuleEngine } from './lua.ts';
import { RuleCompileError, RuleReasons } from './result.ts';

// Written in the style of Argo CD's resource_customizations/<group>/<kind>/health.lua, pasted as is.
const ARGO_STYLE = `local hs = {}
if obj.status ~= nil then
  if obj.status.conditions ~= nil then
    for i, condition in ipairs(obj.status.conditions) do
      if condition.type == "Ready" and condition.status == "False" then
        hs.status = "Degraded"
        hs.message = condition.message
        return hs
      end
      if condition.type == "Ready" and condition.status == "True" then
        hs.status = "Healthy"
        hs.message = condition.message
        return hs
      end
    end
  end
end
hs.status = "Progressing"
hs.message = "Waiting for certificate"
return hs
`;

const engine = await LuaRuleEngine.create({ timeoutMs: 50, memoryBytes: 8 * 1024 * 1024 });

const cert = (conditions?: unknown[]) => ({
  apiVersion: 'cert-manager.io/v1',
  kind: 'Certificate',
  metadata: { name: 'web', namespace: 'app' },
  spec: { secretName: 'web-tls' },
  status: conditions ? { conditions } : null,
});

test('Lua rules: an Argo CD health.lua runs unchanged (obj in, {status, message} out)', () => {
  engine.compile('cert', ARGO_STYLE);
  const table: Array<[string, Record<string, unknown>, string, string]> = [
    ['no status (JSON null is nil)', cert(), 'Progressing', 'Waiting for certificate'],
    [
      'ready',
      cert([{ type: 'Ready', status: 'True', message: 'Certificate is up to date' }]),
      'Healthy',
      'Certificate is up to date',
    ],
    [
      'failed',
      cert([{ type: 'Ready', status: 'False', message: 'Issuer not found' }]),
      'Degraded',
      'Issuer not found',
    ],
  ];
  for (const [name, obj, status, message] of table) {
    assert.deepEqual(engine.evaluate('cert', obj), { status, reason: `Lua${status}`, message }, name);
  }
});

test('Lua rules: Missing is Unknown; a bad answer is Unknown saying what came back', () => {
  const table: Array<[string, string, string, RegExp]> = [
    ['missing', 'return {status = "Missing", message = "gone"}', RuleReasons.luaMissing, /^gone$/],
    ['no table', 'return 42', RuleReasons.evaluationFailed, /returned number, not a table/],
    ['nothing', 'local x = 1', RuleReasons.evaluationFailed, /returned nothing/],
    [
      'unknown status',
      'return {status = "Fine"}',
      RuleReasons.evaluationFailed,
      /status "Fine"; expected one of/,
    ],
  ];
  for (const [id, script, reason, message] of table) {
    engine.compile(id, script);
    const result = engine.evaluate(id, {});
    assert.equal(result.status, 'Unknown', id);
    assert.equal(result.reason, reason, id);
    assert.match(result.message, message, id);
  }
});

test('Lua rules: a script that errors gives Unknown with its message and line', () => {
  engine.compile('boom', 'local hs = {}\nerror("no conditions on " .. obj.metadata.name)');
  assert.deepEqual(engine.evaluate('boom', cert()), {
    status: 'Unknown',
    reason: RuleReasons.evaluationFailed,
    message: 'HealthRule boom: boom:2: no conditions on web',
  });
  engine.compile('index', 'return {status = obj.status.phase}');
  assert.match(
    engine.evaluate('index', cert()).message,
    /index:1: attempt to index a nil value \(field 'status'\)/,
  );
});

test('Lua rules: a script that loops forever or allocates without end is stopped, and the engine stays usable', () => {
  engine.compile('loop', 'while true do end');
  const loop = engine.evaluate('loop', {});
  assert.equal(loop.reason, RuleReasons.limitExceeded, loop.message);
  assert.match(loop.message, /ran longer than 50 ms and was stopped/);
  engine.compile('hog', 'local s = "x" while true do s = s .. s end');
  const hog = engine.evaluate('hog', {});
  assert.equal(hog.reason, RuleReasons.limitExceeded, hog.message);
  assert.match(hog.message, /more than 8 MiB|longer than 50 ms/);
  engine.compile('cert', ARGO_STYLE);
  assert.equal(engine.evaluate('cert', cert([{ type: 'Ready', status: 'True' }])).status, 'Healthy');
});

test('Lua rules: the sandbox has no io, os.execute, require, load, dofile or debug, and one script cannot change another', () => {
  for (const [id, script] of [
    ['exec', 'os.execute("touch /tmp/pwned")'],
    ['io', 'io.open("/etc/passwd")'],
    ['require', 'require("os")'],
    ['load', 'load("return 1")()'],
    ['dofile', 'dofile("/etc/passwd")'],
    ['debug', 'debug.sethook()'],
    ['stringlib', 'string.find = nil'],
    ['metatable', 'getmetatable("").__index.find = nil'],
  ]) {
    engine.compile(id as string, script as string);
    const result = engine.evaluate(id as string, {});
    assert.equal(result.status, 'Unknown', `${id}: ${result.message}`);
    assert.equal(result.reason, RuleReasons.evaluationFailed, `${id}: ${result.message}`);
  }
  engine.compile('global', 'leaked = "yes"; return {status = "Healthy"}');
  engine.evaluate('global', {});
  engine.compile(
    'reader',
    'return {status = "Healthy", message = tostring(leaked) .. " " .. ("abc"):upper() .. " " .. tostring(os.time() > 0)}',
  );
  assert.equal(engine.evaluate('reader', {}).message, 'nil ABC true');
});

test('Lua rules: a syntax error is a compile error on spec.lua', () => {
  assert.throws(
    () => engine.compile('bad', 'if obj.status then'),
    (err: unknown) =>
      err instanceof RuleCompileError && err.field === 'spec.lua' && /bad:1: .*end/.test(err.detail),
  );
});

test('Lua rules: JSON integers are Lua integers, fractions are floats', () => {
  engine.compile(
    'types',
    'return {status = "Healthy", message = math.type(obj.spec.replicas) .. " " .. math.type(obj.spec.ratio)}',
  );
  assert.equal(engine.evaluate('types', { spec: { replicas: 3, ratio: 0.5 } }).message, 'integer float');
});
