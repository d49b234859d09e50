import { randomUUID } from 'node:crypto';
import { BroadcastChannel } from 'node:worker_threads';
import { compileWorkerEntry } from '../../src/service/compile/compile-worker-entry.js';
import { PolicyCompiler } from '../../src/index.js';

/**
 * Compiles that start only when the test releases them (test/support/gated-compile-worker.ts):
 * the test reads which compile a PolicyCompiler started, in order, and decides when each one
 * ends, so fairness is asserted as an order of events, never as a time. Dispose to close the
 * channel (the compilers are closed by whoever owns them).
 */
export interface GatedCompiles extends Disposable {
  /** A new policy compiler (with `workers` workers, default the runtime's) whose workers hold every compile until released. */
  compiler(workers?: number): PolicyCompiler;
  /** The file name of the next compile a worker started (waits for it; rejects after `timeoutMs`). */
  nextStart(timeoutMs?: number): Promise<string>;
  /** Every compile started so far, in order. */
  started(): readonly string[];
  /** The nice value the worker thread held when the compile of `fileName` started. */
  niceOf(fileName: string): number | undefined;
  /** Lets the held compile of `fileName` run (core's real front end) and answer. */
  release(fileName: string): void;
}

export function gatedCompiles(): GatedCompiles {
  const name = `syrup-test-gate-${randomUUID()}`;
  const channel = new BroadcastChannel(name);
  const real = compileWorkerEntry();
  const entry = { ...real, url: new URL('./gated-compile-worker.ts', import.meta.url), env: { ...(real.env ?? process.env), SYRUP_TEST_GATE_CHANNEL: name } };
  const started: string[] = [];
  const nices = new Map<string, number>();
  let read = 0;
  const waiting: (() => void)[] = [];
  channel.onmessage = (event) => {
    const { started: fileName, nice } = (event as { data: { started?: string; nice?: number } }).data;
    if (fileName === undefined) return;
    if (nice !== undefined) nices.set(fileName, nice);
    started.push(fileName);
    for (const wake of waiting.splice(0)) wake();
  };
  return {
    compiler: (workers) => new PolicyCompiler(entry, workers),
    started: () => [...started],
    niceOf: (fileName) => nices.get(fileName),
    release: (fileName) => channel.postMessage({ release: fileName }),
    nextStart: async (timeoutMs = 30_000) => {
      const deadline = Date.now() + timeoutMs;
      while (read === started.length) {
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`no compile started within ${timeoutMs} ms after ${started.join(', ') || 'none'}`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          waiting.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
      return started[read++] as string;
    },
    [Symbol.dispose]: () => channel.close(),
  };
}
