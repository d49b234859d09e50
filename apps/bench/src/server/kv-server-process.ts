import { SyrupError } from '@syrup/core';
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { kvServerArgs, type KvServerOptions } from './kv-server-options.js';
import type { ReadyLine, StoppedLine } from './server-lines.js';

export interface KvServerProcessOptions extends KvServerOptions {
  /** Give up waiting for the ready line after this long (the child is killed). Default 60 s: the first start compiles TypeScript. */
  readonly readyTimeoutMs?: number;
  /** Each line the server writes to stderr (its log); they are also kept in `stderr`. */
  readonly onStderr?: (line: string) => void;
}

/** A running kv-server child process. */
export interface KvServerProcess extends AsyncDisposable {
  readonly pid: number;
  readonly ready: ReadyLine;
  /** What the server has written to stderr so far. */
  readonly stderr: readonly string[];
  /** SIGTERM, then the stopped line once the server has undeployed and exited 0. Calling it again returns the same result. */
  stop(): Promise<StoppedLine>;
}

/** The server did not come up (or did not stop cleanly): its exit code and its last words. */
export class KvServerProcessError extends SyrupError<'KV_SERVER_FAILED'> {
  override name = 'KvServerProcessError';
  constructor(
    message: string,
    readonly exitCode: number | null,
    readonly stderr: readonly string[],
  ) {
    super('KV_SERVER_FAILED', message);
  }
}

/** How long a stop may take before the child is killed: a worker may be in a 1 s grace period, and undeploying takes a moment. */
const STOP_TIMEOUT_MS = 15_000;

/**
 * Starts `bin/kv-server.mjs`'s server as a child process with `options` as flags and resolves
 * once it printed its ready line. The child is spawned directly (node with tsx's loader, as
 * the bin does) rather than through the bin's wrapper process, so `pid` is the server itself
 * and a kill reaches it. A usage mistake rejects with the server's one-sentence reason and
 * exit code 2.
 */
export async function startKvServerProcess(options: KvServerProcessOptions): Promise<KvServerProcess> {
  const child = spawnServer(kvServerArgs(options));
  const stderr: string[] = [];
  createInterface({ input: child.stderr as NonNullable<ChildProcess['stderr']> }).on('line', (line) => {
    stderr.push(line);
    options.onStderr?.(line);
  });
  const lines = createInterface({ input: child.stdout as NonNullable<ChildProcess['stdout']> });
  // 'close', not 'exit': it comes after stdout and stderr are drained, so no line is still in flight.
  const exited = new Promise<number | null>((resolve) => child.once('close', (code, signal) => resolve(signal === null ? code : null)));
  const stdoutLines: unknown[] = [];
  let nextLine: ((line: unknown) => void) | undefined;
  lines.on('line', (text) => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = { unparsable: text };
    }
    if (nextLine !== undefined) {
      const deliver = nextLine;
      nextLine = undefined;
      deliver(parsed);
    } else {
      stdoutLines.push(parsed);
    }
  });
  const readLine = (): Promise<unknown> =>
    stdoutLines.length > 0 ? Promise.resolve(stdoutLines.shift()) : new Promise((resolve) => (nextLine = resolve));
  const lastWords = (): string => stderr.filter((l) => l.trim() !== '').at(-1) ?? 'no output';

  const timeoutMs = options.readyTimeoutMs ?? 60_000;
  let timer: NodeJS.Timeout | undefined;
  const first = await Promise.race([
    readLine().then((line) => ({ line })),
    exited.then((code) => ({ exit: code })),
    new Promise<{ timeout: true }>((resolve) => (timer = setTimeout(() => resolve({ timeout: true }), timeoutMs))),
  ]);
  clearTimeout(timer);
  if (!('line' in first) || !isReady(first.line)) {
    child.kill('SIGKILL');
    const code = await exited;
    const why = 'timeout' in first ? `did not get ready within ${timeoutMs} ms` : `exited with code ${String(code)} before it was ready`;
    throw new KvServerProcessError(`kv-server ${why}: ${lastWords()}`, code, stderr);
  }
  const ready = first.line;

  let stopping: Promise<StoppedLine> | undefined;
  const stop = (): Promise<StoppedLine> => {
    stopping ??= (async () => {
      child.kill('SIGTERM');
      const kill = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      const [line, code] = await Promise.all([Promise.race([readLine(), exited.then(() => undefined)]), exited]);
      clearTimeout(kill);
      if (code !== 0 || !isStopped(line)) throw new KvServerProcessError(`kv-server did not stop cleanly (exit code ${String(code)}): ${lastWords()}`, code, stderr);
      return line;
    })();
    return stopping;
  };
  return {
    pid: child.pid as number,
    ready,
    stderr,
    stop,
    async [Symbol.asyncDispose]() {
      await stop().catch(() => undefined);
    },
  };
}

function spawnServer(args: readonly string[]): ChildProcess {
  const fromSource = import.meta.url.endsWith('.ts');
  const entry = fileURLToPath(new URL(`./kv-server-main.${fromSource ? 'ts' : 'js'}`, import.meta.url));
  const tsconfig = fileURLToPath(new URL('../../tsconfig.tsx.json', import.meta.url));
  const loader = fromSource ? ['--conditions=source', '--import', pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href] : [];
  return spawn(process.execPath, [...loader, entry, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...(fromSource ? { TSX_TSCONFIG_PATH: tsconfig } : {}) },
  });
}

function isReady(line: unknown): line is ReadyLine {
  return typeof line === 'object' && line !== null && (line as { ready?: unknown }).ready === true;
}

function isStopped(line: unknown): line is StoppedLine {
  return typeof line === 'object' && line !== null && (line as { stopped?: unknown }).stopped === true;
}
