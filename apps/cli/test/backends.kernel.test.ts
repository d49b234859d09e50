import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeKernel } from '@syrup/test-support/kernel-gate';

const here = dirname(fileURLToPath(import.meta.url));
const CLI_DIR = join(here, '..');
const REPO = join(here, '../../..');
const NODE = join(REPO, 'node_modules/.bin/node');
const SYRUP_BIN = join(CLI_DIR, 'bin/syrup.mjs');
const ROUND_ROBIN = join(REPO, 'packages/policies-std/src/round-robin.ts');
const REUSEPORT_SERVER = join(REPO, 'packages/backend-ebpf/test/hooks/socket-select/fixtures/reuseport-server.py');
const ENV = { ...process.env, PATH: `${join(REPO, 'node_modules/.bin')}:${process.env['PATH'] ?? ''}` };

function syrup(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const result = spawnSync('npx', ['--no-install', 'syrup', ...args], { cwd: CLI_DIR, env: ENV, encoding: 'utf8', timeout: 30_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** A backend package directory whose index.js is `index` (plain JS: a third party's built package). */
function writePackage(dir: string, name: string, index: string): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, type: 'module', exports: './index.js' }));
  writeFileSync(join(dir, 'index.js'), index);
  return dir;
}

/** A userspace backend declaring `hooks`, registered under core's Backend token (a global symbol). */
function backendIndex(name: string, hooks: readonly string[]): string {
  return `const Backend = Symbol.for('@syrup/core.Backend');
const hooks = ${JSON.stringify(hooks)};
export function register(container) {
  container.register(Backend, { useValue: {
    name: ${JSON.stringify(name)},
    hooks: hooks.map((id) => ({ id, layer: 'userspace work queue', inputs: ['udp'], executor: 'socket', verdicts: ['pass', 'drop'] })),
    probe: async () => hooks.map((hook) => ({ hook, available: true })),
    compile: async () => { throw new Error('not used'); },
    attach: async () => { throw new Error('not used'); },
  } });
}
`;
}

interface HookRow {
  hook: string;
  layer: string;
  backend: string;
  available: boolean;
  reason: string | null;
  targetFields: string[];
}

describeKernel('syrup daemon --backend: backends by package, their failures in status and hooks', { needs: ['bpf', 'bpffs'] }, () => {
  let dir: string;
  let socketPath: string;
  let pinRoot: string;
  let daemon: ChildProcess;
  let daemonExit: Promise<number | null>;
  let python: ChildProcess | undefined;
  let broken: string;
  let clash: string;
  let queue: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'syrup-backends-'));
    socketPath = join(dir, 'syrupd.sock');
    pinRoot = join('/sys/fs/bpf', basename(dir));
    broken = writePackage(join(dir, 'broken'), '@acme/backend-broken', "throw new Error('the acme device is missing');\n");
    clash = writePackage(join(dir, 'clash'), '@acme/backend-clash', backendIndex('clash', ['socket-select']));
    queue = writePackage(join(dir, 'queue'), '@acme/backend-queue', backendIndex('queue', ['work-queue']));
    daemon = spawn(
      NODE,
      // The first --backend is a name (resolved from the working directory), the others directory paths.
      [SYRUP_BIN, 'daemon', '--socket', socketPath, '--pin-root', pinRoot, '--state-file', join(dir, 'state.json'), '--backend', '@syrup/backend-ebpf', '--backend', broken, '--backend', clash, '--backend', queue],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    daemonExit = new Promise((resolve) => daemon.once('exit', (code) => resolve(code)));
    await new Promise<void>((resolve, reject) => {
      const lines = createInterface({ input: daemon.stdout! });
      lines.on('line', (line) => line.includes('syrupd listening') && resolve());
      daemon.once('exit', () => reject(new Error('syrup daemon exited before listening')));
    });
  }, 60_000);

  afterAll(async () => {
    python?.kill();
    daemon?.kill('SIGTERM');
    await daemonExit;
    rmSync(dir, { recursive: true, force: true });
    rmSync(pinRoot, { recursive: true, force: true });
  });

  it('status --json names each package with its outcome: loaded, failed with its reason, refused naming both backends and the hook', () => {
    const status = syrup('status', '--socket', socketPath, '--json');
    expect(status.code).toBe(0);
    const backends = (JSON.parse(status.stdout) as { backends: unknown[] }).backends;
    expect(backends).toEqual([
      { package: '@syrup/backend-ebpf', state: 'loaded', path: join(REPO, 'packages/backend-ebpf'), backends: ['ebpf'] },
      { package: broken, state: 'failed', path: broken, reason: `importing '@acme/backend-broken' (${join(broken, 'index.js')}) threw: the acme device is missing.` },
      { package: clash, state: 'refused', path: clash, reason: "backend 'clash' is refused: it declares hook 'socket-select', which backend 'ebpf' already provides.", backends: [] },
      { package: queue, state: 'loaded', path: queue, backends: ['queue'] },
    ]);
    const human = syrup('status', '--socket', socketPath);
    expect(human.stdout).toContain(`  ${broken}: failed: importing '@acme/backend-broken'`);
  }, 60_000);

  it("hooks --json lists every standard hook and the third party's, with layer, backend, availability, reason and target fields", () => {
    const listed = syrup('hooks', '--socket', socketPath, '--json');
    expect(listed.stderr).toBe('');
    const rows = JSON.parse(listed.stdout) as HookRow[];
    for (const row of rows) expect(Object.keys(row).sort()).toEqual(['available', 'backend', 'hook', 'layer', 'reason', 'targetFields']);
    expect(rows.map((r) => r.hook).sort()).toEqual(['cpu-redirect', 'socket-select', 'thread', 'work-queue', 'xdp-drv', 'xdp-offload', 'xdp-skb']);
    const byHook = new Map(rows.map((r) => [r.hook, r]));
    expect(byHook.get('socket-select')).toEqual({ hook: 'socket-select', layer: 'kernel socket layer', backend: 'ebpf', available: true, reason: null, targetFields: ['port', 'protocol', 'pid', 'address'] });
    // A hook that declares no target schema lists no fields: its backend validates what it is given.
    expect(byHook.get('work-queue')).toEqual({ hook: 'work-queue', layer: 'userspace work queue', backend: 'queue', available: true, reason: null, targetFields: [] });
    expect(byHook.get('thread')).toEqual({
      hook: 'thread',
      layer: 'thread scheduler',
      backend: '@syrup/backend-ghost',
      available: false,
      reason: "it would come from '@syrup/backend-ghost', which was not asked for (syrupd loads only the --backend packages when any is given).",
      targetFields: ['pid'],
    });
    expect(byHook.get('xdp-skb')?.backend).toBe('ebpf');
    // The human listing ends with the packages that did not load.
    const human = syrup('hooks', '--socket', socketPath).stdout.trimEnd().split('\n');
    expect(human.filter((l) => l.startsWith('not loaded: '))).toEqual([
      `not loaded: ${broken}: failed: importing '@acme/backend-broken' (${join(broken, 'index.js')}) threw: the acme device is missing.`,
      `not loaded: ${clash}: refused: backend 'clash' is refused: it declares hook 'socket-select', which backend 'ebpf' already provides.`,
    ]);
  }, 60_000);

  it('still deploys at socket-select through the eBPF backend, which kept the hook, and undeploys', async () => {
    python = spawn('python3', [REUSEPORT_SERVER, '2'], { stdio: ['pipe', 'pipe', 'inherit'] });
    const server = await new Promise<{ port: number; pid: number }>((resolve) => createInterface({ input: python!.stdout! }).once('line', (line) => resolve(JSON.parse(line))));
    const deployed = syrup('deploy', ROUND_ROBIN, '--hook', 'socket-select', '--port', String(server.port), '--pid', String(server.pid), '--param', 'SOCKETS=2', '--socket', socketPath, '--json');
    expect(deployed.stderr).toBe('');
    const info = JSON.parse(deployed.stdout) as { id: string };
    expect(info).toMatchObject({ hook: 'socket-select', state: 'active', policy: 'round-robin' });
    expect(syrup('undeploy', info.id, '--socket', socketPath)).toEqual({ code: 0, stdout: `undeployed ${info.id}\n`, stderr: '' });
  }, 120_000);
});
