import { describe, expect, it } from 'vitest';
import type { IrInsn } from '@syrup/core';
import { disassemble, R1, R2, R3, R6, type Register } from '../../src/asm/index.js';
import { Emitter } from '../../src/codegen/emitter.js';
import { evalBinary as foldBinary } from '@syrup/core';
import { emitConditionalJump, lowerBinary } from '../../src/codegen/lower-insn.js';
import { planBoundsChecks } from '../../src/codegen/lower-load.js';
import { Operands, emitConstant, fitsImm32 } from '../../src/codegen/operands.js';
import type { Location } from '../../src/codegen/register-allocator.js';

const reg = (r: Register): Location => ({ kind: 'register', reg: r });
const stack = (offset: number): Location => ({ kind: 'stack', offset });

/** Lowers with v0 in r1, v1 in r2, v2 in r3, v3 at fp-16, v4 at fp-24, v5 in r6; returns the text. */
function lower(body: (e: Emitter, ops: Operands) => void): string {
  const e = new Emitter();
  const ops = new Operands(
    e,
    new Map<number, Location>([
      [0, reg(R1)],
      [1, reg(R2)],
      [2, reg(R3)],
      [3, stack(-16)],
      [4, stack(-24)],
      [5, reg(R6)],
    ]),
  );
  body(e, ops);
  e.label('.end');
  e.emit(...[]);
  return disassemble(e.items, { opcodes: false, labels: false })
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => line.replace(/^\d+: /, ''))
    .join('\n');
}

describe('lowerBinary', () => {
  it('folds a division by the constant 0 to 0 and a modulo by it to the dividend', () => {
    expect(lower((e, ops) => lowerBinary(e, ops, 'div', 1, 0, 0n))).toBe('r2 = 0');
    expect(lower((e, ops) => lowerBinary(e, ops, 'mod', 1, 0, 0n))).toBe('r2 = r1');
    expect(lower((e, ops) => lowerBinary(e, ops, 'mod', 3, 0, 0n))).toBe('*(u64 *)(r10 -16) = r1');
  });

  it('divides by a runtime divisor natively (x / 0 = 0 and x % 0 = x in eBPF)', () => {
    expect(lower((e, ops) => lowerBinary(e, ops, 'div', 2, 0, 1))).toBe('r3 = r1\nr3 /= r2');
    expect(lower((e, ops) => lowerBinary(e, ops, 'mod', 2, 0, 1))).toBe('r3 = r1\nr3 %= r2');
  });

  it('masks constant shift amounts at compile time and variable ones with & 63', () => {
    expect(lower((e, ops) => lowerBinary(e, ops, 'shl', 1, 0, 65n))).toBe('r2 = r1\nr2 <<= 1');
    expect(lower((e, ops) => lowerBinary(e, ops, 'shr', 1, 0, 64n))).toBe('r2 = r1');
    expect(lower((e, ops) => lowerBinary(e, ops, 'shr', 2, 0, 1))).toBe('r5 = r2\nr5 &= 63\nr3 = r1\nr3 >>= r5');
  });

  it('folds operations on two constants with u64 wrap-around', () => {
    expect(lower((e, ops) => lowerBinary(e, ops, 'sub', 1, 0n, 1n))).toBe('r2 = -1');
    expect(foldBinary('mul', 1n << 63n, 2n)).toBe(0n);
    expect(foldBinary('shl', 1n, 64n)).toBe(1n);
    expect(foldBinary('div', 7n, 0n)).toBe(0n);
    expect(foldBinary('mod', 7n, 0n)).toBe(7n);
  });

  it('uses an immediate only when it sign-extends to the constant, a register otherwise', () => {
    expect(lower((e, ops) => lowerBinary(e, ops, 'add', 1, 0, 0x7fff_ffffn))).toBe('r2 = r1\nr2 += 2147483647');
    expect(lower((e, ops) => lowerBinary(e, ops, 'add', 1, 0, 0xffff_ffff_ffff_ffffn))).toBe('r2 = r1\nr2 += -1');
    expect(lower((e, ops) => lowerBinary(e, ops, 'and', 1, 0, 0xffff_ffffn))).toBe('w5 = -1\nr2 = r1\nr2 &= r5');
    expect(lower((e, ops) => lowerBinary(e, ops, 'div', 1, 0, 0xffff_ffff_ffff_fff0n))).toBe('r2 = r1\nr2 /= -16');
  });

  it('puts a constant left operand first when the operation commutes', () => {
    expect(lower((e, ops) => lowerBinary(e, ops, 'add', 1, 5n, 0))).toBe('r2 = r1\nr2 += 5');
    expect(lower((e, ops) => lowerBinary(e, ops, 'sub', 1, 5n, 0))).toBe('r2 = 5\nr2 -= r1');
  });

  it('saves the right operand when the result lives where it does', () => {
    expect(lower((e, ops) => lowerBinary(e, ops, 'sub', 1, 0, 1))).toBe('r5 = r2\nr2 = r1\nr2 -= r5');
    expect(lower((e, ops) => lowerBinary(e, ops, 'mul', 1, 1, 1))).toBe('r2 *= r2');
  });

  it('reads spilled operands into r0 and r5 and stores a spilled result', () => {
    expect(lower((e, ops) => lowerBinary(e, ops, 'xor', 4, 3, 4))).toBe(
      ['r5 = *(u64 *)(r10 -24)', 'r0 = *(u64 *)(r10 -16)', 'r0 ^= r5', '*(u64 *)(r10 -24) = r0'].join('\n'),
    );
  });
});

describe('emitConditionalJump', () => {
  it('swaps a constant left operand and mirrors the condition', () => {
    expect(lower((e, ops) => emitConditionalJump(e, ops, 'lt', 5n, 0, '.end'))).toBe('if r1 > 0x5 goto pc+0');
  });

  it('compares unsigned over 64 bits, loading constants that do not fit an immediate', () => {
    expect(lower((e, ops) => emitConditionalJump(e, ops, 'ge', 0, 0x8000_0000n, '.end'))).toBe(
      // A 32-bit move zero-extends: w5 = 0x80000000 is the u64 2^31.
      'w5 = -2147483648\nif r1 >= r5 goto pc+0',
    );
    expect(lower((e, ops) => emitConditionalJump(e, ops, 'le', 3, 5, '.end'))).toBe('r0 = *(u64 *)(r10 -16)\nif r0 <= r6 goto pc+0');
  });
});

describe('emitConstant and fitsImm32', () => {
  it('picks the shortest form of each constant', () => {
    const text = (value: bigint) => lower((e) => emitConstant(e, R1, value));
    expect(text(5n)).toBe('r1 = 5');
    expect(text(0xffff_ffffn)).toBe('w1 = -1');
    expect(text(0xffff_ffff_ffff_ffffn)).toBe('r1 = -1');
    expect(text(0x1_0000_0000n)).toBe('r1 = 0x100000000');
    expect(fitsImm32(0x8000_0000n)).toBe(false);
    expect(fitsImm32(0xffff_ffff_8000_0000n)).toBe(true);
  });
});

describe('planBoundsChecks', () => {
  it('checks once per run of constant loads, up to the furthest byte, and starts again after side effects', () => {
    const insns: IrInsn[] = [
      { op: 'load', dst: 0, region: 'payload', offset: 0n, size: 4, byteOrder: 'be' },
      { op: 'load', dst: 1, region: 'payload', offset: 8n, size: 8, byteOrder: 'be' },
      { op: 'load', dst: 2, region: 'payload', offset: 2, size: 1, byteOrder: 'be' },
      { op: 'map-set', map: 'm', key: 0n, value: 0 },
      { op: 'load', dst: 3, region: 'payload', offset: 1n, size: 1, byteOrder: 'be' },
      { op: 'label', label: 'x' },
      { op: 'load', dst: 4, region: 'payload', offset: 1n, size: 2, byteOrder: 'be' },
      { op: 'return', verdict: 'pass' },
    ];
    const plans = planBoundsChecks(insns);
    expect(plans.get(0)).toEqual({ kind: 'check', end: 16 });
    expect(plans.get(1)).toEqual({ kind: 'covered' });
    expect(plans.has(2)).toBe(false);
    expect(plans.get(4)).toEqual({ kind: 'check', end: 2 });
    expect(plans.get(6)).toEqual({ kind: 'check', end: 3 });
  });
});
