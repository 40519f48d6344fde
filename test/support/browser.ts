/**
 * A headless Chromium driven over the DevTools protocol (one WebSocket, Node's own client), for the
 * tests and the bench of the web view. The browser is Debian's `chromium`, which
 * scripts/chromium.sh installs when it is missing (or CHROMIUM=PATH); nothing is downloaded by npm.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '../..');

/** chromiumPath finds (or installs) Chromium, or fails with what to do. */
export function chromiumPath(): string {
  try {
    return execFileSync('bash', [join(ROOT, 'scripts', 'chromium.sh')], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      timeout: 15 * 60_000,
    }).trim();
  } catch (err) {
    throw new Error(
      'no Chromium for the web view test: scripts/chromium.sh could not find or install it (see its message above; as root it runs apt-get install chromium)',
      { cause: err },
    );
  }
}

interface Pending {
  resolve: (value: Record<string, unknown>) => void;
  reject: (err: Error) => void;
}

/** Browser is one headless Chromium with one page. */
export class Browser {
  #id = 0;
  readonly #pending = new Map<number, Pending>();
  readonly #listeners = new Map<string, Set<(params: Record<string, unknown>) => void>>();

  private constructor(
    private readonly child: ChildProcess,
    private readonly socket: WebSocket,
    private readonly profile: string,
  ) {
    socket.addEventListener('message', (event) => {
      const message = JSON.parse(String(event.data)) as {
        id?: number;
        method?: string;
        params?: Record<string, unknown>;
        result?: Record<string, unknown>;
        error?: { message: string };
      };
      if (message.id !== undefined) {
        const pending = this.#pending.get(message.id);
        this.#pending.delete(message.id);
        if (message.error) pending?.reject(new Error(`DevTools: ${message.error.message}`));
        else pending?.resolve(message.result ?? {});
      } else if (message.method) {
        for (const fn of this.#listeners.get(message.method) ?? []) fn(message.params ?? {});
      }
    });
  }

  /** launch starts Chromium headless with a fresh profile and connects to its first page. */
  static async launch(options: { width?: number; height?: number; dark?: boolean } = {}): Promise<Browser> {
    const executable = chromiumPath();
    const profile = mkdtempSync(join(tmpdir(), 'rc-chromium-'));
    const child = spawn(
      executable,
      [
        '--headless',
        // Tests run as root, where Chromium's sandbox cannot start.
        '--no-sandbox',
        '--disable-gpu',
        '--disable-dev-shm-usage',
        '--no-first-run',
        '--no-default-browser-check',
        '--disable-background-networking',
        '--remote-debugging-port=0',
        `--user-data-dir=${profile}`,
        `--window-size=${options.width ?? 1280},${options.height ?? 900}`,
        'about:blank',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    const endpoint = await new Promise<string>((res, rej) => {
      let err = '';
      const timer = setTimeout(() => rej(new Error(`Chromium did not start within 60 s:\n${err}`)), 60_000);
      child.stderr.on('data', (chunk: Buffer) => {
        err += chunk.toString();
        const match = /DevTools listening on (ws:\/\/\S+)/.exec(err);
        if (match?.[1]) {
          clearTimeout(timer);
          res(match[1]);
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        rej(new Error(`Chromium exited with ${code}:\n${err}`));
      });
    });
    const http = new URL(endpoint.replace('ws://', 'http://'));
    const targets = (await (await fetch(`http://${http.host}/json/list`)).json()) as Array<{
      type: string;
      webSocketDebuggerUrl: string;
    }>;
    const page = targets.find((t) => t.type === 'page');
    if (!page) throw new Error('Chromium has no page to drive');
    const socket = new WebSocket(page.webSocketDebuggerUrl);
    await new Promise((res, rej) => {
      socket.addEventListener('open', res, { once: true });
      socket.addEventListener('error', () => rej(new Error('cannot connect to Chromium')), { once: true });
    });
    const browser = new Browser(child, socket, profile);
    await browser.send('Page.enable');
    await browser.send('Runtime.enable');
    if (options.dark !== undefined) {
      await browser.send('Emulation.setEmulatedMedia', {
        features: [{ name: 'prefers-color-scheme', value: options.dark ? 'dark' : 'light' }],
      });
    }
    return browser;
  }

  /** send sends one DevTools command. */
  send(method: string, params: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    const id = ++this.#id;
    return new Promise((res, rej) => {
      this.#pending.set(id, { resolve: res, reject: rej });
      this.socket.send(JSON.stringify({ id, method, params }));
    });
  }

  /** on listens to a DevTools event; it returns the unsubscribe function. */
  on(method: string, fn: (params: Record<string, unknown>) => void): () => void {
    let set = this.#listeners.get(method);
    if (!set) this.#listeners.set(method, (set = new Set()));
    set.add(fn);
    return () => set.delete(fn);
  }

  /** navigate loads a URL and waits for its load event. */
  async navigate(url: string): Promise<void> {
    const loaded = new Promise<void>((res) => {
      const off = this.on('Page.loadEventFired', () => {
        off();
        res();
      });
    });
    await this.send('Page.navigate', { url });
    await loaded;
  }

  /** evaluate runs an expression in the page and returns its value (promises are awaited). */
  async evaluate<T>(expression: string): Promise<T> {
    const result = (await this.send('Runtime.evaluate', {
      expression,
      returnByValue: true,
      awaitPromise: true,
    })) as {
      result?: { value?: T };
      exceptionDetails?: { exception?: { description?: string }; text?: string };
    };
    if (result.exceptionDetails) {
      throw new Error(
        `in the page: ${result.exceptionDetails.exception?.description ?? result.exceptionDetails.text ?? ''}`,
      );
    }
    return result.result?.value as T;
  }

  /** screenshot writes a PNG of the whole page. */
  async screenshot(path: string): Promise<void> {
    const { data } = (await this.send('Page.captureScreenshot', {
      format: 'png',
      captureBeyondViewport: true,
    })) as { data: string };
    writeFileSync(path, Buffer.from(data, 'base64'));
  }

  /** close ends Chromium and removes its profile. */
  async close(): Promise<void> {
    this.socket.close();
    if (this.child.exitCode === null) {
      const exited = new Promise((res) => this.child.once('exit', res));
      this.child.kill('SIGTERM');
      await exited;
    }
    rmSync(this.profile, { recursive: true, force: true });
  }
}
