import { Worker } from 'node:worker_threads';
import { PolicyCompileError, SyrupError, type CompiledPolicy, type PolicySource } from '@syrup/core';
import { injectable } from 'tsyringe';
import { RuntimeError } from '../../errors/runtime-error.js';
import { LimitError } from '../limits/limit-error.js';
import type { CompileJob, CompileReply, WorkerFailure, WorkerReady } from './compile-messages.js';
import { compileWorkerEntry, type CompileWorkerEntry } from './compile-worker-entry.js';
import { RoundRobinQueue } from './round-robin-queue.js';

/** Heap for the worker: the TypeScript parser plus one policy fits easily; a source built to exhaust memory kills only the worker. */
const WORKER_HEAP_MB = 512;
/** Loading core (and TypeScript) in a fresh worker is not compile time; it has its own, generous bound. */
const WORKER_START_TIMEOUT_MS = 60_000;

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
 * Runs core's `compilePolicy` on untrusted policy text in a worker thread, one policy at a
 * time, each with a timeout, and returns the IR and manifest it made: the runtime's one run of
 * the front end per deploy, replace, disasm or recovery without a recorded IR. A compile that overruns its timeout has its worker terminated
 * (the only way to stop a running compile) and is refused with LimitError
 * LIMIT_COMPILE_TIME; the next compile starts a fresh worker. The timer starts when the job
 * reaches a worker that has finished loading, so a worker's start-up is never charged to a
 * tenant. Idle workers do not keep the process alive.
 *
 * Waiting compiles queue per uid and are served round robin (round-robin-queue.ts), so a
 * tenant with many compiles queued delays another tenant's by at most one of its own; each
 * uid may have `maxQueued` waiting or running. A compile whose signal aborts is withdrawn:
 * out of its queue if it waits, its worker terminated if it runs (issue #15: work for a
 * closed connection used to run to its end).
 */
@injectable()
export class PolicyCompiler {
  readonly #entry: CompileWorkerEntry;
  readonly #queue = new RoundRobinQueue<Job>();
  #worker: Worker | undefined;
  #ready: Promise<Worker> | undefined;
  /** The job taken from the queue, from then until it settles: it counts toward its uid's maxQueued. */
  #running: Job | undefined;
  #nextId = 1;
  #closed = false;

  constructor(entry: CompileWorkerEntry = compileWorkerEntry()) {
    this.#entry = entry;
  }

  /** The policy's IR and manifest (params applied) once the front end accepts it; its errors keep their codes and sentences. */
  compile(source: PolicySource, params: Readonly<Record<string, number | bigint>> | undefined, options: CompileOptions): Promise<CompiledPolicy> {
    if (this.#closed) return Promise.reject(new SyrupError('COMPILER_CLOSED', 'the policy compiler is shut down.'));
    const { uid, maxQueued, signal } = options;
    if (signal?.aborted === true) return Promise.reject(cancelled(signal));
    const held = this.#queue.sizeOf(uid) + (this.#running?.options.uid === uid ? 1 : 0);
    if (maxQueued !== undefined && held >= maxQueued) {
      return Promise.reject(new LimitError('LIMIT_QUEUED_COMPILES', `uid ${uid} already has ${held} compiles queued, the --max-queued-compiles limit.`, maxQueued));
    }
    return new Promise<CompiledPolicy>((resolve, reject) => {
      // While the job waits, an abort takes it out of the queue; once it runs, #run stops its worker instead.
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

  /** Terminates the worker; queued compiles are refused. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const job of this.#queue.drain()) job.reject(new SyrupError('COMPILER_CLOSED', 'the policy compiler is shut down.'));
    const worker = this.#worker;
    this.#worker = undefined;
    this.#ready = undefined;
    await worker?.terminate();
  }

  #pump(): void {
    if (this.#running !== undefined) return;
    const job = this.#queue.shift();
    if (job === undefined) return;
    this.#running = job;
    this.#run(job).finally(() => {
      this.#running = undefined;
      this.#pump();
    });
  }

  async #run(job: Job): Promise<void> {
    const { signal, timeoutMs } = job.options;
    let worker: Worker;
    try {
      worker = await this.#start();
    } catch (error) {
      job.reject(error as Error);
      return;
    }
    // Withdrawn while a worker was loading: nothing ran for it yet.
    if (signal?.aborted === true) {
      job.reject(cancelled(signal));
      return;
    }
    worker.ref();
    const id = this.#nextId++;
    await new Promise<void>((done) => {
      const finish = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
        done();
      };
      const stop = (error: Error): void => {
        finish();
        // A compile cannot be interrupted from outside: the worker goes, with whatever it was doing.
        this.#discard(worker);
        void worker.terminate();
        job.reject(error);
      };
      const onAbort = (): void => stop(cancelled(signal as AbortSignal));
      const onMessage = (reply: CompileReply): void => {
        if (reply.id !== id) return;
        finish();
        if (reply.ok) job.resolve({ ir: reply.ir, manifest: reply.ir.manifest });
        else job.reject(errorOf(reply.error));
      };
      const onError = (error: Error): void => {
        finish();
        this.#discard(worker);
        job.reject(workerFailed(error));
      };
      const onExit = (): void => {
        finish();
        this.#discard(worker);
        job.reject(new SyrupError('COMPILE_WORKER_FAILED', 'the policy compiler worker exited while compiling.'));
      };
      const timer = setTimeout(() => stop(new LimitError('LIMIT_COMPILE_TIME', `compiling took longer than the ${timeoutMs} ms limit.`, timeoutMs)), timeoutMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.on('exit', onExit);
      const message: CompileJob = { id, source: { fileName: job.source.fileName, text: job.source.text }, ...(job.params !== undefined ? { params: job.params } : {}) };
      worker.postMessage(message);
    });
    if (this.#worker === worker) worker.unref();
  }

  /** The running worker, or a new one once it has loaded the front end. */
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
      const timer = setTimeout(() => fail(new SyrupError('COMPILE_WORKER_FAILED', `the policy compiler worker did not start within ${WORKER_START_TIMEOUT_MS} ms.`)), WORKER_START_TIMEOUT_MS);
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
      const onExit = (code: number): void => fail(new SyrupError('COMPILE_WORKER_FAILED', `the policy compiler worker exited with code ${code} while starting.`));
      worker.on('message', onReady);
      worker.on('error', onError);
      worker.on('exit', onExit);
    });
    return this.#ready;
  }

  /** Forgets `worker` so the next job starts another. */
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
      return new SyrupError(failure.code, failure.message);
    case 'other':
      return new Error(failure.message);
  }
}

/** The refusal of a withdrawn compile; nobody may be left to read it, but an embedded caller that aborted does. */
function cancelled(signal: AbortSignal): RuntimeError {
  return new RuntimeError('REQUEST_CANCELLED', 'the compile was cancelled before it finished.', { cause: signal.reason });
}

function workerFailed(error: Error): SyrupError {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ERR_WORKER_OUT_OF_MEMORY') {
    return new SyrupError('COMPILE_WORKER_FAILED', `compiling ran out of the compiler's ${WORKER_HEAP_MB} MiB heap.`, { cause: error });
  }
  return new SyrupError('COMPILE_WORKER_FAILED', `the policy compiler worker failed: ${error.message}`, { cause: error });
}
