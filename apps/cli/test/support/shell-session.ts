import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { delimiter } from 'node:path';

const MARKER = '__syrup_readme_test_done__';

/**
 * The shell lines of a README block between `<!-- <name>:start ...` and `<!-- <name>:end -->`:
 * its fenced code, with `\` continuations joined, without blank and comment lines.
 */
export function readmeCommands(readme: string, name: string): string[] {
  const startMark = `<!-- ${name}:start`;
  const endMark = `<!-- ${name}:end -->`;
  const start = readme.indexOf(startMark);
  const end = readme.indexOf(endMark, start);
  if (start === -1 || end === -1) throw new Error(`README.md has no block between '${startMark} ...' and '${endMark}'`);
  const block = readme.slice(start, end).split('\n').slice(1);
  const fence = block.findIndex((line) => line.startsWith('```'));
  const close = block.findIndex((line, i) => i > fence && line.startsWith('```'));
  const lines = block.slice(fence + 1, close).join('\n').replace(/\\\n\s*/g, '').split('\n');
  return lines.filter((line) => line.trim() !== '' && !line.trim().startsWith('#'));
}

/** A UDP port nothing on loopback uses right now. */
export async function freeUdpPort(): Promise<number> {
  const socket = createSocket('udp4');
  await new Promise<void>((done) => socket.bind(0, '127.0.0.1', () => done()));
  const { port } = socket.address();
  await new Promise<void>((done) => socket.close(() => done()));
  return port;
}

/**
 * An environment as a fresh login shell would have it: no npm_* variables of whatever runs
 * this test, and no node_modules/.bin of this checkout on PATH (the clone must bring its own).
 * `firstOnPath` directories go in front (e.g. one holding the Node the test means to use).
 */
export function freshEnv(extra: Record<string, string>, firstOnPath: readonly string[] = []): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  // SYRUP_FROM_SOURCE is the test runner's (vitest.base.ts), not a user's: an installed CLI has no sources to run.
  for (const [key, value] of Object.entries(process.env)) if (!key.toLowerCase().startsWith('npm_') && key !== 'TSX_TSCONFIG_PATH' && key !== 'NODE_OPTIONS' && key !== 'SYRUP_FROM_SOURCE') env[key] = value;
  env['PATH'] = [
    ...firstOnPath,
    ...(process.env['PATH'] ?? '')
      .split(delimiter)
      .filter((dir) => !dir.includes('node_modules')),
  ].join(delimiter);
  return { ...env, ...extra };
}

/** One bash process fed a README's lines one by one, so that variables and background jobs carry over as in a terminal. */
export class ShellSession {
  readonly #bash: ChildProcessWithoutNullStreams;
  #stdout = '';
  #stderr = '';
  readonly exited: Promise<void>;

  constructor(cwd: string, env: NodeJS.ProcessEnv) {
    // Its own process group: the cleanup ends the daemon and the server the block started in the background.
    this.#bash = spawn('bash', ['--noprofile', '--norc'], { cwd, env, detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
    this.#bash.stdout.setEncoding('utf8').on('data', (chunk: string) => (this.#stdout += chunk));
    this.#bash.stderr.setEncoding('utf8').on('data', (chunk: string) => (this.#stderr += chunk));
    this.exited = new Promise((done) => this.#bash.once('exit', () => done()));
  }

  /** Runs one line; answers its exit status and what it printed. */
  async run(line: string, timeoutMs: number): Promise<{ status: number; stdout: string; stderr: string }> {
    this.#stdout = '';
    this.#stderr = '';
    this.#bash.stdin.write(`${line}\nprintf '\\n${MARKER} %d\\n' "$?"\n`);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const match = new RegExp(`\\n${MARKER} (\\d+)\\n`).exec(this.#stdout);
      if (match !== null) return { status: Number(match[1]), stdout: this.#stdout.slice(0, match.index), stderr: this.#stderr };
      if (Date.now() > deadline) throw new Error(`'${line}' did not finish within ${timeoutMs} ms; stdout: ${this.#stdout}; stderr: ${this.#stderr}`);
      if (this.#bash.exitCode !== null) throw new Error(`bash exited during '${line}'; stderr: ${this.#stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** SIGTERM to the whole group (bash, syrupd and its wrappers, the server), SIGKILL if it lingers. */
  async end(): Promise<void> {
    const pgid = this.#bash.pid as number;
    const signal = (name: NodeJS.Signals): boolean => {
      try {
        process.kill(-pgid, name);
        return true;
      } catch {
        return false;
      }
    };
    if (!signal('SIGTERM')) return;
    const deadline = Date.now() + 20_000;
    // syrupd shuts down cleanly on SIGTERM; the group is gone once every member has exited.
    while (Date.now() < deadline && signal(0 as unknown as NodeJS.Signals)) await new Promise((r) => setTimeout(r, 100));
    signal('SIGKILL');
    await this.exited;
  }
}
