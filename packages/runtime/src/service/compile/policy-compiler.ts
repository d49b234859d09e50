import { Worker } from 'node:worker_threads';
import { PolicyCompileError, SyrupError, type CompiledPolicy, type PolicySource } from '@syrup/core';
import { injectable } from 'tsyringe';
import { LimitError } from '../limits/limit-error.js';
import type { CompileJob, CompileReply, WorkerFailure, WorkerReady } from './compile-messages.js';
import { compileWorkerEntry, type CompileWorkerEntry } from './compile-worker-entry.js';

/** Heap for the worker: the TypeScript parser plus one policy fits easily; a source built to exhaust memory kills only the worker. */
const WORKER_HEAP_MB = 512;
/** Loading core (and TypeScript) in a fresh worker is not compile time; it has its own, generous bound. */
const WORKER_START_TIMEOUT_MS = 60_000;

interface Job {
  readonly source: PolicySource;
  readonly params: Readonly<Record<string, number | bigint>> | undefined;
  readonly timeoutMs: number;
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
 */
@injectable()
export class PolicyCompiler {
  readonly #entry: CompileWorkerEntry;
  readonly #queue: Job[] = [];
  #worker: Worker | undefined;
  #ready: Promise<Worker> | undefined;
  #running = false;
  #nextId = 1;
  #closed = false;

  constructor(entry: CompileWorkerEntry = compileWorkerEntry()) {
    this.#entry = entry;
  }

  /** The policy's IR and manifest (params applied) once the front end accepts it; its errors keep their codes and sentences. */
  compile(source: PolicySource, params: Readonly<Record<string, number | bigint>> | undefined, timeoutMs: number): Promise<CompiledPolicy> {
    if (this.#closed) return Promise.reject(new SyrupError('COMPILER_CLOSED', 'the policy compiler is shut down.'));
    return new Promise((resolve, reject) => {
      this.#queue.push({ source, params, timeoutMs, resolve, reject });
      this.#pump();
    });
  }

  /** Terminates the worker; queued compiles are refused. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const job of this.#queue.splice(0)) job.reject(new SyrupError('COMPILER_CLOSED', 'the policy compiler is shut down.'));
    const worker = this.#worker;
    this.#worker = undefined;
    this.#ready = undefined;
    await worker?.terminate();
  }

  #pump(): void {
    if (this.#running) return;
    const job = this.#queue.shift();
    if (job === undefined) return;
    this.#running = true;
    this.#run(job).finally(() => {
      this.#running = false;
      this.#pump();
    });
  }

  async #run(job: Job): Promise<void> {
    let worker: Worker;
    try {
      worker = await this.#start();
    } catch (error) {
      job.reject(error as Error);
      return;
    }
    worker.ref();
    const id = this.#nextId++;
    await new Promise<void>((done) => {
      const finish = (): void => {
        clearTimeout(timer);
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
        done();
      };
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
      const timer = setTimeout(() => {
        finish();
        // A compile cannot be interrupted from outside: the worker goes, with whatever it was doing.
        this.#discard(worker);
        void worker.terminate();
        job.reject(new LimitError('LIMIT_COMPILE_TIME', `compiling took longer than the ${job.timeoutMs} ms limit.`, job.timeoutMs));
      }, job.timeoutMs);
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

function workerFailed(error: Error): SyrupError {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ERR_WORKER_OUT_OF_MEMORY') {
    return new SyrupError('COMPILE_WORKER_FAILED', `compiling ran out of the compiler's ${WORKER_HEAP_MB} MiB heap.`, { cause: error });
  }
  return new SyrupError('COMPILE_WORKER_FAILED', `the policy compiler worker failed: ${error.message}`, { cause: error });
}
