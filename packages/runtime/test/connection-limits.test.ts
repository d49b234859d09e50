import 'reflect-metadata';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createConnection, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { registerHookRegistry } from '@syrup/core';
import { container } from 'tsyringe';
import { afterEach, describe, expect, it } from 'vitest';
import {
  DEFAULT_CONNECTION_LIMITS,
  PeerCredentials,
  ProtocolServer,
  ProtocolServerOptions,
  RuntimeService,
  connect,
  type ConnectionLimits,
  type ConnectionLoad,
  type PeerIdentity,
} from '../src/index.js';
import { lineConnection, type LineConnection } from './support/line-connection.js';
import { memoryBackendModule } from './support/memory-backend.js';

const here = dirname(fileURLToPath(import.meta.url));
const ROUND_ROBIN_TEXT = readFileSync(join(here, '../../policies-std/src/round-robin.ts'), 'utf8');

function request(id: number, op: string, fields: Record<string, unknown> = {}): string {
  return `${JSON.stringify({ v: 1, id, op, ...fields })}\n`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` until it is true, failing with `what` after `timeoutMs`. */
async function until(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(10);
  }
}

describe('the protocol server connection limits', () => {
  let dir: string | undefined;
  let server: ProtocolServer | undefined;
  let service: RuntimeService | undefined;
  const sockets: Socket[] = [];
  const closers: (() => Promise<void>)[] = [];
  // The fake SO_PEERCRED: the server accepts connections in the order they were made (the listen backlog is a
  // queue), so each connection made after `as(peer)` is identified as that peer; root when none is queued.
  const peers: PeerIdentity[] = [];
  const as = (peer: PeerIdentity): void => {
    peers.push(peer);
  };

  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.destroy();
    for (const close of closers.splice(0)) await close();
    await server?.close();
    await service?.close();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    server = undefined;
    service = undefined;
    dir = undefined;
  });

  async function start(connectionLimits: Partial<ConnectionLimits>): Promise<string> {
    dir = mkdtempSync(join(tmpdir(), 'syrup-connection-limits-'));
    const socketPath = join(dir, 'syrupd.sock');
    peers.length = 0;
    const child = container.createChildContainer();
    registerHookRegistry(child);
    memoryBackendModule.register(child);
    child.registerSingleton(RuntimeService);
    child.register(PeerCredentials, { useValue: { of: () => peers.shift() ?? { uid: 0, gid: 0, pid: process.pid } } });
    child.register(ProtocolServerOptions, { useValue: { socketPath, connectionLimits } });
    service = child.resolve(RuntimeService);
    server = child.resolve(ProtocolServer);
    await server.listen();
    return socketPath;
  }

  /** A connection as `peer`, known to the server as that peer once this resolves (it answered a status request). */
  async function connectionOf(socketPath: string, peer: PeerIdentity): Promise<LineConnection> {
    as(peer);
    const c = await lineConnection(socketPath);
    sockets.push(c.socket);
    c.send(request(0, 'status'));
    expect(await c.next()).toMatchObject({ id: 0, ok: true });
    return c;
  }

  function loadsOf(uid: number): ConnectionLoad[] {
    return (server as ProtocolServer).connectionLoads().filter((l) => l.uid === uid);
  }

  it('default to 64 connections per non-root uid, a 5 minute idle timeout, 16 pipelined requests and 1 MiB of unread answers', () => {
    expect(DEFAULT_CONNECTION_LIMITS).toEqual({ maxConnections: 64, idleTimeoutMs: 300_000, maxPipelinedRequests: 16, maxUnreadReplyBytes: 1 << 20 });
  });

  it('refuse the connection over a uid\'s cap with one line naming the limit and close it, while another uid and root are still served', async () => {
    const socketPath = await start({ maxConnections: 2 });
    const tenant = { uid: 1001, gid: 1001, pid: 1 };
    const first = await connectionOf(socketPath, tenant);
    await connectionOf(socketPath, tenant);
    as(tenant);
    const third = await lineConnection(socketPath);
    sockets.push(third.socket);
    expect(await third.next()).toEqual({
      v: 1,
      id: null,
      ok: false,
      error: { code: 'LIMIT_CONNECTIONS', message: 'uid 1001 already has 2 connections open, the --max-connections limit.' },
    });
    await until('the refused connection is closed', () => third.closed);
    // Another tenant and root are not counted against uid 1001, nor root against any cap.
    const other = await connectionOf(socketPath, { uid: 1002, gid: 1002, pid: 2 });
    other.send(request(1, 'list'));
    expect(await other.next()).toEqual({ v: 1, id: 1, ok: true, result: [] });
    for (let i = 0; i < 3; i++) await connectionOf(socketPath, { uid: 0, gid: 0, pid: 3 });
    expect(loadsOf(1001)).toHaveLength(2);
    // A closed connection frees its place.
    first.socket.destroy();
    await until('the server saw the close', () => loadsOf(1001).length === 1);
    const again = await connectionOf(socketPath, tenant);
    again.send(request(2, 'list'));
    expect(await again.next()).toEqual({ v: 1, id: 2, ok: true, result: [] });
  });

  it('keep serving another uid while one uid floods the server with connections', async () => {
    const socketPath = await start({ maxConnections: 8 });
    const flooder = { uid: 1001, gid: 1001, pid: 1 };
    // Flood connections are never closed by the client: only the server's hang-up ends them.
    const flood: Socket[] = [];
    let ended = 0;
    const open = async (n: number): Promise<void> => {
      const batch = Array.from({ length: n }, () => {
        as(flooder);
        const socket = createConnection(socketPath);
        sockets.push(socket);
        flood.push(socket);
        socket.resume();
        socket.once('close', () => ended++);
        return new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
      });
      await Promise.all(batch);
    };
    await open(400);
    const other = await connectionOf(socketPath, { uid: 1002, gid: 1002, pid: 2 });
    // More flood while the other tenant asks: its connections are made between the other's requests.
    for (let i = 1; i <= 20; i++) {
      const more = open(50);
      other.send(request(i, 'list'));
      expect(await other.next()).toEqual({ v: 1, id: i, ok: true, result: [] });
      await more;
    }
    expect(flood.length).toBe(1400);
    expect(loadsOf(1001)).toHaveLength(8);
    // The refused ones were closed by the server (each client socket saw its end), not left holding a descriptor.
    await until('the server closed every refused connection', () => ended === flood.length - 8);
  });

  it('close a connection idle past the timeout with one line naming the limit, but not one that keeps asking or watches', async () => {
    const socketPath = await start({ idleTimeoutMs: 400 });
    const root = { uid: 0, gid: 0, pid: process.pid };
    const watcher = await connectionOf(socketPath, root);
    watcher.send(request(1, 'deploy', { hook: 'socket-select', policy: { fileName: 'round-robin.ts', text: ROUND_ROBIN_TEXT }, target: { port: 9999, pid: 1234 }, params: { SOCKETS: 3 } }));
    const deployed = await watcher.next();
    const id = (deployed['result'] as { id: string }).id;
    watcher.send(request(2, 'watch', { deployment: id }));
    expect(await watcher.next()).toEqual({ v: 1, id: 2, ok: true, result: { watching: id } });
    const idle = await connectionOf(socketPath, root);
    const busy = await connectionOf(socketPath, root);
    const started = Date.now();
    let asked = 0;
    while (Date.now() - started < 1500) {
      busy.send(request(100 + asked, 'list'));
      expect(await busy.next()).toMatchObject({ id: 100 + asked, ok: true });
      asked++;
      await sleep(100);
    }
    expect(await idle.next(1)).toEqual({
      v: 1,
      id: null,
      ok: false,
      error: { code: 'LIMIT_IDLE', message: 'the connection was idle for 400 ms, the --idle-timeout-ms limit, so the server closed it.' },
    });
    await until('the idle connection is closed', () => idle.closed);
    expect(busy.closed).toBe(false);
    expect(watcher.closed).toBe(false);
    // Once its watch ends (the deployment is gone), the watcher is idle like any other.
    await (service as RuntimeService).undeploy(id);
    expect(await watcher.next()).toMatchObject({ event: 'undeployed', deployment: id });
    expect(await watcher.next(3000)).toMatchObject({ id: null, ok: false, error: { code: 'LIMIT_IDLE' } });
    await until('the former watcher is closed', () => watcher.closed);
  });

  it('tell a connect() client that was closed for idleness why, on its next call', async () => {
    const socketPath = await start({ idleTimeoutMs: 200 });
    const client = await connect({ socketPath });
    closers.push(() => client.close());
    expect(await client.deployments()).toEqual([]);
    await sleep(600);
    await expect(client.deployments()).rejects.toMatchObject({
      code: 'LIMIT_IDLE',
      message: 'the connection was idle for 200 ms, the --idle-timeout-ms limit, so the server closed it.',
    });
  });

  it('stop reading a client that pipelines without reading, keep its buffers under the bounds, then answer every request in order', async () => {
    const limits = { maxPipelinedRequests: 4, maxUnreadReplyBytes: 16 * 1024 };
    const socketPath = await start(limits);
    // One deployment makes each `list` answer about a kilobyte.
    const setup = await connectionOf(socketPath, { uid: 0, gid: 0, pid: process.pid });
    setup.send(request(1, 'deploy', { hook: 'socket-select', policy: { fileName: 'round-robin.ts', text: ROUND_ROBIN_TEXT }, target: { port: 9999, pid: 1234 }, params: { SOCKETS: 3 } }));
    expect(await setup.next()).toMatchObject({ id: 1, ok: true });
    setup.send(request(2, 'list'));
    const answerBytes = JSON.stringify(await setup.next()).length + 1;
    setup.socket.destroy();

    // The flood: no 'data' listener, so nothing is read until the test says so.
    as({ uid: 1001, gid: 1001, pid: 1 });
    const flood = createConnection(socketPath);
    sockets.push(flood);
    await new Promise<void>((resolve, reject) => flood.once('connect', resolve).once('error', reject));
    const count = 20_000;
    const requests = Array.from({ length: count }, (_, i) => request(i + 1, 'list')).join('');
    flood.write(requests);
    let peak = { requestsInFlight: 0, unreadReplyBytes: 0, heldRequestBytes: 0 };
    const sample = (): ConnectionLoad | undefined => {
      const load = loadsOf(1001)[0];
      if (load !== undefined) {
        peak = {
          requestsInFlight: Math.max(peak.requestsInFlight, load.requestsInFlight),
          unreadReplyBytes: Math.max(peak.unreadReplyBytes, load.unreadReplyBytes),
          heldRequestBytes: Math.max(peak.heldRequestBytes, load.heldRequestBytes),
        };
      }
      return load;
    };
    const sampler = setInterval(sample, 2);
    try {
      // Stalled: the server stopped reading and its unread answers reached the bound.
      await until('the server stops reading the flooding connection', () => {
        const load = sample();
        return load !== undefined && !load.reading && load.unreadReplyBytes >= limits.maxUnreadReplyBytes;
      });
      await sleep(300);
      const stalled = sample() as ConnectionLoad;
      expect(stalled.reading).toBe(false);
      // The kernel pushes back: the client's own writes are stuck in its process, the server's buffers are not growing.
      expect(flood.writableLength).toBeGreaterThan(0);
    } finally {
      clearInterval(sampler);
    }
    expect(peak.requestsInFlight).toBeLessThanOrEqual(limits.maxPipelinedRequests);
    // At most one answer past the bound: the one whose write reached it.
    expect(peak.unreadReplyBytes).toBeLessThan(limits.maxUnreadReplyBytes + answerBytes);
    // One read's worth (the socket's read buffer and an unscanned chunk), not the 20,000 requests sent.
    expect(peak.heldRequestBytes).toBeLessThanOrEqual(2 * flood.readableHighWaterMark + 64 * 1024);
    expect(peak.heldRequestBytes).toBeLessThan(requests.length / 2);

    // Reading now: every answer comes, in order.
    const ids: unknown[] = [];
    let buffer = '';
    flood.setEncoding('utf8');
    await new Promise<void>((resolve, reject) => {
      flood.on('data', (chunk: string) => {
        buffer += chunk;
        for (let nl = buffer.indexOf('\n'); nl !== -1; nl = buffer.indexOf('\n')) {
          const answer = JSON.parse(buffer.slice(0, nl)) as { id: unknown; ok: unknown };
          buffer = buffer.slice(nl + 1);
          if (answer.ok !== true) reject(new Error(`answer ${ids.length + 1} is not ok: ${JSON.stringify(answer)}`));
          ids.push(answer.id);
          if (ids.length === count) resolve();
        }
      });
      flood.once('close', () => reject(new Error(`the server closed the connection after ${ids.length} answers`)));
    });
    expect(ids).toEqual(Array.from({ length: count }, (_, i) => i + 1));
  }, 120_000);
});
