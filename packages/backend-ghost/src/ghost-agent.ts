import { ThreadEvent, type PolicyDecision, type PolicyEvaluator, type ThreadEventCode } from '@syrup/core';
import type { Enclave, ManagedThread } from './enclave.js';
import type { GhostDriver } from './ghost-driver.js';
import { threadEventOf, type GhostMessage } from './thread-message.js';
import { advanceThreadState, isRunnable, stateAfter } from './thread-state.js';
import type { Placement, TransactionOutcome } from './transaction.js';

/** What the agent did with one message the policy heard. */
export interface DecisionRecord {
  readonly tid: number;
  readonly seq: number;
  readonly event: ThreadEventCode;
  /** The policy's verdict as the policy language writes it: `3`, `PASS`, `DROP`. */
  readonly verdict: string;
  /** undefined for BLOCKED, where there is nothing to commit. */
  readonly placement: Placement | undefined;
  /** undefined for BLOCKED; `superseded` when a newer message of the thread replaced the decision. */
  readonly outcome: TransactionOutcome | 'superseded' | undefined;
  readonly attempts: number;
  /** When the driver saw the change that led here, and when the commit ended (monotonic ns). */
  readonly messageTimeNs: bigint;
  readonly doneTimeNs: bigint;
}

export interface GhostAgentStats {
  messages: number;
  decisions: number;
  committed: number;
  stale: number;
  /** Messages that arrived in a state their type cannot leave (a lost message); the agent took the state they imply. */
  resyncs: number;
  /** Messages with a seq the agent had already seen. */
  duplicates: number;
}

export interface GhostAgentOptions {
  /** Polls of the driver, after a stale commit, for the message the decision missed. Default 3. */
  readonly maxAttempts?: number;
  /** Called after each decision (latency measurements, traces). */
  readonly onDecision?: (record: DecisionRecord) => void;
  readonly clock?: () => bigint;
}

/**
 * The agent loop (ghOSt's global agent): takes a driver's messages, advances each thread's
 * state machine, asks the policy on every change it hears about, and commits the verdict as a
 * transaction. A transaction that fails is data: `stale` makes the agent read what it missed
 * and decide again on the thread's next message (with that message's event, or with the
 * failed decision's event when the policy does not hear that message), `cpu-gone` falls back
 * to the kernel's scheduler, `not-runnable` and `dead` wait for the thread's next message.
 *
 * The agent is event-driven (it runs when the driver delivers) and synchronous inside: one
 * message is fully handled, commit included, before the next.
 */
export class GhostAgent implements Disposable {
  readonly enclave: Enclave;
  readonly stats: GhostAgentStats = { messages: 0, decisions: 0, committed: 0, stale: 0, resyncs: 0, duplicates: 0 };
  readonly #driver: GhostDriver;
  readonly #evaluator: PolicyEvaluator;
  readonly #maxAttempts: number;
  readonly #onDecision: ((record: DecisionRecord) => void) | undefined;
  readonly #clock: () => bigint;
  readonly #queue: GhostMessage[] = [];
  #draining = false;
  #closed = false;

  constructor(driver: GhostDriver, enclave: Enclave, evaluator: PolicyEvaluator, options: GhostAgentOptions = {}) {
    this.#driver = driver;
    this.enclave = enclave;
    this.#evaluator = evaluator;
    this.#maxAttempts = options.maxAttempts ?? 3;
    this.#onDecision = options.onDecision;
    this.#clock = options.clock ?? process.hrtime.bigint;
  }

  /** Starts taking the driver's messages. */
  start(): void {
    this.#driver.start((batch) => this.handle(batch));
  }

  /** Handles messages in order (drivers call this; tests may too). */
  handle(messages: readonly GhostMessage[]): void {
    this.#queue.push(...messages);
    // A commit that polls the driver queues more messages; one loop handles them all in order.
    if (this.#draining) return;
    this.#draining = true;
    try {
      for (let message = this.#queue.shift(); message !== undefined && !this.#closed; message = this.#queue.shift()) this.#handleOne(message);
    } finally {
      this.#draining = false;
    }
  }

  /**
   * Asks the policy again about a runnable thread, as if it had yielded (what the application
   * triggers after changing the thread's class in a map), up to `maxAttempts` times while the
   * commit is stale. Returns false when the thread is not managed or not runnable.
   */
  reconsider(tid: number): boolean {
    const asked = this.#clock();
    for (let attempt = 0; attempt < this.#maxAttempts; attempt++) {
      // Read what the driver has first, so the decision sees the thread's latest seq; a thread
      // that changes between the read and the commit (stale) is asked about again.
      this.handle(this.#driver.poll());
      const thread = this.enclave.thread(tid);
      if (thread === undefined || !isRunnable(thread.state)) return false;
      const outcome = this.#decide(thread, ThreadEvent.YIELD, asked);
      if (outcome !== 'stale' && outcome !== 'superseded') return true;
    }
    return true;
  }

  /** Stops the agent and the driver (which hands every thread back). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#queue.length = 0;
    this.#driver.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  #handleOne(message: GhostMessage): void {
    this.stats.messages++;
    const thread = this.enclave.thread(message.tid) ?? this.enclave.admit(message.tid, message.cpu);
    if (message.seq <= thread.seq) {
      this.stats.duplicates++;
      return;
    }
    const next = advanceThreadState(thread.state, message.type);
    if (next === undefined) this.stats.resyncs++;
    thread.state = next ?? stateAfter(message.type);
    thread.seq = message.seq;
    thread.lastCpu = message.cpu;
    thread.runtimeNs = message.runtimeNs;
    if (message.type === 'dead') {
      this.enclave.forget(message.tid);
      return;
    }
    // A retry waits while a newer message of the thread is queued: that one decides on fresher state.
    const retry = isRunnable(thread.state) && !this.#queue.some((m) => m.tid === thread.tid) ? thread.retry : undefined;
    const event = threadEventOf(message.type) ?? retry;
    thread.retry = undefined;
    if (event !== undefined) this.#decide(thread, event, message.timeNs);
  }

  #decide(thread: ManagedThread, event: ThreadEventCode, messageTimeNs: bigint): TransactionOutcome | 'superseded' | undefined {
    this.stats.decisions++;
    const decision = this.#evaluator.evaluate({ tid: thread.tid, pid: this.enclave.pid, event, lastCpu: thread.lastCpu, runtimeNs: thread.runtimeNs });
    const verdict = showVerdict(decision);
    if (event === ThreadEvent.BLOCKED) {
      this.#record({ tid: thread.tid, seq: thread.seq, event, verdict, placement: undefined, outcome: undefined, attempts: 0, messageTimeNs, doneTimeNs: this.#clock() });
      return undefined;
    }
    let placement = this.#placementOf(decision);
    const barrier = thread.seq;
    let attempts = 1;
    let outcome: TransactionOutcome | 'superseded' = this.#driver.commit({ tid: thread.tid, barrier, placement });
    if (outcome === 'cpu-gone' && placement.kind === 'run') {
      // The CPU went away between the enclave's start and now: the kernel's scheduler takes the thread.
      placement = { kind: 'kernel' };
      attempts++;
      outcome = this.#driver.commit({ tid: thread.tid, barrier, placement });
    }
    if (outcome === 'stale') {
      this.stats.stale++;
      // The thread changed after the decision, so committing it again with the same barrier
      // would fail again: read what was missed, and the thread's newer message decides anew
      // (queued behind this one). A driver may publish the change a moment after counting it.
      for (let polls = 0; polls < this.#maxAttempts; polls++) {
        const missed = this.#driver.poll();
        this.#queue.push(...missed);
        if (missed.some((m) => m.tid === thread.tid && m.seq > barrier)) {
          outcome = 'superseded';
          break;
        }
      }
    }
    if (outcome === 'stale' || outcome === 'superseded') thread.retry = event;
    if (outcome === 'committed') this.stats.committed++;
    this.#record({ tid: thread.tid, seq: barrier, event, verdict, placement, outcome, attempts, messageTimeNs, doneTimeNs: this.#clock() });
    return outcome;
  }

  #placementOf(decision: PolicyDecision): Placement {
    if (decision.kind === 'pass') return { kind: 'kernel' };
    if (decision.kind === 'drop') return { kind: 'defer' };
    const cpu = this.enclave.cpuAt(decision.key);
    return cpu === undefined ? { kind: 'kernel' } : { kind: 'run', cpu };
  }

  #record(record: DecisionRecord): void {
    this.#onDecision?.(record);
  }
}

function showVerdict(decision: PolicyDecision): string {
  return decision.kind === 'executor' ? String(decision.key) : decision.kind.toUpperCase();
}
