import { readFileSync } from 'node:fs';

/**
 * Nanoseconds this thread has spent runnable but waiting for a CPU (the second field of
 * /proc/thread-self/schedstat), or undefined where that file is missing. The difference over
 * a run says whether the generator's lateness came from other processes taking its CPU.
 */
export function runQueueWaitNs(): number | undefined {
  try {
    const fields = readFileSync('/proc/thread-self/schedstat', 'utf8').trim().split(/\s+/);
    const wait = Number(fields[1]);
    return Number.isFinite(wait) ? wait : undefined;
  } catch {
    return undefined;
  }
}
