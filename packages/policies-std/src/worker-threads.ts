import type { DataMap } from '@syrup/maps';
import { CompanionError } from './companion-error.js';

/**
 * The userspace half of get-priority: registers each worker thread with the executor (socket)
 * it serves, in the policy's `workerOf` map, so the thread policy can read
 * `busy[executor]` for it. The map holds the executor plus one, because an absent thread
 * reads 0: the policy leaves unregistered threads to the kernel.
 */
export class WorkerThreads {
  readonly #workerOf: DataMap;

  constructor(workerOf: DataMap) {
    if (workerOf.spec.kind !== 'hash' && workerOf.spec.kind !== 'lru-hash') {
      throw new CompanionError('COMPANION_OPTIONS_INVALID', `the workerOf map must be a hash keyed by thread id, not kind '${workerOf.spec.kind}'.`);
    }
    this.#workerOf = workerOf;
  }

  /** Thread `tid` serves `executor` (the socket index scan-avoid's `busy` uses). */
  async register(tid: number, { executor }: { readonly executor: number }): Promise<void> {
    if (!Number.isInteger(executor) || executor < 0 || executor >= 0xffff_ffff) {
      throw new CompanionError('COMPANION_EXECUTOR_INVALID', `a worker's executor is a non-negative integer, not ${String(executor)}.`);
    }
    if (!Number.isInteger(tid) || tid <= 0) throw new CompanionError('COMPANION_OPTIONS_INVALID', `a thread id is a positive integer, not ${String(tid)}.`);
    await this.#workerOf.set(tid, BigInt(executor) + 1n);
  }

  /** Thread `tid` no longer serves an executor: the policy leaves it to the kernel. */
  async unregister(tid: number): Promise<void> {
    await this.#workerOf.delete(tid);
  }
}
