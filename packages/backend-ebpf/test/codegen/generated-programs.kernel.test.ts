import { expect, it } from 'vitest';
import { INPUT_FIELDS, flowHash, foldIpv6Address, ipv4Address, type InputField, type IrInsn, type PolicyIr } from '@syrup/core';
import { Instruction, R5, loadMem } from '../../src/asm/index.js';
import { generateProgram, generateTestHarness } from '../../src/codegen/generate-program.js';
import { CODEGEN_HOOKS } from '../../src/codegen/targets/builtin-targets.js';
import { KernelMap } from '../../src/maps/kernel-map.js';
import { Program } from '../../src/programs/program.js';
import { VerifierError } from '../../src/programs/verifier-error.js';
import { describeKernel } from '@syrup/test-support/kernel-gate';
import { bytesOf, loadSpec, readU64, runHarness, u32Key, udpFrame, writeU64, type Decision } from './kernel-support.js';
import { array, hash, lruHash, percpuArray, policyIr, sitaIr } from './support.js';

const executor = (key: bigint): Decision => ({ kind: 'executor', key });
const PASS: Decision = { kind: 'pass' };

/** A policy that answers the value of one input field as its executor. */
function fieldPolicy(input: 'udp' | 'tcp' | 'packet', field: InputField): PolicyIr {
  return policyIr({
    input,
    insns: [
      { op: 'input', dst: 0, field },
      { op: 'return', verdict: 'executor', value: 0 },
    ],
  });
}

/** A policy that reads every field of its input, loads at constant and variable offsets, and uses a map. */
function everythingPolicy(input: 'udp' | 'tcp' | 'packet'): PolicyIr {
  const insns: IrInsn[] = [];
  let v = 0;
  for (const field of INPUT_FIELDS[input]) insns.push({ op: 'input', dst: v++, field });
  if (input !== 'tcp') {
    const region = input === 'udp' ? 'payload' : 'data';
    insns.push({ op: 'load', dst: v++, region, offset: 0n, size: 1, byteOrder: 'be' });
    insns.push({ op: 'load', dst: v++, region, offset: 2n, size: 8, byteOrder: 'le' });
    insns.push({ op: 'binary', kind: 'and', dst: v, a: 0, b: 15n });
    insns.push({ op: 'load', dst: v + 1, region, offset: v, size: 4, byteOrder: 'be' });
    v += 2;
  }
  insns.push({ op: 'map-fetch-add', dst: v, map: 'm', key: 0, delta: 1n });
  let acc = v;
  for (let i = 0; i < v; i++) {
    insns.push({ op: 'binary', kind: 'xor', dst: v + 1 + i, a: acc, b: i });
    acc = v + 1 + i;
  }
  insns.push({ op: 'return', verdict: 'executor', value: acc });
  return policyIr({ input, maps: { m: hash(8) }, insns });
}

function payloadOf(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

describeKernel('generated programs in the kernel', { needs: ['bpf'] }, () => {
  it('verifies every prologue and epilogue, with every field, loads and a map', () => {
    for (const hook of CODEGEN_HOOKS) {
      for (const input of hook === 'socket-select' ? (['udp', 'tcp'] as const) : (['udp', 'packet'] as const)) {
        using loaded = loadSpec(generateProgram(everythingPolicy(input), { target: hook }));
        expect(loaded.program.fd.raw).toBeGreaterThan(0);
      }
    }
    using withPort = loadSpec(generateProgram(everythingPolicy('udp'), { target: 'xdp-drv', port: 9000 }));
    expect(withPort.program.testRun(udpFrame({ dstPort: 9001 })).verdict).toBe('XDP_PASS');
    using harnessPacket = loadSpec(generateTestHarness(everythingPolicy('packet')));
    using harnessUdp = loadSpec(generateTestHarness(everythingPolicy('udp')));
    expect(runHarness(harnessPacket, udpFrame({ payload: payloadOf('hello, world') })).kind).toBe('executor');
    expect(runHarness(harnessUdp, udpFrame({ payload: payloadOf('hello, world') })).kind).toBe('executor');
  });

  it('parses the udp fields at XDP as core defines them (IPv4, options, VLAN, IPv6)', () => {
    const payload = payloadOf('GET /key');
    const frames = [
      { frame: udpFrame({ payload, srcPort: 1234, dstPort: 9000 }), src: ipv4Address('10.0.0.1'), dst: ipv4Address('10.0.0.2') },
      { frame: udpFrame({ payload, srcPort: 65535, dstPort: 1, ipOptions: 12 }), src: ipv4Address('10.0.0.1'), dst: ipv4Address('10.0.0.2') },
      {
        frame: udpFrame({ payload, srcPort: 7, dstPort: 53, vlan: true, srcAddr: [192, 168, 1, 9], dstAddr: [127, 0, 0, 1] }),
        src: ipv4Address('192.168.1.9'),
        dst: ipv4Address('127.0.0.1'),
      },
      {
        frame: udpFrame({
          payload,
          srcPort: 5353,
          dstPort: 443,
          srcAddr: [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
          dstAddr: [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0],
        }),
        src: foldIpv6Address(new Uint8Array([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1])),
        dst: foldIpv6Address(new Uint8Array([0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0])),
      },
    ];
    const ports = [
      [1234, 9000],
      [65535, 1],
      [7, 53],
      [5353, 443],
    ];
    for (const field of INPUT_FIELDS.udp) {
      using loaded = loadSpec(generateTestHarness(fieldPolicy('udp', field)));
      frames.forEach(({ frame, src, dst }, i) => {
        const [srcPort, dstPort] = ports[i]!;
        const expected: Record<string, number> = {
          len: 8 + payload.length,
          payloadLength: payload.length,
          srcPort: srcPort!,
          dstPort: dstPort!,
          srcAddr: src,
          dstAddr: dst,
          hash: flowHash(src, dst, srcPort!, dstPort!),
        };
        expect(runHarness(loaded, frame), `${field} of frame ${i}`).toEqual(executor(BigInt(expected[field]!)));
      });
    }
  });

  it('answers PASS before the policy for frames that are not a complete first UDP fragment', () => {
    using loaded = loadSpec(generateTestHarness(sitaIr(), { port: 9000 }));
    const get = payloadOf('\0\0\0\x02');
    expect(runHarness(loaded, udpFrame({ payload: get })).kind).toBe('executor');
    expect(runHarness(loaded, udpFrame({ payload: get, protocol: 6 }))).toEqual(PASS);
    expect(runHarness(loaded, udpFrame({ payload: get, fragmentOffset: 0x2000 })).kind).toBe('executor'); // MF, offset 0
    expect(runHarness(loaded, udpFrame({ payload: get, fragmentOffset: 0x2003 }))).toEqual(PASS);
    expect(runHarness(loaded, udpFrame({ payload: get, dstPort: 9001 }))).toEqual(PASS);
    expect(runHarness(loaded, udpFrame({ payload: get, udpLength: 7 }))).toEqual(PASS);
    const arp = udpFrame({ payload: get });
    arp.set([0x08, 0x06], 12);
    expect(runHarness(loaded, arp)).toEqual(PASS);
    expect(runHarness(loaded, udpFrame({ payload: get }).subarray(0, 40))).toEqual(PASS);
  });

  it('bounds payload reads by the UDP length, not the frame end, and by the frame', () => {
    const ir = policyIr({
      input: 'udp',
      insns: [
        { op: 'input', dst: 0, field: 'srcPort' },
        { op: 'load', dst: 1, region: 'payload', offset: 0, size: 2, byteOrder: 'le' },
        { op: 'load', dst: 2, region: 'payload', offset: 2n, size: 2, byteOrder: 'be' },
        { op: 'binary', kind: 'shl', dst: 3, a: 1, b: 16n },
        { op: 'binary', kind: 'or', dst: 4, a: 3, b: 2 },
        { op: 'return', verdict: 'executor', value: 4 },
      ],
    });
    using loaded = loadSpec(generateTestHarness(ir));
    const four = bytesOf(0x11, 0x22, 0x33, 0x44);
    // srcPort 0: the variable offset is 0.
    expect(runHarness(loaded, udpFrame({ payload: four, srcPort: 0 }))).toEqual(executor(0x2211_3344n));
    // A padded frame: the bytes are there, but past the UDP length.
    expect(runHarness(loaded, udpFrame({ payload: four.subarray(0, 3), srcPort: 0, trailer: 8 }))).toEqual(PASS);
    // A UDP length beyond the frame: reads inside the frame work, reads past it pass.
    expect(runHarness(loaded, udpFrame({ payload: four, srcPort: 0, udpLength: 200 }))).toEqual(executor(0x2211_3344n));
    expect(runHarness(loaded, udpFrame({ payload: four, srcPort: 3, udpLength: 200 }))).toEqual(PASS);
    // A variable offset at 2^64 - 1 must not wrap around.
    const wrap = policyIr({
      input: 'udp',
      insns: [
        { op: 'input', dst: 0, field: 'srcPort' },
        { op: 'binary', kind: 'sub', dst: 1, a: 0, b: 1n },
        { op: 'load', dst: 2, region: 'payload', offset: 1, size: 2, byteOrder: 'be' },
        { op: 'return', verdict: 'executor', value: 2 },
      ],
    });
    using wrapping = loadSpec(generateTestHarness(wrap));
    expect(runHarness(wrapping, udpFrame({ payload: four, srcPort: 0 }))).toEqual(PASS);
    expect(runHarness(wrapping, udpFrame({ payload: four, srcPort: 3 }))).toEqual(executor(0x3344n));
  });

  it('reads a raw frame and its length for a packet input', () => {
    const ir = policyIr({
      input: 'packet',
      insns: [
        { op: 'input', dst: 0, field: 'length' },
        { op: 'load', dst: 1, region: 'data', offset: 12n, size: 2, byteOrder: 'be' },
        { op: 'binary', kind: 'sub', dst: 2, a: 0, b: 1n },
        { op: 'load', dst: 3, region: 'data', offset: 2, size: 1, byteOrder: 'be' },
        { op: 'binary', kind: 'shl', dst: 4, a: 0, b: 32n },
        { op: 'binary', kind: 'shl', dst: 5, a: 1, b: 8n },
        { op: 'binary', kind: 'or', dst: 6, a: 4, b: 5 },
        { op: 'binary', kind: 'or', dst: 7, a: 6, b: 3 },
        { op: 'return', verdict: 'executor', value: 7 },
      ],
    });
    using loaded = loadSpec(generateTestHarness(ir));
    const frame = udpFrame({ payload: bytesOf(1, 2, 3) });
    frame[frame.length - 1] = 0x5a;
    expect(runHarness(loaded, frame)).toEqual(executor((BigInt(frame.length) << 32n) | (0x0800n << 8n) | 0x5an));
  });

  it('keeps eight values live across map calls (spilling) and gets the right answer', () => {
    const insns: IrInsn[] = [];
    const fields = ['srcPort', 'dstPort', 'len', 'payloadLength', 'srcAddr', 'dstAddr', 'hash'] as const;
    for (let v = 0; v < 8; v++) insns.push({ op: 'input', dst: v, field: fields[v % fields.length]! });
    insns.push({ op: 'binary', kind: 'add', dst: 7, a: 7, b: 1000n });
    insns.push({ op: 'map-fetch-add', dst: 8, map: 'm', key: 0n, delta: 5n });
    insns.push({ op: 'map-get', dst: 9, map: 'm', key: 0n });
    insns.push({ op: 'map-set', map: 'm', key: 1n, value: 9 });
    let acc = 9;
    for (let v = 0; v < 9; v++) {
      insns.push({ op: 'binary', kind: 'mul', dst: 10 + v, a: acc, b: 3n });
      insns.push({ op: 'binary', kind: 'add', dst: 10 + v, a: 10 + v, b: v });
      acc = 10 + v;
    }
    insns.push({ op: 'return', verdict: 'executor', value: acc });
    const ir = policyIr({ input: 'udp', maps: { m: array(2) }, insns });
    const spec = generateTestHarness(ir);
    // The allocation really spilled: more than the fixed frame is in use.
    expect(spec.stackSize).toBeGreaterThan(8 * 12);
    using loaded = loadSpec(spec);
    const payload = bytesOf(9, 9, 9);
    const src = ipv4Address('10.0.0.1');
    const dst = ipv4Address('10.0.0.2');
    const values = [40000n, 9000n, 11n, 3n, BigInt(src), BigInt(dst), BigInt(flowHash(src, dst, 40000, 9000)), 40000n + 1000n];
    // The fold starts from the value read back (5) and ends with the fetch-add's old value (0).
    let expected = 5n;
    const operands = [...values, 0n];
    for (let v = 0; v < 9; v++) expected = (expected * 3n + operands[v]!) & 0xffff_ffff_ffff_ffffn;
    expect(runHarness(loaded, udpFrame({ payload, srcPort: 40000, dstPort: 9000 }))).toEqual(executor(expected));
    expect(readU64(loaded.maps.get('m')!, 0)).toBe(5n);
    expect(readU64(loaded.maps.get('m')!, 1)).toBe(5n);
  });

  it('makes decisions that depend on the packet and on a map the application writes', () => {
    const ir = policyIr({
      input: 'udp',
      maps: { routes: hash(16) },
      insns: [
        { op: 'load', dst: 0, region: 'payload', offset: 0n, size: 1, byteOrder: 'be' },
        { op: 'map-get', dst: 1, map: 'routes', key: 0 },
        { op: 'jump-if', kind: 'eq', a: 1, b: 0n, target: 'none' },
        { op: 'jump-if', kind: 'eq', a: 1, b: 0xffn, target: 'drop' },
        { op: 'return', verdict: 'executor', value: 1 },
        { op: 'label', label: 'none' },
        { op: 'return', verdict: 'pass' },
        { op: 'label', label: 'drop' },
        { op: 'return', verdict: 'drop' },
      ],
    });
    using loaded = loadSpec(generateTestHarness(ir));
    const routes = loaded.maps.get('routes')!;
    const frame = (key: number) => udpFrame({ payload: bytesOf(key, 0) });
    expect(runHarness(loaded, frame(3))).toEqual(PASS);
    writeU64(routes, 3, 7n);
    writeU64(routes, 4, 0xffn);
    expect(runHarness(loaded, frame(3))).toEqual(executor(7n));
    expect(runHarness(loaded, frame(4))).toEqual({ kind: 'drop' });
    writeU64(routes, 3, 2n);
    expect(runHarness(loaded, frame(3))).toEqual(executor(2n));
    expect(runHarness(loaded, udpFrame())).toEqual(PASS);
  });

  it('keeps the map semantics of the IR for every data map kind', () => {
    const ir = policyIr({
      input: 'udp',
      maps: { h: hash(2), a: array(2), p: percpuArray(2), l: lruHash(8) },
      insns: [
        { op: 'load', dst: 0, region: 'payload', offset: 0n, size: 1, byteOrder: 'be' }, // key
        { op: 'load', dst: 1, region: 'payload', offset: 1n, size: 1, byteOrder: 'be' }, // operation
        { op: 'jump-if', kind: 'eq', a: 1, b: 1n, target: 'add' },
        { op: 'jump-if', kind: 'eq', a: 1, b: 2n, target: 'cas0' },
        { op: 'jump-if', kind: 'eq', a: 1, b: 3n, target: 'cas5' },
        { op: 'jump-if', kind: 'eq', a: 1, b: 4n, target: 'set' },
        { op: 'map-delete', map: 'h', key: 0 },
        { op: 'map-delete', map: 'a', key: 0 },
        { op: 'return', verdict: 'pass' },
        { op: 'label', label: 'add' },
        { op: 'map-fetch-add', dst: 2, map: 'h', key: 0, delta: 10n },
        { op: 'map-fetch-add', dst: 3, map: 'a', key: 0, delta: 10n },
        { op: 'map-fetch-add', dst: 4, map: 'p', key: 0, delta: 10n },
        { op: 'map-fetch-add', dst: 5, map: 'l', key: 0, delta: 10n },
        // Not p's answer: the test run may land on another CPU, whose slot differs.
        { op: 'binary', kind: 'shl', dst: 6, a: 2, b: 48n },
        { op: 'binary', kind: 'shl', dst: 7, a: 3, b: 32n },
        { op: 'binary', kind: 'or', dst: 9, a: 6, b: 7 },
        { op: 'binary', kind: 'or', dst: 9, a: 9, b: 5 },
        { op: 'return', verdict: 'executor', value: 9 },
        { op: 'label', label: 'cas0' },
        { op: 'map-cmpxchg', dst: 2, map: 'h', key: 0, expected: 0n, desired: 42n },
        { op: 'return', verdict: 'executor', value: 2 },
        { op: 'label', label: 'cas5' },
        { op: 'map-cmpxchg', dst: 2, map: 'h', key: 0, expected: 5n, desired: 99n },
        { op: 'return', verdict: 'executor', value: 2 },
        { op: 'label', label: 'set' },
        { op: 'map-set', map: 'h', key: 0, value: 5n },
        { op: 'map-set', map: 'a', key: 0, value: 5n },
        { op: 'return', verdict: 'drop' },
      ],
    });
    using loaded = loadSpec(generateTestHarness(ir));
    const h = loaded.maps.get('h')!;
    const run = (key: number, op: number) => runHarness(loaded, udpFrame({ payload: bytesOf(key, op) }));
    // fetch-add on absent keys: the hash and LRU insert the delta, the array key 9 is out of range; all answer 0.
    expect(run(9, 1)).toEqual(executor(0n));
    expect(readU64(h, 9)).toBe(10n);
    expect(run(9, 1)).toEqual(executor((10n << 48n) | 10n));
    expect(run(1, 1)).toEqual(executor(0n));
    // The hash holds 2 entries: a third key is not inserted, and fetch-add answers 0.
    expect(run(2, 1)).toEqual(executor(0n));
    expect(readU64(h, 2)).toBeUndefined();
    expect(run(1, 1)).toEqual(executor((10n << 48n) | (10n << 32n) | 10n));
    // compare-exchange on an absent key: inserts only when it expected 0.
    h.delete(u32Key(1));
    expect(run(1, 3)).toEqual(executor(0n));
    expect(readU64(h, 1)).toBeUndefined();
    expect(run(1, 2)).toEqual(executor(0n));
    expect(readU64(h, 1)).toBe(42n);
    expect(run(1, 2)).toEqual(executor(42n));
    expect(run(1, 4)).toEqual({ kind: 'drop' });
    expect(run(1, 3)).toEqual(executor(5n));
    expect(readU64(h, 1)).toBe(99n);
    // delete: gone from the hash, a no-op on the array.
    writeU64(loaded.maps.get('a')!, 1, 77n);
    expect(run(1, 0)).toEqual(PASS);
    expect(readU64(h, 1)).toBeUndefined();
    expect(readU64(loaded.maps.get('a')!, 1)).toBe(77n);
    // The per-CPU array counted in one CPU's slot.
    const perCpu = loaded.maps.get('p')!.lookup(u32Key(1))!;
    const view = new DataView(perCpu.buffer);
    let sum = 0n;
    for (let at = 0; at < perCpu.length; at += 8) sum += view.getBigUint64(at, true);
    expect(sum).toBe(20n);
  });

  it('returns the hook verdicts: redirect to a CPU, miss and beyond-u32 keys pass, DROP drops', () => {
    const ir = policyIr({
      input: 'udp',
      insns: [
        { op: 'load', dst: 0, region: 'payload', offset: 0n, size: 8, byteOrder: 'be' },
        { op: 'jump-if', kind: 'eq', a: 0, b: 0xffff_ffff_ffff_ffffn, target: 'drop' },
        { op: 'return', verdict: 'executor', value: 0 },
        { op: 'label', label: 'drop' },
        { op: 'return', verdict: 'drop' },
      ],
    });
    const key = (k: bigint) => {
      const bytes = new Uint8Array(8);
      new DataView(bytes.buffer).setBigUint64(0, k);
      return udpFrame({ payload: bytes });
    };
    using cpu = loadSpec(generateProgram(ir, { target: 'cpu-redirect', maxExecutors: 4 }));
    const cpuVal = new Uint8Array(8);
    new DataView(cpuVal.buffer).setUint32(0, 192, true);
    cpu.maps.get('.executors')!.update(u32Key(0), cpuVal);
    expect(cpu.program.testRun(key(0n)).verdict).toBe('XDP_REDIRECT');
    expect(cpu.program.testRun(key(1n)).verdict).toBe('XDP_PASS');
    expect(cpu.program.testRun(key(1n << 32n)).verdict).toBe('XDP_PASS');
    expect(cpu.program.testRun(key(0xffff_ffff_ffff_ffffn)).verdict).toBe('XDP_DROP');
    expect(cpu.program.testRun(udpFrame({ payload: bytesOf(1) })).verdict).toBe('XDP_PASS');
    using xsk = loadSpec(generateProgram(ir, { target: 'xdp-skb' }));
    expect(xsk.program.testRun(key(0n)).verdict).toBe('XDP_PASS');
    expect(xsk.program.testRun(key(0xffff_ffff_ffff_ffffn)).verdict).toBe('XDP_DROP');
  });

  it('runs the helpers: random() is 32 bits, now() advances, cpu() is a CPU', () => {
    const ir = policyIr({
      input: 'packet',
      maps: { out: array(3) },
      insns: [
        { op: 'helper', dst: 0, helper: 'random' },
        { op: 'helper', dst: 1, helper: 'now' },
        { op: 'helper', dst: 2, helper: 'cpu' },
        { op: 'map-set', map: 'out', key: 0n, value: 0 },
        { op: 'map-set', map: 'out', key: 1n, value: 1 },
        { op: 'map-set', map: 'out', key: 2n, value: 2 },
        { op: 'return', verdict: 'pass' },
      ],
    });
    using loaded = loadSpec(generateTestHarness(ir));
    const out = loaded.maps.get('out')!;
    const seen = new Set<bigint>();
    let previous = 0n;
    for (let i = 0; i < 8; i++) {
      expect(runHarness(loaded, udpFrame())).toEqual(PASS);
      const r = readU64(out, 0)!;
      expect(r).toBeLessThan(1n << 32n);
      seen.add(r);
      const now = readU64(out, 1)!;
      expect(now).toBeGreaterThan(previous);
      previous = now;
      expect(readU64(out, 2)!).toBeLessThan(4096n);
    }
    expect(seen.size).toBeGreaterThan(1);
  });

  it('maps a verifier rejection back to the policy line through BTF line info', () => {
    const source = ['import { definePolicy } from "@syrup/core";', '', 'export default definePolicy({', '  schedule(pkt) {', '    return pkt.len;', '  },', '});'].join('\n');
    const ir = policyIr({
      input: 'udp',
      insns: [
        { op: 'input', dst: 0, field: 'len', pos: { line: 5, column: 12 } },
        { op: 'binary', kind: 'add', dst: 1, a: 0, b: 1n, pos: { line: 5, column: 5 } },
        { op: 'return', verdict: 'executor', value: 1, pos: { line: 5, column: 5 } },
      ],
    });
    const spec = generateProgram(ir, { target: 'xdp-drv', sourceText: source });
    // Replace the body's first instruction (one slot) with a load through a scalar, which the verifier refuses.
    const bodyStart = spec.origins.find((o) => o.section === 'body')!.slot;
    let slot = 0;
    const instructions = spec.instructions.map((item) => {
      if (!(item instanceof Instruction)) return item;
      const at = slot;
      slot += item.slots;
      return at === bodyStart ? loadMem(R5, R5, 0, 'B').withSource({ file: 'policy.ts', line: 5, column: 12 }) : item;
    });
    const maps = new Map(spec.maps.map((m) => [m.name, KernelMap.create({ type: m.mapType, keySize: m.keySize, valueSize: m.valueSize, maxEntries: m.maxEntries })]));
    try {
      Program.load({
        name: spec.name,
        type: spec.programTypeNumber,
        license: spec.license,
        instructions,
        maps,
        btf: { blob: spec.btf.blob, lineInfo: spec.btf.lineInfo, funcInfo: spec.btf.funcInfo },
      }).close();
      expect.fail('the verifier accepted a load through a scalar');
    } catch (error) {
      expect(error).toBeInstanceOf(VerifierError);
      const verifier = error as VerifierError;
      expect(verifier.log.join('\n')).toContain('; return pkt.len; @ policy.ts:5');
      expect(verifier.source).toEqual({ file: 'policy.ts', line: 5, column: 12 });
    } finally {
      for (const map of maps.values()) map.close();
    }
  });
});
