import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createSocket } from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeKernel } from '@syrup/test-support/kernel-gate';
import { runCli } from '../src/index.js';
import type { CliIo, ProgressStream } from '../src/cli-io.js';

const here = dirname(fileURLToPath(import.meta.url));
const CLI_DIR = join(here, '..');
const REPO = join(here, '../../..');
const NODE = join(REPO, 'node_modules/.bin/node');
const NPX = join(REPO, 'node_modules/.bin/npx');
const SYRUP_BIN = join(CLI_DIR, 'bin/syrup.mjs');
const ROUND_ROBIN = join(REPO, 'packages/policies-std/src/round-robin.ts');
const SITA = '@syrup/policies-std/sita';
/** syrupd's request size limit in these tests, passed through `syrup daemon` (the default is 1 MiB). */
const MAX_REQUEST = 200_000;
const REUSEPORT_SERVER = join(REPO, 'packages/backend-ebpf/test/hooks/socket-select/fixtures/reuseport-server.py');

// npx is the machine's npm; the repo's Node 24 comes first on PATH so the bin's `env node` finds it.
const ENV = { ...process.env, PATH: `${join(REPO, 'node_modules/.bin')}:${process.env['PATH'] ?? ''}` };

/** Runs `npx --no-install syrup ...args` as a user would, from the CLI package. */
function syrup(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const result = spawnSync('npx', ['--no-install', 'syrup', ...args], { cwd: CLI_DIR, env: ENV, encoding: 'utf8', timeout: 30_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** A terminal stand-in for runCli's progress: it records what a terminal would be sent. */
function fakeTerminal(): ProgressStream & { text(): string } {
  let written = '';
  const stream = {
    isTTY: true,
    columns: 100,
    write: (chunk: string | Uint8Array) => {
      written += chunk.toString();
      return true;
    },
    text: () => written,
  };
  return stream as unknown as ProgressStream & { text(): string };
}

/** runCli in this process, with stdout and stderr captured and `progress` as its terminal. */
async function syrupInProcess(progress: ProgressStream | undefined, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = { out: (t) => (stdout += t.endsWith('\n') ? t : `${t}\n`), err: (t) => (stderr += t.endsWith('\n') ? t : `${t}\n`), progress };
  const code = await runCli(args, io);
  return { code, stdout, stderr };
}

describe('syrup user mistakes (no daemon needed)', () => {
  it('exits 2 with one sentence and no stack trace', { timeout: 60_000 }, () => {
    const bad = syrup('deploy', ROUND_ROBIN, '--hook', 'socket-select', '--port', 'nine');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe("syrup: --port takes a port number from 1 to 65535, not 'nine'.\n");
    // Out of range is said in the CLI's words too, not the daemon's validator's.
    expect(syrup('deploy', ROUND_ROBIN, '--hook', 'socket-select', '--port', '70000')).toMatchObject({ code: 2, stderr: "syrup: --port takes a port number from 1 to 65535, not '70000'.\n" });
    const unknown = syrup('frobnicate');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr.trim().split('\n')).toHaveLength(1);
    const param = syrup('deploy', ROUND_ROBIN, '--hook', 'socket-select', '--param', 'SOCKETS');
    expect(param).toMatchObject({ code: 2, stderr: "syrup: --param takes NAME=VALUE with an unsigned integer value, not 'SOCKETS'.\n" });
  });

  it('exits 1 with one sentence when no daemon listens', () => {
    const result = syrup('ls', '--socket', join(tmpdir(), 'no-such-syrupd.sock'));
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^syrup: cannot reach syrupd at .*no-such-syrupd\.sock: is it running\? Start it with `syrup daemon`\.\n$/);
  });
});

describeKernel('syrup against syrupd, end to end', { needs: ['bpf', 'bpffs'] }, () => {
  let dir: string;
  let socketPath: string;
  let pinRoot: string;
  let daemon: ChildProcess;
  let daemonExit: Promise<number | null>;
  let python: ChildProcess;
  let server: { port: number; pid: number };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'syrup-cli-'));
    socketPath = join(dir, 'syrupd.sock');
    // Never the machine's pins or state: a unique root on bpffs, and a state file passed through to syrupd.
    pinRoot = join('/sys/fs/bpf', basename(dir));
    // `syrup daemon` runs syrupd in the foreground; it prints a log line once it listens.
    daemon = spawn(NODE, [SYRUP_BIN, 'daemon', '--socket', socketPath, '--pin-root', pinRoot, '--state-file', join(dir, 'state.json'), '--state-dir', join(dir, 'deployments'), '--max-request-bytes', String(MAX_REQUEST)], { stdio: ['ignore', 'pipe', 'inherit'] });
    daemonExit = new Promise((resolve) => daemon.once('exit', (code) => resolve(code)));
    await new Promise<void>((resolve, reject) => {
      const lines = createInterface({ input: daemon.stdout! });
      lines.on('line', (line) => line.includes('syrupd listening') && resolve());
      daemon.once('exit', () => reject(new Error('syrup daemon exited before listening')));
    });
    python = spawn('python3', [REUSEPORT_SERVER, '4'], { stdio: ['pipe', 'pipe', 'inherit'] });
    server = await new Promise((resolve) => createInterface({ input: python.stdout! }).once('line', (line) => resolve(JSON.parse(line))));
  }, 60_000);

  afterAll(async () => {
    python?.kill();
    daemon?.kill('SIGTERM');
    await daemonExit;
    rmSync(dir, { recursive: true, force: true });
    rmSync(pinRoot, { recursive: true, force: true });
  });

  it('deploy --share-map joins two deployments of one owner through one map, shown by ls --json and map get/set', async () => {
    const servers = await Promise.all(
      [0, 1].map(async () => {
        const child = spawn('python3', [REUSEPORT_SERVER, '1'], { stdio: ['pipe', 'pipe', 'inherit'] });
        const hello = await new Promise<{ port: number; pid: number }>((resolve) => createInterface({ input: child.stdout! }).once('line', (line) => resolve(JSON.parse(line))));
        return { child, ...hello };
      }),
    );
    try {
      const ids: string[] = [];
      for (const s of servers) {
        const deployed = await syrupInProcess(undefined, 'deploy', ROUND_ROBIN, '--hook', 'socket-select', '--port', String(s.port), '--pid', String(s.pid), '--param', 'SOCKETS=1', '--share-map', 'next', '--socket', socketPath, '-q');
        expect(deployed).toMatchObject({ code: 0, stderr: '' });
        ids.push(deployed.stdout.trim());
      }
      const [first, second] = ids as [string, string];
      const listed = JSON.parse((await syrupInProcess(undefined, 'ls', '--json', '--socket', socketPath)).stdout) as { id: string; sharedMaps?: string[] }[];
      expect(listed.filter((d) => ids.includes(d.id)).map((d) => d.sharedMaps)).toEqual([['next'], ['next']]);
      expect((await syrupInProcess(undefined, 'map', 'set', first, 'next', '0', '41', '--socket', socketPath)).code).toBe(0);
      expect((await syrupInProcess(undefined, 'map', 'get', second, 'next', '0', '--socket', socketPath)).stdout.trim()).toBe('41');
      for (const id of ids) expect((await syrupInProcess(undefined, 'undeploy', id, '--socket', socketPath)).code).toBe(0);
    } finally {
      for (const s of servers) s.child.kill();
    }
  });

  it('deploy --json, ls --json, map get, map set, map dump, status, undeploy', async () => {
    const deployed = syrup('deploy', ROUND_ROBIN, '--hook', 'socket-select', '--port', String(server.port), '--pid', String(server.pid), '--param', 'SOCKETS=4', '--socket', socketPath, '--json');
    expect(deployed.stderr).toBe('');
    expect(deployed.code).toBe(0);
    const info = JSON.parse(deployed.stdout) as { id: string; policy: string; owner: number; target: unknown };
    expect(info).toMatchObject({ policy: 'round-robin', hook: 'socket-select', state: 'active', owner: 0, maps: ['next'], target: { port: server.port, pid: server.pid } });

    const listed = syrup('ls', '--json', '--socket', socketPath);
    expect(listed.code).toBe(0);
    expect((JSON.parse(listed.stdout) as { id: string }[]).map((d) => d.id)).toEqual([info.id]);

    // Ten datagrams through the policy advance `next` to 10.
    const sender = createSocket('udp4');
    for (let i = 0; i < 10; i++) await new Promise<void>((resolve) => sender.send(Buffer.from([0, 0, 0, i]), server.port, '127.0.0.1', () => resolve()));
    sender.close();
    await new Promise((r) => setTimeout(r, 100));
    expect(syrup('map', 'get', info.id, 'next', '0', '--socket', socketPath)).toEqual({ code: 0, stdout: '10\n', stderr: '' });
    expect(syrup('map', 'set', info.id, 'next', '0', '18446744073709551615', '--socket', socketPath).code).toBe(0);
    expect(JSON.parse(syrup('map', 'dump', info.id, 'next', '--socket', socketPath, '--json').stdout)).toEqual([{ key: 0, value: '18446744073709551615' }]);
    const status = syrup('status', '--socket', socketPath, '--json');
    expect(JSON.parse(status.stdout)).toMatchObject({ version: 1, deployments: 1 });

    // User mistakes against a live daemon: one sentence, exit 2.
    expect(syrup('map', 'get', info.id, 'nope', '0', '--socket', socketPath)).toEqual({ code: 2, stdout: '', stderr: `syrup: deployment '${info.id}' has no map 'nope' (it has next).\n` });
    expect(syrup('deploy', ROUND_ROBIN, '--hook', 'work-queue', '--pid', String(server.pid), '--socket', socketPath)).toEqual({ code: 2, stdout: '', stderr: expect.stringMatching(/^syrup: no backend provides hook 'work-queue' \(the hooks there are: [^)]*socket-select[^)]*\)\.\n$/) });
    expect(syrup('undeploy', 'not-an-id', '--socket', socketPath)).toMatchObject({ code: 2, stderr: expect.stringMatching(/^syrup: no deployment has id 'not-an-id'[^\n]*\.\n$/) });

    // Hot swap to sita: the same deployment id, the new policy, the `next` map kept.
    const replaced = syrup('replace', info.id, SITA, '--param', 'SOCKETS=4', '--socket', socketPath, '--json');
    expect(replaced.stderr).toBe('');
    expect(JSON.parse(replaced.stdout)).toMatchObject({ id: info.id, policy: 'sita', state: 'active' });
    expect(syrup('map', 'get', info.id, 'next', '0', '--socket', socketPath)).toEqual({ code: 0, stdout: '18446744073709551615\n', stderr: '' });

    expect(syrup('undeploy', info.id, '--socket', socketPath)).toEqual({ code: 0, stdout: `undeployed ${info.id}\n`, stderr: '' });
    expect(syrup('ls', '--socket', socketPath)).toEqual({ code: 0, stdout: 'no deployments\n', stderr: '' });
  }, 120_000);

  it('deploys a pack policy by package specifier, and a local file by relative path from the current directory', async () => {
    const bySpecifier = syrup('deploy', SITA, '--hook', 'socket-select', '--port', String(server.port), '--pid', String(server.pid), '--param', 'SOCKETS=4', '--socket', socketPath, '--json');
    expect(bySpecifier).toMatchObject({ code: 0, stderr: '' });
    const sita = JSON.parse(bySpecifier.stdout) as { id: string };
    expect(sita).toMatchObject({ policy: 'sita', hook: 'socket-select', state: 'active', maps: ['next'] });
    expect(syrup('undeploy', sita.id, '--socket', socketPath).code).toBe(0);

    // A file next to the user, named relative to the directory the command runs in.
    const work = mkdtempSync(join(tmpdir(), 'syrup-cli-cwd-'));
    try {
      copyFileSync(ROUND_ROBIN, join(work, 'my-policy.ts'));
      const run = spawnSync(NODE, [SYRUP_BIN, 'deploy', './my-policy.ts', '--hook', 'socket-select', '--port', String(server.port), '--pid', String(server.pid), '--socket', socketPath, '-q'], {
        cwd: work,
        env: ENV,
        encoding: 'utf8',
        timeout: 30_000,
      });
      expect(run.stderr).toBe('');
      // -q prints the id alone, for ID=$(syrup deploy ... -q).
      const id = run.stdout.trim();
      expect(run.stdout).toMatch(/^[0-9a-f-]{36}\n$/);
      expect(JSON.parse(syrup('ls', '--json', '--socket', socketPath).stdout)).toEqual([expect.objectContaining({ id, policy: 'round-robin' })]);
      expect(syrup('undeploy', id, '--socket', socketPath).code).toBe(0);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }, 120_000);

  it('disasm prints the eBPF instructions syrupd generates, with source positions; --json as an array of the same lines', () => {
    const human = syrup('disasm', ROUND_ROBIN, '--param', 'SOCKETS=4', '--socket', socketPath);
    expect(human).toMatchObject({ code: 0, stderr: '' });
    const lines = human.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^0: \([0-9a-f]{2}\) /);
    // `next.fetchAdd(0, 1) % SOCKETS` with SOCKETS folded to 4, at its line in round-robin.ts (named by its path).
    expect(lines.some((l) => /atomic64_fetch_add/.test(l) && /; \S*\/policies-std\/src\/round-robin\.ts:\d+:\d+$/.test(l))).toBe(true);
    expect(lines.some((l) => /%= 4 +; \S*\/round-robin\.ts:/.test(l))).toBe(true);
    const json = syrup('disasm', ROUND_ROBIN, '--param', 'SOCKETS=4', '--socket', socketPath, '--json');
    expect(JSON.parse(json.stdout)).toEqual(lines);
    expect(syrup('ls', '--socket', socketPath).stdout).toBe('no deployments\n');
    expect(syrup('disasm', ROUND_ROBIN, '--hook', 'work-queue', '--socket', socketPath)).toEqual({ code: 2, stdout: '', stderr: expect.stringMatching(/^syrup: no backend provides hook 'work-queue' \(the hooks there are: [^)]*socket-select[^)]*\)\.\n$/) });
  }, 60_000);

  it('shows deploy and replace stages on a terminal as they happen, and nothing with --json', async () => {
    const terminal = fakeTerminal();
    const deployed = await syrupInProcess(terminal, 'deploy', ROUND_ROBIN, '--hook', 'socket-select', '--port', String(server.port), '--pid', String(server.pid), '--socket', socketPath, '-q');
    expect(deployed.code).toBe(0);
    const id = deployed.stdout.trim();
    const shown = terminal.text();
    const order = ['reading the policy', 'sending it to syrupd', 'compiling', 'attaching'].map((stage) => shown.indexOf(stage));
    expect(order.every((at) => at >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);

    const swapping = fakeTerminal();
    expect((await syrupInProcess(swapping, 'replace', id, SITA, '--socket', socketPath)).code).toBe(0);
    expect(swapping.text()).toContain('swapping the new policy in');

    const quiet = fakeTerminal();
    const listed = await syrupInProcess(quiet, 'replace', id, ROUND_ROBIN, '--socket', socketPath, '--json');
    expect(listed.code).toBe(0);
    expect(quiet.text()).toBe('');
    expect((await syrupInProcess(undefined, 'undeploy', id, '--socket', socketPath)).code).toBe(0);
  }, 60_000);

  it('draws progress on a real terminal (a pty from script(1)) and not on a pipe', () => {
    const command = [NODE, SYRUP_BIN, 'deploy', ROUND_ROBIN, '--hook', 'socket-select', '--port', String(server.port), '--pid', String(server.pid), '--socket', socketPath, '-q'].join(' ');
    const run = spawnSync('script', ['-qec', command, '/dev/null'], { env: ENV, encoding: 'utf8', timeout: 60_000 });
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('attaching');
    const id = /([0-9a-f]{8}-[0-9a-f-]{27})/.exec(run.stdout)?.[1] as string;
    expect(syrup('undeploy', id, '--socket', socketPath)).toMatchObject({ code: 0, stderr: '' });
  }, 60_000);

  it("refuses a request over syrupd's --max-request-bytes with the limit in one sentence, and serves the next", () => {
    const work = mkdtempSync(join(tmpdir(), 'syrup-cli-big-'));
    try {
      // A policy file padded with a comment: the request carries its text, so it is over the limit.
      writeFileSync(join(work, 'big.ts'), `${readFileSync(ROUND_ROBIN, 'utf8')}\n// ${'x'.repeat(MAX_REQUEST)}\n`);
      expect(syrup('deploy', join(work, 'big.ts'), '--hook', 'socket-select', '--port', String(server.port), '--pid', String(server.pid), '--socket', socketPath)).toEqual({
        code: 2,
        stdout: '',
        stderr: `syrup: the request is larger than the limit of ${MAX_REQUEST} bytes.\n`,
      });
      expect(syrup('ls', '--socket', socketPath)).toEqual({ code: 0, stdout: 'no deployments\n', stderr: '' });
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }, 60_000);

  it('status --wait returns once syrupd answers, and gives up with one sentence where nothing listens', () => {
    expect(JSON.parse(syrup('status', '--wait', '10', '--socket', socketPath, '--json').stdout)).toMatchObject({ version: 1 });
    const nobody = join(dir, 'nobody.sock');
    expect(syrup('status', '--wait', '1', '--socket', nobody)).toEqual({ code: 1, stdout: '', stderr: `syrup: syrupd did not answer at ${nobody} within 1 s.\n` });
  }, 60_000);
});
