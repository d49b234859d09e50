import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';

const BENCH_TSCONFIG = fileURLToPath(new URL('../../tsconfig.tsx.json', import.meta.url));

export interface TypeScriptChildOptions {
  /** taskset CPU list (such as "0" or "0-3") to confine the child and all its threads to; undefined leaves it free. */
  readonly cpus?: string;
  /** Extra flags for node itself, such as --expose-gc. */
  readonly nodeFlags?: readonly string[];
  /** Run the child in this network namespace (`ip netns exec`, which execs in place: same pid). */
  readonly netns?: string;
  /**
   * Start the child in a session of its own (setsid), so it is also its own scheduling
   * autogroup: a busy CPU hog (the load generator) then does not dilute the CPU weight of the
   * runner's other children (the server) against other sessions' work on their CPUs.
   */
  readonly ownSession?: boolean;
}

/**
 * Spawns a bench entry point (a .ts file under src/) as a Node child with tsx and the
 * `source` condition, directly rather than through a bin/ wrapper, so the pid the runner holds
 * (and signals) is the process that owns the sockets. stdout is piped; stderr is piped too
 * and its last lines kept (see `stderrTail`), so a child's log does not tear the progress bar
 * but its last words are there when it fails.
 */
export function spawnTypeScript(entry: URL, args: readonly string[], options: TypeScriptChildOptions = {}): ChildProcess {
  const require = createRequire(import.meta.url);
  const tsx = pathToFileURL(require.resolve('tsx')).href;
  const nodeArgs = [...(options.nodeFlags ?? []), '--conditions=source', '--import', tsx, fileURLToPath(entry), ...args];
  // taskset execs node in place (same pid), before any thread exists, so every thread inherits the CPU set.
  const [pinned, pinnedArgs] = options.cpus === undefined ? [process.execPath, nodeArgs] : ['taskset', ['-c', options.cpus, process.execPath, ...nodeArgs]];
  const [command, commandArgs] = options.netns === undefined ? [pinned, pinnedArgs] : ['ip', ['netns', 'exec', options.netns, pinned, ...pinnedArgs]];
  const child = spawn(command, commandArgs, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TSX_TSCONFIG_PATH: BENCH_TSCONFIG }, detached: options.ownSession === true });
  const tail: string[] = [];
  tails.set(child, tail);
  createInterface({ input: child.stderr! }).on('line', (line) => {
    tail.push(line);
    if (tail.length > STDERR_TAIL_LINES) tail.shift();
  });
  return child;
}

const STDERR_TAIL_LINES = 20;
const tails = new WeakMap<ChildProcess, string[]>();

/** The last lines `child` wrote to stderr. */
export function stderrTail(child: ChildProcess): string {
  return (tails.get(child) ?? []).join('\n');
}

/** Resolves when `child` has exited (at once if it already has). */
export function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}
