/**
 * `kubectl release ui` on the test bed: the real executable serves the view with the user's
 * kubeconfig, and a headless Chromium (Debian's, installed by scripts/chromium.sh when missing)
 * drives it while the real controller reconciles real Releases: the Releases page lists them with
 * their health, worst first; a Release page follows changes on the data plane live, without a
 * reload (a scaled Deployment, a ConfigMap edited by another manager, a deleted Service); drifted
 * fields show with their managers; dark mode and Tab work; and plain HTTP requests with a wrong
 * token or a foreign Host are refused. Screenshots go to test-artifacts/ui/ (gitignored).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { Annotations } from '../../src/api/v1alpha1/constants.ts';
import { Browser } from '../support/browser.ts';
import { eventually } from '../support/eventually.ts';
import { configMap, releaseObject, sampleResources, uniqueName, waitReady } from '../support/fixtures.ts';
import { integrationSuite } from '../support/suite.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const BIN = join(ROOT, 'bin', 'kubectl-release');
const ARTIFACTS = join(ROOT, 'test-artifacts', 'ui');
const FAST = { interval: '1s', progressingInterval: '1s' };

/** get sends a plain HTTP GET with the given headers (Host included) and returns status, headers and body. */
function get(
  port: number,
  path: string,
  headers: Record<string, string> = {},
  method = 'GET',
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((res, rej) => {
    const req = request(
      { host: '127.0.0.1', port, path, method, headers: { Host: `127.0.0.1:${port}`, ...headers } },
      (answer) => {
        let body = '';
        answer.setEncoding('utf8');
        answer.on('data', (chunk: string) => (body += chunk));
        answer.on('end', () => res({ status: answer.statusCode ?? 0, headers: answer.headers, body }));
      },
    );
    req.on('error', rej);
    req.end();
  });
}

describe('kubectl release ui (the web view, in Chromium)', () => {
  const suite = integrationSuite({ credentials: 'secret' });
  let ui: ChildProcess;
  let url: URL;
  let browser: Browser;
  let namespace: string;
  let target: string;
  const names = { shop: '', plain: '', broken: '' };

  before(async () => {
    const { cp, dp, org } = suite;
    namespace = org.namespace;
    mkdirSync(ARTIFACTS, { recursive: true });
    target = uniqueName('ui-dp');
    await dp.ensureNamespace(target);
    names.shop = uniqueName('shop');
    names.plain = uniqueName('plain');
    names.broken = uniqueName('broken');
    // The specification's example (as in the demo) plus a ConfigMap, reporting drift instead of
    // correcting it, so edits on the data plane stay and show.
    await cp.create(
      releaseObject(
        org,
        names.shop,
        [...(await sampleResources(target)), configMap('settings', target, 'settings', { mode: 'blue' })],
        { ...FAST, annotations: { [Annotations.drift]: 'Report' } },
      ),
    );
    await cp.create(releaseObject(org, names.plain, [configMap('cfg', target, 'plain-cfg')], FAST));
    await cp.create(
      releaseObject(
        org,
        names.broken,
        [
          {
            id: 'widget',
            object: {
              apiVersion: 'example.com/v1',
              kind: 'Widget',
              metadata: { name: 'w', namespace: target },
            },
          },
        ],
        FAST,
      ),
    );
    await waitReady(cp, org, names.shop);
    await waitReady(cp, org, names.plain);

    const dir = mkdtempSync(join(tmpdir(), 'rc-ui-'));
    const kubeconfig = join(dir, 'kubeconfig');
    const { readFileSync } = await import('node:fs');
    writeFileSync(kubeconfig, readFileSync(suite.clusters.cp.kubeconfigPath));
    ui = spawn(BIN, ['ui', '-n', namespace, '--no-open', '--port', '0', `--kubeconfig=${kubeconfig}`], {
      env: {
        ...process.env,
        KUBECONFIG: '',
        PATH: `${dirname(process.execPath)}:${process.env['PATH'] ?? ''}`,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    ui.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()));
    url = await new Promise<URL>((res, rej) => {
      ui.stdout!.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const match = /http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]+/.exec(out);
        if (match) res(new URL(match[0]));
      });
      ui.once('exit', (code) => rej(new Error(`kubectl release ui exited with ${code}:\n${out}\n${err}`)));
    });
    browser = await Browser.launch({ dark: false });
  });

  after(async () => {
    await browser?.close();
    if (ui && ui.exitCode === null) {
      const exited = new Promise((res) => ui.once('exit', res));
      ui.kill('SIGTERM');
      await exited;
    }
    await suite.dp.delete('v1', 'Namespace', undefined, target);
  });

  const port = () => Number(url.port);
  const token = () => url.searchParams.get('token') ?? '';

  test('a wrong token, no token, a foreign Host and a write are refused; the right token gives an HttpOnly SameSite=Strict cookie', async () => {
    const wrong = await get(port(), `/?token=${'0'.repeat(token().length)}`);
    assert.equal(wrong.status, 403, wrong.body);
    assert.equal(wrong.headers['set-cookie'], undefined);
    const none = await get(port(), '/api/releases');
    assert.equal(none.status, 401, none.body);
    // DNS rebinding: a page of evil.example whose name now points at 127.0.0.1 sends its own Host.
    const rebound = await get(port(), `/?token=${token()}`, { Host: `evil.example:${port()}` });
    assert.equal(rebound.status, 421, rebound.body);
    const localhost = await get(port(), `/?token=${token()}`, { Host: `localhost:${port()}` });
    assert.equal(localhost.status, 421, 'only the exact address it printed');

    const login = await get(port(), `/?token=${token()}`);
    assert.equal(login.status, 303);
    assert.equal(login.headers['location'], '/');
    const cookie = String(login.headers['set-cookie']);
    assert.match(cookie, /HttpOnly/);
    assert.match(cookie, /SameSite=Strict/);
    const session = cookie.split(';')[0] ?? '';
    const page = await get(port(), '/', { Cookie: session });
    assert.equal(page.status, 200);
    assert.match(page.body, /<script type="module" src="\/static\/app.js">/);
    const csp = String(page.headers['content-security-policy']);
    assert.match(csp, /script-src 'self'/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.ok(!csp.includes('unsafe-inline'), csp);
    assert.equal(page.headers['x-frame-options'], 'DENY');
    assert.equal(page.headers['access-control-allow-origin'], undefined, 'no CORS');
    const forged = await get(port(), '/', { Cookie: session.replace(/=.*/, `=${'f'.repeat(64)}`) });
    assert.equal(forged.status, 403);
    const crossSite = await get(port(), '/api/releases', { Cookie: session, 'Sec-Fetch-Site': 'cross-site' });
    assert.equal(crossSite.status, 403);
    const write = await get(port(), '/api/releases', { Cookie: session }, 'POST');
    assert.equal(write.status, 405);
  });

  test('the Releases page lists the Releases with their health, worst first, and filters them', async () => {
    await browser.navigate(url.href);
    assert.equal(await browser.evaluate<string>('location.search'), '', 'the token left the address bar');
    const rows = await eventually(
      async () => {
        const rows = await browser.evaluate<Array<{ key: string; health: string; counts: string }>>(
          `[...document.querySelectorAll('.releases .body .row')].map((tr) => ({ key: tr.dataset.key,
             health: tr.querySelector('.c-health').textContent, counts: tr.querySelector('.counts').textContent }))`,
        );
        const broken = rows.find((r) => r.key === `${namespace}/${names.broken}`);
        assert.equal(broken?.health, '✕ Degraded', JSON.stringify(rows));
        assert.equal(rows.find((r) => r.key === `${namespace}/${names.shop}`)?.health, '✓ Healthy');
        return rows;
      },
      { timeoutMs: 60_000, description: 'the three Releases on the Releases page' },
    );
    assert.equal(rows[0]?.key, `${namespace}/${names.broken}`, 'the unhealthy first');
    assert.equal(rows.find((r) => r.key === `${namespace}/${names.shop}`)?.counts, '3 Healthy');
    assert.equal(rows.find((r) => r.key === `${namespace}/${names.plain}`)?.counts, '1 Healthy');
    await browser.screenshot(join(ARTIFACTS, 'releases.png'));
    // Dark mode follows the system's setting: another background, the same words.
    const light = await browser.evaluate<string>(`getComputedStyle(document.body).backgroundColor`);
    await browser.send('Emulation.setEmulatedMedia', {
      features: [{ name: 'prefers-color-scheme', value: 'dark' }],
    });
    assert.notEqual(await browser.evaluate<string>(`getComputedStyle(document.body).backgroundColor`), light);
    await browser.screenshot(join(ARTIFACTS, 'releases-dark.png'));
    await browser.send('Emulation.setEmulatedMedia', {
      features: [{ name: 'prefers-color-scheme', value: 'light' }],
    });
    // Keyboard: Tab from the filter reaches the Releases' links.
    await browser.evaluate(`document.getElementById('filter').focus()`);
    for (let i = 0; i < 3; i++) {
      await browser.send('Input.dispatchKeyEvent', {
        type: 'keyDown',
        key: 'Tab',
        code: 'Tab',
        windowsVirtualKeyCode: 9,
      });
      await browser.send('Input.dispatchKeyEvent', {
        type: 'keyUp',
        key: 'Tab',
        code: 'Tab',
        windowsVirtualKeyCode: 9,
      });
    }
    assert.equal(
      await browser.evaluate<string>(`document.activeElement.getAttribute('href')`),
      `#/release/${namespace}/${names.broken}`,
      'the third Tab stop after the filter (namespace, health) is the first Release',
    );

    await browser.evaluate(`(() => { const f = document.getElementById('filter');
      f.value = ${JSON.stringify(names.plain)}; f.dispatchEvent(new Event('input')); })()`);
    await eventually(async () =>
      assert.deepEqual(
        await browser.evaluate<string[]>(
          `[...document.querySelectorAll('.releases .body .row')].map((tr) => tr.dataset.key)`,
        ),
        [`${namespace}/${names.plain}`],
      ),
    );
    await browser.evaluate(`(() => { const f = document.getElementById('filter');
      f.value = ''; f.dispatchEvent(new Event('input'));
      const h = document.getElementById('health'); h.value = 'Degraded'; h.dispatchEvent(new Event('change')); })()`);
    await eventually(async () =>
      assert.deepEqual(
        await browser.evaluate<string[]>(
          `[...document.querySelectorAll('.releases .body .row')].map((tr) => tr.dataset.key)`,
        ),
        [`${namespace}/${names.broken}`],
      ),
    );
  });

  test('a Release page follows the data plane live, without a reload: scale, edit by another manager, delete', async () => {
    const { dp } = suite;
    // A marker on the window survives only if the document is never reloaded.
    await browser.evaluate(`window.__uiTestMarker = 'same-document'`);
    await browser.evaluate(`location.hash = ${JSON.stringify(`#/release/${namespace}/${names.shop}`)}`);
    const resource = (id: string) =>
      browser.evaluate<{ health: string; text: string; status: string; drift: string[] } | null>(
        `(() => { const li = document.querySelector('li[data-id=${JSON.stringify(id)}]');
          if (!li) return null;
          return { health: li.querySelector('summary .health').textContent,
            text: li.querySelector('summary').textContent,
            status: li.querySelector('.status pre')?.textContent ?? '',
            drift: [...li.querySelectorAll('.drift-field')].map((tr) => tr.textContent) }; })()`,
      );
    await eventually(
      async () => {
        assert.equal((await resource('deployment'))?.health, '✓ Healthy');
        assert.equal((await resource('service'))?.health, '✓ Healthy');
        const events = await browser.evaluate<number>(`document.querySelectorAll('.timeline li').length`);
        assert.ok(events > 0, 'its Events on the timeline');
        const placement = await browser.evaluate<string>(`document.getElementById('placement').textContent`);
        assert.match(placement, new RegExp(`Environment ${suite.org.environment}`));
        assert.match(placement, /DataPlane \S+.*Credentials.*kubeconfig in Secret/s);
      },
      { timeoutMs: 30_000, description: 'the Release page with its resources, Events and placement' },
    );
    await browser.evaluate(`document.querySelectorAll('details').forEach((d) => (d.open = true))`);
    await browser.screenshot(join(ARTIFACTS, 'release.png'));

    // Scale the Deployment as an autoscaler would: its live status and the drift of
    // /spec/replicas show on the page.
    await dp.apply(
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'customer-service', namespace: target },
        spec: { replicas: 5 },
      },
      'autoscaler',
    );
    await eventually(
      async () => {
        const deployment = await resource('deployment');
        assert.match(deployment?.status ?? '', /"replicas": 5/, JSON.stringify(deployment));
        assert.deepEqual(deployment?.drift, ['/spec/replicasautoscaler']);
      },
      { timeoutMs: 30_000, description: 'the scaled Deployment on the page' },
    );
    // A ConfigMap edited by someone else: the drifted field and its manager.
    await dp.apply(
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'settings', namespace: target },
        data: { mode: 'green' },
      },
      'kubectl-edit',
    );
    await eventually(
      async () => {
        const settings = await resource('settings');
        assert.deepEqual(settings?.drift, ['/data/modekubectl-edit'], JSON.stringify(settings));
        assert.match(settings?.text ?? '', /drifted/);
      },
      { timeoutMs: 30_000, description: 'the edited ConfigMap drifted on the page' },
    );
    // The Service deleted on the data plane.
    await dp.delete('v1', 'Service', target, 'customer-service');
    await eventually(
      async () => {
        const service = await resource('service');
        assert.match(service?.text ?? '', /drifted/, JSON.stringify(service));
        assert.notEqual(service?.health, '✓ Healthy');
      },
      { timeoutMs: 30_000, description: 'the deleted Service on the page' },
    );
    assert.match(
      await browser.evaluate<string>(`document.querySelector('.summary .ready').textContent`),
      /Ready False · Drifted/,
    );
    assert.equal(await browser.evaluate<string>('window.__uiTestMarker'), 'same-document', 'no reload');
    assert.equal(
      await browser.evaluate<number>(`performance.getEntriesByType('navigation').length`),
      1,
      'one document load',
    );
    await browser.evaluate(`document.querySelectorAll('details').forEach((d) => (d.open = true))`);
    await browser.screenshot(join(ARTIFACTS, 'release-drifted.png'));
  });
});
