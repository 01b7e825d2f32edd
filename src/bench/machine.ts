/**
 * What the machine was doing while a benchmark ran: CPU model, cores, load average, and the CPU time
 * other processes took meanwhile (from /proc/stat minus this process's own time), so a figure measured on
 * a shared machine says how shared it was.
 */
import fs from 'node:fs';
import os from 'node:os';
import { round } from './timing.ts';

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  totalMemMiB: number;
  node: string;
  platform: string;
  loadAverageBefore: number[];
  loadAverageAfter: number[];
  /** Mean number of cores busy with other processes during the run (null off Linux). */
  otherProcessesCores: number | null;
  /** Mean number of cores this process and its finished child processes kept busy (null off Linux). */
  ownCores: number | null;
  elapsedSec: number;
}

interface CpuTicks {
  busy: number;
  total: number;
  self: number;
}

function readTicks(): CpuTicks | null {
  try {
    const cpu = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const total = cpu.reduce((s, v) => s + v, 0);
    const idle = (cpu[3] ?? 0) + (cpu[4] ?? 0);
    // fields after the parenthesised command name: utime, stime, cutime, cstime are the 12th to 15th
    // (cutime/cstime: child processes already reaped, e.g. the isolated model cases)
    const stat = fs.readFileSync('/proc/self/stat', 'utf8');
    const rest = stat
      .slice(stat.lastIndexOf(')') + 2)
      .split(' ')
      .slice(11, 15)
      .map(Number);
    return { busy: total - idle, total, self: rest.reduce((s, v) => s + v, 0) };
  } catch {
    return null;
  }
}

/** Starts watching; `finish()` returns the machine record of the interval. */
export function watchMachine(): { finish: () => MachineInfo } {
  const t0 = performance.now();
  const loadBefore = os.loadavg().map((x) => round(x, 2));
  const ticks0 = readTicks();
  return {
    finish(): MachineInfo {
      const ticks1 = readTicks();
      const cores = os.cpus().length;
      let other: number | null = null;
      let own: number | null = null;
      if (ticks0 && ticks1 && ticks1.total > ticks0.total) {
        // /proc/stat sums all cores, so its total advances `cores` ticks per tick of wall time
        const wall = (ticks1.total - ticks0.total) / cores;
        own = round((ticks1.self - ticks0.self) / wall, 2);
        other = round(Math.max(0, ticks1.busy - ticks0.busy - (ticks1.self - ticks0.self)) / wall, 2);
      }
      return {
        cpuModel: os.cpus()[0]?.model.trim() ?? 'unknown',
        cores,
        totalMemMiB: Math.round(os.totalmem() / 2 ** 20),
        node: process.version,
        platform: `${os.platform()} ${os.release()}`,
        loadAverageBefore: loadBefore,
        loadAverageAfter: os.loadavg().map((x) => round(x, 2)),
        otherProcessesCores: other,
        ownCores: own,
        elapsedSec: round((performance.now() - t0) / 1000, 1),
      };
    },
  };
}
