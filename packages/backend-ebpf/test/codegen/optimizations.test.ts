import { describe, expect, it } from 'vitest';
import type { IrInsn } from '@syrup/core';
import { disassemble } from '../../src/asm/index.js';
import { generateProgram } from '../../src/codegen/generate-program.js';
import { planPointerReuse } from '../../src/codegen/map-pointer-reuse.js';
import { normalizeIr } from '../../src/codegen/normalize-ir.js';
import { valueBounds } from '../../src/codegen/value-bounds.js';
import { array, hash, percpuArray, policyIr } from './support.js';

/*
 * The code generator's cheap optimizations, each shown on a small IR: what it leaves out and
 * when it must not. That the optimized programs still make the evaluator's decisions is the
 * differential suites' job (test/differential/, test/codegen/differential.kernel.test.ts).
 */

const U64_MAX = (1n << 64n) - 1n;

function xdp(insns: readonly IrInsn[], maps: Parameters<typeof policyIr>[0]['maps'] = { m: array(4) }): string {
  return disassemble(generateProgram(policyIr({ input: 'udp', maps, insns }), { target: 'xdp-drv' }).instructions, { opcodes: false });
}

const lookups = (code: string): number => code.split('\n').filter((line) => line.includes('call bpf_map_lookup_elem')).length;

describe('value bounds', () => {
  it('bounds what arithmetic on small values, 32-bit fields and short loads can reach', () => {
    const insns: IrInsn[] = [
      { op: 'input', dst: 0, field: 'hash' },
      { op: 'binary', kind: 'mod', dst: 1, a: 0, b: 6n },
      { op: 'binary', kind: 'add', dst: 2, a: 1, b: 1n },
      { op: 'load', dst: 3, region: 'payload', offset: 0n, size: 2, byteOrder: 'be' },
      { op: 'binary', kind: 'xor', dst: 4, a: 3, b: 0x1_0000n },
      { op: 'map-get', dst: 5, map: 'm', key: 0n },
      { op: 'binary', kind: 'and', dst: 6, a: 5, b: 0xffn },
      { op: 'binary', kind: 'sub', dst: 7, a: 1, b: 1n },
      { op: 'binary', kind: 'mod', dst: 8, a: 5, b: 0n },
      { op: 'return', verdict: 'executor', value: 2 },
    ];
    const max = valueBounds(insns);
    expect(max(0)).toBe(0xffff_ffffn);
    expect(max(1)).toBe(5n);
    expect(max(2)).toBe(6n);
    expect(max(4)).toBe(0x1_ffffn);
    expect(max(5)).toBe(U64_MAX);
    expect(max(6)).toBe(0xffn);
    // 0 - 1 wraps; x % 0 is x.
    expect(max(7)).toBe(U64_MAX);
    expect(max(8)).toBe(U64_MAX);
    expect(max(9n)).toBe(9n);
  });

  it('takes the largest over every write of a register, and gives up on one defined from itself', () => {
    const max = valueBounds([
      { op: 'const', dst: 0, value: 3n },
      { op: 'const', dst: 0, value: 70n },
      { op: 'binary', kind: 'add', dst: 1, a: 1, b: 1n },
      { op: 'return', verdict: 'pass' },
    ]);
    expect(max(0)).toBe(70n);
    expect(max(1)).toBe(U64_MAX);
  });

  it('lets a key proven below 2^32 skip the range check of the ending, and keeps it otherwise', () => {
    const small = xdp([
      { op: 'input', dst: 0, field: 'hash' },
      { op: 'binary', kind: 'mod', dst: 1, a: 0, b: 6n },
      { op: 'return', verdict: 'executor', value: 1 },
    ]);
    expect(small).not.toContain('>>= 32');
    const large = xdp([
      { op: 'map-get', dst: 0, map: 'm', key: 0n },
      { op: 'return', verdict: 'executor', value: 0 },
    ]);
    expect(large).toContain('>>= 32');
  });
});

describe('peephole', () => {
  it('turns a jump over a goto into one negated jump', () => {
    const code = xdp([
      { op: 'input', dst: 0, field: 'srcPort' },
      { op: 'jump-if', kind: 'ge', a: 0, b: 4n, target: 'go' },
      { op: 'return', verdict: 'pass' },
      { op: 'label', label: 'go' },
      { op: 'return', verdict: 'executor', value: 0 },
    ]);
    expect(code).toMatch(/if r\d < 0x4 goto pc\+\d+ <\.pass>/);
    expect(code).not.toMatch(/if r\d >= 0x4/);
  });

  it('drops a reload of the register just stored to the same stack slot', () => {
    const code = xdp([
      { op: 'input', dst: 0, field: 'hash' },
      { op: 'binary', kind: 'mod', dst: 1, a: 0, b: 6n },
      { op: 'return', verdict: 'executor', value: 1 },
    ]);
    const lines = code.split('\n').map((line) => line.replace(/^\d+: /, ''));
    for (let i = 0; i + 1 < lines.length; i++) {
      const store = /^\*\(u64 \*\)\(r10 (-\d+)\) = (r\d)$/.exec(lines[i]!);
      if (store) expect(lines[i + 1]).not.toBe(`${store[2]} = *(u64 *)(r10 ${store[1]})`);
    }
  });
});

describe('bounds checks the program already passed', () => {
  const reads = (guard: IrInsn[]): string =>
    xdp([
      { op: 'input', dst: 0, field: 'payloadLength' },
      ...guard,
      { op: 'load', dst: 1, region: 'payload', offset: 4n, size: 4, byteOrder: 'be' },
      { op: 'return', verdict: 'executor', value: 1 },
      { op: 'label', label: 'short' },
      { op: 'return', verdict: 'pass' },
    ]);

  it("leave out the length check after the policy's own payload.length test, not the pointer check", () => {
    const guarded = reads([{ op: 'jump-if', kind: 'lt', a: 0, b: 8n, target: 'short' }]);
    expect(guarded).not.toMatch(/if r5 < 0x8/);
    expect(guarded).toMatch(/if r5 > r0 goto/);
    // A shorter guard does not cover the read.
    const weak = reads([{ op: 'jump-if', kind: 'lt', a: 0, b: 7n, target: 'short' }]);
    expect(weak).toMatch(/if r5 < 0x8/);
  });

  it('leave out both checks of a read covered by an earlier one on every path', () => {
    const code = xdp([
      { op: 'load', dst: 0, region: 'payload', offset: 0n, size: 8, byteOrder: 'be' },
      { op: 'jump-if', kind: 'eq', a: 0, b: 1n, target: 'one' },
      { op: 'load', dst: 1, region: 'payload', offset: 2n, size: 2, byteOrder: 'be' },
      { op: 'return', verdict: 'executor', value: 1 },
      { op: 'label', label: 'one' },
      { op: 'load', dst: 2, region: 'payload', offset: 4n, size: 4, byteOrder: 'be' },
      { op: 'return', verdict: 'executor', value: 2 },
    ]);
    expect(code.split('\n').filter((line) => /if r5 > r0/.test(line))).toHaveLength(1);
  });
});

describe('element pointer reuse on arrays', () => {
  const getThenCmpxchg = (key0: bigint | number, key1: bigint | number): IrInsn[] => [
    { op: 'input', dst: 0, field: 'srcPort' },
    { op: 'map-get', dst: 1, map: 'm', key: key0 },
    { op: 'jump-if', kind: 'eq', a: 1, b: 0n, target: 'none' },
    { op: 'binary', kind: 'sub', dst: 2, a: 1, b: 1n },
    { op: 'map-cmpxchg', dst: 3, map: 'm', key: key1, expected: 1, desired: 2 },
    { op: 'return', verdict: 'executor', value: 3 },
    { op: 'label', label: 'none' },
    { op: 'return', verdict: 'drop' },
  ];

  it('looks an element up once for operations on the same key, constant or register', () => {
    expect(lookups(xdp(getThenCmpxchg(3n, 3n)))).toBe(1);
    expect(lookups(xdp(getThenCmpxchg(0, 0)))).toBe(1);
    expect(lookups(xdp(getThenCmpxchg(0, 0), { m: percpuArray(4) }))).toBe(1);
  });

  it('looks up again for another key, a hash map, or a key written in between', () => {
    expect(lookups(xdp(getThenCmpxchg(3n, 2n)))).toBe(2);
    expect(lookups(xdp(getThenCmpxchg(0, 0), { m: hash(4) }))).toBeGreaterThanOrEqual(2);
    const rewritten: IrInsn[] = [
      { op: 'input', dst: 0, field: 'srcPort' },
      { op: 'map-get', dst: 1, map: 'm', key: 0 },
      { op: 'binary', kind: 'add', dst: 0, a: 0, b: 1n },
      { op: 'map-fetch-add', dst: 2, map: 'm', key: 0, delta: 1n },
      { op: 'binary', kind: 'add', dst: 3, a: 1, b: 2 },
      { op: 'return', verdict: 'executor', value: 3 },
    ];
    expect(lookups(xdp(rewritten))).toBe(2);
  });

  it('needs the first operation to run on every path to the second', () => {
    const plans = planPointerReuse(
      normalizeIr(
        policyIr({
          input: 'udp',
          maps: { m: array(4) },
          insns: [
            { op: 'input', dst: 0, field: 'srcPort' },
            { op: 'jump-if', kind: 'eq', a: 0, b: 7n, target: 'skip' },
            { op: 'map-get', dst: 1, map: 'm', key: 1n },
            { op: 'label', label: 'skip' },
            { op: 'map-get', dst: 2, map: 'm', key: 1n },
            { op: 'return', verdict: 'executor', value: 2 },
          ],
        }),
      ).insns,
      { m: array(4) },
      () => -8,
    );
    expect(plans.size).toBe(0);
  });
});

describe('threading a goto through the test of a constant', () => {
  it('jumps straight to where the test leads and drops the assignment nothing reads any more', () => {
    const ir = policyIr({
      input: 'udp',
      insns: [
        { op: 'input', dst: 0, field: 'srcPort' },
        { op: 'jump-if', kind: 'eq', a: 0, b: 7n, target: 'no' },
        { op: 'const', dst: 1, value: 1n },
        { op: 'jump', target: 'done' },
        { op: 'label', label: 'no' },
        { op: 'const', dst: 1, value: 0n },
        { op: 'jump', target: 'done' },
        { op: 'label', label: 'done' },
        { op: 'jump-if', kind: 'ne', a: 1, b: 0n, target: 'yes' },
        { op: 'return', verdict: 'drop' },
        { op: 'label', label: 'yes' },
        { op: 'return', verdict: 'executor', value: 0 },
      ],
    });
    const { insns } = normalizeIr(ir);
    expect(insns.some((insn) => insn.op === 'const')).toBe(false);
    expect(insns.filter((insn) => insn.op === 'jump-if')).toHaveLength(1);
    expect(insns.filter((insn) => insn.op === 'return' && insn.verdict === 'drop')).toHaveLength(1);
  });
});
