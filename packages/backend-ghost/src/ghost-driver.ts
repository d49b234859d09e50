import type { GhostMessage } from './thread-message.js';
import type { GhostTransaction, TransactionOutcome } from './transaction.js';

/**
 * What the agent needs from a kernel (ghOSt's `Ghost` class, the seam its enclaves are meant
 * to run against a software ABI through). A simulated driver serves tests; the stock-Linux
 * driver serves this kernel; a ghOSt or sched_ext driver would implement the same contract.
 *
 * Invariants every driver keeps: messages of one thread arrive in seq order; `commit`
 * applies a transaction only when the thread's seq still equals its barrier (else `stale`);
 * `release` and `close` give every thread back its scheduling policy, priority and affinity
 * from before the enclave took it.
 */
export interface GhostDriver extends Disposable {
  /** Names the driver in reports; a simulated one says so. */
  readonly name: string;
  /** Delivers messages in batches as they arrive, until closed. One listener per driver. */
  start(onMessages: (batch: readonly GhostMessage[]) => void): void;
  /** Messages that arrived and were not delivered yet, taken now; never waits. */
  poll(): GhostMessage[];
  /** Applies a decision if the thread is as the decision saw it. */
  commit(transaction: GhostTransaction): TransactionOutcome;
  /** Gives one thread back to the kernel as it was before the enclave took it. */
  release(tid: number): void;
  /** Stops delivering and releases every thread it changed. Harmless twice. */
  close(): void;
}
