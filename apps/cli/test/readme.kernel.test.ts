import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { describeKernel } from '@syrup/test-support/kernel-gate';

const here = dirname(fileURLToPath(import.meta.url));
/**
 * The repository whose committed HEAD is cloned: this checkout, or $SYRUP_README_TEST_REPO
 * (a throwaway repository with uncommitted work committed, to try the test before committing).
 * A clone has only committed files, so the README block and everything it runs must be committed.
 */
const SOURCE_REPO = process.env['SYRUP_README_TEST_REPO'] ?? resolve(here, '../../..');
const START = '<!-- readme-test:start';
const END = '<!-- readme-test:end -->';
const MARKER = '__syrup_readme_test_done__';

/** The shell lines of README.md's marked block: its fenced code, with `\` continuations joined. */
function readmeCommands(readme: string): string[] {
  const start = readme.indexOf(START);
  const end = readme.indexOf(END, start);
  if (start === -1 || end === -1) throw new Error(`README.md has no block between '${START} ...' and '${END}'`);
  const block = readme.slice(start, end).split('\n').slice(1);
  const fence = block.findIndex((line) => line.startsWith('```'));
  const close = block.findIndex((line, i) => i > fence && line.startsWith('```'));
  const lines = block.slice(fence + 1, close).join('\n').replace(/\\\n\s*/g, '').split('\n');
  return lines.filter((line) => line.trim() !== '' && !line.trim().startsWith('#'));
}

/** A UDP port nothing on loopback uses right now. */
async function freeUdpPort(): Promise<number> {
  const socket = createSocket('udp4');
  await new Promise<void>((done) => socket.bind(0, '127.0.0.1', () => done()));
  const { port } = socket.address();
  await new Promise<void>((done) => socket.close(() => done()));
  return port;
}

/**
 * An environment as a fresh login shell would have it: no npm_* variables of whatever runs
 * this test, and no node_modules/.bin of this checkout on PATH (the clone must bring its own).
 */
function freshEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.toLowerCase().startsWith('npm_') && key !== 'TSX_TSCONFIG_PATH' && key !== 'NODE_OPTIONS') env[key] = value;
  env['PATH'] = (process.env['PATH'] ?? '')
    .split(delimiter)
    .filter((dir) => !dir.includes('node_modules'))
    .join(delimiter);
  return { ...env, ...extra };
}

/** One bash process fed the README's lines one by one, so that variables and background jobs carry over as in a terminal. */
class Session {
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

describeKernel("the README's commands in a fresh clone", () => {
  let dir: string | undefined;
  let pinRoot: string | undefined;
  let session: Session | undefined;

  afterAll(async () => {
    await session?.end();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    if (pinRoot !== undefined) rmSync(pinRoot, { recursive: true, force: true });
  }, 60_000);

  it(
    'after `npm install` alone: starts the daemon, deploys a policy file with --pid on an unmodified Python server, ls --json, map get, undeploy',
    async () => {
      dir = mkdtempSync(join(tmpdir(), 'syrup-readme-'));
      const clone = join(dir, 'syrup');
      pinRoot = join('/sys/fs/bpf', basename(dir));
      const cloned = spawnSync('git', ['clone', '--quiet', SOURCE_REPO, clone], { encoding: 'utf8', timeout: 120_000 });
      expect(cloned.status, `git clone failed: ${cloned.stderr}`).toBe(0);

      const port = await freeUdpPort();
      // Only the block's documented placeholders change, plus where syrupd keeps pins and state (never the machine's).
      const env = freshEnv({ SYRUP_SOCKET: join(dir, 'syrupd.sock'), SYRUP_PORT: String(port), SYRUP_PIN_ROOT: pinRoot, SYRUP_STATE_FILE: join(dir, 'state.json') });

      // The project's own rules apply (.npmrc: strict-allow-scripts), as for anyone who clones it.
      const install = spawnSync('npm', ['install', '--no-audit', '--no-fund'], { cwd: clone, env, encoding: 'utf8', timeout: 600_000 });
      expect(install.status, `npm install failed:\n${install.stderr}`).toBe(0);

      const commands = readmeCommands(readFileSync(join(clone, 'README.md'), 'utf8'));
      expect(commands.some((c) => c.includes('syrup daemon'))).toBe(true);
      session = new Session(clone, env);
      const results: { line: string; status: number; stdout: string; stderr: string }[] = [];
      for (const line of commands) {
        const result = await session.run(line, 180_000);
        results.push({ line, ...result });
        expect(result.status, `'${line}' exited ${result.status}: ${result.stderr}`).toBe(0);
      }

      const lines = (pattern: RegExp) => results.filter((r) => pattern.test(r.line));
      const [listed, listedAfter] = lines(/syrup ls --json/);
      expect(JSON.parse(listed?.stdout ?? '')).toEqual([
        expect.objectContaining({ policy: 'round-robin', hook: 'socket-select', state: 'active', owner: 0, maps: ['next'], target: expect.objectContaining({ port }) }),
      ]);
      // Three datagrams through round robin: the counter is 3.
      expect(lines(/syrup map get/)[0]?.stdout).toBe('3\n');
      const id = (JSON.parse(listed?.stdout ?? '') as { id: string }[])[0]?.id;
      expect(lines(/syrup undeploy/)[0]?.stdout).toBe(`undeployed ${id}\n`);
      expect(JSON.parse(listedAfter?.stdout ?? '')).toEqual([]);
    },
    15 * 60_000,
  );
});
