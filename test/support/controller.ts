/**
 * ControllerProcess runs the real controller (`src/main.ts`) as a child process against a test
 * control plane, with its own metrics and probe ports, and keeps its JSON log for the test report.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { eventually } from './eventually.ts';

const ROOT = resolve(import.meta.dirname, '../..');

/** ControllerOptions configures a controller process. */
export interface ControllerOptions {
  kubeconfig: string;
  args?: string[];
  env?: Record<string, string>;
  /** waitReady waits for /readyz (default true). */
  waitReady?: boolean;
}

/** ControllerProcess is one running controller. */
export class ControllerProcess {
  private exited: Promise<number | null>;
  private exitCode: number | null | undefined;

  /** metricsPort and probePort are read from the controller's log once it listens (it binds port 0). */
  metricsPort = 0;
  probePort = 0;

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

  /** start spawns the controller and waits until it is ready. */
  static async start(options: ControllerOptions): Promise<ControllerProcess> {
    const dir = mkdtempSync(join(tmpdir(), 'rc-controller-'));
    const logPath = join(dir, 'controller.log');
    const log = createWriteStream(logPath);
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        join(ROOT, 'src/main.ts'),
        `--kubeconfig=${options.kubeconfig}`,
        // Port 0: the kernel picks free ports, so parallel test processes never collide.
        '--metrics-bind-address=127.0.0.1:0',
        '--health-probe-bind-address=127.0.0.1:0',
        '--log-level=debug',
        '--dataplane-timeout=5s',
        ...(options.args ?? []),
      ],
      { cwd: ROOT, env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
    const proc = new ControllerProcess(child, logPath);
    // A test that fails before stopping its controller must not leave it running.
    process.once('exit', () => child.kill('SIGKILL'));
    await eventually(
      () => {
        if (proc.exitCode !== undefined)
          throw new Error(`controller exited with ${proc.exitCode}:\n${proc.logTail()}`);
        const port = (msg: string) => {
          const line = proc.logLines().find((l) => l['msg'] === msg);
          return (line?.['address'] as { port?: number } | undefined)?.port ?? 0;
        };
        proc.metricsPort = port('serving metrics');
        proc.probePort = port('serving health probes');
        return proc.metricsPort > 0 && proc.probePort > 0;
      },
      { timeoutMs: 60_000, description: 'the controller to listen' },
    );
    if (options.waitReady ?? true) {
      await eventually(
        async () => {
          if (proc.exitCode !== undefined)
            throw new Error(`controller exited with ${proc.exitCode}:\n${proc.logTail()}`);
          const res = await fetch(`http://127.0.0.1:${proc.probePort}/readyz`);
          return res.status === 200;
        },
        { timeoutMs: 60_000, description: 'the controller to be ready' },
      );
    }
    return proc;
  }

  /** running tells whether the process has not exited. */
  get running(): boolean {
    return this.exitCode === undefined;
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
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  }

  /** logTail returns the last lines of the log, for failure messages. */
  logTail(lines = 40): string {
    return readFileSync(this.logPath, 'utf8').split('\n').slice(-lines).join('\n');
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
