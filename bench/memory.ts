/**
 * Memory of the controller process: the resident set now (VmRSS) and its high-water mark (VmHWM,
 * the kernel's exact peak) from /proc/<pid>/status, and the split of RSS into V8 heap spaces from
 * the controller's Node.js metrics.
 */
import { readFileSync } from 'node:fs';
import { parseMetrics } from './util.ts';

/** MIB is one mebibyte in bytes. */
export const MIB = 1024 * 1024;

/** ProcessMemory is a process's resident memory, in bytes. */
export interface ProcessMemory {
  rss: number;
  peak: number;
}

/** processMemory reads VmRSS and VmHWM of a process; it throws when the process is gone. */
export function processMemory(pid: number): ProcessMemory {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string): number => {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
    if (!m) throw new Error(`/proc/${pid}/status has no ${field}`);
    return Number(m[1]) * 1024;
  };
  return { rss: kib('VmRSS'), peak: kib('VmHWM') };
}

/** MemoryBreakdown splits a process's RSS into V8 heap spaces (reserved and used) and the rest, in MiB. */
export interface MemoryBreakdown {
  rssMiB: number;
  heapTotalMiB: number;
  heapUsedMiB: number;
  externalMiB: number;
  /** outsideHeapMiB is RSS minus the V8 heap's reserved size: code, native buffers, the Node binary. */
  outsideHeapMiB: number;
  /** spaces maps each V8 heap space to its reserved (`total`) and live-or-garbage (`used`) size. */
  spaces: Record<string, { total: number; used: number }>;
}

/** memoryBreakdown reads the Node.js heap metrics of a controller's /metrics text. */
export function memoryBreakdown(metricsText: string, rss: number): MemoryBreakdown {
  const mib = (b: number) => Math.round((b / MIB) * 10) / 10;
  const spaces: Record<string, { total: number; used: number }> = {};
  let heapTotal = 0;
  let heapUsed = 0;
  let external = 0;
  for (const s of parseMetrics(metricsText)) {
    const space = s.labels['space'] ?? '';
    if (s.name === 'nodejs_heap_space_size_total_bytes') {
      heapTotal += s.value;
      spaces[space] = { total: mib(s.value), used: spaces[space]?.used ?? 0 };
    } else if (s.name === 'nodejs_heap_space_size_used_bytes') {
      heapUsed += s.value;
      spaces[space] = { total: spaces[space]?.total ?? 0, used: mib(s.value) };
    } else if (s.name === 'nodejs_external_memory_bytes') {
      external = s.value;
    }
  }
  return {
    rssMiB: mib(rss),
    heapTotalMiB: mib(heapTotal),
    heapUsedMiB: mib(heapUsed),
    externalMiB: mib(external),
    outsideHeapMiB: mib(rss - heapTotal),
    spaces,
  };
}
