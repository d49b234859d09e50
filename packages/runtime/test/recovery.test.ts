import 'reflect-metadata';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Backend,
  registerHookRegistry,
  RestoreError,
  STANDARD_HOOKS,
  type Artifact,
  type AttachRequest,
  type Attachment,
  type CompileRequest,
  type HookProbe,
  type PersistedAttachment,
  type PinDirectory,
  type RestoreRequest,
  type TargetClaim,
  type TargetRequest,
} from '@syrup/core';
import { InMemoryDataMapProvider, type DataMapStore } from '@syrup/maps';
import { container } from 'tsyringe';
import { afterEach, describe, expect, it } from 'vitest';
import { RuntimePersistenceOptions, RuntimeService, type PersistenceLog } from '../src/index.js';

const POLICY = {
  fileName: 'counting.ts',
  text: `import { definePolicy } from '@syrup/core';
export default definePolicy({
  name: 'counting',
  input: 'udp',
  maps: { seen: { kind: 'array', key: 'u32', value: 'u64', maxEntries: 1 } },
  params: { SOCKETS: 2 },
  schedule(_pkt, { seen }, { SOCKETS }) {
    return seen.fetchAdd(0, 1) % SOCKETS;
  },
});
`,
};

/**
 * A backend whose "kernel objects" are files: `persist` writes a pin file holding an object
 * id, `restore` checks it against the record as a real backend checks bpf ids, and reports a
 * gone target by pid. Enough to drive the runtime's recovery algorithm without privileges.
 */
class FilePinBackend implements Backend {
  readonly name = 'file-pins';
  readonly hooks = [STANDARD_HOOKS['socket-select']];
  readonly calls: string[] = [];
  readonly #provider = new InMemoryDataMapProvider();
  #nextId = 1;

  async probe(): Promise<readonly HookProbe[]> {
    return [{ hook: 'socket-select', available: true }];
  }

  /** A deployment holds its port (no `authorize`: only root deploys here, and tenants meet its claims). */
  claims(request: TargetRequest): readonly TargetClaim[] {
    const port = request.target.port;
    return port === undefined ? [] : [{ kind: 'file-port', key: String(port), exclusive: true, taken: `port ${port} is held by {holder}, so {caller} may not take it.` }];
  }

  async compile(request: CompileRequest): Promise<Artifact> {
    return { backend: this.name, hook: request.hook.id, policy: request.policy };
  }

  async attach(request: AttachRequest): Promise<Attachment> {
    return this.#attachment(request.target.pid as number, new Map([['seen', this.#provider.createMap({ kind: 'array', key: 'u32', value: 'u64', maxEntries: 1 }, { name: 'seen' })]]));
  }

  async restore(request: RestoreRequest): Promise<Attachment> {
    this.calls.push(`restore ${request.record.pid}`);
    const pid = request.record.pid as number;
    if (request.process === undefined || !existsSync(`/proc/${pid}`)) throw new RestoreError('RESTORE_TARGET_GONE', `process ${pid} has exited.`);
    const object = request.record.objects[0]!;
    const found = Number(readFileSync(join(request.dir.path, object.pin), 'utf8'));
    if (found !== object.id) throw new RestoreError('RESTORE_UNTRUSTED', `the program pinned at '${object.pin}' has id ${found}, but the state file recorded ${object.id}, so it is not trusted.`);
    return this.#attachment(pid, new Map([['seen', this.#provider.createMap({ kind: 'array', key: 'u32', value: 'u64', maxEntries: 1 }, { name: 'seen' })]]), request.dir.path);
  }

  #attachment(pid: number, maps: Map<string, DataMapStore>, restoredFrom?: string): Attachment {
    let pinDir = restoredFrom;
    let id = this.#nextId++;
    return {
      hook: 'socket-select',
      maps,
      replace: async () => {
        id = this.#nextId++;
      },
      persist: (dir: PinDirectory): PersistedAttachment => {
        pinDir = dir.path;
        writeFileSync(join(dir.path, 'prog'), String(id));
        return { backend: this.name, hook: 'socket-select', pid, objects: [{ pin: 'prog', kind: 'prog', role: 'program', id, tag: '0123456789abcdef' }], data: {} };
      },
      release: async () => {
        this.calls.push(`release ${id}`);
      },
      close: async () => {
        this.calls.push(`close ${id}`);
        if (pinDir !== undefined) rmSync(join(pinDir, 'prog'), { force: true });
      },
      [Symbol.asyncDispose]: async () => undefined,
    };
  }
}

describe('RuntimeService persistence and recovery (file pins, no kernel)', () => {
  const cleanup: (() => unknown)[] = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  function setUp(): { dir: string; options: RuntimePersistenceOptions; lines: [string, string, Readonly<Record<string, unknown>>][] } {
    const dir = mkdtempSync(join(tmpdir(), 'syrup-recovery-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const lines: [string, string, Readonly<Record<string, unknown>>][] = [];
    const log: PersistenceLog = (level, message, fields) => lines.push([level, message, fields]);
    return { dir, lines, options: { pinRoot: join(dir, 'pins'), stateFile: join(dir, 'state.json'), log } };
  }

  function service(backend: FilePinBackend, options?: RuntimePersistenceOptions): RuntimeService {
    const child = container.createChildContainer();
    registerHookRegistry(child);
    child.register(Backend, { useValue: backend });
    if (options !== undefined) child.register(RuntimePersistenceOptions, { useValue: options });
    child.registerSingleton(RuntimeService);
    const s = child.resolve(RuntimeService);
    cleanup.push(() => s.close());
    return s;
  }

  function target(): ChildProcess {
    const child = spawn('sleep', ['60'], { stdio: 'ignore' });
    cleanup.push(() => child.kill('SIGKILL'));
    return child;
  }

  async function exit(child: ChildProcess): Promise<void> {
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
  }

  it('records a deploy, releases it on close, restores it under the same id, then replaces and undeploys it', async () => {
    const { options } = setUp();
    const backend = new FilePinBackend();
    const app = target();
    const first = service(backend, options);
    expect(await first.recover()).toEqual({ restored: [], dropped: [] });
    const d = await first.deploy(POLICY, { hook: 'socket-select', port: 9999, pid: app.pid as number, params: { SOCKETS: 2 } });
    const state = JSON.parse(readFileSync(options.stateFile, 'utf8'));
    expect(state.deployments).toMatchObject([
      { id: d.id, hook: 'socket-select', owner: { uid: 0, gid: 0 }, process: { pid: app.pid, startTime: expect.stringMatching(/^\d+$/) }, policy: { name: 'counting', source: POLICY, params: { SOCKETS: 2 } } },
    ]);
    expect(readFileSync(join(options.pinRoot, d.id, 'prog'), 'utf8')).toBe('1');

    await first.close();
    // Kept: released, never closed, pins and record in place.
    expect(backend.calls).toEqual(['release 1']);
    expect(existsSync(join(options.pinRoot, d.id, 'prog'))).toBe(true);

    const second = service(backend, options);
    expect(await second.recover()).toEqual({ restored: [d.id], dropped: [] });
    expect((await second.deployments()).map(({ id, policy, owner, state: s, maps }) => ({ id, policy, owner, state: s, maps }))).toEqual([
      { id: d.id, policy: 'counting', owner: 0, state: 'active', maps: ['seen'] },
    ]);
    await second.replace(d.id, POLICY, undefined, { SOCKETS: 3 });
    const replaced = JSON.parse(readFileSync(options.stateFile, 'utf8'));
    expect(replaced.deployments[0].policy.params).toEqual({ SOCKETS: 3 });
    expect(Number(readFileSync(join(options.pinRoot, d.id, 'prog'), 'utf8'))).toBe(replaced.deployments[0].attachment.objects[0].id);

    await second.undeploy(d.id);
    expect(backend.calls.at(-1)).toMatch(/^close /);
    expect(existsSync(join(options.pinRoot, d.id))).toBe(false);
    expect(JSON.parse(readFileSync(options.stateFile, 'utf8'))).toEqual({ version: 1, deployments: [] });
  });

  it("a restored deployment holds its target's claims again: another tenant is refused as taken, not as unknown", async () => {
    const { options } = setUp();
    const backend = new FilePinBackend();
    const app = target();
    const first = service(backend, options);
    await first.recover();
    await first.deploy(POLICY, { hook: 'socket-select', port: 9999, pid: app.pid as number });
    const tenant = { uid: 1001, gid: 1001 };
    await expect(first.deploy(POLICY, { hook: 'socket-select', port: 9999, pid: app.pid as number }, tenant)).rejects.toMatchObject({ code: 'TARGET_TAKEN' });
    await first.close();

    const second = service(backend, options);
    expect((await second.recover()).restored).toHaveLength(1);
    await expect(second.deploy(POLICY, { hook: 'socket-select', port: 9999, pid: app.pid as number }, tenant)).rejects.toMatchObject({
      code: 'TARGET_TAKEN',
      message: 'port 9999 is held by uid 0, so uid 1001 may not take it.',
    });
    // Another port is free of claims, and this backend proves nothing for tenants.
    await expect(second.deploy(POLICY, { hook: 'socket-select', port: 9998, pid: app.pid as number }, tenant)).rejects.toMatchObject({ code: 'TARGET_UNKNOWN' });
  });

  it('drops a deployment whose target exited while stopped and removes its pins', async () => {
    const { options, lines } = setUp();
    const backend = new FilePinBackend();
    const app = target();
    const first = service(backend, options);
    await first.recover();
    const d = await first.deploy(POLICY, { hook: 'socket-select', port: 9999, pid: app.pid as number });
    await first.close();
    await exit(app);

    const second = service(backend, options);
    const report = await second.recover();
    expect(report.restored).toEqual([]);
    expect(report.dropped).toEqual([{ id: d.id, code: 'RESTORE_TARGET_GONE', reason: `process ${app.pid} exited while the daemon was down.`, pinsRemoved: true }]);
    // Decided by the recorded start time, before the backend is asked.
    expect(backend.calls.filter((c) => c.startsWith('restore'))).toEqual([]);
    expect(existsSync(join(options.pinRoot, d.id))).toBe(false);
    expect(await second.deployments()).toEqual([]);
    expect(lines).toContainEqual(['info', 'deployment dropped: its target exited', expect.objectContaining({ deployment: d.id })]);
  });

  it('drops a deployment whose pinned object is not the recorded one, logs it, and leaves its pins alone', async () => {
    const { options, lines } = setUp();
    const backend = new FilePinBackend();
    const app = target();
    const first = service(backend, options);
    await first.recover();
    const d = await first.deploy(POLICY, { hook: 'socket-select', port: 9999, pid: app.pid as number });
    await first.close();
    writeFileSync(join(options.pinRoot, d.id, 'prog'), '999');

    const second = service(backend, options);
    const report = await second.recover();
    expect(report.dropped).toMatchObject([{ id: d.id, code: 'RESTORE_UNTRUSTED', pinsRemoved: false }]);
    expect(readFileSync(join(options.pinRoot, d.id, 'prog'), 'utf8')).toBe('999');
    expect(lines).toContainEqual(['warn', 'deployment dropped: not restored, pins left alone', expect.objectContaining({ deployment: d.id, code: 'RESTORE_UNTRUSTED' })]);
    expect(JSON.parse(readFileSync(options.stateFile, 'utf8')).deployments).toEqual([]);
  });

  it('without persistence options records nothing and close() undeploys, as embedded() always did', async () => {
    const backend = new FilePinBackend();
    const app = target();
    const s = service(backend);
    expect(await s.recover()).toEqual({ restored: [], dropped: [] });
    await s.deploy(POLICY, { hook: 'socket-select', port: 9999, pid: app.pid as number });
    await s.close();
    expect(backend.calls).toEqual(['close 1']);
  });
});
