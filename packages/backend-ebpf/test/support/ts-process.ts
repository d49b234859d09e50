import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

const require = createRequire(import.meta.url);

/**
 * Node options that let a child process or worker thread run this package's TypeScript
 * sources as the tests do: tsx for `.js` -> `.ts` imports, and the `source` export
 * condition so workspace packages resolve to their sources.
 */
export const TS_EXEC_ARGV: readonly string[] = ['--conditions=source', '--import', pathToFileURL(require.resolve('tsx/esm')).href];

export interface ProcessResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a TypeScript file in a child process of the same Node binary and collects its output. */
export function runTsScript(file: string, args: readonly string[] = [], timeoutMs = 60_000): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...TS_EXEC_ARGV, file, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Starts a worker thread on a TypeScript file. */
export function startTsWorker(file: string, workerData: unknown): Worker {
  return new Worker(file, { workerData, execArgv: [...TS_EXEC_ARGV] });
}

/** Resolves with the worker's first message, rejects on an error or an exit before it. */
export function firstMessage<T>(worker: Worker): Promise<T> {
  return new Promise((resolve, reject) => {
    worker.once('message', (message: T) => resolve(message));
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`worker exited with code ${code} before answering`)));
  });
}
