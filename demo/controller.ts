/**
 * The demo's controller: `src/main.ts` started by the repository's launcher (testbed/controller.ts)
 * as a detached background process that outlives the demo, logging to a file in the demo folder,
 * with its pid recorded in `controller.json` so that a later `--down` or a re-run can end it. A
 * recorded pid is trusted only when /proc says it is still our controller (its command line names
 * src/main.ts and the demo's kubeconfig).
 */
import { readFileSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ControllerProcess } from '../testbed/controller.ts';

export { ROOT } from '../testbed/controller.ts';
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

/** startController starts the detached controller and resolves once its /readyz answers 200. */
export async function startController(dir: string, kubeconfig: string): Promise<ControllerRecord> {
  const controller = await ControllerProcess.start({
    kubeconfig,
    logPath: join(dir, 'controller.log'),
    detached: true,
  });
  const record: ControllerRecord = {
    pid: controller.pid,
    kubeconfig,
    logPath: controller.logPath,
    metricsAddress: controller.metricsAddress,
    probeAddress: controller.probeAddress,
    startedAt: new Date().toISOString(),
  };
  await writeFile(recordPath(dir), `${JSON.stringify(record, null, 2)}\n`);
  return record;
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
    return argv.some((a) => a.endsWith('src/main.ts')) && argv.includes(`--kubeconfig=${kubeconfig}`);
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
