import { describe, expect, it } from 'vitest';
import {
  R0,
  R1,
  R2,
  R3,
  R6,
  R10,
  loadAbs,
  loadImm64,
  loadInd,
  loadMapPtr,
  loadMapValue,
  loadMem,
  loadMemSx,
  storeImm,
  storeMem,
  type Instruction,
  type NarrowSize,
  type Size,
} from '../../src/asm/index.js';
import { hex } from './support.js';

const cases: [string, () => Instruction, string][] = [
  ['r1 = *(u32 *)(r6 +0)', () => loadMem(R1, R6, 0, 'W'), '6161000000000000'],
  ['r1 = *(u16 *)(r6 +12)', () => loadMem(R1, R6, 12, 'H'), '69610c0000000000'],
  ['r1 = *(u8 *)(r6 +23)', () => loadMem(R1, R6, 23, 'B'), '7161170000000000'],
  ['r2 = *(u64 *)(r10 -8)', () => loadMem(R2, R10, -8, 'DW'), '79a2f8ff00000000'],
  ['r1 = *(s8 *)(r2 +4)', () => loadMemSx(R1, R2, 4, 'B'), '9121040000000000'],
  ['r1 = *(s16 *)(r2 +4)', () => loadMemSx(R1, R2, 4, 'H'), '8921040000000000'],
  ['r1 = *(s32 *)(r2 +4)', () => loadMemSx(R1, R2, 4, 'W'), '8121040000000000'],
  ['*(u64 *)(r10 -8) = r1', () => storeMem(R10, -8, R1, 'DW'), '7b1af8ff00000000'],
  ['*(u32 *)(r10 -4) = r0', () => storeMem(R10, -4, R0, 'W'), '630afcff00000000'],
  ['*(u16 *)(r1 +2) = r2', () => storeMem(R1, 2, R2, 'H'), '6b21020000000000'],
  ['*(u8 *)(r1 +1) = r2', () => storeMem(R1, 1, R2, 'B'), '7321010000000000'],
  ['*(u32 *)(r10 -4) = 7', () => storeImm(R10, -4, 7, 'W'), '620afcff07000000'],
  ['*(u16 *)(r10 -2) = 0xbeef', () => storeImm(R10, -2, 0xbeef, 'H'), '6a0afeffefbe0000'],
  ['*(u8 *)(r10 -1) = 255', () => storeImm(R10, -1, 255, 'B'), '720affffff000000'],
  ['*(u64 *)(r1 +0) = -1', () => storeImm(R1, 0, -1, 'DW'), '7a010000ffffffff'],
  ['r1 = 0x1122334455667788', () => loadImm64(R1, 0x1122_3344_5566_7788n), '1801000088776655 0000000044332211'],
  // The same two slots cilium/ebpf's asm tests use for math.MinInt32 - 1.
  ['r0 = -2147483649', () => loadImm64(R0, -2_147_483_649), '18000000ffffff7f 00000000ffffffff'],
  ['r2 = -1 (bigint)', () => loadImm64(R2, -1n), '18020000ffffffff 00000000ffffffff'],
  ['r2 = 2^64-1 (unsigned spelling)', () => loadImm64(R2, 0xffff_ffff_ffff_ffffn), '18020000ffffffff 00000000ffffffff'],
  ['r3 = 1', () => loadImm64(R3, 1), '1803000001000000 0000000000000000'],
  ['r0 = *(u16 *)skb[12]', () => loadAbs(12, 'H'), '280000000c000000'],
  ['r0 = *(u8 *)skb[23]', () => loadAbs(23, 'B'), '3000000017000000'],
  ['r0 = *(u32 *)skb[26]', () => loadAbs(26, 'W'), '200000001a000000'],
  ['r0 = *(u8 *)skb[r1 + 4]', () => loadInd(R1, 4, 'B'), '5010000004000000'],
  ['r0 = *(u16 *)skb[r1 + 2]', () => loadInd(R1, 2, 'H'), '4810000002000000'],
  ['r0 = *(u32 *)skb[r1 + 0]', () => loadInd(R1, 0, 'W'), '4010000000000000'],
];

describe('load and store builders', () => {
  it.each(cases)('%s', (_name, build, expected) => {
    expect(hex(build())).toBe(expected);
  });

  it('make LD_IMM64 a two-slot instruction holding a bigint', () => {
    const ins = loadImm64(R1, 42);
    expect(ins.slots).toBe(2);
    expect(ins.imm).toBe(42n);
    expect(loadMem(R1, R6, 0, 'W').slots).toBe(1);
  });

  it('patch the map fd into a map pointer load at encode time (src = PSEUDO_MAP_FD)', () => {
    const ins = loadMapPtr(R1, 'counters');
    expect(ins.map).toBe('counters');
    expect(ins.src).toBe(1);
    expect(hex(ins, { maps: new Map([['counters', 7]]) })).toBe('1811000007000000 0000000000000000');
    expect(hex(ins, { maps: (name) => (name === 'counters' ? 300 : undefined) })).toBe('181100002c010000 0000000000000000');
  });

  it('patch the map fd into a map value load and keep the offset in the second slot (src = PSEUDO_MAP_VALUE)', () => {
    const ins = loadMapValue(R2, 'config', 16);
    expect(ins.src).toBe(2);
    expect(hex(ins, { maps: new Map([['config', 5]]) })).toBe('1822000005000000 0000000010000000');
  });

  it('refuse to encode a map load whose map has no fd', () => {
    expect(() => hex(loadMapPtr(R1, 'counters'))).toThrowError(
      expect.objectContaining({ code: 'ASM_UNKNOWN_MAP', message: "instruction 0 loads map 'counters', which has no fd." }),
    );
    expect(() => hex(loadMapPtr(R1, 'counters'), { maps: new Map([['other', 3]]) })).toThrowError(
      expect.objectContaining({ code: 'ASM_UNKNOWN_MAP' }),
    );
    expect(() => hex(loadMapPtr(R1, 'counters'), { maps: () => -1 })).toThrowError(
      expect.objectContaining({ code: 'ASM_INVALID_OPERAND' }),
    );
  });

  it('refuse to write r10 but allow it as a base', () => {
    for (const write of [
      () => loadMem(R10, R1, 0, 'W'),
      () => loadMemSx(R10, R1, 0, 'B'),
      () => loadImm64(R10, 1),
      () => loadMapPtr(R10, 'm'),
      () => loadMapValue(R10, 'm'),
    ]) {
      expect(write).toThrowError(expect.objectContaining({ code: 'ASM_READ_ONLY_REGISTER' }));
    }
    expect(hex(loadMem(R1, R10, -8, 'DW'))).toBe('79a1f8ff00000000');
  });

  it('reject out-of-range offsets and immediates', () => {
    expect(() => loadMem(R1, R2, 0x8000, 'W')).toThrowError(expect.objectContaining({ code: 'ASM_OFFSET_RANGE' }));
    expect(() => storeMem(R1, -0x8001, R2, 'W')).toThrowError(expect.objectContaining({ code: 'ASM_OFFSET_RANGE' }));
    expect(() => storeImm(R10, -1, 256, 'B')).toThrowError(expect.objectContaining({ code: 'ASM_IMMEDIATE_RANGE' }));
    expect(() => storeImm(R10, -2, -0x8001, 'H')).toThrowError(expect.objectContaining({ code: 'ASM_IMMEDIATE_RANGE' }));
    expect(() => storeImm(R10, -8, 0x8000_0000, 'DW')).toThrowError(expect.objectContaining({ code: 'ASM_IMMEDIATE_RANGE' }));
    expect(() => loadImm64(R1, 1n << 64n)).toThrowError(expect.objectContaining({ code: 'ASM_IMMEDIATE_RANGE' }));
    expect(() => loadImm64(R1, 2 ** 60)).toThrowError(expect.objectContaining({ code: 'ASM_IMMEDIATE_RANGE' }));
    expect(() => loadMapValue(R1, 'm', -1)).toThrowError(expect.objectContaining({ code: 'ASM_OFFSET_RANGE' }));
  });

  it('reject sizes an addressing mode does not have', () => {
    expect(() => loadAbs(0, 'DW' as NarrowSize)).toThrowError(expect.objectContaining({ code: 'ASM_INVALID_OPERAND' }));
    expect(() => loadMemSx(R1, R2, 0, 'DW' as NarrowSize)).toThrowError(expect.objectContaining({ code: 'ASM_INVALID_OPERAND' }));
    expect(() => loadMem(R1, R2, 0, 'Q' as Size)).toThrowError(expect.objectContaining({ code: 'ASM_INVALID_OPERAND' }));
    expect(() => loadMapPtr(R1, '')).toThrowError(expect.objectContaining({ code: 'ASM_INVALID_OPERAND' }));
  });
});
