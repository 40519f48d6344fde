import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { formatLogLine, textLogStream } from './textlog.ts';

const line = (entry: Record<string, unknown>): string =>
  JSON.stringify({
    level: 'info',
    time: '2026-12-07T13:02:11.412Z',
    component: 'release-controller',
    ...entry,
  });

describe('formatLogLine', () => {
  test('time, level, message, then the fields as key=value; the base fields are left out', () => {
    assert.equal(
      formatLogLine(line({ msg: 'control-plane caches synced; starting workers', workers: 4, shard: '0/1' })),
      '2026-12-07T13:02:11.412Z INFO  control-plane caches synced; starting workers workers=4 shard=0/1\n',
    );
    assert.equal(
      formatLogLine(line({ level: 50, msg: 'x', release: { namespace: 'acme', name: 'web' } })),
      '2026-12-07T13:02:11.412Z ERROR x release={"namespace":"acme","name":"web"}\n',
    );
  });

  test("a tenant's text can neither break the line nor fake a field", () => {
    const out = formatLogLine(
      line({ msg: 'apply failed\nINFO  all good', reason: 'a b="c"', bad: 'x\u001b[31my', bidi: 'a\u009bb' }),
    );
    assert.equal(out.split('\n').length, 2, `one line: ${out}`);
    assert.ok(out.includes('apply failed\\u000aINFO  all good'), out);
    assert.ok(out.includes('reason="a b=\\"c\\""'), out);
    assert.ok(out.includes('bad="x\\u001b[31my"'), out);
    assert.ok(out.includes('bidi="a\\u009bb"'), out);
  });

  test('an error shows its message; its stack only when the process ends (fatal)', () => {
    const err = {
      type: 'Error',
      message: 'connect ECONNREFUSED',
      stack: 'Error: connect ECONNREFUSED\n    at x (y.ts:1:1)',
    };
    const error = formatLogLine(line({ level: 'error', msg: 'reconcile failed', err }));
    assert.equal(error, '2026-12-07T13:02:11.412Z ERROR reconcile failed err="connect ECONNREFUSED"\n');
    const fatal = formatLogLine(line({ level: 'fatal', msg: 'release-controller failed', err }));
    assert.match(
      fatal,
      /^2026-12-07T13:02:11\.412Z FATAL release-controller failed err="connect ECONNREFUSED"\n {4}Error: connect ECONNREFUSED\n {8}at x \(y\.ts:1:1\)\n$/,
    );
  });

  test('a line that is not JSON is printed quoted', () => {
    assert.equal(formatLogLine('not json\u0007\n'), '"not json\\u0007"\n');
  });
});

describe('textLogStream', () => {
  test('colors the level only on a terminal, and never with NO_COLOR', () => {
    const written: string[] = [];
    const out = { write: (text: string) => written.push(text), isTTY: true };
    textLogStream(out, {}).write(line({ level: 'warn', msg: 'w' }));
    textLogStream(out, { NO_COLOR: '1' }).write(line({ level: 'warn', msg: 'w' }));
    textLogStream({ write: out.write }, {}).write(line({ level: 'warn', msg: 'w' }));
    assert.deepEqual(written, [
      '2026-12-07T13:02:11.412Z \u001b[33mWARN \u001b[0m w\n',
      '2026-12-07T13:02:11.412Z WARN  w\n',
      '2026-12-07T13:02:11.412Z WARN  w\n',
    ]);
  });
});
