/**
 * The controller process under measurement. By default the bench runs the production build
 * (`tsc -p tsconfig.build.json`, then `node main.js`, as the container image does), because the
 * tsx loader that `npm start` and the tests use adds its own memory (esbuild, source maps) and
 * CPU that no deployment pays. `--tsx` runs it through test/support's ControllerProcess instead.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { ControllerProcess } from '../test/support/controller.ts';
import { eventually } from '../test/support/eventually.ts';

const ROOT = resolve(import.meta.dirname, '..');
/** BUILD_DIR holds the bench's own build of src/ (inside bench/results/, which lint and git ignore). */
export const BUILD_DIR = join(ROOT, 'bench', 'results', '.build');

/** BenchController is what the bench needs of a controller process (ControllerProcess has this shape). */
export interface BenchController {
  readonly child: ChildProcess;
  readonly logPath: string;
  readonly running: boolean;
  metrics(): Promise<string>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  kill(): Promise<void>;
}

/** ControllerStartOptions configures a controller process. */
export interface ControllerStartOptions {
  kubeconfig: string;
  args: string[];
  env: Record<string, string>;
  /** runtime is `node` (the production build) or `tsx` (the sources, as the tests run them). */
  runtime: 'node' | 'tsx';
  /** nodeArgs go to node before the entry point (profiling); only with the `node` runtime. */
  nodeArgs: string[];
}

let built: Promise<string> | undefined;

/**
 * buildController compiles src/ once per bench run and returns the entry point. Type errors (in
 * code other engineers are editing, say) are reported but do not stop the bench when tsc emitted.
 */
export function buildController(log: (line: string) => void): Promise<string> {
  built ??= new Promise((res, rej) => {
    rmSync(BUILD_DIR, { recursive: true, force: true });
    log(`building the controller into ${BUILD_DIR}`);
    const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    execFile(
      process.execPath,
      [tsc, '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', BUILD_DIR, '--sourceMap', 'false'],
      { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout) => {
        const entry = join(BUILD_DIR, 'main.js');
        if (err && !existsSync(entry)) {
          rej(new Error(`building the controller failed:\n${stdout}`, { cause: err }));
          return;
        }
        if (err)
          log(
            `warning: tsc reported errors but emitted the build:\n${stdout.split('\n').slice(0, 10).join('\n')}`,
          );
        res(entry);
      },
    );
  });
  return built;
}

/**
 * imageNodeFlags reads the node flags of the container image's ENTRYPOINT (between "node" and
 * the entry file), so the bench runs the production build exactly as the image does.
 */
export function imageNodeFlags(): string[] {
  const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
  const line = /^ENTRYPOINT\s+(\[.*\])\s*$/m.exec(dockerfile)?.[1];
  if (!line)
    throw new Error('Dockerfile has no ENTRYPOINT in exec form; the bench reads its node flags from it');
  const argv = JSON.parse(line) as string[];
  if (argv[0] !== 'node') throw new Error(`Dockerfile ENTRYPOINT does not start with node: ${line}`);
  return argv.slice(1).filter((arg) => arg.startsWith('-'));
}

/** startController starts a controller process and waits until it is ready. */
export async function startController(
  options: ControllerStartOptions,
  log: (line: string) => void,
): Promise<BenchController> {
  if (options.runtime === 'tsx') {
    if (options.nodeArgs.length > 0) throw new Error('node arguments (--profile) need the node runtime');
    return ControllerProcess.start({ kubeconfig: options.kubeconfig, args: options.args, env: options.env });
  }
  return CompiledController.start(await buildController(log), options);
}

/** CompiledController runs the production build of the controller. */
export class CompiledController implements BenchController {
  private exitCode: number | null | undefined;
  private readonly exited: Promise<number | null>;
  private metricsPort = 0;
  private probePort = 0;

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

  /** start spawns `node <entry>` with ports chosen by the kernel, and waits for /readyz. */
  static async start(entry: string, options: ControllerStartOptions): Promise<CompiledController> {
    const logPath = join(mkdtempSync(join(tmpdir(), 'rc-bench-controller-')), 'controller.log');
    const log = createWriteStream(logPath);
    const child = spawn(
      process.execPath,
      [
        ...options.nodeArgs,
        entry,
        `--kubeconfig=${options.kubeconfig}`,
        '--metrics-bind-address=127.0.0.1:0',
        '--health-probe-bind-address=127.0.0.1:0',
        ...options.args,
      ],
      {
        cwd: ROOT,
        env: { ...process.env, NODE_ENV: 'production', ...options.env },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const proc = new CompiledController(child, logPath);
    process.once('exit', () => child.kill('SIGKILL'));
    child.stderr?.pipe(log);
    if (child.stdout) {
      createInterface({ input: child.stdout }).on('line', (line) => {
        log.write(`${line}\n`);
        if (!proc.probePort && line.includes('"msg":"serving')) proc.notePort(line);
      });
    }
    await eventually(
      async () => {
        if (proc.exitCode !== undefined)
          throw new Error(`controller exited with ${proc.exitCode}:\n${proc.logTail()}`);
        if (!proc.probePort) return false;
        const res = await fetch(`http://127.0.0.1:${proc.probePort}/readyz`);
        return res.status === 200;
      },
      { timeoutMs: 60_000, description: 'the controller to be ready' },
    );
    return proc;
  }

  /** running tells whether the process has not exited. */
  get running(): boolean {
    return this.exitCode === undefined;
  }

  /** metrics returns the controller's /metrics text. */
  async metrics(): Promise<string> {
    return (await fetch(`http://127.0.0.1:${this.metricsPort}/metrics`)).text();
  }

  /** stop sends a signal and waits for the exit code. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (this.exitCode !== undefined) return this.exitCode;
    this.child.kill(signal);
    return this.exited;
  }

  /** kill ends the process at once. */
  async kill(): Promise<void> {
    await this.stop('SIGKILL');
  }

  /** logTail returns the end of the log, for error messages. */
  logTail(lines = 30): string {
    return readFileSync(this.logPath, 'utf8').split('\n').slice(-lines).join('\n');
  }

  private notePort(line: string): void {
    try {
      const entry = JSON.parse(line) as { msg?: string; address?: { port?: number } };
      const port = entry.address?.port ?? 0;
      if (entry.msg === 'serving metrics') this.metricsPort = port;
      if (entry.msg === 'serving health probes') this.probePort = port;
    } catch {
      // Not a JSON log line.
    }
  }
}
