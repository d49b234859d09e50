import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createConnection, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect } from '@syrup/runtime';
import { afterEach, describe, expect, it } from 'vitest';
import { parseSyrupdArgs, SoPeerCredCredentials } from '../src/index.js';
import { startDaemonChild, type DaemonChild } from './support/daemon.js';
import { describeKernel } from '@syrup/test-support/kernel-gate';

const here = dirname(fileURLToPath(import.meta.url));
const ROUND_ROBIN = join(here, '../../../packages/policies-std/src/round-robin.ts');

describe('syrupd arguments', () => {
  it('takes --socket, --pin-root, --state-file and --state-dir, then the environment, then the defaults, and --backend in order', () => {
    expect(parseSyrupdArgs(['--socket', '/tmp/s.sock', '--pin-root', '/sys/fs/bpf/x', '--state-file', '/tmp/state.json', '--state-dir', '/tmp/deployments'], {})).toEqual({
      socketPath: '/tmp/s.sock',
      pinRoot: '/sys/fs/bpf/x',
      stateFile: '/tmp/state.json',
      stateDir: '/tmp/deployments',
      backends: [],
    });
    expect(parseSyrupdArgs([], { SYRUP_SOCKET: '/tmp/e.sock', SYRUP_STATE_FILE: '/tmp/e.json', SYRUP_STATE_DIR: '/tmp/e.d' })).toEqual({
      socketPath: '/tmp/e.sock',
      pinRoot: '/sys/fs/bpf/syrup',
      stateFile: '/tmp/e.json',
      stateDir: '/tmp/e.d',
      backends: [],
    });
    expect(parseSyrupdArgs([], {})).toEqual({
      socketPath: '/run/syrup/syrupd.sock',
      pinRoot: '/sys/fs/bpf/syrup',
      stateFile: '/var/lib/syrup/state.json',
      stateDir: '/var/lib/syrup/deployments',
      backends: [],
    });
    // --backend is repeatable and keeps its order (names, or directory paths).
    expect(parseSyrupdArgs(['--backend', '@syrup/backend-ebpf', '--backend', './my-backend'], {}).backends).toEqual(['@syrup/backend-ebpf', './my-backend']);
    expect(() => parseSyrupdArgs(['--nope'], {})).toThrow("Unknown option '--nope'");
  });
});

describe('SO_PEERCRED through the backend-ebpf syscall layer', () => {
  it("reads the connecting process's pid, uid and gid from an accepted Unix socket", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'peercred-'));
    const path = join(dir, 's.sock');
    const accepted = new Promise<Socket>((resolve) => {
      const server = createServer((socket) => {
        resolve(socket);
        server.close();
      });
      server.listen(path);
    });
    const client = createConnection(path);
    const socket = await accepted;
    try {
      expect(new SoPeerCredCredentials().of(socket)).toEqual({ pid: process.pid, uid: process.getuid?.(), gid: process.getgid?.() });
    } finally {
      client.destroy();
      socket.destroy();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describeKernel('the syrupd process', { needs: ['root', 'bpf', 'bpffs'] }, () => {
  let daemon: DaemonChild | undefined;
  afterEach(async () => {
    await daemon?.stop();
    daemon = undefined;
  });

  it('serves on its socket, records the SO_PEERCRED uid as owner, and on SIGTERM keeps the deployment, removes the socket and exits 0', async () => {
    daemon = await startDaemonChild();
    const client = await connect({ socketPath: daemon.socketPath });
    const status = await client.status();
    expect(status).toMatchObject({ version: 1, pid: expect.any(Number), deployments: 0 });
    const hooks = await client.hooks();
    expect(hooks.find((h) => h.hook === 'socket-select')).toEqual({ hook: 'socket-select', layer: 'kernel socket layer', backend: 'ebpf', available: true, targetFields: ['port', 'protocol', 'pid', 'address'] });
    // Without --backend: the project's own packages, the eBPF, thread and NFP backends, all loaded.
    expect(status.backends?.map((b) => [b.package, b.state, b.backends])).toEqual([
      ['@syrup/backend-ebpf', 'loaded', ['ebpf']],
      ['@syrup/backend-ghost', 'loaded', ['ghost']],
      ['@syrup/backend-nfp', 'loaded', ['nfp']],
    ]);
    expect(hooks.find((h) => h.hook === 'thread')).toMatchObject({ backend: 'ghost', available: true });
    // This machine has no NFP: the hook is there, unavailable, with the probe's reason.
    expect(hooks.find((h) => h.hook === 'xdp-offload')).toMatchObject({
      backend: 'nfp',
      available: false,
      reason: 'no offload-capable NIC on this machine (no interface is driven by nfp, the Netronome Agilio driver); syrup check --hook xdp-offload still validates policies',
    });

    // A UDP group of this test process, found by port (and our pid).
    const { createSocket } = await import('node:dgram');
    const socket = createSocket({ type: 'udp4', reusePort: true });
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
    try {
      const d = await client.deploy({ fileName: 'round-robin.ts', text: readFileSync(ROUND_ROBIN, 'utf8') }, { hook: 'socket-select', port: socket.address().port, pid: process.pid, params: { SOCKETS: 1 } });
      expect((await client.deployments()).map((i) => [i.id, i.owner])).toEqual([[d.id, process.getuid?.()]]);
      await client.close();
      // The deployment belongs to its target (this process's socket), not to the daemon: stopping keeps it recorded.
      const state = JSON.parse(readFileSync(join(daemon.dir, 'state.json'), 'utf8')) as { deployments: { id: string }[] };
      expect(state.deployments.map((r) => r.id)).toEqual([d.id]);
      expect(await daemon.stop()).toBe(0);
      expect(existsSync(daemon.socketPath)).toBe(false);
      expect(daemon.output()).toContain('"kept":1');
      daemon = undefined;
    } finally {
      socket.close();
    }
  });
});
