import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { checkRequest, cookieName, newToken, readCookie, sameToken, SECURITY_HEADERS } from './security.ts';

const server = { port: 4321, token: 'a'.repeat(64) };
const facts = (over: Partial<Parameters<typeof checkRequest>[0]> = {}) => ({
  method: 'GET',
  host: '127.0.0.1:4321',
  url: '/',
  cookie: `${cookieName(4321)}=${server.token}`,
  fetchSite: undefined,
  ...over,
});

describe('the web view guard', () => {
  test('a request with the session cookie and the exact Host is served', () => {
    const d = checkRequest(facts({ url: '/api/release?namespace=a&name=b' }), server);
    assert.ok(d.allow, JSON.stringify(d));
    assert.equal(d.path, '/api/release');
    assert.equal(d.query.get('name'), 'b');
  });

  test('a foreign or missing Host is refused, whatever the token (DNS rebinding)', () => {
    for (const host of ['evil.example:4321', 'localhost:4321', '127.0.0.1:4322', '127.0.0.1', undefined]) {
      const d = checkRequest(facts({ host }), server);
      assert.ok(!d.allow && !d.login && d.status === 421, `${host}: ${JSON.stringify(d)}`);
    }
  });

  test('the token in the URL logs in: an HttpOnly SameSite=Strict cookie and a redirect without the token', () => {
    const d = checkRequest(facts({ cookie: undefined, url: `/?token=${server.token}&x=1` }), server);
    assert.ok(!d.allow && d.login, JSON.stringify(d));
    assert.equal(d.location, '/?x=1');
    assert.equal(d.setCookie, `release_ui_4321=${server.token}; HttpOnly; SameSite=Strict; Path=/`);
  });

  test('a wrong token (URL or cookie), no token, another site and a write are refused', () => {
    const cases: [Partial<Parameters<typeof checkRequest>[0]>, number][] = [
      [{ cookie: undefined, url: '/?token=b' }, 403],
      [{ url: `/?token=${'b'.repeat(64)}` }, 403],
      [{ cookie: `${cookieName(4321)}=${'b'.repeat(64)}` }, 403],
      [{ cookie: `${cookieName(9999)}=${server.token}` }, 401],
      [{ cookie: undefined }, 401],
      [{ fetchSite: 'cross-site' }, 403],
      [{ fetchSite: 'same-site' }, 403],
      [{ method: 'POST' }, 405],
    ];
    for (const [over, status] of cases) {
      const d = checkRequest(facts(over), server);
      assert.ok(!d.allow && !d.login && d.status === status, `${JSON.stringify(over)}: ${JSON.stringify(d)}`);
    }
  });

  test('tokens are random and compared whole; cookies are read by name', () => {
    assert.notEqual(newToken(), newToken());
    assert.match(newToken(), /^[0-9a-f]{64}$/);
    assert.equal(sameToken('abc', 'abc'), true);
    assert.equal(sameToken('abc', 'abcd'), false);
    assert.equal(sameToken('', 'abc'), false);
    assert.equal(readCookie('a=1; release_ui_1=tok; b=2', 'release_ui_1'), 'tok');
    assert.equal(readCookie(undefined, 'x'), undefined);
  });

  test('the Content-Security-Policy allows no inline script, no other origin and no framing', () => {
    const csp = SECURITY_HEADERS['Content-Security-Policy'] ?? '';
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.ok(!/unsafe|https?:|\*/.test(csp), csp);
    assert.equal(SECURITY_HEADERS['X-Frame-Options'], 'DENY');
    assert.ok(!Object.keys(SECURITY_HEADERS).some((h) => h.startsWith('Access-Control')), 'no CORS');
  });
});
