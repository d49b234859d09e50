import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const SYRUPD_BIN = join(here, '../../bin/syrupd.mjs');
export const REPO_NODE = join(here, '../../../../node_modules/.bin/node');

export interface DaemonChild {
  readonly child: ChildProcess;
  readonly socketPath: string;
  readonly dir: string;
  output(): string;
  /** SIGTERM, then resolves with the exit code. */
  stop(): Promise<number | null>;
}

export interface DaemonChildOptions {
  /** The pin root (a unique directory under bpffs for tests that look at pins); `<dir>/pins` by default. */
  readonly pinRoot?: string;
  /** Mode of the temp directory holding the socket: 0o755 lets other uids reach the (0666) socket; mkdtemp's 0o700 by default. */
  readonly dirMode?: number;
  /** The state file; `<dir>/state.json` by default, so no test ever touches /var/lib/syrup. */
  readonly stateFile?: string;
  /** The root of the deployments' state directories; `<dir>/deployments` by default. */
  readonly stateDir?: string;
  /** More syrupd flags (limits, say), after the ones above. */
  readonly args?: readonly string[];
}

/** Starts syrupd's bin in a child process on a unique temp socket and waits until it listens. */
export async function startDaemonChild(options: DaemonChildOptions = {}): Promise<DaemonChild> {
  const dir = mkdtempSync(join(tmpdir(), 'syrupd-'));
  if (options.dirMode !== undefined) chmodSync(dir, options.dirMode);
  const socketPath = join(dir, 'syrupd.sock');
  // Pins need bpffs: by default a unique root there, removed by stop() (SIGTERM keeps deployments pinned).
  const ownPinRoot = options.pinRoot === undefined ? join('/sys/fs/bpf', basename(dir)) : undefined;
  const pinRoot = options.pinRoot ?? (ownPinRoot as string);
  const stateFile = options.stateFile ?? join(dir, 'state.json');
  const child = spawn(REPO_NODE, [SYRUPD_BIN, '--socket', socketPath, '--pin-root', pinRoot, '--state-file', stateFile, '--state-dir', options.stateDir ?? join(dir, 'deployments'), ...(options.args ?? [])], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const deadline = Date.now() + 20_000;
  while (!output.includes('syrupd listening')) {
    if (Date.now() > deadline || child.exitCode !== null) {
      child.kill('SIGKILL');
      throw new Error(`syrupd did not start: ${output}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return {
    child,
    socketPath,
    dir,
    output: () => output,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      const code = await exited;
      if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
      if (ownPinRoot !== undefined) rmSync(ownPinRoot, { recursive: true, force: true });
      return code;
    },
  };
}
