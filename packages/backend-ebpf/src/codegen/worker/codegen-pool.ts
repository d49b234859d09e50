import { Worker } from 'node:worker_threads';
import { SyrupError, type PolicyIr } from '@syrup/core';
import type { ProgramSpec } from '../program-spec.js';
import type { BuiltinCodegenOptions, CodegenJob, CodegenReply, CodegenWorkerReady } from './codegen-messages.js';
import { codegenWorkerEntry, type CodegenWorkerEntry } from './codegen-worker-entry.js';
import { errorOfCodegenFailure, programSpecFromData } from './codegen-transfer.js';

/** Heap for the worker: the generator's tables for one near-limit policy fit many times over. */
const WORKER_HEAP_MB = 512;

/** Generates programs for this backend's own targets, possibly off the calling thread. */
export interface ProgramGenerator {
  generate(ir: PolicyIr, options: BuiltinCodegenOptions): Promise<ProgramSpec>;
}

interface Pending {
  resolve(spec: ProgramSpec): void;
  reject(error: Error): void;
}

/**
 * Runs `generateProgram` on one worker thread, started on the first job, so code generation
 * (up to hundreds of milliseconds for a policy near the IR limit) never holds the event loop.
 * Jobs run one after another in the order they arrive; the IR crosses by structured clone
 * (bigints included) and the spec comes back as plain data rebuilt here, and a generator
 * error arrives as the same class with the same code, sentence and position.
 *
 * Invariants: the worker keeps the process alive only while a job is pending; a worker that
 * fails or exits rejects every pending job (`CODEGEN_WORKER_FAILED`) and is replaced on the
 * next job; after close() every job is refused (`CODEGEN_CLOSED`).
 */
export class CodegenPool implements ProgramGenerator, AsyncDisposable {
  readonly #entry: CodegenWorkerEntry;
  readonly #pending = new Map<number, Pending>();
  #worker: Worker | undefined;
  #nextId = 1;
  #closed = false;

  constructor(entry: CodegenWorkerEntry = codegenWorkerEntry()) {
    this.#entry = entry;
  }

  generate(ir: PolicyIr, options: BuiltinCodegenOptions): Promise<ProgramSpec> {
    if (this.#closed) return Promise.reject(closed());
    const worker = this.#start();
    const id = this.#nextId++;
    return new Promise<ProgramSpec>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      worker.ref();
      const job: CodegenJob = { id, ir, options };
      worker.postMessage(job);
    });
  }

  /** Terminates the worker; pending jobs are refused. Closing twice is harmless. */
  async close(): Promise<void> {
    this.#closed = true;
    const worker = this.#worker;
    this.#worker = undefined;
    this.#failAll(closed());
    await worker?.terminate();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #start(): Worker {
    if (this.#worker !== undefined) return this.#worker;
    const worker = new Worker(this.#entry.url, {
      ...(this.#entry.execArgv !== undefined ? { execArgv: [...this.#entry.execArgv] } : {}),
      ...(this.#entry.env !== undefined ? { env: this.#entry.env } : {}),
      resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB },
    });
    this.#worker = worker;
    worker.on('message', (reply: CodegenReply | CodegenWorkerReady) => {
      if ('ready' in reply) return;
      const pending = this.#pending.get(reply.id);
      if (pending === undefined) return;
      this.#pending.delete(reply.id);
      if (this.#pending.size === 0) worker.unref();
      if (!reply.ok) {
        pending.reject(errorOfCodegenFailure(reply.error));
        return;
      }
      try {
        pending.resolve(programSpecFromData(reply.spec));
      } catch (error) {
        pending.reject(error as Error);
      }
    });
    worker.on('error', (error: Error) => this.#lose(worker, new SyrupError('CODEGEN_WORKER_FAILED', `the eBPF code generation worker failed: ${error.message}`, { cause: error })));
    worker.on('exit', (code: number) => this.#lose(worker, new SyrupError('CODEGEN_WORKER_FAILED', `the eBPF code generation worker exited with code ${code}.`)));
    return worker;
  }

  /** Forgets a worker that failed or exited, so the next job starts another, and refuses what it held. */
  #lose(worker: Worker, error: Error): void {
    if (this.#worker !== worker) return;
    this.#worker = undefined;
    this.#failAll(error);
  }

  #failAll(error: Error): void {
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const job of pending) job.reject(error);
  }
}

function closed(): SyrupError {
  return new SyrupError('CODEGEN_CLOSED', 'the eBPF code generator is shut down.');
}
