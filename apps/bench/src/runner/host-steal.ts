import { median } from './median.js';
import { perCpuColumns, readProcStat } from './proc-stat.js';

/** /proc/stat counts in USER_HZ, which Linux fixes at 100 for this file whatever the kernel's HZ. */
const MS_PER_TICK = 10;

/**
 * Steal time per CPU, in milliseconds, from a /proc/stat text: the time the hypervisor ran
 * something else while this guest's vCPU wanted to run. On a shared machine that is the noise
 * behind a run's tail latency, so every run records how much of it there was. Undefined when
 * the text has no per-CPU lines with a steal column (a kernel without it, or not Linux).
 */
export function parseStealMs(procStat: string): number[] | undefined {
  const columns = perCpuColumns(procStat);
  // user nice system idle iowait irq softirq steal ...: a CPU missing from the text, or a line without the column, has no steal.
  const steal = Array.from(columns, (fields) => (fields?.[7] === undefined ? NaN : fields[7] * MS_PER_TICK));
  return steal.length === 0 || steal.some((value) => !Number.isFinite(value)) ? undefined : steal;
}

export function readStealMs(): number[] | undefined {
  const text = readProcStat();
  return text === undefined ? undefined : parseStealMs(text);
}

/** Steal per CPU between two readings, or undefined if either is missing or they differ in CPUs. */
export function stealBetween(before: readonly number[] | undefined, after: readonly number[] | undefined): number[] | undefined {
  if (before === undefined || after === undefined || before.length !== after.length) return undefined;
  return after.map((value, cpu) => value - before[cpu]!);
}

/**
 * One line on the host's noise over a set of runs: the median and largest steal per CPU.
 * Undefined when no run recorded any.
 */
export function formatHostSteal(runs: readonly { readonly hostStealMs?: readonly number[] }[]): string | undefined {
  const recorded = runs.flatMap((run) => (run.hostStealMs === undefined ? [] : [run.hostStealMs]));
  if (recorded.length === 0) return undefined;
  const cpus = Math.max(...recorded.map((steal) => steal.length));
  const perCpu: string[] = [];
  for (let cpu = 0; cpu < cpus; cpu++) {
    const values = recorded.map((steal) => steal[cpu] ?? 0);
    perCpu.push(`CPU ${cpu} median ${median(values)} ms, max ${Math.max(...values)} ms`);
  }
  return `host steal per run (time the hypervisor gave our vCPUs to others, over ${recorded.length} runs): ${perCpu.join('; ')}`;
}
