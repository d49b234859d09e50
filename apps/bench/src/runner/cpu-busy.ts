import { perCpuColumns, readProcStat } from './proc-stat.js';

/** Each CPU's busy and total time from /proc/stat, in its ticks: busy is everything but idle, iowait and steal. */
export type CpuTimes = ReadonlyArray<{ readonly busy: number; readonly total: number }>;

/**
 * The per-CPU times in a /proc/stat text, or undefined without per-CPU lines. Steal is left out
 * of both busy and total: it is time the guest did not have, reported on its own.
 */
export function parseCpuTimes(procStat: string): CpuTimes | undefined {
  const columns = perCpuColumns(procStat);
  const times = Array.from(columns, (fields = []) => {
    // user nice system idle iowait irq softirq (guest time is already inside user and nice)
    const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0] = fields;
    const busy = user + nice + system + irq + softirq;
    return { busy, total: busy + idle + iowait };
  });
  return times.length === 0 || times.some((t) => !Number.isFinite(t.total)) ? undefined : times;
}

export function readCpuTimes(): CpuTimes | undefined {
  const text = readProcStat();
  return text === undefined ? undefined : parseCpuTimes(text);
}

/** Each CPU's busy share between two readings (0 to 1, three decimals), or undefined if either is missing or they differ in CPUs. */
export function busyBetween(before: CpuTimes | undefined, after: CpuTimes | undefined): number[] | undefined {
  if (before === undefined || after === undefined || before.length !== after.length) return undefined;
  return after.map((t, cpu) => {
    const total = t.total - before[cpu]!.total;
    return total > 0 ? Math.round(((t.busy - before[cpu]!.busy) / total) * 1000) / 1000 : 0;
  });
}
