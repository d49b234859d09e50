import { GhostError } from './ghost-error.js';
import type { GhostDriver } from './ghost-driver.js';
import type { GhostMessage, GhostMessageType } from './thread-message.js';
import { stateAfter, type ThreadState } from './thread-state.js';
import type { GhostTransaction, Placement, TransactionOutcome } from './transaction.js';

interface SimulatedThread {
  readonly tid: number;
  state: ThreadState;
  seq: number;
  cpu: number;
  runtimeNs: bigint;
  /** undefined: as before the enclave (the kernel's own scheduling). */
  placement: Placement | undefined;
  /** Order of the last commit, so FIFO threads on one CPU run in commit order. */
  committedAt: number;
}

/**
 * A driver with no kernel behind it, for unit tests of the agent and of policies: the test
 * plays the kernel (threads spawn, wake, run, block, exit), and the driver keeps the same
 * books a real one keeps (per-thread seq, commit checks), so the agent cannot tell the
 * difference. `next(cpu)` answers which thread the CPU would run under the committed
 * placements: threads committed to it first, then the kernel's own, then deferred ones.
 * Messages are delivered when the test calls `deliver()`, so a test controls interleavings.
 */
export class SimulatedGhostDriver implements GhostDriver {
  readonly name = 'simulated';
  /** Every transaction and how it ended, in commit order. */
  readonly commits: { readonly transaction: GhostTransaction; readonly outcome: TransactionOutcome }[] = [];
  /** Every message emitted, in order (a trace a test can replay elsewhere). */
  readonly trace: GhostMessage[] = [];
  readonly #threads = new Map<number, SimulatedThread>();
  readonly #online: Set<number>;
  readonly #pending: GhostMessage[] = [];
  readonly #races = new Map<number, () => void>();
  readonly #clock: () => bigint;
  #listener: ((batch: readonly GhostMessage[]) => void) | undefined;
  #commitOrder = 0;
  #closed = false;

  constructor(options: { cpus: readonly number[]; clock?: () => bigint }) {
    this.#online = new Set(options.cpus);
    this.#clock = options.clock ?? (() => 0n);
  }

  start(onMessages: (batch: readonly GhostMessage[]) => void): void {
    this.#checkOpen();
    if (this.#listener !== undefined) throw new GhostError('GHOST_DRIVER_BUSY', 'this driver already delivers to an agent.');
    this.#listener = onMessages;
  }

  poll(): GhostMessage[] {
    return this.#pending.splice(0);
  }

  /** Hands every pending message to the agent; returns how many. */
  deliver(): number {
    const batch = this.#pending.splice(0);
    if (batch.length > 0) this.#listener?.(batch);
    return batch.length;
  }

  commit(transaction: GhostTransaction): TransactionOutcome {
    this.#checkOpen();
    const race = this.#races.get(transaction.tid);
    if (race !== undefined) {
      this.#races.delete(transaction.tid);
      race();
    }
    const outcome = this.#check(transaction);
    this.commits.push({ transaction, outcome });
    if (outcome === 'committed') {
      const thread = this.#threads.get(transaction.tid) as SimulatedThread;
      thread.placement = transaction.placement.kind === 'kernel' ? undefined : transaction.placement;
      thread.committedAt = ++this.#commitOrder;
    }
    return outcome;
  }

  release(tid: number): void {
    const thread = this.#threads.get(tid);
    if (thread !== undefined) thread.placement = undefined;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const thread of this.#threads.values()) thread.placement = undefined;
    this.#listener = undefined;
    this.#pending.length = 0;
  }

  [Symbol.dispose](): void {
    this.close();
  }

  // The test's side: the kernel's events.

  spawn(tid: number, cpu = Math.min(...this.#online)): void {
    if (this.#threads.has(tid)) throw new GhostError('GHOST_THREAD_STATE', `simulated thread ${tid} already exists.`);
    this.#threads.set(tid, { tid, state: 'new', seq: 0, cpu, runtimeNs: 0n, placement: undefined, committedAt: 0 });
    this.#emit(tid, 'new');
  }

  wake(tid: number): void {
    this.#emit(tid, 'wakeup');
  }

  /** The thread starts running on `cpu`. */
  run(tid: number, cpu: number, ranNs = 0n): void {
    const thread = this.#thread(tid);
    thread.cpu = cpu;
    thread.runtimeNs += ranNs;
    this.#emit(tid, 'on-cpu');
  }

  preempt(tid: number, ranNs = 0n): void {
    this.#thread(tid).runtimeNs += ranNs;
    this.#emit(tid, 'preempted');
  }

  yield(tid: number): void {
    this.#emit(tid, 'yield');
  }

  block(tid: number, ranNs = 0n): void {
    this.#thread(tid).runtimeNs += ranNs;
    this.#emit(tid, 'blocked');
  }

  exit(tid: number): void {
    this.#emit(tid, 'dead');
  }

  /** Takes a CPU away: commits to it fail with `cpu-gone`. */
  offline(cpu: number): void {
    this.#online.delete(cpu);
  }

  /** Runs `event` inside the next commit for `tid`, after the decision and before the check: the race ghOSt's barriers exist for. */
  beforeNextCommit(tid: number, event: () => void): void {
    this.#races.set(tid, event);
  }

  /** Queues a recorded message as if this kernel had produced it (its seq and state are taken as they are). */
  replay(message: GhostMessage): void {
    let thread = this.#threads.get(message.tid);
    if (thread === undefined) {
      thread = { tid: message.tid, state: 'new', seq: 0, cpu: message.cpu, runtimeNs: 0n, placement: undefined, committedAt: 0 };
      this.#threads.set(message.tid, thread);
    }
    thread.state = stateAfter(message.type);
    thread.seq = message.seq;
    thread.cpu = message.cpu;
    thread.runtimeNs = message.runtimeNs;
    this.trace.push(message);
    this.#pending.push(message);
  }

  placementOf(tid: number): Placement | undefined {
    return this.#threads.get(tid)?.placement;
  }

  stateOf(tid: number): ThreadState | undefined {
    return this.#threads.get(tid)?.state;
  }

  /**
   * The thread `cpu` would run now among the runnable ones: those committed to it (earliest
   * commit first), else those left to the kernel (lowest tid), else deferred ones; undefined
   * when none may run there.
   */
  next(cpu: number): number | undefined {
    const runnable = [...this.#threads.values()].filter((t) => t.state === 'runnable' || t.state === 'running');
    const pinned = runnable.filter((t) => t.placement?.kind === 'run' && t.placement.cpu === cpu).sort((a, b) => a.committedAt - b.committedAt);
    const kernel = runnable.filter((t) => t.placement === undefined).sort((a, b) => a.tid - b.tid);
    const deferred = runnable.filter((t) => t.placement?.kind === 'defer').sort((a, b) => a.tid - b.tid);
    return (pinned[0] ?? kernel[0] ?? deferred[0])?.tid;
  }

  #check(transaction: GhostTransaction): TransactionOutcome {
    const thread = this.#threads.get(transaction.tid);
    if (thread === undefined || thread.state === 'dead') return 'dead';
    if (thread.seq !== transaction.barrier) return 'stale';
    if (thread.state === 'blocked') return 'not-runnable';
    if (transaction.placement.kind === 'run' && !this.#online.has(transaction.placement.cpu)) return 'cpu-gone';
    return 'committed';
  }

  #emit(tid: number, type: GhostMessageType): void {
    const thread = this.#thread(tid);
    thread.state = stateAfter(type);
    thread.seq++;
    const message: GhostMessage = { type, tid, seq: thread.seq, cpu: thread.cpu, runtimeNs: thread.runtimeNs, timeNs: this.#clock() };
    this.trace.push(message);
    this.#pending.push(message);
  }

  #thread(tid: number): SimulatedThread {
    const thread = this.#threads.get(tid);
    if (thread === undefined || thread.state === 'dead') throw new GhostError('GHOST_THREAD_STATE', `simulated thread ${tid} does not exist.`);
    return thread;
  }

  #checkOpen(): void {
    if (this.#closed) throw new GhostError('GHOST_DRIVER_CLOSED', 'the simulated driver is closed.');
  }
}
