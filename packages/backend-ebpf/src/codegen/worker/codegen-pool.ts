import { Worker } from 'node:worker_threads';
import type { PolicyIr } from '@syrup/core';
import { CodegenPoolError } from './codegen-pool-error.js';
import type { ProgramSpec } from '../program-spec.js';
import type { BuiltinCodegenOptions, CodegenJob, CodegenReply, CodegenWorkerReady } from './codegen-messages.js';
import { codegenWorkerEntry, type CodegenWorkerEntry } from './codegen-worker-entry.js';
import { errorOfCodegenFailure, programSpecFromData } from './codegen-transfer.js';

/** Heap for the worker: the generator's tables for one near-limit policy fit many times over. */
const WORKER_HEAP_MB = 512;

/** Generates programs for this backend's own targets, possibly off the calling thread. */
export interface ProgramGenerator {
  generate(ir: PolicyIr, options: BuiltinCodegenOptions): Promise<ProgramSpec>;
  /** The `programListing` of a spec this generator made, when it made one already; undefined otherwise. */
  listingOf?(spec: ProgramSpec): readonly string[] | undefined;
}

interface Pending {
  resolve(spec: ProgramSpec): void;
  reject(error: Error): void;
}

/** One worker thread and the jobs it holds. */
interface Slot {
  readonly worker: Worker;
  readonly pending: Map<number, Pending>;
}

/** Workers by default: as many as the runtime's backend turns, so one tenant's generation never queues another's. */
const DEFAULT_WORKERS = 2;

/**
 * Runs `generateProgram` on worker threads, started as jobs arrive (at most `maxWorkers`), so
 * code generation (up to hundreds of milliseconds for a policy near the IR limit) never holds
 * the event loop. A job goes to an idle worker, else to a new one while there is room, else to
 * the worker holding the fewest jobs; a worker runs its jobs in order. The IR crosses by
 * structured clone (bigints included) and the spec comes back as plain data rebuilt here, with
 * its listing (`listingOf`), and a generator error arrives as the same class with the same code, sentence and position.
 *
 * Invariants: a worker keeps the process alive only while it holds a job; a worker that fails
 * or exits rejects the jobs it held (`CODEGEN_WORKER_FAILED`) and is forgotten, so a later job
 * starts another; after close() every job is refused (`CODEGEN_CLOSED`).
 */
export class CodegenPool implements ProgramGenerator, AsyncDisposable {
  readonly #entry: CodegenWorkerEntry;
  readonly #maxWorkers: number;
  readonly #slots: Slot[] = [];
  /** Listings the workers made with the specs, for `disasm` (see codegen-worker.ts). */
  readonly #listings = new WeakMap<ProgramSpec, readonly string[]>();
  #nextId = 1;
  #closed = false;

  constructor(entry: CodegenWorkerEntry = codegenWorkerEntry(), maxWorkers: number = DEFAULT_WORKERS) {
    if (!Number.isInteger(maxWorkers) || maxWorkers < 1) throw new RangeError(`a code generation pool needs at least one worker, not ${String(maxWorkers)}.`);
    this.#entry = entry;
    this.#maxWorkers = maxWorkers;
  }

  generate(ir: PolicyIr, options: BuiltinCodegenOptions): Promise<ProgramSpec> {
    if (this.#closed) return Promise.reject(closed());
    const slot = this.#pick();
    const id = this.#nextId++;
    return new Promise<ProgramSpec>((resolve, reject) => {
      slot.pending.set(id, { resolve, reject });
      slot.worker.ref();
      const job: CodegenJob = { id, ir, options };
      slot.worker.postMessage(job);
    });
  }

  listingOf(spec: ProgramSpec): readonly string[] | undefined {
    return this.#listings.get(spec);
  }

  /** Terminates the workers; pending jobs are refused. Closing twice is harmless. */
  async close(): Promise<void> {
    this.#closed = true;
    const slots = this.#slots.splice(0);
    for (const slot of slots) failAll(slot, closed());
    await Promise.all(slots.map((slot) => slot.worker.terminate()));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #pick(): Slot {
    const idle = this.#slots.find((slot) => slot.pending.size === 0);
    if (idle !== undefined) return idle;
    if (this.#slots.length < this.#maxWorkers) return this.#start();
    return this.#slots.reduce((least, slot) => (slot.pending.size < least.pending.size ? slot : least));
  }

  #start(): Slot {
    const worker = new Worker(this.#entry.url, {
      ...(this.#entry.execArgv !== undefined ? { execArgv: [...this.#entry.execArgv] } : {}),
      ...(this.#entry.env !== undefined ? { env: this.#entry.env } : {}),
      resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB },
    });
    const slot: Slot = { worker, pending: new Map() };
    this.#slots.push(slot);
    worker.on('message', (reply: CodegenReply | CodegenWorkerReady) => {
      if ('ready' in reply) return;
      const pending = slot.pending.get(reply.id);
      if (pending === undefined) return;
      slot.pending.delete(reply.id);
      if (slot.pending.size === 0) worker.unref();
      if (!reply.ok) {
        pending.reject(errorOfCodegenFailure(reply.error));
        return;
      }
      try {
        const spec = programSpecFromData(reply.spec);
        this.#listings.set(spec, reply.listing);
        pending.resolve(spec);
      } catch (error) {
        pending.reject(error as Error);
      }
    });
    worker.on('error', (error: Error) => this.#lose(slot, new CodegenPoolError('CODEGEN_WORKER_FAILED', `the eBPF code generation worker failed: ${error.message}`, { cause: error })));
    worker.on('exit', (code: number) => this.#lose(slot, new CodegenPoolError('CODEGEN_WORKER_FAILED', `the eBPF code generation worker exited with code ${code}.`)));
    return slot;
  }

  /** Forgets a worker that failed or exited, so a later job starts another, and refuses what it held. */
  #lose(slot: Slot, error: Error): void {
    const index = this.#slots.indexOf(slot);
    if (index < 0) return;
    this.#slots.splice(index, 1);
    failAll(slot, error);
  }
}

function failAll(slot: Slot, error: Error): void {
  const pending = [...slot.pending.values()];
  slot.pending.clear();
  for (const job of pending) job.reject(error);
}

function closed(): CodegenPoolError {
  return new CodegenPoolError('CODEGEN_CLOSED', 'the eBPF code generator is shut down.');
}
