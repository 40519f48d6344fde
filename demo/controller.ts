/**
 * The demo's controller: `src/main.ts` run as a detached background process that outlives the
 * demo, logging to a file in the demo folder, with its pid recorded in `controller.json` so that a
 * later `--down` or a re-run can end it. A recorded pid is trusted only when /proc says it is still
 * our controller (its command line names src/main.ts and the demo's kubeconfig).
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';

/** ROOT is the repository root. */
export const ROOT = resolve(import.meta.dirname, '..');
const MAIN = join(ROOT, 'src/main.ts');
const READY_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 30_000;

/** ControllerRecord is the content of `<demo folder>/controller.json`. */
export interface ControllerRecord {
  pid: number;
  kubeconfig: string;
  logPath: string;
  metricsAddress: string;
  probeAddress: string;
  startedAt: string;
}

/** recordPath returns the path of the controller record in a demo folder. */
export function recordPath(dir: string): string {
  return join(dir, 'controller.json');
}

/** startController spawns the detached controller and resolves once its /readyz answers 200. */
export async function startController(dir: string, kubeconfig: string): Promise<ControllerRecord> {
  const [metricsPort, probePort] = [await freePort(), await freePort()];
  const logPath = join(dir, 'controller.log');
  const fd = openSync(logPath, 'a', 0o644);
  const metricsAddress = `127.0.0.1:${metricsPort}`;
  const probeAddress = `127.0.0.1:${probePort}`;
  let exit: string | undefined;
  try {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        MAIN,
        '--kubeconfig',
        kubeconfig,
        '--metrics-bind-address',
        metricsAddress,
        '--health-probe-bind-address',
        probeAddress,
      ],
      { cwd: ROOT, detached: true, stdio: ['ignore', fd, fd], env: process.env },
    );
    child.once('exit', (code, signal) => (exit = signal ? `signal ${signal}` : `code ${code}`));
    child.unref();
    if (child.pid === undefined) throw new Error(`could not start ${process.execPath} ${MAIN}`);
    const record: ControllerRecord = {
      pid: child.pid,
      kubeconfig,
      logPath,
      metricsAddress,
      probeAddress,
      startedAt: new Date().toISOString(),
    };
    await writeFile(recordPath(dir), `${JSON.stringify(record, null, 2)}\n`);
    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (;;) {
      if (exit !== undefined) {
        throw new Error(`the controller exited with ${exit} before it was ready; its log:\n${tail(logPath)}`);
      }
      try {
        const res = await fetch(`http://${probeAddress}/readyz`, { signal: AbortSignal.timeout(2_000) });
        if (res.status === 200) return record;
      } catch {
        // not listening yet
      }
      if (Date.now() >= deadline) {
        throw new Error(
          `the controller (pid ${child.pid}) was not ready within ${READY_TIMEOUT_MS / 1000} s; ` +
            `see its log ${logPath}:\n${tail(logPath)}`,
        );
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    closeSync(fd);
  }
}

/**
 * stopController ends the controller recorded in `dir`, if it still runs, and removes the record:
 * SIGTERM (it finishes running reconciles), then SIGKILL after 30 s. It returns the pid it ended.
 */
export async function stopController(dir: string): Promise<number | undefined> {
  let record: ControllerRecord;
  try {
    record = JSON.parse(await readFile(recordPath(dir), 'utf8')) as ControllerRecord;
  } catch {
    return undefined;
  }
  const { pid } = record;
  let ended: number | undefined;
  if (isOurController(pid, record.kubeconfig)) {
    signal(pid, 'SIGTERM');
    signal(pid, 'SIGCONT'); // a stopped process (Ctrl-Z, a debugger) handles SIGTERM only once resumed
    if (!(await waitGone(pid, STOP_GRACE_MS))) {
      signal(pid, 'SIGKILL');
      if (!(await waitGone(pid, 5_000))) {
        throw new Error(`controller pid ${pid} survived SIGKILL; check \`ps -p ${pid}\` and end it by hand`);
      }
    }
    ended = pid;
  }
  await rm(recordPath(dir), { force: true });
  return ended;
}

/** describeController says, for an error report, whether the recorded controller still runs and where it logs. */
export async function describeController(dir: string): Promise<string> {
  let record: ControllerRecord;
  try {
    record = JSON.parse(await readFile(recordPath(dir), 'utf8')) as ControllerRecord;
  } catch {
    return 'The controller was not started.';
  }
  const state = isOurController(record.pid, record.kubeconfig) ? 'is running' : 'is NOT running any more';
  return `The controller (pid ${record.pid}) ${state}; its log: ${record.logPath}`;
}

/** isOurController tells whether `pid` is alive and runs src/main.ts against `kubeconfig`. */
export function isOurController(pid: number, kubeconfig: string): boolean {
  if (!isAlive(pid)) return false;
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return argv.some((a) => a.endsWith('src/main.ts')) && argv.includes(kubeconfig);
  } catch {
    return false;
  }
}

/** isAlive tells whether a process exists and is not a zombie (an orphan may never be reaped here). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

async function waitGone(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid)) {
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
  return true;
}

function tail(path: string, lines = 20): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** freePort returns a TCP port on 127.0.0.1 that was free a moment ago. */
function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const server = createServer();
    server.once('error', rej);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => res(port));
    });
  });
}
