import 'reflect-metadata';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { getPriority, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Backend, registerHookRegistry, type Artifact, type CompiledPolicy, type PolicySource } from '@syrup/core';
import { container } from 'tsyringe';
import { describeKernel } from '@syrup/test-support/kernel-gate';
import { afterEach, describe, expect, it } from 'vitest';
import { BACKLOG_NICE_STEPS, LimitError, PeerCredentials, RuntimeLimits, PolicyCompiler, ProtocolServer, ProtocolServerOptions, RuntimeService, type PeerIdentity } from '../src/index.js';
import { gatedCompiles, type GatedCompiles } from './support/gated-compiles.js';
import { lineConnection, type LineConnection } from './support/line-connection.js';
import { MemoryBackend } from './support/memory-backend.js';

const here = dirname(fileURLToPath(import.meta.url));
const ROUND_ROBIN_TEXT = readFileSync(join(here, '../../policies-std/src/round-robin.ts'), 'utf8');
/** Generous: a gated compile waits for the test, and only a hung test should ever see this limit. */
const TIMEOUT_MS = 60_000;
// Tenant uids no process here runs as (the tests run as root or as an ordinary user, whose uid is often 1000 or 1001):
// B's deploys on this test process's port are refused as not B's.
const A = 3_000_000_001;
const B = 3_000_000_002;

/** Round robin's text under its own file name: the name is how the gated worker tells compiles apart. */
function policy(fileName: string): PolicySource {
  return { fileName, text: ROUND_ROBIN_TEXT };
}

/** Settles a compile into what the test asserts: the policy's name, or the refusal's code. */
function outcome(compile: Promise<CompiledPolicy>): Promise<{ compiled: string } | { refused: string }> {
  return compile.then(
    (compiled) => ({ compiled: compiled.manifest.name }),
    (error: unknown) => ({ refused: (error as { code?: string }).code ?? String(error) }),
  );
}

describe('the policy compiler under several tenants (issue #15)', () => {
  let gate: GatedCompiles | undefined;
  let compiler: PolicyCompiler | undefined;
  afterEach(async () => {
    await compiler?.close();
    gate?.[Symbol.dispose]();
    compiler = undefined;
    gate = undefined;
  });

  const start = (workers?: number): { gate: GatedCompiles; compiler: PolicyCompiler } => {
    gate = gatedCompiles();
    compiler = gate.compiler(workers);
    return { gate, compiler };
  };

  it("starts A's compile on the second worker while B's runs, and never gives B two workers", async () => {
    const { gate, compiler } = start(2);
    const b = ['b1.ts', 'b2.ts'].map((name) => outcome(compiler.compile(policy(name), undefined, { uid: B, timeoutMs: TIMEOUT_MS, maxQueued: 16 })));
    expect(await gate.nextStart()).toBe('b1.ts');
    const a = outcome(compiler.compile(policy('a1.ts'), undefined, { uid: A, timeoutMs: TIMEOUT_MS, maxQueued: 16 }));
    // b1 is still held: A did not wait for it.
    expect(await gate.nextStart()).toBe('a1.ts');
    gate.release('a1.ts');
    expect(await a).toEqual({ compiled: 'round-robin' });
    // A's worker is free again and b2 waits, yet b2 does not start: B runs one compile at a time.
    const early = await gate.nextStart(500).then(
      (name) => name,
      () => 'none',
    );
    expect(early).toBe('none');
    gate.release('b1.ts');
    expect(await gate.nextStart()).toBe('b2.ts');
    gate.release('b2.ts');
    expect(await Promise.all(b)).toEqual([{ compiled: 'round-robin' }, { compiled: 'round-robin' }]);
    expect(gate.started()).toEqual(['b1.ts', 'a1.ts', 'b2.ts']);
  });

  it("with one worker, serves uids round robin: A's one compile starts before B's second, though B queued first", async () => {
    const { gate, compiler } = start(1);
    const b = ['b1.ts', 'b2.ts', 'b3.ts'].map((name) => outcome(compiler.compile(policy(name), undefined, { uid: B, timeoutMs: TIMEOUT_MS, maxQueued: 16 })));
    expect(await gate.nextStart()).toBe('b1.ts');
    const a = outcome(compiler.compile(policy('a1.ts'), undefined, { uid: A, timeoutMs: TIMEOUT_MS, maxQueued: 16 }));
    gate.release('b1.ts');
    expect(await gate.nextStart()).toBe('a1.ts');
    gate.release('a1.ts');
    expect(await gate.nextStart()).toBe('b2.ts');
    gate.release('b2.ts');
    expect(await gate.nextStart()).toBe('b3.ts');
    gate.release('b3.ts');
    // Each compile's answer is its own, real one.
    expect(await Promise.all([a, ...b])).toEqual(Array.from({ length: 4 }, () => ({ compiled: 'round-robin' })));
    expect(gate.started()).toEqual(['b1.ts', 'a1.ts', 'b2.ts', 'b3.ts']);
  });

  it("withdraws B's compiles when B's signal aborts: the running one's worker is stopped, the queued ones never start", async () => {
    const { gate, compiler } = start();
    const gone = new AbortController();
    const b = ['b1.ts', 'b2.ts', 'b3.ts'].map((name) => outcome(compiler.compile(policy(name), undefined, { uid: B, timeoutMs: TIMEOUT_MS, signal: gone.signal })));
    expect(await gate.nextStart()).toBe('b1.ts');
    const a = outcome(compiler.compile(policy('a1.ts'), undefined, { uid: A, timeoutMs: TIMEOUT_MS }));
    // b1 is held in the worker: only terminating the worker ends it.
    gone.abort();
    expect(await Promise.all(b)).toEqual([{ refused: 'REQUEST_CANCELLED' }, { refused: 'REQUEST_CANCELLED' }, { refused: 'REQUEST_CANCELLED' }]);
    expect(await gate.nextStart()).toBe('a1.ts');
    gate.release('a1.ts');
    expect(await a).toEqual({ compiled: 'round-robin' });
    // Nothing of B's is left in any queue: the next compile queued is the next one started.
    const next = outcome(compiler.compile(policy('a2.ts'), undefined, { uid: A, timeoutMs: TIMEOUT_MS }));
    expect(await gate.nextStart()).toBe('a2.ts');
    gate.release('a2.ts');
    expect(await next).toEqual({ compiled: 'round-robin' });
    expect(gate.started()).toEqual(['b1.ts', 'a1.ts', 'a2.ts']);
    // A signal aborted already refuses at once, queueing nothing.
    await expect(compiler.compile(policy('b4.ts'), undefined, { uid: B, timeoutMs: TIMEOUT_MS, signal: gone.signal })).rejects.toMatchObject({
      code: 'REQUEST_CANCELLED',
      message: 'the compile was cancelled before it finished.',
    });
  });

  it("refuses a uid's 17th compile under the limit of 16, naming the limit, while another uid's is taken", async () => {
    const { gate, compiler } = start();
    const request = { uid: B, timeoutMs: TIMEOUT_MS, maxQueued: 16 };
    const b = Array.from({ length: 16 }, (_, i) => outcome(compiler.compile(policy(`b${i + 1}.ts`), undefined, request)));
    expect(await gate.nextStart()).toBe('b1.ts');
    // One running and 15 waiting: 16 held.
    const refused = await compiler.compile(policy('b17.ts'), undefined, request).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(refused).toBeInstanceOf(LimitError);
    expect(refused).toMatchObject({ code: 'LIMIT_QUEUED_COMPILES', message: `uid ${B} already has 16 compiles queued, the --max-queued-compiles limit.`, limit: 16 });
    // Another uid's compile is taken, on the second worker.
    const a = outcome(compiler.compile(policy('a1.ts'), undefined, { uid: A, timeoutMs: TIMEOUT_MS, maxQueued: 16 }));
    expect(await gate.nextStart()).toBe('a1.ts');
    // Once one of B's compiles has ended, B may queue another.
    gate.release('b1.ts');
    expect(await b[0]).toEqual({ compiled: 'round-robin' });
    const again = outcome(compiler.compile(policy('b17.ts'), undefined, request));
    expect(await gate.nextStart()).toBe('b2.ts');
    gate.release('a1.ts');
    expect(await a).toEqual({ compiled: 'round-robin' });
    await compiler.close();
    expect(await again).toEqual({ refused: 'COMPILER_CLOSED' });
  });
});

describeKernel('compile priority under a backlog (root may raise a thread\'s priority back)', { needs: ['root'] }, () => {
  let gate: GatedCompiles | undefined;
  let compiler: PolicyCompiler | undefined;
  afterEach(async () => {
    await compiler?.close();
    gate?.[Symbol.dispose]();
  });

  it("runs a compile whose uid has more waiting at the backlog's nice value, and one with nothing waiting at the daemon's", async () => {
    gate = gatedCompiles();
    compiler = gate.compiler(2);
    const b = ['b1.ts', 'b2.ts', 'b3.ts'].map((name) => outcome((compiler as PolicyCompiler).compile(policy(name), undefined, { uid: B, timeoutMs: TIMEOUT_MS })));
    expect(await gate.nextStart()).toBe('b1.ts');
    const a = outcome(compiler.compile(policy('a1.ts'), undefined, { uid: A, timeoutMs: TIMEOUT_MS }));
    expect(await gate.nextStart()).toBe('a1.ts');
    gate.release('a1.ts');
    await a;
    gate.release('b1.ts');
    expect(await gate.nextStart()).toBe('b2.ts');
    gate.release('b2.ts');
    expect(await gate.nextStart()).toBe('b3.ts');
    gate.release('b3.ts');
    await Promise.all(b);
    // b2 had b3 waiting behind it when it started; b1 (queued before b2 and b3), a1 and b3 had nothing of their uid waiting
    // (b3 ran in the worker that ran b2 at the lower priority: it was raised back).
    const daemon = getPriority(0);
    const backlogged = Math.min(19, daemon + BACKLOG_NICE_STEPS);
    expect(['b1.ts', 'a1.ts', 'b2.ts', 'b3.ts'].map((name) => gate?.niceOf(name))).toEqual([daemon, daemon, backlogged, daemon]);
  });
});

/** The memory backend with a listing, so `disasm` answers once its policy has compiled. */
class DescribingBackend extends MemoryBackend {
  describe(artifact: Artifact): readonly string[] {
    return [`policy ${artifact.policy.name} at ${artifact.hook}`];
  }
}

describe('syrupd with tenants on many connections (issue #15)', () => {
  let dir: string | undefined;
  let gate: GatedCompiles | undefined;
  let server: ProtocolServer | undefined;
  let service: RuntimeService | undefined;
  const connections: LineConnection[] = [];
  afterEach(async () => {
    for (const connection of connections.splice(0)) connection.socket.destroy();
    await server?.close();
    await service?.close();
    gate?.[Symbol.dispose]();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    server = undefined;
    service = undefined;
    gate = undefined;
    dir = undefined;
  });

  /** A daemon over the describing memory backend whose compiles are gated; `open(uid)` connects as that uid. */
  const daemon = async (): Promise<{ gate: GatedCompiles; open(uid: number): Promise<LineConnection> }> => {
    dir = mkdtempSync(join(tmpdir(), 'syrup-fairness-'));
    const socketPath = join(dir, 'syrupd.sock');
    gate = gatedCompiles();
    // Each accepted connection takes the next identity: open() connects one at a time.
    const identities: PeerIdentity[] = [];
    const child = container.createChildContainer();
    registerHookRegistry(child);
    child.register(Backend, { useValue: new DescribingBackend() });
    child.register(PolicyCompiler, { useValue: gate.compiler() });
    // A compile the test holds must not reach the tenants' compile-time limit while the test works on others.
    child.register(RuntimeLimits, { useValue: { compileTimeoutMs: TIMEOUT_MS } });
    child.registerSingleton(RuntimeService);
    child.register(PeerCredentials, { useValue: { of: () => identities.shift() ?? { uid: 65534, gid: 65534, pid: 1 } } });
    child.register(ProtocolServerOptions, { useValue: { socketPath } });
    service = child.resolve(RuntimeService);
    server = child.resolve(ProtocolServer);
    await server.listen();
    const open = async (uid: number): Promise<LineConnection> => {
      identities.push({ uid, gid: uid, pid: process.pid });
      const connection = await lineConnection(socketPath);
      connections.push(connection);
      // Answered only once the server has accepted it, so the next connection gets the next identity.
      connection.send(`${JSON.stringify({ v: 1, id: 'hello', op: 'status' })}\n`);
      expect(await connection.next()).toMatchObject({ id: 'hello', ok: true });
      return connection;
    };
    return { gate, open };
  };
  const disasm = (id: string): string => `${JSON.stringify({ v: 1, id, op: 'disasm', hook: 'socket-select', policy: policy(`${id}.ts`) })}\n`;
  /** A deploy with progress: its `compile` progress line is written just before its compile is queued, in the same turn. */
  const deploy = (id: string): string =>
    `${JSON.stringify({ v: 1, id, op: 'deploy', hook: 'socket-select', policy: policy(`${id}.ts`), target: { port: 9999, pid: process.pid }, progress: true })}\n`;
  const queued = async (connection: LineConnection, id: string): Promise<void> => {
    expect(await connection.next()).toEqual({ v: 1, id, progress: 'compile' });
  };

  it("starts tenant A's compile before B's next one, and drops B's queued work when B's connections close", async () => {
    const { gate, open } = await daemon();
    // B: one connection with three requests pipelined, and two more with one each, all queued before A's.
    const b1 = await open(B);
    b1.send(deploy('b1') + deploy('b1-second') + deploy('b1-third'));
    await queued(b1, 'b1');
    expect(await gate.nextStart()).toBe('b1.ts');
    const b2 = await open(B);
    b2.send(deploy('b2'));
    await queued(b2, 'b2');
    const b3 = await open(B);
    b3.send(deploy('b3'));
    await queued(b3, 'b3');
    const a = await open(A);
    a.send(deploy('a'));
    await queued(a, 'a');
    // b2 and b3 waited longer, yet A starts next, on the second worker, while b1 still runs.
    expect(await gate.nextStart()).toBe('a.ts');
    gate.release('b1.ts');
    // Compiled, then refused by the ownership check that follows the compile: this test's process is not B's.
    expect(await b1.next()).toMatchObject({ id: 'b1', ok: false, error: { code: 'NOT_OWNER' } });
    // b1's connection goes on with its second request, queued behind b2 and b3; B's oldest waiting compile takes B's one worker.
    await queued(b1, 'b1-second');
    expect(await gate.nextStart()).toBe('b2.ts');
    // B leaves while A and b2 compile: b2's worker is stopped, its queued compiles (b3, b1-second) are withdrawn, its pipelined b1-third never read.
    for (const connection of [b1, b2, b3]) connection.socket.destroy();
    await Promise.all([b1, b2, b3].map((c) => new Promise<void>((resolve) => (c.closed ? resolve() : c.socket.once('close', () => resolve())))));
    gate.release('a.ts');
    expect(await a.next()).toMatchObject({ id: 'a', ok: false, error: { code: 'NOT_OWNER' } });
    // Nothing of B's is left: A's next compile is the next one to start.
    a.send(disasm('a-again'));
    expect(await gate.nextStart()).toBe('a-again.ts');
    gate.release('a-again.ts');
    expect(await a.next()).toEqual({ v: 1, id: 'a-again', ok: true, result: { lines: ['policy round-robin at socket-select'] } });
    expect(gate.started()).toEqual(['b1.ts', 'a.ts', 'b2.ts', 'a-again.ts']);
  });

  it('admits a whole deployment quota pipelined on one connection, and refuses the 17th compile queued over many with the limit named', async () => {
    const { gate, open } = await daemon();
    // One connection's requests are served one after another: however many it pipelines, one compile of it waits at a time.
    const pipelined = await open(B);
    const ids = Array.from({ length: 17 }, (_, i) => `p${i + 1}`);
    pipelined.send(ids.map(disasm).join(''));
    for (const id of ids) {
      expect(await gate.nextStart()).toBe(`${id}.ts`);
      gate.release(`${id}.ts`);
      expect(await pipelined.next()).toEqual({ v: 1, id, ok: true, result: { lines: ['policy round-robin at socket-select'] } });
    }
    // Sixteen connections hold one compile each: one running (held), fifteen waiting.
    for (let i = 1; i <= 16; i++) {
      const connection = await open(B);
      connection.send(deploy(`q${i}`));
      await queued(connection, `q${i}`);
    }
    expect(await gate.nextStart()).toBe('q1.ts');
    const seventeenth = await open(B);
    seventeenth.send(deploy('q17'));
    await queued(seventeenth, 'q17');
    expect(await seventeenth.next()).toEqual({
      v: 1,
      id: 'q17',
      ok: false,
      error: { code: 'LIMIT_QUEUED_COMPILES', message: `uid ${B} already has 16 compiles queued, the --max-queued-compiles limit.` },
    });
    // Another tenant is not affected by B's limit, and does not wait for B's running compile.
    const a = await open(A);
    a.send(disasm('a'));
    expect(await gate.nextStart()).toBe('a.ts');
    gate.release('a.ts');
    expect(await a.next()).toMatchObject({ id: 'a', ok: true });
  });
});
