import { getPriority, setPriority } from 'node:os';

/**
 * Sets the calling worker thread's nice value for the compile it is about to run (on Linux,
 * setpriority(2) with pid 0 applies to the calling thread only). Undefined leaves it as it
 * is. A value the system refuses (raising priority needs CAP_SYS_NICE) only costs fairness,
 * never a compile, so it is ignored.
 */
export function runAtNice(nice: number | undefined): void {
  if (nice === undefined) return;
  try {
    if (getPriority(0) !== nice) setPriority(0, nice);
  } catch {
    // Not permitted here: the compile runs at the thread's current priority.
  }
}
