import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Backend, registerHookRegistry, type Artifact, type HookProbe } from '@syrup/core';
import { container } from 'tsyringe';
import { afterEach, describe, expect, it } from 'vitest';
import { connect, PeerCredentials, ProtocolServer, ProtocolServerOptions, RuntimeService, type ClientStage, type SyrupClient } from '../src/index.js';
import { MemoryBackend } from './support/memory-backend.js';

const here = dirname(fileURLToPath(import.meta.url));
const ROUND_ROBIN = join(here, '../../policies-std/src/round-robin.ts');
const SITA = join(here, '../../policies-std/src/sita.ts');

/** The memory backend, plus a listing of what it "compiled", so `disasm` has something to describe. */
class DescribingBackend extends MemoryBackend {
  describe(artifact: Artifact): readonly string[] {
    return [`policy ${artifact.policy.name} at ${artifact.hook}`, `params ${JSON.stringify(artifact.policy.params)}`];
  }
}

describe('over the protocol', () => {
  let dir: string;
  let server: ProtocolServer;
  let service: RuntimeService;
  let client: SyrupClient;

  const start = async (backend: Backend): Promise<void> => {
    dir = mkdtempSync(join(tmpdir(), 'syrup-progress-'));
    const socketPath = join(dir, 'syrupd.sock');
    const child = container.createChildContainer();
    registerHookRegistry(child);
    child.register(Backend, { useValue: backend });
    child.registerSingleton(RuntimeService);
    child.register(PeerCredentials, { useValue: { of: () => ({ uid: 0, gid: 0, pid: process.pid }) } });
    child.register(ProtocolServerOptions, { useValue: { socketPath } });
    service = child.resolve(RuntimeService);
    server = child.resolve(ProtocolServer);
    await server.listen();
    client = await connect({ socketPath });
  };

  afterEach(async () => {
    await client.close();
    await server.close();
    await service.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reports a deploy and a replace stage by stage, in order, the service stages as progress lines', async () => {
    await start(new MemoryBackend());
    const stages: ClientStage[] = [];
    const d = await client.deploy(ROUND_ROBIN, { hook: 'socket-select', port: 9999, pid: 1234, onProgress: (stage) => stages.push(stage) });
    expect(stages).toEqual(['read', 'send', 'compile', 'attach']);
    // The listener is the client's: it is not part of the target the service records.
    expect(d.info().target).toEqual({ port: 9999, pid: 1234 });
    stages.length = 0;
    await d.replace(SITA, { onProgress: (stage) => stages.push(stage) });
    expect(stages).toEqual(['read', 'send', 'compile', 'swap']);
    // Without a listener nothing is asked for, and the answer is the same.
    await d.replace(ROUND_ROBIN);
    expect(d.policy).toBe('round-robin');
  });

  it('answers disasm with the backend description of the compiled policy, deploying nothing', async () => {
    await start(new DescribingBackend());
    expect(await client.disasm(ROUND_ROBIN, { hook: 'socket-select', params: { SOCKETS: 3 } })).toEqual(['policy round-robin at socket-select', 'params {"SOCKETS":3}']);
    expect(await client.deployments()).toEqual([]);
    await expect(client.disasm(ROUND_ROBIN, { hook: 'thread' })).rejects.toThrow("no backend provides hook 'thread'");
  });

  it('lists the code for a hook whose probe says it cannot run here (its device is absent)', async () => {
    class Unavailable extends DescribingBackend {
      override async probe(): Promise<readonly HookProbe[]> {
        return this.hooks.map((h) => ({ hook: h.id, available: false, reason: 'no such device here' }));
      }
    }
    await start(new Unavailable());
    expect(await client.disasm(ROUND_ROBIN, { hook: 'socket-select', params: { SOCKETS: 3 } })).toEqual(['policy round-robin at socket-select', 'params {"SOCKETS":3}']);
    await expect(client.deploy(ROUND_ROBIN, { hook: 'socket-select', port: 9 })).rejects.toThrow(/no such device here/);
  });

  it('refuses disasm with one sentence when the backend cannot describe its code', async () => {
    await start(new MemoryBackend());
    await expect(client.disasm(ROUND_ROBIN, { hook: 'socket-select' })).rejects.toMatchObject({
      code: 'DISASM_UNSUPPORTED',
      message: "backend 'memory' of hook 'socket-select' cannot list the code it generates.",
    });
  });
});
