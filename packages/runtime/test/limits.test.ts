import 'reflect-metadata';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compilePolicy, registerHookRegistry, verifyPolicyIr, type DeployOptions, type PolicySource } from '@syrup/core';
import { container } from 'tsyringe';
import { describeKernel } from '@syrup/test-support/kernel-gate';
import { afterEach, describe, expect, it } from 'vitest';
import {
  DEFAULT_TENANT_LIMITS,
  LimitError,
  PeerCredentials,
  PolicyCompiler,
  ProtocolServer,
  ProtocolServerOptions,
  RuntimeLimits,
  RuntimeService,
  mapMemoryBytes,
  tenantLimits,
  type PeerIdentity,
} from '../src/index.js';
import { memoryBackendModule } from './support/memory-backend.js';
import { memoryServices } from './support/memory-services.js';
import { mapPolicyText, slowPolicyText } from './support/slow-policy.js';
import { REUSEPORT_SERVER } from './support/udp.js';

const here = dirname(fileURLToPath(import.meta.url));
const ROUND_ROBIN: PolicySource = { fileName: 'round-robin.ts', text: readFileSync(join(here, '../../policies-std/src/round-robin.ts'), 'utf8') };
const ROOT = { uid: 0 };
const AT: DeployOptions = { hook: 'socket-select', port: 9999, pid: 1234 };

const serviceWith = memoryServices();

function source(name: string, text: string): PolicySource {
  return { fileName: `${name}.ts`, text };
}

/** The refusal's code and sentence, or undefined when the promise resolved. */
async function refusal(promise: Promise<unknown>): Promise<{ code: string; message: string; limit: number } | undefined> {
  try {
    await promise;
    return undefined;
  } catch (error) {
    expect(error).toBeInstanceOf(LimitError);
    const { code, message, limit } = error as LimitError;
    return { code, message, limit };
  }
}

describe('tenant limits', () => {
  it('default to 16 deployments, 64 MiB of maps, 1 MiB requests, 2000 ms compiles and 16 queued compiles per non-root uid; root has no deployment, map or queue limit', () => {
    expect(DEFAULT_TENANT_LIMITS).toEqual({ maxDeployments: 16, maxMapBytes: 64 * 1024 * 1024, maxRequestBytes: 1 << 20, compileTimeoutMs: 2000, maxQueuedCompiles: 16 });
    expect(tenantLimits(undefined, 1000)).toEqual(DEFAULT_TENANT_LIMITS);
    expect(tenantLimits(undefined, 0)).toEqual({ ...DEFAULT_TENANT_LIMITS, maxDeployments: Infinity, maxMapBytes: Infinity, maxQueuedCompiles: Infinity });
    const configured: RuntimeLimits = { maxDeployments: 4, compileTimeoutMs: 500, tenants: { 1000: { maxDeployments: 1 }, 0: { maxMapBytes: 10 } } };
    expect(tenantLimits(configured, 1000)).toMatchObject({ maxDeployments: 1, compileTimeoutMs: 500 });
    expect(tenantLimits(configured, 1001)).toMatchObject({ maxDeployments: 4, compileTimeoutMs: 500 });
    expect(tenantLimits(configured, 0)).toEqual({ ...DEFAULT_TENANT_LIMITS, maxDeployments: Infinity, maxMapBytes: 10, compileTimeoutMs: 500, maxQueuedCompiles: Infinity });
  });

  it('count map memory as maxEntries x (4-byte key + 8-byte value), a per-CPU value once per CPU', () => {
    expect(mapMemoryBytes({ a: { kind: 'hash', key: 'u32', value: 'u64', maxEntries: 1000 } })).toBe(12_000);
    expect(mapMemoryBytes({ a: { kind: 'array', key: 'u32', value: 'u64', maxEntries: 10 }, b: { kind: 'percpu-array', key: 'u32', value: 'u64', maxEntries: 10 } }, 4)).toBe(120 + 10 * (4 + 8 * 4));
  });

  it('refuse a deployment beyond the limit with its value, and admit one again after an undeploy', async () => {
    const service = serviceWith({ tenants: { 0: { maxDeployments: 2 } } });
    const first = await service.deploy(ROUND_ROBIN, AT, ROOT);
    await service.deploy(ROUND_ROBIN, { ...AT, port: 9998 }, ROOT);
    expect(await refusal(service.deploy(ROUND_ROBIN, { ...AT, port: 9997 }, ROOT))).toEqual({
      code: 'LIMIT_DEPLOYMENTS',
      message: 'uid 0 already has 2 deployments, and its limit is 2 deployments.',
      limit: 2,
    });
    expect(await service.deployments()).toHaveLength(2);
    await service.undeploy(first.id, ROOT);
    await expect(service.deploy(ROUND_ROBIN, { ...AT, port: 9997 }, ROOT)).resolves.toMatchObject({ state: 'active' });
  });

  it('hold a slot for a deploy in flight, so concurrent deploys cannot both take the last one', async () => {
    const service = serviceWith({ tenants: { 0: { maxDeployments: 1 } } });
    const outcomes = await Promise.allSettled([service.deploy(ROUND_ROBIN, AT, ROOT), service.deploy(ROUND_ROBIN, { ...AT, port: 9998 }, ROOT)]);
    expect(outcomes.map((o) => o.status).sort()).toEqual(['fulfilled', 'rejected']);
    expect(outcomes.find((o) => o.status === 'rejected')).toMatchObject({ reason: { code: 'LIMIT_DEPLOYMENTS' } });
    expect(await service.deployments()).toHaveLength(1);
  });

  it('refuse map memory beyond the limit with both amounts and the limit; a replace counts the new maps instead of the old', async () => {
    const service = serviceWith({ tenants: { 0: { maxMapBytes: 30_000 } } });
    const small = source('small', mapPolicyText('small', 1000)); // 12 000 bytes
    const large = source('large', mapPolicyText('large', 2000)); // 24 000 bytes
    const a = await service.deploy(small, AT, ROOT);
    const b = await service.deploy(small, { ...AT, port: 9998 }, ROOT);
    expect(await refusal(service.deploy(small, { ...AT, port: 9997 }, ROOT))).toEqual({
      code: 'LIMIT_MAP_MEMORY',
      message: "policy 'small' declares 12000 bytes of maps and uid 0 already holds 24000, more than its map memory limit of 30000 bytes.",
      limit: 30_000,
    });
    // Replacing b with the large policy would hold 12 000 (a) + 24 000: refused, and b keeps its policy.
    expect(await refusal(service.replace(b.id, large, ROOT))).toMatchObject({ code: 'LIMIT_MAP_MEMORY', limit: 30_000 });
    expect(service.info(b.id).policy).toBe('small');
    // Without a, the same replace fits: b's old maps are not counted twice.
    await service.undeploy(a.id, ROOT);
    await expect(service.replace(b.id, large, ROOT)).resolves.toMatchObject({ policy: 'large' });
  });

  it('leave root unlimited in deployments and map memory by default', async () => {
    const service = serviceWith({ maxDeployments: 1, maxMapBytes: 1 });
    await service.deploy(source('small', mapPolicyText('small', 1000)), AT, ROOT);
    await expect(service.deploy(source('small', mapPolicyText('small', 1000)), { ...AT, port: 9998 }, ROOT)).resolves.toMatchObject({ state: 'active' });
  });

  it('refuse a compile that overruns the timeout with "compiling took longer than the N ms limit", and the same policy compiles within the default', async () => {
    const slow = source('slow', slowPolicyText());
    const tight = serviceWith({ tenants: { 0: { compileTimeoutMs: 5 } } });
    expect(await refusal(tight.deploy(slow, AT, ROOT))).toEqual({ code: 'LIMIT_COMPILE_TIME', message: 'compiling took longer than the 5 ms limit.', limit: 5 });
    expect(await tight.deployments()).toEqual([]);
    // Positive control: with the default 2000 ms the same source deploys.
    await expect(serviceWith().deploy(slow, AT, ROOT)).resolves.toMatchObject({ state: 'active', policy: { name: 'slow-to-compile' } });
  });
});

describe('the compile worker', () => {
  const compilers: PolicyCompiler[] = [];
  afterEach(async () => {
    for (const compiler of compilers.splice(0)) await compiler.close();
  });

  it('is replaced after a timeout: the next compile runs in a fresh worker', async () => {
    const compiler = new PolicyCompiler();
    compilers.push(compiler);
    await expect(compiler.compile(source('slow', slowPolicyText()), undefined, { uid: 0, timeoutMs: 5 })).rejects.toThrow('compiling took longer than the 5 ms limit.');
    const compiled = await compiler.compile(ROUND_ROBIN, { SOCKETS: 3 }, { uid: 0, timeoutMs: 10_000 });
    expect(compiled.manifest).toMatchObject({ name: 'round-robin', params: { SOCKETS: 3 } });
    // The IR crosses the thread boundary whole, bigint immediates included, and passes core's verifier.
    expect(compiled.ir.manifest).toBe(compiled.manifest);
    expect(() => verifyPolicyIr(compiled.ir)).not.toThrow();
    expect(compiled.ir).toEqual(compilePolicy(ROUND_ROBIN, { params: { SOCKETS: 3 } }).ir);
  });

  it('terminates a worker that never answers, whatever its code does', async () => {
    // A stand-in worker that says it is ready and then spins forever: only terminate() stops it.
    const spinning = new URL(`data:text/javascript,${encodeURIComponent("import { parentPort } from 'node:worker_threads'; parentPort.postMessage({ ready: true }); parentPort.on('message', () => { for (;;) {} });")}`);
    const compiler = new PolicyCompiler({ url: spinning });
    compilers.push(compiler);
    await expect(compiler.compile(ROUND_ROBIN, undefined, { uid: 0, timeoutMs: 50 })).rejects.toMatchObject({ code: 'LIMIT_COMPILE_TIME', message: 'compiling took longer than the 50 ms limit.' });
    await expect(compiler.compile(ROUND_ROBIN, undefined, { uid: 0, timeoutMs: 50 })).rejects.toMatchObject({ code: 'LIMIT_COMPILE_TIME' });
  });

  it('passes compile errors through with their code and file:line:column sentence', async () => {
    const compiler = new PolicyCompiler();
    compilers.push(compiler);
    const text = "import { definePolicy } from '@syrup/core';\nexport default definePolicy({ name: 'f', input: 'udp', schedule(pkt) { return 1.5; } });\n";
    await expect(compiler.compile(source('float', text), undefined, { uid: 0, timeoutMs: 10_000 })).rejects.toMatchObject({ code: 'POLICY_COMPILE', message: expect.stringMatching(/^float\.ts:2:\d+: /) });
  });
});

describe('the request size limit per tenant', () => {
  let dir: string | undefined;
  let server: ProtocolServer | undefined;
  let service: RuntimeService | undefined;
  afterEach(async () => {
    await server?.close();
    await service?.close();
    service = undefined;
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    server = undefined;
    dir = undefined;
  });

  it("refuses a line over the tenant's own limit, naming it, while another tenant's same line is read", async () => {
    dir = mkdtempSync(join(tmpdir(), 'syrup-limits-'));
    const socketPath = join(dir, 'syrupd.sock');
    let peer: PeerIdentity = { uid: 1000, gid: 1000, pid: 1 };
    const child = container.createChildContainer();
    registerHookRegistry(child);
    memoryBackendModule.register(child);
    child.register(RuntimeLimits, { useValue: { tenants: { 1000: { maxRequestBytes: 1000 } } } });
    child.registerSingleton(RuntimeService);
    child.register(PeerCredentials, { useValue: { of: () => peer } });
    child.register(ProtocolServerOptions, { useValue: { socketPath } });
    service = child.resolve(RuntimeService);
    server = child.resolve(ProtocolServer);
    await server.listen();

    const ask = async (as: PeerIdentity, text: string): Promise<Record<string, unknown>> => {
      peer = as;
      const socket = createConnection(socketPath);
      try {
        await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
        const answer = new Promise<string>((resolve) => {
          let buffer = '';
          socket.on('data', (chunk: Buffer) => {
            buffer += chunk.toString();
            if (buffer.includes('\n')) resolve(buffer.slice(0, buffer.indexOf('\n')));
          });
        });
        socket.write(`${text}\n`);
        return JSON.parse(await answer) as Record<string, unknown>;
      } finally {
        socket.destroy();
      }
    };
    const padded = JSON.stringify({ v: 1, id: 1, op: 'status', pad: 'x'.repeat(1500) });
    expect(await ask({ uid: 1000, gid: 1000, pid: 1 }, padded)).toEqual({ v: 1, id: null, ok: false, error: { code: 'PROTOCOL_TOO_LARGE', message: 'the request is larger than the limit of 1000 bytes.' } });
    // Positive controls: a short request of the same tenant, and the same long line from another uid (default 1 MiB).
    expect(await ask({ uid: 1000, gid: 1000, pid: 1 }, JSON.stringify({ v: 1, id: 2, op: 'status' }))).toMatchObject({ id: 2, ok: true });
    expect(await ask({ uid: 1001, gid: 1001, pid: 2 }, padded)).toMatchObject({ id: 1, ok: true });
  });
});

// A tenant's deployment needs a target process of its own uid, which only root can start.
describeKernel('limits of a non-root tenant', { needs: ['root'] }, () => {
  it('refuses uid 1000 its third deployment under a limit of 2 and lets root deploy on the same process', async () => {
    const service = serviceWith({ maxDeployments: 2 });
    const tenant = spawn('python3', [REUSEPORT_SERVER, '1'], { uid: 1000, gid: 1000, stdio: ['pipe', 'pipe', 'ignore'] });
    try {
      const hello = await new Promise<{ port: number; pid: number }>((resolve) => tenant.stdout.once('data', (d: Buffer) => resolve(JSON.parse(d.toString()))));
      const caller = { uid: 1000, gid: 1000, pid: hello.pid };
      const at: DeployOptions = { hook: 'socket-select', port: hello.port, pid: hello.pid };
      await service.deploy(ROUND_ROBIN, at, caller);
      await service.deploy(ROUND_ROBIN, at, caller);
      expect(await refusal(service.deploy(ROUND_ROBIN, at, caller))).toEqual({ code: 'LIMIT_DEPLOYMENTS', message: 'uid 1000 already has 2 deployments, and its limit is 2 deployments.', limit: 2 });
      await expect(service.deploy(ROUND_ROBIN, at, ROOT)).resolves.toMatchObject({ state: 'active' });
      expect((await service.deployments()).map((d) => d.owner).sort()).toEqual([0, 1000, 1000]);
    } finally {
      tenant.kill();
    }
  });
});
