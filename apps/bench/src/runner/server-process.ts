import { SyrupError } from '@syrup/core';
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { ReadyLine, StoppedLine } from '../server/server-lines.js';
import { exited, spawnTypeScript, stderrTail } from './typescript-child.js';

const SERVER_ENTRY = new URL('../server/kv-server-main.ts', import.meta.url);
const READY_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 15_000;

/** Startup was interrupted by the signal; the child is gone. */
export class ServerStartAborted extends SyrupError<'SERVER_START_ABORTED'> {
  override readonly name = 'ServerStartAborted';

  constructor() {
    super('SERVER_START_ABORTED', 'the key-value server was stopped while starting');
  }
}

export interface ServerProcess<R = ReadyLine, S = StoppedLine> extends AsyncDisposable {
  readonly ready: R;
  readonly pid: number;
  /** SIGTERM, then the stopped line (undefined if the server died without one); SIGKILL if it hangs. */
  stop(): Promise<S | undefined>;
}

export interface ServerProcessOptions {
  /** Another server entry with the same two-line protocol (the MICA server); the key-value server by default. */
  readonly entry?: URL;
  /** Run it in this network namespace (`ip netns exec`). */
  readonly netns?: string;
}

/**
 * Starts the key-value server with `args` (its own flags) and waits for its ready line. The
 * server deploys the policy itself and undeploys on SIGTERM before it exits.
 */
export async function startServerProcess<R extends { readonly ready: true } = ReadyLine, S extends { readonly stopped: true } = StoppedLine>(
  args: readonly string[],
  cpus?: string,
  signal?: AbortSignal,
  options: ServerProcessOptions = {},
): Promise<ServerProcess<R, S>> {
  const child = spawnTypeScript(options.entry ?? SERVER_ENTRY, args, { ...(cpus === undefined ? {} : { cpus }), ...(options.netns === undefined ? {} : { netns: options.netns }) });
  const nextLine = lineReader(child);
  let stopping: Promise<S | undefined> | undefined;
  const stop = (): Promise<S | undefined> => (stopping ??= stopChild<S>(child, nextLine));
  // Interrupted while starting: SIGTERM now (the server handles it during startup too), so
  // the wait for the ready line ends when its stdout closes; stop() below then only reaps it.
  const onAbort = (): void => void child.kill('SIGTERM');
  signal?.addEventListener('abort', onAbort, { once: true });
  const first = signal?.aborted === true ? undefined : await nextLine(READY_TIMEOUT_MS);
  signal?.removeEventListener('abort', onAbort);
  const ready = parse<R>(first);
  if (ready?.ready !== true) {
    await stop();
    if (signal?.aborted === true) throw new ServerStartAborted();
    throw new Error(`the key-value server did not become ready (args: ${args.join(' ')}):\n${stderrTail(child)}`);
  }
  return { ready, pid: child.pid!, stop, [Symbol.asyncDispose]: async () => void (await stop()) };
}

/**
 * Reads `child`'s stdout line by line: `next(timeoutMs)` is the next line, or undefined once
 * the child has exited with no line left or the timeout passed. One reader at a time.
 */
function lineReader(child: ChildProcess): (timeoutMs: number) => Promise<string | undefined> {
  const lines: string[] = [];
  let closed = false;
  let waiter: (() => void) | undefined;
  const wake = (): void => waiter?.();
  // stdout's close (not the exit event) says every line has been read.
  createInterface({ input: child.stdout! })
    .on('line', (line) => {
      lines.push(line);
      wake();
    })
    .on('close', () => {
      closed = true;
      wake();
    });
  return (timeoutMs) =>
    new Promise((resolve) => {
      const timer = setTimeout(() => settle(), timeoutMs);
      const settle = (): void => {
        clearTimeout(timer);
        waiter = undefined;
        resolve(lines.shift());
      };
      waiter = () => {
        if (lines.length > 0 || closed) settle();
      };
      waiter();
    });
}

async function stopChild<S extends { readonly stopped: true }>(child: ChildProcess, nextLine: (timeoutMs: number) => Promise<string | undefined>): Promise<S | undefined> {
  const done = exited(child);
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  // A server that does not stop in time is killed (it then prints no stopped line).
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
  const line = await nextLine(STOP_TIMEOUT_MS + 1000);
  await done;
  clearTimeout(timer);
  const stopped = parse<S>(line);
  return stopped?.stopped === true ? stopped : undefined;
}

function parse<T>(line: string | undefined): T | undefined {
  if (line === undefined) return undefined;
  try {
    return JSON.parse(line) as T;
  } catch {
    return undefined;
  }
}
