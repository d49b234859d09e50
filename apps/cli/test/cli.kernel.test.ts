import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createSocket } from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeKernel } from '@syrup/test-support/kernel-gate';

const here = dirname(fileURLToPath(import.meta.url));
const CLI_DIR = join(here, '..');
const REPO = join(here, '../../..');
const NODE = join(REPO, 'node_modules/.bin/node');
const NPX = join(REPO, 'node_modules/.bin/npx');
const SYRUP_BIN = join(CLI_DIR, 'bin/syrup.mjs');
const ROUND_ROBIN = join(REPO, 'packages/policies-std/src/round-robin.ts');
const SITA = '@syrup/policies-std/sita';
const REUSEPORT_SERVER = join(REPO, 'packages/backend-ebpf/test/hooks/socket-select/fixtures/reuseport-server.py');

/** Runs `npx --no-install syrup ...args` as a user would, from the CLI package. */
function syrup(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  // npx is the machine's npm; the repo's Node 24 comes first on PATH so the bin's `env node` finds it.
  const env = { ...process.env, PATH: `${join(REPO, 'node_modules/.bin')}:${process.env['PATH'] ?? ''}` };
  const result = spawnSync('npx', ['--no-install', 'syrup', ...args], { cwd: CLI_DIR, env, encoding: 'utf8', timeout: 30_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('syrup user mistakes (no daemon needed)', () => {
  it('exits 2 with one sentence and no stack trace', { timeout: 60_000 }, () => {
    const bad = syrup('deploy', ROUND_ROBIN, '--hook', 'socket-select', '--port', 'nine');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe("syrup: --port takes a non-negative integer, not 'nine'.\n");
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

describeKernel('syrup against syrupd, end to end', () => {
  let dir: string;
  let socketPath: string;
  let daemon: ChildProcess;
  let daemonExit: Promise<number | null>;
  let python: ChildProcess;
  let server: { port: number; pid: number };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'syrup-cli-'));
    socketPath = join(dir, 'syrupd.sock');
    // `syrup daemon` runs syrupd in the foreground; it prints a log line once it listens.
    daemon = spawn(NODE, [SYRUP_BIN, 'daemon', '--socket', socketPath], { stdio: ['ignore', 'pipe', 'inherit'] });
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
    expect(syrup('deploy', ROUND_ROBIN, '--hook', 'thread', '--pid', String(server.pid), '--socket', socketPath)).toEqual({ code: 2, stdout: '', stderr: "syrup: no backend provides hook 'thread'.\n" });
    expect(syrup('undeploy', 'not-an-id', '--socket', socketPath)).toMatchObject({ code: 2, stderr: expect.stringMatching(/^syrup: no deployment has id 'not-an-id'[^\n]*\.\n$/) });

    // Hot swap to sita: the same deployment id, the new policy, the `next` map kept.
    const replaced = syrup('replace', info.id, SITA, '--param', 'SOCKETS=4', '--socket', socketPath, '--json');
    expect(replaced.stderr).toBe('');
    expect(JSON.parse(replaced.stdout)).toMatchObject({ id: info.id, policy: 'sita', state: 'active' });
    expect(syrup('map', 'get', info.id, 'next', '0', '--socket', socketPath)).toEqual({ code: 0, stdout: '18446744073709551615\n', stderr: '' });

    expect(syrup('undeploy', info.id, '--socket', socketPath)).toEqual({ code: 0, stdout: `undeployed ${info.id}\n`, stderr: '' });
    expect(syrup('ls', '--socket', socketPath)).toEqual({ code: 0, stdout: 'no deployments\n', stderr: '' });
  }, 120_000);
});
