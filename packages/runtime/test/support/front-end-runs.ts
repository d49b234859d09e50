import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FRONT_END_CHANNEL, type FrontEndRun } from '@syrup/core';
import { compileWorkerEntry } from '../../src/service/compile/compile-worker-entry.js';
import { PolicyCompiler } from '../../src/index.js';

/**
 * Counts runs of core's front end (its `FRONT_END_CHANNEL`) where the runtime could run it:
 * on this thread (where the service and every backend's `compile` run) and in the compile
 * workers of the compilers {@link FrontEndRuns.compiler} makes, which load the runtime's own
 * worker module through test/support/counting-compile-worker.ts. Give such a compiler to each
 * service (register it under `PolicyCompiler`) and read the counts after an operation resolved.
 */
export interface FrontEndRuns extends Disposable {
  /** A new policy compiler (a service closes its own) whose workers' runs are counted. */
  compiler(): PolicyCompiler;
  /** File names of the front-end runs on this thread, in order. */
  mainThread(): readonly string[];
  /** File names of the front-end runs in the compile workers (every worker the compilers started), in order. */
  worker(): readonly string[];
}

export function frontEndRuns(): FrontEndRuns {
  const dir = mkdtempSync(join(tmpdir(), 'syrup-front-end-runs-'));
  const log = join(dir, 'worker-runs');
  const main: string[] = [];
  const listener = (message: unknown): void => {
    main.push((message as FrontEndRun).fileName);
  };
  subscribe(FRONT_END_CHANNEL, listener);
  const real = compileWorkerEntry();
  const entry = { ...real, url: new URL('./counting-compile-worker.ts', import.meta.url), env: { ...(real.env ?? process.env), SYRUP_TEST_FRONT_END_LOG: log } };
  return {
    compiler: () => new PolicyCompiler(entry),
    mainThread: () => [...main],
    worker: () => (existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter((line) => line !== '') : []),
    [Symbol.dispose]: () => {
      unsubscribe(FRONT_END_CHANNEL, listener);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
