// Compile once, proven with the eBPF backend on real sockets: the runtime runs core's front end
// exactly once per deploy, per replace and per disasm, in its compile worker, and never on the
// thread where the backend generates code; recovery from a state file that records the IR runs
// it zero times, and from a state file of the format before the IR once, in the worker.
import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ebpfBackendModule } from '@syrup/backend-ebpf';
import { BPFFS_MOUNT_POINT, ensureBpffs } from '@syrup/backend-ebpf/pin';
import { registerHookRegistry, type PolicySource } from '@syrup/core';
import { describeKernel } from '@syrup/test-support/kernel-gate';
import { container } from 'tsyringe';
import { afterEach, expect, it, vi } from 'vitest';
import { PolicyCompiler, RuntimePersistenceOptions, RuntimeService } from '../src/index.js';
import { frontEndRuns } from './support/front-end-runs.js';
import { pythonServer, send } from './support/udp.js';

const SOCKETS = 2;
// Three services and their compile workers start one after another on 2 shared vCPUs.
vi.setConfig({ testTimeout: 120_000 });

const std = (name: string): PolicySource => ({ fileName: `${name}.ts`, text: readFileSync(new URL(`../../policies-std/src/${name}.ts`, import.meta.url), 'utf8') });

/** A runtime service with the eBPF backend, the counted compiler and persistence. */
function serviceWith(compiler: PolicyCompiler, persistence: RuntimePersistenceOptions): RuntimeService {
  const child = container.createChildContainer();
  registerHookRegistry(child);
  ebpfBackendModule.register(child);
  child.register(PolicyCompiler, { useValue: compiler });
  child.register(RuntimePersistenceOptions, { useValue: persistence });
  child.registerSingleton(RuntimeService);
  return child.resolve(RuntimeService);
}

/** Polls `read` until it equals `want` (3 s at most) and returns the last reading. */
async function settle(read: () => Promise<bigint | undefined>, want: bigint): Promise<bigint | undefined> {
  let now: bigint | undefined;
  const deadline = Date.now() + 3000;
  while (Date.now() < deadline) {
    now = await read();
    if (now === want) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  return now;
}

describeKernel('compile once: front-end runs with the eBPF backend', { needs: ['bpf', 'bpffs'] }, () => {
  const cleanup: (() => unknown)[] = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) {
      try {
        await step();
      } catch {
        // Keep cleaning up.
      }
    }
  });

  it('runs the front end once per deploy, replace and disasm, only in the worker; recovery runs it zero times with the recorded IR and once without', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'syrup-compile-once-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const pinRoot = ensureBpffs(`${BPFFS_MOUNT_POINT}/syrup-compile-once-${randomBytes(4).toString('hex')}`);
    cleanup.push(() => rmSync(pinRoot, { recursive: true, force: true }));
    const persistence = { pinRoot, stateRoot: join(dir, 'deployments'), stateFile: join(dir, 'state.json') };
    const runs = frontEndRuns();
    cleanup.push(() => runs[Symbol.dispose]());
    const server = await pythonServer(SOCKETS);
    cleanup.push(() => server.kill());
    const at = { hook: 'socket-select' as const, port: server.port, pid: server.pid, params: { SOCKETS } };

    const first = serviceWith(runs.compiler(), persistence);
    cleanup.push(() => first.close());
    await first.recover();
    const d = await first.deploy(std('round-robin'), at);
    expect(runs.worker()).toEqual(['round-robin.ts']);
    // The program the backend generated from that IR steers real datagrams: it counts each one.
    await send(server.port, 20);
    expect(await settle(async () => (await d.maps['next']?.get(0)) as bigint, 20n)).toBe(20n);

    await first.replace(d.id, std('sita'), undefined, { SOCKETS });
    expect(runs.worker()).toEqual(['round-robin.ts', 'sita.ts']);
    // sita counts what is not a SCAN (payload u32 0 === 1) in the same `next` map, kept across the replace.
    await send(server.port, 10, () => Uint8Array.of(0, 0, 0, 2));
    expect(await settle(async () => (await first.get(d.id).maps['next']?.get(0)) as bigint, 30n)).toBe(30n);

    const listing = await first.disasm(std('hash'), 'socket-select', { params: { SOCKETS } });
    expect(listing.length).toBeGreaterThan(5);
    expect(runs.worker()).toEqual(['round-robin.ts', 'sita.ts', 'hash.ts']);
    expect(runs.mainThread()).toEqual([]);
    await first.close();

    // A daemon restart: the state file holds the IR, so recovery generates nothing and compiles nothing.
    const recorded = JSON.parse(readFileSync(persistence.stateFile, 'utf8'));
    expect(recorded.deployments[0].policy.ir).toMatchObject({ fileName: 'sita.ts', manifest: { name: 'sita', params: { SOCKETS } } });
    const second = serviceWith(runs.compiler(), persistence);
    cleanup.push(() => second.close());
    expect(await second.recover()).toEqual({ restored: [d.id], dropped: [] });
    expect(runs.worker()).toHaveLength(3);
    await send(server.port, 5, () => Uint8Array.of(0, 0, 0, 2));
    expect(await settle(async () => (await second.get(d.id).maps['next']?.get(0)) as bigint, 35n)).toBe(35n);
    await second.close();

    // The state file of a daemon before the IR was recorded: recovery compiles its source once, in the worker.
    const old = JSON.parse(readFileSync(persistence.stateFile, 'utf8'));
    delete old.deployments[0].policy.ir;
    writeFileSync(persistence.stateFile, JSON.stringify(old, null, 2));
    const third = serviceWith(runs.compiler(), persistence);
    cleanup.push(() => third.close());
    expect(await third.recover()).toEqual({ restored: [d.id], dropped: [] });
    expect(runs.worker()).toEqual(['round-robin.ts', 'sita.ts', 'hash.ts', 'sita.ts']);
    expect((await third.deployments()).map((i) => [i.id, i.policy, i.state])).toEqual([[d.id, 'sita', 'active']]);
    await third.undeploy(d.id);
    // None of it ran the front end on the service's thread, where EbpfBackend.compile runs.
    expect(runs.mainThread()).toEqual([]);
  });
});
