import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { registerHookRegistry, STANDARD_HOOKS } from '@syrup/core';
import { container } from 'tsyringe';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { connect, DaemonBackends, PeerCredentials, ProtocolServer, ProtocolServerOptions, RuntimeService, StatusSchema, type SyrupClient } from '../src/index.js';
import { memoryBackendModule } from './support/memory-backend.js';

describe("the protocol server with the daemon's account of its backends", () => {
  let dir: string;
  let server: ProtocolServer;
  let service: RuntimeService;
  let client: SyrupClient | undefined;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'syrup-daemon-backends-'));
    const child = container.createChildContainer();
    registerHookRegistry(child);
    memoryBackendModule.register(child);
    child.registerSingleton(RuntimeService);
    child.register(PeerCredentials, { useValue: { of: () => ({ uid: 0, gid: 0, pid: process.pid }) } });
    child.register(ProtocolServerOptions, { useValue: { socketPath: join(dir, 'syrupd.sock') } });
    const account: DaemonBackends = {
      packages: [
        { package: '@acme/backend-memory', state: 'loaded', path: '/opt/acme', backends: ['memory'] },
        { package: '@acme/backend-broken', state: 'failed', reason: 'importing it threw: boom.' },
      ],
      unprovidedHooks: [{ hook: STANDARD_HOOKS.thread, backend: '@acme/backend-threads', available: false, reason: "it would come from '@acme/backend-threads', which is not installed." }],
    };
    child.register(DaemonBackends, { useValue: account });
    service = child.resolve(RuntimeService);
    server = child.resolve(ProtocolServer);
    await server.listen();
  });

  afterEach(async () => {
    await client?.close();
    client = undefined;
    await server.close();
    await service.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("answers status with every package's outcome and hooks with the unprovided ones, each with its layer and target fields", async () => {
    client = await connect({ socketPath: join(dir, 'syrupd.sock') });
    const status = await client.status();
    expect(status.backends).toEqual([
      { package: '@acme/backend-memory', state: 'loaded', path: '/opt/acme', backends: ['memory'] },
      { package: '@acme/backend-broken', state: 'failed', reason: 'importing it threw: boom.' },
    ]);
    const hooks = await client.hooks();
    expect(hooks).toEqual([
      { hook: 'socket-select', layer: 'kernel socket layer', backend: 'memory', available: true, targetFields: ['port', 'protocol', 'pid', 'address'] },
      { hook: 'thread', layer: 'thread scheduler', backend: '@acme/backend-threads', available: false, reason: "it would come from '@acme/backend-threads', which is not installed.", targetFields: ['pid'] },
    ]);
  });

  it("still parses a status reply of a daemon that sends no backends (protocol version 1's first shape)", () => {
    expect(StatusSchema.parse({ version: 1, pid: 1, uptimeMs: 5, deployments: 0 })).toEqual({ version: 1, pid: 1, uptimeMs: 5, deployments: 0 });
  });
});
