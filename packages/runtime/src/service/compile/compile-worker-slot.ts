import { Worker } from 'node:worker_threads';
import { PolicyCompileError, SyrupError, type CompiledPolicy, type PolicySource } from '@syrup/core';
import { RuntimeError } from '../../errors/runtime-error.js';
import { CompilerError } from './compiler-error.js';
import { LimitError } from '../limits/limit-error.js';
import type { CompileJob, CompileReply, WorkerFailure, WorkerReady } from './compile-messages.js';
import type { CompileWorkerEntry } from './compile-worker-entry.js';

/** Heap for the worker: the TypeScript parser plus one policy fits easily; a source built to exhaust memory kills only the worker. */
const WORKER_HEAP_MB = 512;
/** Loading core (and TypeScript) in a fresh worker is not compile time; it has its own, generous bound. */
const WORKER_START_TIMEOUT_MS = 60_000;

/** One compile as a slot runs it. */
export interface SlotCompile {
  readonly source: PolicySource;
  readonly params: Readonly<Record<string, number | bigint>> | undefined;
  /** Milliseconds the front end may run once the compile has reached a loaded worker. */
  readonly timeoutMs: number;
  /** Aborting stops the compile: before it reaches the worker, or by terminating the worker. */
  readonly signal: AbortSignal | undefined;
  /** The nice value the worker thread compiles at; undefined keeps the thread's. */
  readonly nice?: number;
}

export interface CompileWorkerSlotOptions {
  /**
   * Milliseconds an idle worker is kept before it is terminated; undefined keeps it until the
   * slot closes. A spare slot's worker (a second tenant compiling at the same time) is freed
   * this way, so a daemon that once had two tenants compiling does not keep two front ends.
   */
  readonly idleMs?: number;
}

/**
 * One compile worker thread and the compiles it runs, one at a time: the worker loads core's
 * front end once and serves compile after compile; a compile that overruns its timeout, is
 * aborted or crashes the worker has the worker terminated (the only way to stop a running
 * compile), and the next compile starts a fresh one. The timer starts when the compile reaches
 * a worker that has finished loading, so a worker's start-up is never charged to a tenant.
 * Idle workers do not keep the process alive.
 * Invariant: at most one compile runs in a slot at a time (its owner, PolicyCompiler, keeps it so).
 */
export class CompileWorkerSlot {
  readonly #entry: CompileWorkerEntry;
  readonly #idleMs: number | undefined;
  #worker: Worker | undefined;
  #ready: Promise<Worker> | undefined;
  #idleTimer: NodeJS.Timeout | undefined;
  #nextId = 1;

  constructor(entry: CompileWorkerEntry, options: CompileWorkerSlotOptions = {}) {
    this.#entry = entry;
    this.#idleMs = options.idleMs;
  }

  /** Whether the slot holds a worker (loading, running or idle). */
  get hasWorker(): boolean {
    return this.#worker !== undefined;
  }

  /** Compiles in this slot's worker; its errors keep their codes and sentences. */
  async compile(job: SlotCompile): Promise<CompiledPolicy> {
    clearTimeout(this.#idleTimer);
    try {
      const worker = await this.#start();
      // Withdrawn while a worker was loading: nothing ran for it yet.
      if (job.signal?.aborted === true) throw cancelled(job.signal);
      return await this.#run(worker, job);
    } finally {
      this.#idle();
    }
  }

  /** Terminates the worker, if any. */
  async close(): Promise<void> {
    clearTimeout(this.#idleTimer);
    const worker = this.#worker;
    this.#worker = undefined;
    this.#ready = undefined;
    await worker?.terminate();
  }

  #run(worker: Worker, job: SlotCompile): Promise<CompiledPolicy> {
    const { signal, timeoutMs } = job;
    worker.ref();
    const id = this.#nextId++;
    return new Promise<CompiledPolicy>((resolve, reject) => {
      const finish = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
        if (this.#worker === worker) worker.unref();
      };
      const stop = (error: Error): void => {
        finish();
        // A compile cannot be interrupted from outside: the worker goes, with whatever it was doing.
        this.#discard(worker);
        void worker.terminate();
        reject(error);
      };
      const onAbort = (): void => stop(cancelled(signal as AbortSignal));
      const onMessage = (reply: CompileReply): void => {
        if (reply.id !== id) return;
        finish();
        if (reply.ok) resolve({ ir: reply.ir, manifest: reply.ir.manifest });
        else reject(errorOf(reply.error));
      };
      const onError = (error: Error): void => {
        finish();
        this.#discard(worker);
        reject(workerFailed(error));
      };
      const onExit = (): void => {
        finish();
        this.#discard(worker);
        reject(new CompilerError('COMPILE_WORKER_FAILED', 'the policy compiler worker exited while compiling.'));
      };
      const timer = setTimeout(() => stop(new LimitError('LIMIT_COMPILE_TIME', `compiling took longer than the ${timeoutMs} ms limit.`, timeoutMs)), timeoutMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.on('exit', onExit);
      const message: CompileJob = { id, source: { fileName: job.source.fileName, text: job.source.text }, ...(job.params !== undefined ? { params: job.params } : {}), ...(job.nice !== undefined ? { nice: job.nice } : {}) };
      worker.postMessage(message);
    });
  }

  /** The slot's worker, or a new one once it has loaded the front end. */
  #start(): Promise<Worker> {
    this.#ready ??= new Promise<Worker>((resolve, reject) => {
      const worker = new Worker(this.#entry.url, {
        ...(this.#entry.execArgv !== undefined ? { execArgv: [...this.#entry.execArgv] } : {}),
        ...(this.#entry.env !== undefined ? { env: this.#entry.env } : {}),
        resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB },
      });
      this.#worker = worker;
      const fail = (error: Error): void => {
        clearTimeout(timer);
        this.#discard(worker);
        void worker.terminate();
        reject(error);
      };
      const timer = setTimeout(() => fail(new CompilerError('COMPILE_WORKER_FAILED', `the policy compiler worker did not start within ${WORKER_START_TIMEOUT_MS} ms.`)), WORKER_START_TIMEOUT_MS);
      const onReady = (message: WorkerReady): void => {
        if (message.ready !== true) return;
        clearTimeout(timer);
        worker.off('message', onReady);
        worker.off('error', onError);
        worker.off('exit', onExit);
        // A worker that dies while idle is forgotten, so the next compile starts another.
        worker.once('exit', () => this.#discard(worker));
        resolve(worker);
      };
      const onError = (error: Error): void => fail(workerFailed(error));
      const onExit = (code: number): void => fail(new CompilerError('COMPILE_WORKER_FAILED', `the policy compiler worker exited with code ${code} while starting.`));
      worker.on('message', onReady);
      worker.on('error', onError);
      worker.on('exit', onExit);
    });
    return this.#ready;
  }

  /** Arms the idle timer of a slot that frees its worker when unused. */
  #idle(): void {
    if (this.#idleMs === undefined || this.#worker === undefined) return;
    const worker = this.#worker;
    this.#idleTimer = setTimeout(() => {
      if (this.#worker !== worker) return;
      this.#discard(worker);
      void worker.terminate();
    }, this.#idleMs);
    this.#idleTimer.unref();
  }

  /** Forgets `worker` so the next compile starts another. */
  #discard(worker: Worker): void {
    if (this.#worker !== worker) return;
    this.#worker = undefined;
    this.#ready = undefined;
  }
}

function errorOf(failure: WorkerFailure): Error {
  switch (failure.kind) {
    case 'compile':
      // The worker's code is one of core's PolicyCompileErrorCodes: the refusal keeps it (POLICY_TOO_DEEP too).
      return new PolicyCompileError(failure.fileName, failure.line, failure.column, failure.reason, { code: failure.code === 'POLICY_TOO_DEEP' ? 'POLICY_TOO_DEEP' : 'POLICY_COMPILE' });
    case 'syrup':
      // A refusal core raised inside the worker, rebuilt on this side with the worker's code.
      return new SyrupError(failure.code, failure.message);
    case 'other':
      return new Error(failure.message);
  }
}

/** The refusal of a withdrawn compile; nobody may be left to read it, but an embedded caller that aborted does. */
export function cancelled(signal: AbortSignal): RuntimeError {
  return new RuntimeError('REQUEST_CANCELLED', 'the compile was cancelled before it finished.', { cause: signal.reason });
}

function workerFailed(error: Error): CompilerError {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ERR_WORKER_OUT_OF_MEMORY') {
    return new CompilerError('COMPILE_WORKER_FAILED', `compiling ran out of the compiler's ${WORKER_HEAP_MB} MiB heap.`, { cause: error });
  }
  return new CompilerError('COMPILE_WORKER_FAILED', `the policy compiler worker failed: ${error.message}`, { cause: error });
}
