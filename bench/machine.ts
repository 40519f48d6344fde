/**
 * What the benchmark knows about the machine: its description for the results, and CPU
 * accounting from /proc (the whole machine, and given processes), so a report can tell how much
 * of the CPU went to processes other than the controller, the test-bed clusters and the bench.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';

/** Machine describes the computer a run happened on. */
export interface Machine {
  cpuModel: string;
  cores: number;
  memoryBytes: number;
  node: string;
  platform: string;
  kernel: string;
  hostname: string;
}

/** machine describes this computer. */
export function machine(): Machine {
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memoryBytes: os.totalmem(),
    node: process.version,
    platform: `${os.platform()} ${os.arch()}`,
    kernel: os.release(),
    hostname: os.hostname(),
  };
}

/** loadAverage returns the 1, 5 and 15 minute load averages, rounded to two decimals. */
export function loadAverage(): [number, number, number] {
  const [a = 0, b = 0, c = 0] = os.loadavg().map((x) => Math.round(x * 100) / 100);
  return [a, b, c];
}

let clockTicks: number | undefined;

/** ticksPerSecond is the kernel's USER_HZ, the unit of /proc CPU times. */
export function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** processCpuSeconds returns the user+system CPU seconds a process has used so far (0 when it is gone). */
export function processCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command (which may contain spaces) start at the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return (utime + stime) / ticksPerSecond();
  } catch {
    return 0;
  }
}

/** MachineCpu is the machine's cumulative CPU time, in seconds over all cores. */
export interface MachineCpu {
  busy: number;
  total: number;
}

/** machineCpu reads the machine's cumulative busy and total CPU seconds from /proc/stat. */
export function machineCpu(): MachineCpu {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  const [, ...values] = line.trim().split(/\s+/);
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] =
    values.map(Number);
  const busy = user + nice + system + irq + softirq + steal;
  return { busy: busy / ticksPerSecond(), total: (busy + idle + iowait) / ticksPerSecond() };
}

/** CpuWindow is how the machine's CPU was used during one measured window. */
export interface CpuWindow {
  seconds: number;
  /** busyCores is the average number of busy cores (0 to `cores`). */
  busyCores: number;
  /** ownCores is the part used by the watched processes (controller, clusters, this bench). */
  ownCores: number;
  /** otherCores is the part used by everything else on the machine (other engineers' tests, say). */
  otherCores: number;
  /** load is the load average at the end of the window. */
  load: [number, number, number];
}

/** CpuMeter measures a window of machine CPU use, splitting it into ours and everybody else's. */
export class CpuMeter {
  private readonly startMachine = machineCpu();
  private readonly startOwn: number;
  private readonly startedAt = performance.now();

  constructor(private readonly pids: () => number[]) {
    this.startOwn = this.own();
  }

  /** finish ends the window. */
  finish(): CpuWindow {
    const seconds = (performance.now() - this.startedAt) / 1000;
    const end = machineCpu();
    const busy = end.busy - this.startMachine.busy;
    const own = Math.min(busy, Math.max(0, this.own() - this.startOwn));
    const round = (x: number) => Math.round((x / seconds) * 100) / 100;
    return {
      seconds: Math.round(seconds * 10) / 10,
      busyCores: round(busy),
      ownCores: round(own),
      otherCores: round(busy - own),
      load: loadAverage(),
    };
  }

  private own(): number {
    return [process.pid, ...this.pids()].reduce((sum, pid) => sum + processCpuSeconds(pid), 0);
  }
}

/** RolePids names groups of processes ("controller", "cp kube-apiserver", ...) by their pids. */
export type RolePids = Record<string, number[]>;

/**
 * RoleCpuMeter measures the CPU seconds each group of processes used over a window, so a report
 * can tell whether the controller or the API servers and etcd were busy. A process that started
 * during the window counts from zero.
 */
export class RoleCpuMeter {
  private readonly start = new Map<number, number>();

  constructor(private readonly roles: () => RolePids) {
    for (const pids of Object.values(roles()))
      for (const pid of pids) this.start.set(pid, processCpuSeconds(pid));
  }

  /** finish returns the CPU seconds of each group since the meter was made. */
  finish(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [role, pids] of Object.entries(this.roles())) {
      const used = pids.reduce(
        (s, pid) => s + Math.max(0, processCpuSeconds(pid) - (this.start.get(pid) ?? 0)),
        0,
      );
      out[role] = Math.round(used * 100) / 100;
    }
    return out;
  }
}
