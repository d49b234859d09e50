import { readFileSync } from 'node:fs';

/**
 * The numeric columns of each `cpuN` line of a /proc/stat text, by CPU number (user nice system
 * idle iowait irq softirq steal guest guest_nice, in USER_HZ ticks); the all-CPU `cpu` line is
 * left out. Empty for a text without per-CPU lines.
 */
export function perCpuColumns(procStat: string): number[][] {
  const columns: number[][] = [];
  for (const line of procStat.split('\n')) {
    const match = /^cpu(\d+)\s+(.*)$/.exec(line);
    if (match !== null) columns[Number(match[1])] = match[2]!.trim().split(/\s+/).map(Number);
  }
  return columns;
}

/** /proc/stat's text, or undefined where there is none (not Linux). */
export function readProcStat(): string | undefined {
  try {
    return readFileSync('/proc/stat', 'utf8');
  } catch {
    return undefined;
  }
}
