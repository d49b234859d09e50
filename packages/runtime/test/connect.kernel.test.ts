import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ebpfBackendModule } from '@syrup/backend-ebpf';
import { registerHookRegistry } from '@syrup/core';
import { container } from 'tsyringe';
import { afterEach, expect, it } from 'vitest';
import { connect, PeerCredentials, ProtocolServer, ProtocolServerOptions, RuntimeService } from '../src/index.js';
import { describeKernel } from '@syrup/test-support/kernel-gate';
import { pythonServer, send, type PythonServer } from './support/udp.js';

const SOCKETS = 4;

describeKernel('connect() to a ProtocolServer with the eBPF backend', { needs: ['bpf'] }, () => {
  const cleanup: (() => unknown)[] = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  it('deploys round-robin by port and pid onto a Python server, lists it, reads its map, undeploys', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'syrup-connect-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const socketPath = join(dir, 'syrupd.sock');
    const child = container.createChildContainer();
    registerHookRegistry(child);
    ebpfBackendModule.register(child);
    child.registerSingleton(RuntimeService);
    // Root, as the test process is; syrupd's own suite checks real SO_PEERCRED.
    child.register(PeerCredentials, { useValue: { of: () => ({ uid: 0, gid: 0, pid: process.pid }) } });
    child.register(ProtocolServerOptions, { useValue: { socketPath } });
    const service = child.resolve(RuntimeService);
    const server = child.resolve(ProtocolServer);
    await server.listen();
    cleanup.push(() => service.close(), () => server.close());

    const python: PythonServer = await pythonServer(SOCKETS);
    cleanup.push(() => python.kill());
    const client = await connect({ socketPath, cwd: join(import.meta.dirname, '..') });
    cleanup.push(() => client.close());

    const d = await client.deploy('@syrup/policies-std/round-robin', { hook: 'socket-select', port: python.port, pid: python.pid, params: { SOCKETS } });
    expect(await client.deployments()).toEqual([
      {
        id: d.id,
        hook: 'socket-select',
        policy: 'round-robin',
        state: 'active',
        owner: 0,
        maps: ['next'],
        mapSpecs: { next: { kind: 'array', key: 'u32', value: 'u64', maxEntries: 1 } },
        target: { port: python.port, pid: python.pid },
      },
    ]);
    await send(python.port, 400);
    let received: number[][] = [];
    const deadline = Date.now() + 3000;
    while (Date.now() < deadline) {
      received = ((await python.ask('report')) as { received: number[][] }).received;
      if (received.flat().length === 400) break;
    }
    expect(received.map((r) => r.length)).toEqual([100, 100, 100, 100]);
    expect(await d.maps['next']?.get(0)).toBe(400n);

    await d.undeploy();
    expect(await client.deployments()).toEqual([]);
    await expect(service.deployments()).resolves.toEqual([]);
  });
});
