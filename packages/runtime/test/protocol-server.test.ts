import 'reflect-metadata';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { registerHookRegistry } from '@syrup/core';
import { container } from 'tsyringe';
import { describeKernel } from '@syrup/test-support/kernel-gate';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { connect, EventLineSchema, PeerCredentials, ProtocolServer, ProtocolServerOptions, RuntimeService, type PeerIdentity, type SyrupClient } from '../src/index.js';
import { lineConnection } from './support/line-connection.js';
import { memoryBackendModule } from './support/memory-backend.js';
import { REUSEPORT_SERVER } from './support/udp.js';

const here = dirname(fileURLToPath(import.meta.url));
const ROUND_ROBIN = join(here, '../../policies-std/src/round-robin.ts');

describe('the protocol server', () => {
  let dir: string;
  let socketPath: string;
  let server: ProtocolServer;
  let service: RuntimeService;
  // Each connection's identity comes from this fake SO_PEERCRED, so tests can play tenants.
  let nextPeer: PeerIdentity;
  const clients: (SyrupClient | Socket)[] = [];
  const clientsCleanup: (() => unknown)[] = [];

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'syrup-protocol-'));
    socketPath = join(dir, 'syrupd.sock');
    nextPeer = { uid: 0, gid: 0, pid: process.pid };
    const child = container.createChildContainer();
    registerHookRegistry(child);
    memoryBackendModule.register(child);
    child.registerSingleton(RuntimeService);
    child.register(PeerCredentials, { useValue: { of: () => nextPeer } });
    child.register(ProtocolServerOptions, { useValue: { socketPath, maxRequestBytes: 64 * 1024 } });
    service = child.resolve(RuntimeService);
    server = child.resolve(ProtocolServer);
    await server.listen();
  });

  afterEach(async () => {
    for (const step of clientsCleanup.splice(0)) step();
    for (const c of clients.splice(0)) {
      if ('destroy' in c) c.destroy();
      else await c.close();
    }
    await server.close();
    await service.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function raw() {
    const connection = await lineConnection(socketPath);
    clients.push(connection.socket);
    return connection;
  }

  it('refuses malformed JSON, unknown versions, unknown ops and bad fields with one sentence, and keeps serving', async () => {
    const c = await raw();
    c.send('{nope\n');
    expect(await c.next()).toEqual({ v: 1, id: null, ok: false, error: { code: 'PROTOCOL_MALFORMED', message: 'the request is not valid JSON.' } });
    c.send('[1,2]\n');
    expect(await c.next()).toMatchObject({ ok: false, error: { code: 'PROTOCOL_MALFORMED', message: 'the request is not a JSON object.' } });
    c.send('{"v":2,"id":7,"op":"list"}\n');
    expect(await c.next()).toEqual({
      v: 1,
      id: 7,
      ok: false,
      error: { code: 'PROTOCOL_VERSION', message: 'protocol version 2 is not supported; this server speaks version 1.' },
    });
    c.send('{"v":1,"id":"x","op":"format-disk"}\n');
    const unknown = await c.next();
    expect(unknown).toMatchObject({ id: 'x', ok: false, error: { code: 'PROTOCOL_UNKNOWN_OP' } });
    expect((unknown['error'] as { message: string }).message).toMatch(/^unknown op "format-disk"; known ops are deploy, .*status\.$/);
    c.send('{"v":1,"id":8,"op":"map.get","deployment":"d","map":"next","key":-1}\n');
    expect(await c.next()).toMatchObject({ id: 8, ok: false, error: { code: 'PROTOCOL_MALFORMED', message: expect.stringMatching(/^field 'key' is invalid: /) } });
    c.send('{"v":1,"id":9,"op":"status"}\n');
    expect(await c.next()).toMatchObject({ id: 9, ok: true, result: { version: 1, deployments: 0 } });
  });

  it('refuses a request over the size limit, in one write or many, and the next request still parses', async () => {
    const c = await raw();
    const big = JSON.stringify({ v: 1, id: 1, op: 'deploy', hook: 'socket-select', target: {}, policy: { fileName: 'x.ts', text: 'x'.repeat(200 * 1024) } });
    c.send(`${big}\n{"v":1,"id":2,"op":"list"}\n`);
    expect(await c.next()).toEqual({ v: 1, id: null, ok: false, error: { code: 'PROTOCOL_TOO_LARGE', message: 'the request is larger than the limit of 65536 bytes.' } });
    expect(await c.next()).toEqual({ v: 1, id: 2, ok: true, result: [] });
    // Trickled in pieces: refused as soon as the limit is passed, the rest of the line skipped.
    for (let i = 0; i < 10; i++) c.send('y'.repeat(10 * 1024));
    c.send('\n{"v":1,"id":3,"op":"status"}\n');
    expect(await c.next()).toMatchObject({ ok: false, error: { code: 'PROTOCOL_TOO_LARGE' } });
    expect(await c.next()).toMatchObject({ id: 3, ok: true });
  });

  it('pushes a watched deployment\'s events to the owner\'s connection only, as zod-valid event lines, and serves map atomics', async () => {
    const owner = await lineConnection(socketPath);
    clients.push(owner.socket);
    const text = readFileSync(ROUND_ROBIN, 'utf8');
    owner.send(`${JSON.stringify({ v: 1, id: 1, op: 'deploy', hook: 'socket-select', policy: { fileName: 'round-robin.ts', text }, target: { port: 9999, pid: 1234 }, params: { SOCKETS: 3 } })}\n`);
    const deployed = await owner.next();
    const id = (deployed['result'] as { id: string }).id;
    // Another uid may not watch it (as it may not read it); the owner (here root) may.
    nextPeer = { uid: 1000, gid: 1000, pid: 1 };
    const stranger = await lineConnection(socketPath);
    clients.push(stranger.socket);
    stranger.send(`${JSON.stringify({ v: 1, id: 2, op: 'watch', deployment: id })}\n`);
    expect(await stranger.next()).toEqual({ v: 1, id: 2, ok: false, error: { code: 'NOT_OWNER', message: `deployment '${id}' belongs to uid 0, so uid 1000 may not watch it.` } });
    owner.send(`${JSON.stringify({ v: 1, id: 3, op: 'watch', deployment: id })}\n`);
    expect(await owner.next()).toEqual({ v: 1, id: 3, ok: true, result: { watching: id } });
    owner.send(`${JSON.stringify({ v: 1, id: 4, op: 'map.fetchAdd', deployment: id, map: 'next', key: 0, delta: '5' })}\n`);
    expect(await owner.next()).toEqual({ v: 1, id: 4, ok: true, result: { old: '0' } });
    owner.send(`${JSON.stringify({ v: 1, id: 5, op: 'map.compareExchange', deployment: id, map: 'next', key: 0, expected: '5', desired: '6' })}\n`);
    expect(await owner.next()).toEqual({ v: 1, id: 5, ok: true, result: { old: '5' } });
    // A replace and an undeploy made elsewhere (here: the service itself) reach the watcher as event lines.
    await service.replace(id, { fileName: 'round-robin.ts', text }, { uid: 0 }, { SOCKETS: 2 });
    const replaced = await owner.next();
    expect(EventLineSchema.parse(replaced)).toMatchObject({ v: 1, event: 'replaced', deployment: id, info: { id, policy: 'round-robin' } });
    await service.undeploy(id);
    expect(EventLineSchema.parse(await owner.next())).toEqual({ v: 1, event: 'undeployed', deployment: id, reason: 'undeployed' });
    // The stranger heard nothing: its next line is the answer to its next request.
    stranger.send(`${JSON.stringify({ v: 1, id: 6, op: 'list' })}\n`);
    expect(await stranger.next()).toEqual({ v: 1, id: 6, ok: true, result: [] });
  });

  it('serves connect(): deploy by path, list, map get/set/dump, replace, undeploy, with bigint values as decimal strings', async () => {
    const client = await connect({ socketPath });
    clients.push(client);
    const d = await client.deploy(ROUND_ROBIN, { hook: 'socket-select', port: 9999, pid: 1234, params: { SOCKETS: 3 } });
    expect(d.policy).toBe('round-robin');
    expect(await client.deployments()).toEqual([
      {
        id: d.id,
        hook: 'socket-select',
        policy: 'round-robin',
        state: 'active',
        owner: 0,
        maps: ['next'],
        mapSpecs: { next: { kind: 'array', key: 'u32', value: 'u64', maxEntries: 1 } },
        target: { port: 9999, pid: 1234 },
      },
    ]);
    await d.maps['next']?.set(0, 18_446_744_073_709_551_615n);
    expect(await d.maps['next']?.get(0)).toBe(18_446_744_073_709_551_615n);
    expect(await d.maps['next']?.dump()).toEqual([[0, 18_446_744_073_709_551_615n]]);
    await d.replace({ fileName: 'sita.ts', text: readFileSync(join(here, '../../policies-std/src/sita.ts'), 'utf8') });
    expect(d.policy).toBe('sita');
    await expect(d.maps['next']?.get(5)).rejects.toThrow();
    await d.undeploy();
    expect(await client.deployments()).toEqual([]);
    await expect(client.deploy(ROUND_ROBIN, { hook: 'thread', pid: 1 })).rejects.toThrow("no backend provides hook 'thread'");
    await expect(client.deploy('./no-such-policy.ts', { hook: 'socket-select', port: 1 })).rejects.toThrow(/^cannot read policy '.\/no-such-policy.ts': no such file\.$/);
  });

  // Starting a process of another uid needs root.
  describeKernel('between two non-root uids', { needs: ['root'] }, () => {
    it('refuses another non-root uid replace, undeploy and map access, and lets root do them', async () => {
      // The server reads the identity when it accepts; a round trip makes sure it has before the next one.
      const connectAs = async (peer: PeerIdentity): Promise<SyrupClient> => {
        nextPeer = peer;
        const client = await connect({ socketPath });
        clients.push(client);
        await client.status();
        return client;
      };
      const owner = await connectAs({ uid: 1000, gid: 1000, pid: 1 });
      const other = await connectAs({ uid: 1001, gid: 1001, pid: 2 });
      const root = await connectAs({ uid: 0, gid: 0, pid: 3 });

      // A tenant deploys only on a socket group of its own uid: named by pid, or found by port.
      const tenantProcess = spawn('python3', [REUSEPORT_SERVER, '1'], { uid: 1000, gid: 1000, stdio: ['pipe', 'pipe', 'ignore'] });
      clientsCleanup.push(() => tenantProcess.kill());
      const hello = await new Promise<{ port: number; pid: number }>((resolve) => tenantProcess.stdout.once('data', (d: Buffer) => resolve(JSON.parse(d.toString()))));
      await expect(owner.deploy(ROUND_ROBIN, { hook: 'socket-select', port: hello.port, pid: process.pid })).rejects.toThrow(
        `process ${process.pid} belongs to uid 0, so uid 1000 may not deploy on its sockets.`,
      );
      await expect(other.deploy(ROUND_ROBIN, { hook: 'socket-select', port: hello.port })).rejects.toThrow(`port ${hello.port} is bound by uid 1000, not by uid 1001.`);
      await expect(other.deploy(ROUND_ROBIN, { hook: 'socket-select', port: hello.port, pid: hello.pid })).rejects.toThrow(
        `process ${hello.pid} belongs to uid 1000, so uid 1001 may not deploy on its sockets.`,
      );
      const d = await owner.deploy(ROUND_ROBIN, { hook: 'socket-select', port: hello.port });
      // Found by port, the owner process is pinned into the target.
      expect((await owner.deployments()).map((i) => [i.owner, i.target])).toEqual([[1000, { port: hello.port, pid: hello.pid }]]);
      expect(await other.deployments()).toEqual([]);
      await expect(other.deployment(d.id)).rejects.toThrow(`no deployment has id '${d.id}'`);

      // A handle forged from the owner's info still goes through the server's ownership check.
      nextPeer = { uid: 1001, gid: 1001, pid: 2 };
      const rawOther = await raw();
      for (const op of ['undeploy', 'map.get', 'replace']) {
        rawOther.send(`${JSON.stringify({ v: 1, id: op, op, deployment: d.id, map: 'next', key: 0, policy: { fileName: 'rr.ts', text: readFileSync(ROUND_ROBIN, 'utf8') } })}\n`);
        expect(await rawOther.next()).toMatchObject({ ok: false, error: { code: 'NOT_OWNER', message: expect.stringContaining('belongs to uid 1000') } });
      }
      expect((await root.deployments()).map((i) => i.id)).toEqual([d.id]);
      expect(await (await root.deployment(d.id)).maps['next']?.get(0)).toBe(0n);
      await d.undeploy();
    });
  });

  it('refuses extra.sockets over the wire: fd numbers mean nothing in the daemon', async () => {
    const client = await connect({ socketPath });
    clients.push(client);
    await expect(client.deploy(ROUND_ROBIN, { hook: 'socket-select', port: 1, extra: { sockets: [3, 4] } })).rejects.toThrow('extra.sockets works only in embedded mode');
  });
});
