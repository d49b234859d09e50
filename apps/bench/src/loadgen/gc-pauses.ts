import { PerformanceObserver } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

export interface GcPauses {
  readonly count: number;
  readonly totalMs: number;
  readonly maxMs: number;
}

/**
 * Watches the garbage collector while the generator runs: a pause stalls the busy loop, so it
 * shows up as lateness and latency, and the report says how much of that the generator caused.
 * Entries reach the observer between loop slices; `stop()` lets the last ones arrive first.
 */
export function watchGcPauses(): { stop(): Promise<GcPauses> } {
  let count = 0;
  let totalMs = 0;
  let maxMs = 0;
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      count++;
      totalMs += entry.duration;
      maxMs = Math.max(maxMs, entry.duration);
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  return {
    async stop(): Promise<GcPauses> {
      // GC entries are queued to the event loop; give the queue a turn before reading.
      await sleep(20);
      observer.disconnect();
      return { count, totalMs: Math.round(totalMs * 1000) / 1000, maxMs: Math.round(maxMs * 1000) / 1000 };
    },
  };
}
