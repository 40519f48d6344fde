import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FakeDataPlane } from '../../../test/support/fakedataplane.ts';
import { ENDPOINT_REFUSED, KubeApiError } from '../../kube/client.ts';
import { CHECK_PERIOD_MS, failureOf, PlaneChecker, RETRY_PERIOD_MS } from './check.ts';

/** CountingPlane counts the version requests a check sends. */
class CountingPlane extends FakeDataPlane {
  versions = 0;
  override async serverVersion(): Promise<string> {
    this.versions++;
    return super.serverVersion();
  }
}

function clock(start = Date.parse('2026-01-01T00:00:00Z')) {
  const c = { t: start, now: () => new Date(c.t) };
  return c;
}

describe('plane checks', () => {
  const signal = new AbortController().signal;

  test('a plane is asked once per period and connection; a new connection is asked at once', async () => {
    const time = clock();
    const checker = new PlaneChecker({ timeoutMs: 1000, now: time.now });
    const port = new CountingPlane();
    const connect = () => Promise.resolve({ dataPlane: port });
    const first = await checker.check('acme/dp', connect, false, signal);
    assert.deepEqual(first.check, { ok: true, clusterID: 'cluster-1', serverVersion: 'v1.0.0-fake' });
    time.t += CHECK_PERIOD_MS - 1;
    await checker.check('acme/dp', connect, false, signal);
    assert.equal(port.versions, 1, 'remembered within the period');
    time.t += 1;
    await checker.check('acme/dp', connect, false, signal);
    assert.equal(port.versions, 2, 'asked again after the period');
    const rebuilt = new CountingPlane();
    await checker.check('acme/dp', () => Promise.resolve({ dataPlane: rebuilt }), false, signal);
    assert.equal(rebuilt.versions, 1, 'a new connection (changed spec or Secret) is asked at once');
  });

  test('broken watches are read from the connection on every check, without a request', async () => {
    const checker = new PlaneChecker({ timeoutMs: 1000 });
    const port = new CountingPlane();
    const connect = () => Promise.resolve({ dataPlane: port });
    await checker.check('acme/dp', connect, false, signal);
    port.complete = false;
    const broken = await checker.check('acme/dp', connect, false, signal);
    assert.ok(
      broken.check.ok && broken.check.brokenWatches?.includes('not connected'),
      'broken watches named',
    );
    assert.equal(port.versions, 1);
  });

  test('a plane that does not answer is Unreachable (TunnelDown through a tunnel) and retried sooner', async () => {
    const checker = new PlaneChecker({ timeoutMs: 1000 });
    const port = new CountingPlane();
    port.unreachable = true;
    const connect = () => Promise.resolve({ dataPlane: port });
    const direct = await checker.check('acme/dp', connect, false, signal);
    assert.equal(direct.check.ok ? '' : direct.check.reason, 'Unreachable');
    assert.equal(checker.nextCheckInMs('acme/dp'), RETRY_PERIOD_MS);
    const tunnelled = await checker.check('acme/t', connect, true, signal);
    assert.equal(tunnelled.check.ok ? '' : tunnelled.check.reason, 'TunnelDown');
  });

  test('credentials that cannot be used, and a connection that cannot be built, are reported without a request', async () => {
    const checker = new PlaneChecker({ timeoutMs: 1000 });
    const invalid = await checker.check(
      'acme/dp',
      () =>
        Promise.resolve({
          reason: 'DataPlaneInvalid',
          message: 'kubeconfig Secret acme/dp-kubeconfig: not YAML',
        }),
      false,
      signal,
    );
    assert.deepEqual(invalid.check, {
      ok: false,
      reason: 'InvalidKubeconfig',
      message: 'kubeconfig Secret acme/dp-kubeconfig: not YAML',
    });
    const thrown = await checker.check('acme/dp', () => Promise.reject(new Error('gone')), false, signal);
    assert.equal(thrown.check.ok ? '' : thrown.check.reason, 'Unreachable');
  });
});

describe('failureOf', () => {
  const api = (statusCode: number, reason: string) =>
    new KubeApiError(`GET /version on data plane acme/dp: ${reason}`, { statusCode, reason });
  test('401 is refused credentials, not an unanswered request', () => {
    const f = failureOf(api(401, 'Unauthorized'), false);
    assert.equal(f.ok ? '' : f.reason, 'CredentialsRefused');
    assert.match(f.ok ? '' : f.message, /answered 401 Unauthorized: it refused the credentials/);
  });
  test('403, an endpoint refusal, no answer', () => {
    const reasonOf = (err: unknown, tunnelled = false) => {
      const f = failureOf(err, tunnelled);
      return f.ok ? '' : f.reason;
    };
    assert.equal(reasonOf(api(403, 'Forbidden')), 'Forbidden');
    assert.equal(reasonOf(api(0, ENDPOINT_REFUSED)), 'NotAllowed');
    assert.equal(reasonOf(api(0, 'ECONNREFUSED')), 'Unreachable');
    assert.equal(reasonOf(api(0, 'ECONNREFUSED'), true), 'TunnelDown');
    assert.equal(reasonOf(api(503, 'HTTP503')), 'Unreachable');
  });
});
