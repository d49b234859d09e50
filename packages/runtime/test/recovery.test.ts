import 'reflect-metadata';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import {
  Backend,
  registerHookRegistry,
  type AbandonRequest,
  RestoreError,
  STANDARD_HOOKS,
  type Artifact,
  type AttachRequest,
  type Attachment,
  type CompileRequest,
  type HookProbe,
  type PersistedAttachment,
  type PersistenceLocation,
  type RestoreRequest,
  type TargetClaim,
  type TargetRequest,
} from '@syrup/core';
import { InMemoryDataMapProvider, type DataMapStore } from '@syrup/maps';
import { container } from 'tsyringe';
import { afterEach, describe, expect, it } from 'vitest';
import { PolicyCompiler, RuntimeLimits, RuntimePersistenceOptions, RuntimeService, type PersistenceLog } from '../src/index.js';
import { frontEndRuns } from './support/front-end-runs.js';
import { slowPolicyText } from './support/slow-policy.js';

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
 * A backend whose "kernel objects" are files in the deployment's state directory (no bpffs):
 * `persist` writes a file holding an object id and records it generically (its own kind, its
 * own identity), `restore` checks it against the record as a real backend checks bpf ids, and
 * reports a gone target by pid. Enough to drive the runtime's recovery algorithm without privileges.
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

  /** Records what recovery asks to roll back: the deployment (by its directory) and the target. */
  async abandon(request: AbandonRequest): Promise<void> {
    this.calls.push(`abandon ${basename(request.location.stateDir)} port ${request.target.port}${request.record === undefined ? '' : ' with record'}`);
  }

  async restore(request: RestoreRequest): Promise<Attachment> {
    this.calls.push(`restore ${request.record.pid}`);
    const pid = request.record.pid as number;
    if (request.process === undefined || !existsSync(`/proc/${pid}`)) throw new RestoreError('RESTORE_TARGET_GONE', `process ${pid} has exited.`);
    const object = request.record.objects[0]!;
    const { file, id } = object.identity as { file: string; id: number };
    const found = Number(readFileSync(join(request.location.stateDir, file), 'utf8'));
    if (found !== id) throw new RestoreError('RESTORE_UNTRUSTED', `the program kept in '${file}' has id ${found}, but the state file recorded ${id}, so it is not trusted.`);
    return this.#attachment(pid, new Map([['seen', this.#provider.createMap({ kind: 'array', key: 'u32', value: 'u64', maxEntries: 1 }, { name: 'seen' })]]), request.location.stateDir);
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
      persist: (location: PersistenceLocation): PersistedAttachment => {
        pinDir = location.stateDir;
        writeFileSync(join(location.stateDir, 'prog'), String(id));
        return { backend: this.name, hook: 'socket-select', pid, objects: [{ kind: 'program-file', role: 'program', identity: { file: 'prog', id } }], data: {} };
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
    return { dir, lines, options: { stateRoot: join(dir, 'deployments'), stateFile: join(dir, 'state.json'), log } };
  }

  function service(backend: FilePinBackend, options?: RuntimePersistenceOptions, extra: { compiler?: PolicyCompiler; limits?: RuntimeLimits } = {}): RuntimeService {
    const child = container.createChildContainer();
    registerHookRegistry(child);
    child.register(Backend, { useValue: backend });
    if (options !== undefined) child.register(RuntimePersistenceOptions, { useValue: options });
    if (extra.compiler !== undefined) child.register(PolicyCompiler, { useValue: extra.compiler });
    if (extra.limits !== undefined) child.register(RuntimeLimits, { useValue: extra.limits });
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
    expect(readFileSync(join(options.stateRoot, d.id, 'prog'), 'utf8')).toBe('1');
    // The state directory is root's and traversable (0755): the backend decides what in it the tenant may read.
    expect(statSync(join(options.stateRoot, d.id))).toMatchObject({ uid: process.getuid!(), mode: 0o40755 });

    await first.close();
    // Kept: released, never closed, pins and record in place.
    expect(backend.calls).toEqual(['release 1']);
    expect(existsSync(join(options.stateRoot, d.id, 'prog'))).toBe(true);

    const second = service(backend, options);
    expect(await second.recover()).toEqual({ restored: [d.id], dropped: [] });
    expect((await second.deployments()).map(({ id, policy, owner, state: s, maps }) => ({ id, policy, owner, state: s, maps }))).toEqual([
      { id: d.id, policy: 'counting', owner: 0, state: 'active', maps: ['seen'] },
    ]);
    await second.replace(d.id, POLICY, undefined, { SOCKETS: 3 });
    const replaced = JSON.parse(readFileSync(options.stateFile, 'utf8'));
    expect(replaced.deployments[0].policy.params).toEqual({ SOCKETS: 3 });
    expect(Number(readFileSync(join(options.stateRoot, d.id, 'prog'), 'utf8'))).toBe(replaced.deployments[0].attachment.objects[0].identity.id);

    await second.undeploy(d.id);
    expect(backend.calls.at(-1)).toMatch(/^close /);
    expect(existsSync(join(options.stateRoot, d.id))).toBe(false);
    expect(JSON.parse(readFileSync(options.stateFile, 'utf8'))).toEqual({ version: 2, deployments: [] });
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
    expect(existsSync(join(options.stateRoot, d.id))).toBe(false);
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
    writeFileSync(join(options.stateRoot, d.id, 'prog'), '999');

    const second = service(backend, options);
    const report = await second.recover();
    expect(report.dropped).toMatchObject([{ id: d.id, code: 'RESTORE_UNTRUSTED', pinsRemoved: false }]);
    expect(readFileSync(join(options.stateRoot, d.id, 'prog'), 'utf8')).toBe('999');
    expect(lines).toContainEqual(['warn', 'deployment dropped: not restored, pins left alone', expect.objectContaining({ deployment: d.id, code: 'RESTORE_UNTRUSTED' })]);
    expect(JSON.parse(readFileSync(options.stateFile, 'utf8')).deployments).toEqual([]);
  });

  it('records the IR and restores from it without running the front end; a state file of the format before it restores by compiling once in the worker', async () => {
    const { options } = setUp();
    const backend = new FilePinBackend();
    const app = target();
    using runs = frontEndRuns();
    const first = service(backend, options, { compiler: runs.compiler() });
    await first.recover();
    const d = await first.deploy(POLICY, { hook: 'socket-select', port: 9999, pid: app.pid as number, params: { SOCKETS: 3 } });
    expect(runs.worker()).toEqual(['counting.ts']);
    const written = JSON.parse(readFileSync(options.stateFile, 'utf8'));
    const ir = written.deployments[0].policy.ir;
    // JSON-safe: the immediate 3 of `% SOCKETS` is a decimal string, the params a number as deployed.
    expect(ir).toMatchObject({ version: 1, fileName: 'counting.ts', manifest: { name: 'counting', input: 'udp', params: { SOCKETS: 3 } } });
    expect(JSON.stringify(ir.insns)).toContain('"3"');
    await first.close();

    // Recovery takes the recorded IR: no front end anywhere.
    const second = service(backend, options, { compiler: runs.compiler() });
    expect(await second.recover()).toEqual({ restored: [d.id], dropped: [] });
    expect((await second.deployments()).map((i) => [i.id, i.policy, i.maps])).toEqual([[d.id, 'counting', ['seen']]]);
    expect(runs.worker()).toEqual(['counting.ts']);
    await second.close();

    // The state file of a daemon before the IR was recorded: the same record, without `policy.ir`.
    const old = JSON.parse(readFileSync(options.stateFile, 'utf8'));
    delete old.deployments[0].policy.ir;
    expect(Object.keys(old.deployments[0].policy).sort()).toEqual(['name', 'params', 'source']);
    writeFileSync(options.stateFile, JSON.stringify(old, null, 2));
    const third = service(backend, options, { compiler: runs.compiler() });
    expect(await third.recover()).toEqual({ restored: [d.id], dropped: [] });
    expect((await third.deployments()).map((i) => [i.id, i.policy, i.maps])).toEqual([[d.id, 'counting', ['seen']]]);
    // Compiled once, in the compile worker, with the recorded params; then recorded with its IR.
    expect(runs.worker()).toEqual(['counting.ts', 'counting.ts']);
    expect(JSON.parse(readFileSync(options.stateFile, 'utf8')).deployments[0].policy.ir).toEqual(ir);
    expect(runs.mainThread()).toEqual([]);
  });

  it("compiles an IR-less record within its owner's compile-time limit, and drops it with the limit's sentence, pins untouched, when it overruns", async () => {
    const { options, lines } = setUp();
    const backend = new FilePinBackend();
    const app = target();
    const first = service(backend, options);
    await first.recover();
    const slow = { fileName: 'slow.ts', text: slowPolicyText() };
    const d = await first.deploy(slow, { hook: 'socket-select', port: 9999, pid: app.pid as number });
    await first.close();
    const old = JSON.parse(readFileSync(options.stateFile, 'utf8'));
    delete old.deployments[0].policy.ir;
    writeFileSync(options.stateFile, JSON.stringify(old));

    using runs = frontEndRuns();
    const second = service(backend, options, { compiler: runs.compiler(), limits: { tenants: { 0: { compileTimeoutMs: 5 } } } });
    const report = await second.recover();
    expect(report).toEqual({ restored: [], dropped: [{ id: d.id, code: 'LIMIT_COMPILE_TIME', reason: 'compiling took longer than the 5 ms limit.', pinsRemoved: false }] });
    // Refused before the backend was asked: its kernel objects (here, files) are as they were.
    expect(backend.calls.filter((c) => c.startsWith('restore'))).toEqual([]);
    expect(existsSync(join(options.stateRoot, d.id, 'prog'))).toBe(true);
    // The compile went to the worker, never this thread. Whether the worker got as far as starting
    // the front end before it was terminated depends on the machine's load (5 ms is short), so
    // its log holds this one compile or nothing; recording the IR is what restores without it.
    expect([[], ['slow.ts']]).toContainEqual(runs.worker());
    expect(runs.mainThread()).toEqual([]);
    expect(lines).toContainEqual(['error', 'deployment dropped: not restored, pins left alone', expect.objectContaining({ deployment: d.id, code: 'LIMIT_COMPILE_TIME' })]);
  });

  it('rolls back a deploy a crashed daemon left unfinished through the backend, removes directories of earlier daemons named as deployment ids, and leaves other names alone', async () => {
    const { options, lines } = setUp();
    const backend = new FilePinBackend();
    const crashed = randomUUID();
    const orphan = randomUUID();
    for (const name of [crashed, orphan, 'not-ours']) mkdirSync(join(options.stateRoot, name), { recursive: true });
    writeFileSync(join(options.stateRoot, crashed, 'prog'), '7');
    const intent = { op: 'deploy', id: crashed, hook: 'socket-select', owner: { uid: 0, gid: 0 }, target: { port: 4242 } };
    writeFileSync(options.stateFile, JSON.stringify({ version: 2, deployments: [], intents: [intent] }));

    const report = await service(backend, options).recover();
    expect(report).toEqual({ restored: [], dropped: [], intents: [{ id: crashed, op: 'deploy', outcome: 'rolled-back' }] });
    expect(backend.calls).toEqual([`abandon ${crashed} port 4242`]);
    expect(existsSync(join(options.stateRoot, crashed))).toBe(false);
    expect(existsSync(join(options.stateRoot, orphan))).toBe(false);
    expect(existsSync(join(options.stateRoot, 'not-ours'))).toBe(true);
    expect(JSON.parse(readFileSync(options.stateFile, 'utf8'))).toEqual({ version: 2, deployments: [] });
    expect(lines.map(([level, message, fields]) => [level, message, fields['path'] ?? fields['deployment']])).toEqual([
      ['info', 'unfinished deploy rolled back', crashed],
      ['warn', 'state directory of an earlier daemon that no record names removed', join(options.stateRoot, orphan)],
      ['warn', 'state directory not in the state file left alone', join(options.stateRoot, 'not-ours')],
    ]);
  });

  it('finishes an undeploy a crashed daemon left unfinished, and rolls an unfinished replace back to the recorded policy', async () => {
    const { options } = setUp();
    const backend = new FilePinBackend();
    const app = target();
    const first = service(backend, options);
    const kept = await first.deploy(POLICY, { hook: 'socket-select', port: 4243, pid: app.pid as number });
    const gone = await first.deploy(POLICY, { hook: 'socket-select', port: 4244, pid: app.pid as number });
    await first.close();
    // What a daemon killed in the middle of a replace of one and an undeploy of the other leaves.
    const state = JSON.parse(readFileSync(options.stateFile, 'utf8')) as { deployments: unknown[] };
    const intentOf = (op: string, id: string, port: number) => ({ op, id, hook: 'socket-select', owner: { uid: 0, gid: 0 }, target: { port, pid: app.pid } });
    writeFileSync(options.stateFile, JSON.stringify({ ...state, intents: [intentOf('replace', kept.id, 4243), intentOf('undeploy', gone.id, 4244)] }));

    const second = service(backend, options);
    const report = await second.recover();
    expect(report.restored).toEqual([kept.id]);
    expect(report.intents).toEqual([
      { id: kept.id, op: 'replace', outcome: 'restored' },
      { id: gone.id, op: 'undeploy', outcome: 'completed' },
    ]);
    expect((await second.deployments()).map((d) => d.id)).toEqual([kept.id]);
    expect(existsSync(join(options.stateRoot, gone.id))).toBe(false);
    const after = JSON.parse(readFileSync(options.stateFile, 'utf8')) as { deployments: { id: string }[]; intents?: unknown };
    expect(after.deployments.map((d) => d.id)).toEqual([kept.id]);
    expect(after.intents).toBeUndefined();
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
