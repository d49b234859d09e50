import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { REPO_NODE, SYRUPD_BIN } from './daemon.js';

/** What one daemon run and the next share: the socket path, a unique pin root on bpffs and the state file. */
export interface DaemonFiles {
  readonly dir: string;
  readonly socketPath: string;
  readonly pinRoot: string;
  readonly stateFile: string;
  readonly stateDir: string;
  /** Removes the temp directory and the pin root (whatever pins are left in it). */
  remove(): void;
}

export function daemonFiles(): DaemonFiles {
  const dir = mkdtempSync(join(tmpdir(), 'syrupd-restart-'));
  const pinRoot = join('/sys/fs/bpf', basename(dir));
  return {
    dir,
    socketPath: join(dir, 'syrupd.sock'),
    pinRoot,
    stateFile: join(dir, 'state.json'),
    stateDir: join(dir, 'deployments'),
    remove: () => {
      rmSync(pinRoot, { recursive: true, force: true });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** One run of syrupd on `files`; the next run on the same files is a restart. */
export interface DaemonRun {
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  /** The daemon's own pid (bin/syrupd.mjs runs it as a child Node), from its first log line. */
  readonly pid: number;
  output(): string;
  /**
   * Sends `signal` and resolves with the wrapper's exit code. The wrapper forwards SIGTERM and
   * SIGINT; SIGKILL cannot be forwarded, so it goes to the daemon process itself.
   */
  kill(signal: NodeJS.Signals): Promise<number | null>;
}

/** `extraArgs` go to syrupd after the files' flags (`--backend ...`); `env` is added to this process's environment (a crash point, say). */
export async function runDaemon(files: DaemonFiles, extraArgs: readonly string[] = [], env: Readonly<Record<string, string>> = {}): Promise<DaemonRun> {
  const child = spawn(REPO_NODE, [SYRUPD_BIN, '--socket', files.socketPath, '--pin-root', files.pinRoot, '--state-file', files.stateFile, '--state-dir', files.stateDir, ...extraArgs], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code, signal) => resolve(code ?? (signal === null ? null : -1))));
  let pid = 0;
  const run: DaemonRun = {
    child,
    exited,
    get pid() {
      return pid;
    },
    output: () => output,
    kill: async (signal) => {
      if (child.exitCode !== null || child.signalCode !== null) return exited;
      if (signal === 'SIGKILL' && pid > 0) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // Already gone.
        }
      } else {
        child.kill(signal);
      }
      return exited;
    },
  };
  const deadline = Date.now() + 20_000;
  for (;;) {
    pid = Number(/"pid":(\d+)[^\n]*"msg":"[^"]*"/.exec(output)?.[1] ?? 0);
    if (output.includes('syrupd listening') && pid > 0) return run;
    if (Date.now() > deadline || child.exitCode !== null) {
      if (pid > 0) process.kill(pid, 'SIGKILL');
      child.kill('SIGKILL');
      throw new Error(`syrupd did not start: ${output}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}
