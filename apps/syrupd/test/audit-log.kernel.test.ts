// syrupd's audit trail against the real daemon: each request it answers, served or refused,
// is one line of its pino log naming the caller (SO_PEERCRED), the op, hook, target, outcome
// and duration; a flood of requests is logged up to the cap and summarised.
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { createSocket, type Socket as DgramSocket } from 'node:dgram';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { connect } from '@syrup/runtime';
import { pino } from 'pino';
import { afterEach, expect, it } from 'vitest';
import { describeKernel } from '@syrup/test-support/kernel-gate';
import { startSyrupd, type Syrupd } from '../src/index.js';

const ROUND_ROBIN = fileURLToPath(new URL('../../../packages/policies-std/src/round-robin.ts', import.meta.url));

describeKernel("syrupd's audit log", { needs: ['root', 'bpf', 'bpffs'] }, () => {
  let dir: string | undefined;
  let pinRoot: string | undefined;
  let daemon: Syrupd | undefined;
  const sockets: DgramSocket[] = [];

  afterEach(async () => {
    await daemon?.close();
    daemon = undefined;
    for (const s of sockets.splice(0)) s.close();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    if (pinRoot !== undefined) rmSync(pinRoot, { recursive: true, force: true });
  });

  async function start(maxLinesPerWindow: number): Promise<{ lines: Record<string, unknown>[]; socketPath: string }> {
    dir = mkdtempSync(join(tmpdir(), 'syrupd-audit-'));
    pinRoot = join('/sys/fs/bpf', basename(dir));
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const text of chunk.toString('utf8').split('\n')) if (text !== '') lines.push(JSON.parse(text) as Record<string, unknown>);
        done();
      },
    });
    const socketPath = join(dir, 'syrupd.sock');
    daemon = await startSyrupd({
      socketPath,
      pinRoot,
      stateFile: join(dir, 'state.json'),
      stateDir: join(dir, 'deployments'),
      backends: ['@syrup/backend-ebpf'],
      logger: pino({ name: 'syrupd' }, sink),
      auditLimits: { maxLinesPerWindow, windowMs: 60_000 },
    });
    return { lines, socketPath };
  }

  it('logs every request with uid, pid, op, hook, target, outcome and duration, refusals included', async () => {
    const { lines, socketPath } = await start(100);
    const server = createSocket({ type: 'udp4', reusePort: true });
    sockets.push(server);
    await new Promise<void>((done) => server.bind(0, '127.0.0.1', () => done()));
    const port = server.address().port;
    const client = await connect({ socketPath });
    try {
      const deployment = await client.deploy(ROUND_ROBIN, { hook: 'socket-select', port, pid: process.pid, params: { SOCKETS: 1n } });
      await expect(client.deploy(ROUND_ROBIN, { hook: 'no-such-hook' as 'socket-select', port })).rejects.toThrow();
      await deployment.undeploy();
      const audit = lines.filter((l) => l['msg'] === 'request');
      expect(audit.map((l) => [l['op'], l['outcome']])).toEqual([
        ['deploy', 'ok'],
        // The client watches what it deployed.
        ['watch', 'ok'],
        ['deploy', 'NO_BACKEND'],
        ['undeploy', 'ok'],
      ]);
      expect(audit[0]).toMatchObject({ audit: true, uid: 0, pid: process.pid, hook: 'socket-select', target: { port, pid: process.pid } });
      expect(audit[2]).toMatchObject({ uid: 0, pid: process.pid, hook: 'no-such-hook', target: { port } });
      expect(audit[3]).toMatchObject({ uid: 0, pid: process.pid, deployment: deployment.id });
      for (const line of audit) expect(typeof line['durationMs']).toBe('number');
    } finally {
      await client.close();
    }
  });

  it('under a flood logs up to the cap and summarises the rest in one line', async () => {
    const { lines, socketPath } = await start(10);
    // 500 requests pipelined on one raw connection, the answers read as they come.
    const socket = createConnection(socketPath);
    let answers = 0;
    let buffered = '';
    const done = new Promise<void>((resolve, reject) => {
      socket.on('error', reject);
      socket.on('data', (chunk: Buffer) => {
        buffered += chunk.toString('utf8');
        const parts = buffered.split('\n');
        buffered = parts.pop() ?? '';
        answers += parts.length;
        if (answers >= 500) resolve();
      });
    });
    for (let i = 0; i < 500; i++) socket.write(`${JSON.stringify({ v: 1, id: i, op: 'status' })}\n`);
    await done;
    socket.destroy();
    await daemon?.close();
    daemon = undefined;
    expect(lines.filter((l) => l['msg'] === 'request')).toHaveLength(10);
    expect(lines.filter((l) => l['msg'] === 'requests not logged one by one')).toEqual([expect.objectContaining({ level: 40, unlogged: 490, byUid: { '0': 490 }, byOpOutcome: { 'status ok': 490 } })]);
  });
});
