import { afterAll, beforeAll, expect, it } from 'vitest';
import { Add, call, exit, JEq, JNE, JGT, label, loadMapPtr, loadMem, Mov, R0, R1, R2, R3, R4, R5, R10, atomic, storeMem, toBigEndian } from '../../../src/asm/index.js';
import { attachXdp } from '../../../src/links/xdp-link.js';
import { KernelDataMapStore } from '../../../src/maps/kernel-data-map-store.js';
import { CpuMap } from '../../../src/maps/system/cpu-map.js';
import type { SystemMapError } from '../../../src/maps/system/system-map-error.js';
import { AttachType } from '../../../src/syscalls/bpf-constants.js';
import { nativeSyscalls } from '../../../src/syscalls/native-syscalls.js';
import { describeKernel } from '@syrup/test-support/kernel-gate';
import { createVethPair, sendUdp, type VethPair } from '../../support/veth-pair.js';
import { frame, loadXdp, returning, UDP_DST_PORT_OFFSET, UDP_PAYLOAD_OFFSET, XDP_PASS, XDP_REDIRECT } from '../../support/xdp-programs.js';
import { caught } from '../../support/caught.js';

const PORT = 40_321;

/** redirect_map(cpus, key, XDP_PASS) where the key is packet[14] (test runs) or the constant `cpu` for UDP to PORT (traffic). */
function redirectByByte(): ReturnType<typeof returning> {
  return [
    loadMem(R2, R1, 0, 'W'),
    loadMem(R3, R1, 4, 'W'),
    Mov.reg(R4, R2),
    Add.imm(R4, 15),
    JGT.reg(R4, R3, 'short'),
    loadMem(R2, R2, 14, 'B'),
    loadMapPtr(R1, 'cpus'),
    Mov.imm(R3, XDP_PASS),
    call('redirect_map'),
    exit(),
    label('short'),
    Mov.imm(R0, XDP_PASS),
    exit(),
  ];
}

function redirectUdpTo(cpu: number): ReturnType<typeof returning> {
  return [
    loadMem(R2, R1, 0, 'W'),
    loadMem(R3, R1, 4, 'W'),
    Mov.reg(R4, R2),
    Add.imm(R4, UDP_PAYLOAD_OFFSET),
    JGT.reg(R4, R3, 'pass'),
    loadMem(R5, R2, 23, 'B'),
    JNE.imm(R5, 17, 'pass'),
    loadMem(R5, R2, UDP_DST_PORT_OFFSET, 'H'),
    toBigEndian(R5, 16),
    JNE.imm(R5, PORT, 'pass'),
    loadMapPtr(R1, 'cpus'),
    Mov.imm(R2, cpu),
    Mov.imm(R3, XDP_PASS),
    call('redirect_map'),
    exit(),
    label('pass'),
    Mov.imm(R0, XDP_PASS),
    exit(),
  ];
}

/** The CPU map's own program: counts frames per CPU it runs on (seen[cpu] += 1), then passes. */
function countPerCpu(): ReturnType<typeof returning> {
  return [
    call('get_smp_processor_id'),
    storeMem(R10, -4, R0, 'W'),
    loadMapPtr(R1, 'seen'),
    Mov.reg(R2, R10),
    Add.imm(R2, -4),
    call('map_lookup_elem'),
    JEq.imm(R0, 0, 'out'),
    Mov.imm(R1, 1),
    atomic('add', R0, 0, R1),
    label('out'),
    Mov.imm(R0, XDP_PASS),
    exit(),
  ];
}

describeKernel('CPU maps', { needs: ['bpf', 'netns', 'xdp-skb'] }, () => {
  const cpus = nativeSyscalls().possibleCpus();
  let pair: VethPair | undefined;
  beforeAll(() => {
    pair = createVethPair();
  });
  afterAll(() => pair?.remove());

  it('stores queue sizes and programs per CPU and reads them back with the program id', () => {
    using map = CpuMap.create({ name: 'cpus' });
    expect(map.maxEntries).toBe(cpus);
    using seen = KernelDataMapStore.create({ kind: 'array', key: 'u32', value: 'u64', maxEntries: cpus }, { name: 'seen' });
    using onCpu = loadXdp('on_cpu', countPerCpu(), { seen: seen.kernelMap }, AttachType.XDP_CPUMAP);
    map.set(0, { queueSize: 192 });
    expect(map.get(0)).toEqual({ queueSize: 192, programId: 0 });
    map.set(0, { queueSize: 256, program: onCpu });
    expect(map.get(0)).toEqual({ queueSize: 256, programId: onCpu.info().id });
    map.delete(0);
    expect(map.get(0)).toBeUndefined();
    map.delete(0);
    const tooBig = caught(() => map.set(0, { queueSize: 1 << 20 })) as SystemMapError;
    expect(tooBig.code).toBe('SYSTEM_MAP_UPDATE_FAILED');
    // A program loaded for the device, not for a CPU map, is refused.
    using plain = loadXdp('plain', returning(XDP_PASS));
    expect((caught(() => map.set(0, { queueSize: 64, program: plain })) as SystemMapError).code).toBe('SYSTEM_MAP_UPDATE_FAILED');
  });

  it('redirects in a test run only to CPUs that are in the map', () => {
    using map = CpuMap.create({ maxEntries: cpus, name: 'cpus' });
    using program = loadXdp('to_cpu', redirectByByte(), { cpus: map });
    expect(program.testRun(frame([0])).retval).toBe(XDP_PASS);
    map.set(0, { queueSize: 64 });
    expect(program.testRun(frame([0])).retval).toBe(XDP_REDIRECT);
    expect(program.testRun(frame([1 + cpus])).retval).toBe(XDP_PASS);
  });

  it.skipIf(cpus < 2)('moves real frames to the chosen CPU, where its program runs', () => {
    if (pair === undefined) throw new Error('no veth pair');
    const { nsA, nsB, ifA, ipA } = pair;
    const target = cpus - 1;
    using map = CpuMap.create({ name: 'cpus' });
    using seen = KernelDataMapStore.create({ kind: 'array', key: 'u32', value: 'u64', maxEntries: cpus }, { name: 'seen' });
    using onCpu = loadXdp('on_cpu', countPerCpu(), { seen: seen.kernelMap }, AttachType.XDP_CPUMAP);
    map.set(target, { queueSize: 64, program: onCpu });
    using redirect = loadXdp('to_cpu', redirectUdpTo(target), { cpus: map });
    using link = attachXdp({ program: redirect, ifname: ifA, mode: 'skb', netns: nsA });
    sendUdp(nsB, ipA, PORT, 6);
    const perCpu = new Map(seen.entries().map(([cpu, [count]]) => [cpu, count]));
    expect(perCpu.get(target)).toBe(6n);
    for (const [cpu, count] of perCpu) if (cpu !== target) expect(count).toBe(0n);
    link.close();
  }, 60_000);
});
