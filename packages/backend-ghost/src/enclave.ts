import type { ThreadEventCode } from '@syrup/core';
import { GhostError } from './ghost-error.js';
import type { ThreadState } from './thread-state.js';

/** What the agent knows about one managed thread. */
export interface ManagedThread {
  readonly tid: number;
  state: ThreadState;
  /** The last seq the agent has seen (its view of the task barrier). */
  seq: number;
  lastCpu: number;
  runtimeNs: bigint;
  /**
   * The event of a decision that failed as stale and still waits to be retried: the next
   * message of the thread that the policy does not hear (on-cpu) decides again with it.
   */
  retry: ThreadEventCode | undefined;
}

/**
 * A CPU set and the managed threads of one process (ghOSt's enclave). The CPU list is
 * ascending and without repeats: the policy's core k is its k-th entry, so the order is part
 * of the verdict's meaning and fixed for the enclave's life.
 */
export class Enclave {
  readonly pid: number;
  readonly cpus: readonly number[];
  readonly #threads = new Map<number, ManagedThread>();

  constructor(pid: number, cpus: readonly number[]) {
    if (!Number.isSafeInteger(pid) || pid <= 0) throw new GhostError('GHOST_ENCLAVE_INVALID', `an enclave's process id must be a positive integer, not ${String(pid)}.`);
    if (cpus.length === 0) throw new GhostError('GHOST_ENCLAVE_INVALID', 'an enclave needs at least one CPU.');
    for (const cpu of cpus) {
      if (!Number.isSafeInteger(cpu) || cpu < 0) throw new GhostError('GHOST_ENCLAVE_INVALID', `an enclave's CPU must be a non-negative integer, not ${String(cpu)}.`);
    }
    const sorted = [...new Set(cpus)].sort((a, b) => a - b);
    if (sorted.length !== cpus.length) throw new GhostError('GHOST_ENCLAVE_INVALID', `an enclave's CPU list names a CPU twice: ${cpus.join(',')}.`);
    this.pid = pid;
    this.cpus = Object.freeze(sorted);
  }

  /** The k-th CPU of the list, or undefined when k is beyond it (the verdict then means PASS). */
  cpuAt(k: bigint): number | undefined {
    return k < BigInt(this.cpus.length) ? this.cpus[Number(k)] : undefined;
  }

  thread(tid: number): ManagedThread | undefined {
    return this.#threads.get(tid);
  }

  /** Starts tracking a thread (state `new`, seq 0 until its first message). */
  admit(tid: number, cpu: number): ManagedThread {
    const existing = this.#threads.get(tid);
    if (existing !== undefined) return existing;
    const thread: ManagedThread = { tid, state: 'new', seq: 0, lastCpu: cpu, runtimeNs: 0n, retry: undefined };
    this.#threads.set(tid, thread);
    return thread;
  }

  forget(tid: number): void {
    this.#threads.delete(tid);
  }

  threads(): IterableIterator<ManagedThread> {
    return this.#threads.values();
  }
}
