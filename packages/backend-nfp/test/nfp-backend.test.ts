import 'reflect-metadata';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { container as rootContainer } from 'tsyringe';
import { afterEach, describe, expect, it } from 'vitest';
import { compilePolicy, HookRegistry, registerHookRegistry } from '@syrup/core';
import { standardPolicyPath } from '@syrup/policies-std';
import { NfpBackend, NfpError, findOffloadDevices, register } from '../src/index.js';

const temporary: string[] = [];
afterEach(() => {
  for (const dir of temporary.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A fake /sys/class/net: each interface with a device whose driver link ends in `driver` (none for virtual ones). */
function fakeSysClassNet(interfaces: Record<string, string | undefined>): string {
  const root = mkdtempSync(join(tmpdir(), 'syrup-nfp-sysfs-'));
  temporary.push(root);
  for (const [name, driver] of Object.entries(interfaces)) {
    mkdirSync(join(root, name));
    if (driver === undefined) continue;
    mkdirSync(join(root, name, 'device'));
    symlinkSync(`../../../bus/pci/drivers/${driver}`, join(root, name, 'device', 'driver'));
  }
  return root;
}

describe('the offload probe', () => {
  it('finds interfaces driven by nfp and nothing else', () => {
    const root = fakeSysClassNet({ lo: undefined, eth0: 'virtio_net', enp4s0np0: 'nfp', veth1: undefined, enp4s0np1: 'nfp' });
    expect(findOffloadDevices(root)).toEqual([
      { name: 'enp4s0np0', driver: 'nfp' },
      { name: 'enp4s0np1', driver: 'nfp' },
    ]);
    expect(findOffloadDevices(join(root, 'missing'))).toEqual([]);
  });

  it('answers per machine whether an offload-capable NIC is present', async () => {
    expect(await new NfpBackend({ devices: () => [{ name: 'enp4s0np0', driver: 'nfp' }] }).probe()).toEqual([{ hook: 'xdp-offload', available: true }]);
    expect(await new NfpBackend({ devices: () => [] }).probe()).toEqual([
      {
        hook: 'xdp-offload',
        available: false,
        reason: 'no offload-capable NIC on this machine (no interface is driven by nfp, the Netronome Agilio driver); syrup check --hook xdp-offload still validates policies',
      },
    ]);
  });
});

describe('the NFP backend plugin', () => {
  it('registers under the Backend token and provides xdp-offload', async () => {
    const container = rootContainer.createChildContainer();
    registerHookRegistry(container);
    register(container);
    const registry = container.resolve<HookRegistry>(HookRegistry);
    const hooks = await registry.hooks();
    expect(hooks.map((h) => [h.hook.id, h.backend])).toEqual([['xdp-offload', 'nfp']]);
  });

  it('refuses to compile a policy the NIC cannot run, with every violation', async () => {
    const text = readFileSync(standardPolicyPath('token-qos'), 'utf8');
    const ir = compilePolicy({ fileName: 'token-qos.ts', text }).ir;
    const backend = new NfpBackend();
    const error = await backend.compile({ policy: ir.manifest, ir, hook: backend.hooks[0]! }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NfpError);
    expect((error as NfpError).code).toBe('NFP_POLICY_NOT_OFFLOADABLE');
    expect((error as NfpError).message).toBe(
      "policy 'token-qos' cannot run on the NFP: token-qos.ts:15:9: compareExchange() on map 'tokens' needs an atomic that returns the old value; the NFP has only an atomic add that returns nothing (and 1 more violation).",
    );
    expect((error as NfpError).violations).toHaveLength(2);
  });

  it('compiles key-hash and describes the NIC program with the queue store', async () => {
    const text = readFileSync(standardPolicyPath('key-hash'), 'utf8');
    const ir = compilePolicy({ fileName: 'key-hash.ts', text }).ir;
    const backend = new NfpBackend();
    const artifact = await backend.compile({ policy: ir.manifest, ir, hook: backend.hooks[0]!, target: { interface: 'enp4s0np0', port: 9000, queue: 2 } });
    const listing = backend.describe(artifact).join('\n');
    expect(listing).toMatch(/\*\(u32 \*\)\(r1 \+16\) = r2/);
    expect(listing).not.toMatch(/%=/);
    expect(() => backend.describe({ backend: 'ebpf', hook: 'xdp-drv', policy: ir.manifest })).toThrow(
      "the NFP backend cannot use an artifact compiled by backend 'ebpf' for hook 'xdp-drv'.",
    );
  });
});

describe('claims', () => {
  it('claim the interface exclusively, keyed by its namespace identity', () => {
    const backend = new NfpBackend();
    const hook = backend.hooks[0]!;
    expect(backend.claims({ hook, input: 'udp', target: { port: 9000 } })).toEqual([]);
    const [claim] = backend.claims({ hook, input: 'udp', target: { interface: 'enp4s0np0', port: 9000 } });
    expect(claim).toMatchObject({ kind: 'nic-offload', exclusive: true, key: expect.stringMatching(/^\d+:\d+\/enp4s0np0$/) });
    expect(claim!.taken).toBe("the NIC behind 'enp4s0np0' runs a policy of {holder}, so {caller} may not offload another to it.");
  });
});
