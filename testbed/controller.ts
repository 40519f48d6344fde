/**
 * The one controller launcher of the repository: the integration tests, the bench and the demo all
 * start the real controller through `ControllerProcess.start`. It runs either the sources
 * (`src/main.ts` through tsx, as the tests and the demo do), a compiled entry point with node (the
 * production build, as the bench does) or another command (the container image, test/image/), on ports the kernel picks (read back
 * from the controller's own "serving" log lines), with its JSON log in a file, and waits for
 * /readyz. A detached process (the demo's) outlives the process that started it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, fstatSync, mkdtempSync, openSync, readFileSync, readSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/** ROOT is the repository root. */
export const ROOT = resolve(import.meta.dirname, '..');
/** MAIN is the controller's entry point in the sources. */
export const MAIN = join(ROOT, 'src/main.ts');
const READY_TIMEOUT_MS = 60_000;
const POLL_MS = 100;
/** LOG_TAIL_BYTES is the most of the log file that logTail reads. */
const LOG_TAIL_BYTES = 4 * 1024 * 1024;

/** LaunchOptions configures a controller process. */
export interface LaunchOptions {
  kubeconfig: string;
  /** args are extra controller flags. */
  args?: string[];
  env?: Record<string, string>;
  /** entry is a compiled main.js run with node; without it the sources run through tsx. */
  entry?: string;
  /** nodeArgs go to node before the entry point (profiling flags, the image's flags). */
  nodeArgs?: string[];
  /**
   * command replaces `node [nodeArgs] entry` with another program and its arguments, which the
   * controller flags follow: `buildah run ... -- <the image's ENTRYPOINT>` runs the container image.
   */
  command?: string[];
  /** logPath is where stdout and stderr go (appended); default a file in a new temporary folder. */
  logPath?: string;
  /** detached lets the process outlive this one (the demo); otherwise it is killed when this exits. */
  detached?: boolean;
  /** waitReady waits for /readyz to answer 200 (default true). */
  waitReady?: boolean;
}

/** ControllerProcess is one running controller. */
export class ControllerProcess {
  /** metricsPort and probePort are read from the controller's log once it listens (it binds port 0). */
  metricsPort = 0;
  probePort = 0;
  private exitCode: number | null | undefined;
  private readonly exited: Promise<number | null>;

  private constructor(
    readonly child: ChildProcess,
    readonly logPath: string,
  ) {
    this.exited = new Promise((res) =>
      child.once('exit', (code, signal) => {
        this.exitCode = code ?? (signal ? 128 : null);
        res(this.exitCode);
      }),
    );
  }

  /** start spawns the controller and waits until it listens (and, by default, is ready). */
  static async start(options: LaunchOptions): Promise<ControllerProcess> {
    const logPath = options.logPath ?? join(mkdtempSync(join(tmpdir(), 'rc-controller-')), 'controller.log');
    const program = options.entry ? [options.entry] : ['--import', 'tsx', MAIN];
    const [file = process.execPath, ...before] = options.command ?? [
      process.execPath,
      ...(options.nodeArgs ?? []),
      ...program,
    ];
    const fd = openSync(logPath, 'a', 0o644);
    let child: ChildProcess;
    try {
      child = spawn(
        file,
        [
          ...before,
          `--kubeconfig=${options.kubeconfig}`,
          // Port 0: the kernel picks free ports, so parallel processes never collide.
          '--metrics-bind-address=127.0.0.1:0',
          '--health-probe-bind-address=127.0.0.1:0',
          ...(options.args ?? []),
        ],
        {
          cwd: ROOT,
          env: { ...process.env, ...options.env },
          stdio: ['ignore', fd, fd],
          detached: options.detached ?? false,
        },
      );
    } finally {
      closeSync(fd);
    }
    const proc = new ControllerProcess(child, logPath);
    if (options.detached) child.unref();
    // A caller that fails before stopping its controller must not leave it running.
    else process.once('exit', () => child.kill('SIGKILL'));
    try {
      await proc.waitFor('listen', () => {
        proc.metricsPort = proc.portOf('serving metrics');
        proc.probePort = proc.portOf('serving health probes');
        return proc.metricsPort > 0 && proc.probePort > 0;
      });
      if (options.waitReady ?? true) {
        await proc.waitFor('be ready', async () => {
          const res = await fetch(`http://127.0.0.1:${proc.probePort}/readyz`, {
            signal: AbortSignal.timeout(2_000),
          });
          return res.status === 200;
        });
      }
    } catch (err) {
      await proc.kill();
      throw err;
    }
    return proc;
  }

  /** pid is the process id. */
  get pid(): number {
    return this.child.pid ?? 0;
  }

  /** running tells whether the process has not exited. */
  get running(): boolean {
    return this.exitCode === undefined;
  }

  /** metricsAddress and probeAddress are `host:port` of the two listeners. */
  get metricsAddress(): string {
    return `127.0.0.1:${this.metricsPort}`;
  }
  get probeAddress(): string {
    return `127.0.0.1:${this.probePort}`;
  }

  /** stop sends a signal and waits for the exit code. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (this.exitCode !== undefined) return this.exitCode;
    this.child.kill(signal);
    return this.exited;
  }

  /** kill ends the process at once (SIGKILL). */
  async kill(): Promise<void> {
    await this.stop('SIGKILL');
  }

  /** waitExit waits for the process to end by itself. */
  waitExit(): Promise<number | null> {
    return this.exited;
  }

  /** metrics returns the /metrics text. */
  async metrics(): Promise<string> {
    const res = await fetch(`http://127.0.0.1:${this.metricsPort}/metrics`);
    return res.text();
  }

  /** logLines returns the parsed JSON log lines. */
  logLines(): Array<Record<string, unknown>> {
    return readFileSync(this.logPath, 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .flatMap((l) => {
        try {
          return [JSON.parse(l) as Record<string, unknown>];
        } catch {
          return []; // a line still being written
        }
      });
  }

  /**
   * logTail returns the last lines of the log, for failure messages. It reads at most the last
   * LOG_TAIL_BYTES of the file: a test polling it every second while a debug-level controller logs
   * megabytes would otherwise read the whole, growing file each time (that once took a test process
   * to 20 GiB of RSS).
   */
  logTail(lines = 40): string {
    const fd = openSync(this.logPath, 'r');
    try {
      const size = fstatSync(fd).size;
      const length = Math.min(size, LOG_TAIL_BYTES);
      const buffer = Buffer.alloc(length);
      readSync(fd, buffer, 0, length, size - length);
      return buffer.toString('utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } finally {
      closeSync(fd);
    }
  }

  private portOf(msg: string): number {
    const line = this.logLines().find((l) => l['msg'] === msg);
    return (line?.['address'] as { port?: number } | undefined)?.port ?? 0;
  }

  /** waitFor polls until `check` is true, failing at once with the log when the process exits. */
  private async waitFor(what: string, check: () => boolean | Promise<boolean>): Promise<void> {
    const deadline = performance.now() + READY_TIMEOUT_MS;
    for (;;) {
      if (this.exitCode !== undefined)
        throw new Error(
          `the controller exited with ${this.exitCode} before it was ready:\n${this.logTail()}`,
        );
      try {
        if (await check()) return;
      } catch {
        // not listening yet
      }
      if (performance.now() >= deadline)
        throw new Error(
          `the controller (pid ${this.pid}) did not ${what} within ${READY_TIMEOUT_MS / 1000} s; its log ${this.logPath}:\n${this.logTail()}`,
        );
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  }
}

/** metricValue sums the samples of a metric whose labels include the given ones. */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const labelText = m[3] ?? '';
    if (Object.entries(labels).every(([k, v]) => labelText.includes(`${k}="${v}"`))) sum += Number(m[4]);
  }
  return sum;
}
