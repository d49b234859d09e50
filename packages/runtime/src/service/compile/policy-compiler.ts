import { availableParallelism, getPriority } from 'node:os';
import type { CompiledPolicy, PolicySource } from '@syrup/core';
import { injectable } from 'tsyringe';
import { LimitError } from '../limits/limit-error.js';
import { CompilerError } from './compiler-error.js';
import { compileWorkerEntry, type CompileWorkerEntry } from './compile-worker-entry.js';
import { cancelled, CompileWorkerSlot } from './compile-worker-slot.js';
import { RoundRobinQueue } from './round-robin-queue.js';

/**
 * Compile workers at most: two tenants compile at once, each in its own worker, so one
 * tenant's compile never waits for another's running one (on a one-CPU machine, one).
 * More would only share the same CPUs among more front ends, each with its own heap.
 */
export const DEFAULT_COMPILE_WORKERS = Math.min(2, availableParallelism());
/** A spare worker (every one but the first) is terminated after this long unused. */
const SPARE_WORKER_IDLE_MS = 30_000;
/**
 * How many nice values below the daemon a compile runs whose uid has more compiles waiting
 * when it starts: a tenant with a backlog is batch work, and when its compile shares a CPU
 * with the compile of a tenant that sent one, the kernel gives that one about ten times the
 * CPU time. A compile with nothing of its uid waiting runs at the daemon's own nice value
 * (the main thread's when the compiler was made). Applied only when the process may raise a
 * thread's priority back (root), so that an unprivileged embedded runtime's workers are never
 * stuck at the lower priority.
 */
export const BACKLOG_NICE_STEPS = 10;

/** Who a compile is for and how far it may go. */
export interface CompileOptions {
  /** Whose queue the compile waits in: the queues of different uids are served round robin. */
  readonly uid: number;
  /** Milliseconds the front end may run once the compile has reached a loaded worker. */
  readonly timeoutMs: number;
  /**
   * Compiles `uid` may have waiting or running at once; one more is refused with LimitError
   * LIMIT_QUEUED_COMPILES. Absent means unlimited.
   */
  readonly maxQueued?: number;
  /** Withdraws the compile when aborted (its client went away): refused at once if it waits, its worker terminated if it runs. */
  readonly signal?: AbortSignal;
}

interface Job {
  readonly source: PolicySource;
  readonly params: Readonly<Record<string, number | bigint>> | undefined;
  readonly options: CompileOptions;
  resolve(compiled: CompiledPolicy): void;
  reject(error: Error): void;
}

/**
 * Runs core's `compilePolicy` on untrusted policy text in worker threads, each compile with a
 * timeout, and returns the IR and manifest it made: the runtime's one run of the front end per
 * deploy, replace, disasm or recovery without a recorded IR (a worker's life, the timeout and
 * the refusals are compile-worker-slot.ts's).
 *
 * Up to `workers` compiles run at once, at most one per uid, and waiting compiles queue per
 * uid and are served round robin (round-robin-queue.ts): a tenant with many compiles queued
 * holds one worker, another tenant's compile starts on the next free one without waiting for
 * it, and with one worker waits for at most one of its compiles. Each uid may have `maxQueued`
 * waiting or running. A compile whose signal aborts is withdrawn: out of its queue if it
 * waits, its worker terminated if it runs (issue #15: work for a closed connection used to run
 * to its end).
 * Invariant: `#runningUids` holds exactly the uids of the compiles running in `#slots`, each once.
 */
@injectable()
export class PolicyCompiler {
  readonly #queue = new RoundRobinQueue<Job>();
  /** Slots with no compile running. */
  readonly #free: Set<CompileWorkerSlot>;
  readonly #slots: readonly CompileWorkerSlot[];
  readonly #runningUids = new Set<number>();
  /** The nice values compiles run at, undefined when this process may not raise a thread's priority back. */
  readonly #nice = process.geteuid?.() === 0 ? compileNiceValues() : undefined;
  #closed = false;

  constructor(entry: CompileWorkerEntry = compileWorkerEntry(), workers: number = DEFAULT_COMPILE_WORKERS) {
    if (!Number.isInteger(workers) || workers < 1) throw new RangeError(`compile workers must be a positive integer, not ${String(workers)}.`);
    this.#slots = Array.from({ length: workers }, (_, i) => new CompileWorkerSlot(entry, i === 0 ? {} : { idleMs: SPARE_WORKER_IDLE_MS }));
    this.#free = new Set(this.#slots);
  }

  /** The policy's IR and manifest (params applied) once the front end accepts it; its errors keep their codes and sentences. */
  compile(source: PolicySource, params: Readonly<Record<string, number | bigint>> | undefined, options: CompileOptions): Promise<CompiledPolicy> {
    if (this.#closed) return Promise.reject(new CompilerError('COMPILER_CLOSED', 'the policy compiler is shut down.'));
    const { uid, maxQueued, signal } = options;
    if (signal?.aborted === true) return Promise.reject(cancelled(signal));
    const held = this.#queue.sizeOf(uid) + (this.#runningUids.has(uid) ? 1 : 0);
    if (maxQueued !== undefined && held >= maxQueued) {
      return Promise.reject(new LimitError('LIMIT_QUEUED_COMPILES', `uid ${uid} already has ${held} compiles queued, the --max-queued-compiles limit.`, maxQueued));
    }
    return new Promise<CompiledPolicy>((resolve, reject) => {
      // While the job waits, an abort takes it out of the queue; once it runs, its slot stops the worker instead.
      const onAbort = (): void => {
        if (signal !== undefined && this.#queue.remove(uid, job)) job.reject(cancelled(signal));
      };
      const settled = (): void => signal?.removeEventListener('abort', onAbort);
      const job: Job = {
        source,
        params,
        options,
        resolve: (compiled) => {
          settled();
          resolve(compiled);
        },
        reject: (error) => {
          settled();
          reject(error);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#queue.push(uid, job);
      this.#pump();
    });
  }

  /** Terminates the workers; queued compiles are refused. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const job of this.#queue.drain()) job.reject(new CompilerError('COMPILER_CLOSED', 'the policy compiler is shut down.'));
    await Promise.all(this.#slots.map((slot) => slot.close()));
  }

  /** Starts waiting compiles on free slots, one per uid, round robin across uids. */
  #pump(): void {
    while (this.#free.size > 0) {
      const job = this.#queue.shift((uid) => !this.#runningUids.has(uid));
      if (job === undefined) return;
      // The first free slot: the spare ones are used only while the first is busy, so their workers idle out.
      const slot = this.#slots.find((candidate) => this.#free.has(candidate)) as CompileWorkerSlot;
      this.#free.delete(slot);
      const { uid, timeoutMs, signal } = job.options;
      this.#runningUids.add(uid);
      const nice = this.#nice === undefined ? undefined : this.#queue.sizeOf(uid) > 0 ? this.#nice.backlogged : this.#nice.alone;
      slot
        .compile({ source: job.source, params: job.params, timeoutMs, signal, ...(nice !== undefined ? { nice } : {}) })
        .then(job.resolve, job.reject)
        .finally(() => {
          this.#runningUids.delete(uid);
          this.#free.add(slot);
          if (!this.#closed) this.#pump();
        });
    }
  }
}

/** The daemon's nice value, and the one BACKLOG_NICE_STEPS below it (19 at most). */
function compileNiceValues(): { alone: number; backlogged: number } {
  const alone = getPriority(0);
  return { alone, backlogged: Math.min(19, alone + BACKLOG_NICE_STEPS) };
}
