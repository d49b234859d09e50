import { describe, expect, it } from 'vitest';
import { exit, Mov, R0 } from '../../src/asm/index.js';
import { generateTestHarness } from '../../src/codegen/generate-program.js';
import { KernelMapError } from '../../src/errors/kernel-map-error.js';
import { loadProgramSpec } from '../../src/loader/loaded-program.js';
import { KernelDataMapStore } from '../../src/maps/kernel-data-map-store.js';
import { KernelMap } from '../../src/maps/kernel-map.js';
import { Program } from '../../src/programs/program.js';
import { ProgramError } from '../../src/programs/program-error.js';
import { MapType, ProgType } from '../../src/syscalls/bpf-constants.js';
import { FakeSyscalls } from '../../src/syscalls/fake-syscalls.js';
import { policyIr } from '../codegen/support.js';
import { caught } from '../support/caught.js';

const XDP_PASS = 2;
const returnPass = { name: 'offloaded', type: ProgType.XDP, license: 'GPL', instructions: [Mov.imm(R0, XDP_PASS), exit()] };

/** A fake kernel with a NIC that offloads BPF (`nfp0`, ifindex 5) and a veth that does not (ifindex 6). */
function kernelWithDevices(): FakeSyscalls {
  const sys = new FakeSyscalls();
  sys.interfaces.set('nfp0', 5);
  sys.interfaces.set('veth0', 6);
  sys.offloadDevices.add(5);
  return sys;
}

describe('offload ifindex through program and map loading (fake kernel)', () => {
  it('passes prog_ifindex to BPF_PROG_LOAD and map_ifindex to BPF_MAP_CREATE', () => {
    const sys = kernelWithDevices();
    using program = Program.load(returnPass, { sys, offloadIfindex: 5 });
    expect(program.info().ifindex).toBe(5);
    using map = KernelMap.create({ type: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 4, name: 'offloaded' }, { sys, offloadIfindex: 5 });
    expect(map.info().ifindex).toBe(5);
    using store = KernelDataMapStore.create({ kind: 'array', key: 'u32', value: 'u64', maxEntries: 4 }, { name: 'counts', sys, offloadIfindex: 5 });
    expect(store.kernelMap.info().ifindex).toBe(5);
    // Without the option both stay host objects.
    using host = Program.load(returnPass, { sys });
    expect(host.info().ifindex).toBe(0);
  });

  it('creates every map of a generated program on the device, not mmapable, and loads the program there', () => {
    const sys = kernelWithDevices();
    const ir = policyIr({ input: 'packet', maps: { counts: { kind: 'array', key: 'u32', value: 'u64', maxEntries: 4 } }, insns: [{ op: 'return', verdict: 'pass' }] });
    using loaded = loadProgramSpec(generateTestHarness(ir), { sys, offloadIfindex: 5 });
    expect(loaded.program.info().ifindex).toBe(5);
    for (const store of loaded.dataMaps.values()) expect(store.kernelMap.info()).toMatchObject({ ifindex: 5, flags: 0 });
    for (const map of loaded.systemMaps.values()) expect(map.info().ifindex).toBe(5);
  });

  it('refuses a device without offload with one sentence naming the interface, leaving no fd open', () => {
    const sys = kernelWithDevices();
    const before = sys.openFds().length;
    const programError = caught(() => Program.load(returnPass, { sys, offloadIfindex: 6 }));
    expect(programError).toBeInstanceOf(ProgramError);
    expect(programError).toMatchObject({ code: 'PROGRAM_OFFLOAD_REFUSED' });
    expect((programError as Error).message).toBe(
      "program 'offloaded' could not be loaded for offload to interface 'veth0' (ifindex 6): the kernel answered EINVAL, as it does for a device whose driver does not offload BPF programs.",
    );
    const mapError = caught(() => KernelMap.create({ type: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 4, name: 'm' }, { sys, offloadIfindex: 6 }));
    expect(mapError).toBeInstanceOf(KernelMapError);
    expect(mapError).toMatchObject({ code: 'KERNEL_MAP_OFFLOAD_REFUSED' });
    expect((mapError as Error).message).toMatch(/^map 'm' could not be created on interface 'veth0' \(ifindex 6\): the kernel answered EINVAL/);
    expect(caught(() => Program.load(returnPass, { sys, offloadIfindex: 99 }))).toMatchObject({
      message: expect.stringContaining('ifindex 99 (no interface of this network namespace has it)'),
    });
    expect(sys.openFds().length).toBe(before);
  });

  it('refuses an ifindex that is not a positive 32-bit integer before any syscall', () => {
    const sys = kernelWithDevices();
    expect(caught(() => Program.load(returnPass, { sys, offloadIfindex: 0 }))).toMatchObject({ code: 'PROGRAM_SPEC_INVALID' });
    expect(caught(() => KernelMap.create({ type: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 4 }, { sys, offloadIfindex: -1 }))).toMatchObject({
      code: 'KERNEL_MAP_SPEC_INVALID',
    });
    expect(sys.count('BPF_PROG_LOAD') + sys.count('BPF_MAP_CREATE')).toBe(0);
  });
});
