import { describe, expect, it } from 'vitest';
import {
  R1,
  R2,
  R3,
  R10,
  atomic,
  atomicCmpXchg,
  atomicFetch,
  atomicXchg,
  type AtomicSize,
  type Instruction,
} from '../../src/asm/index.js';
import { hex } from './support.js';

// STX | ATOMIC | W = 0xc3, STX | ATOMIC | DW = 0xdb; imm holds the operation, | 0x01 to fetch.
const cases: [string, () => Instruction, string][] = [
  ['lock *(u64 *)(r1 +0) += r2', () => atomic('add', R1, 0, R2), 'db21000000000000'],
  ['lock *(u32 *)(r1 +4) += r2', () => atomic('add', R1, 4, R2, 'W'), 'c321040000000000'],
  ['lock *(u64 *)(r1 +0) |= r2', () => atomic('or', R1, 0, R2), 'db21000040000000'],
  ['lock *(u32 *)(r1 +0) &= r2', () => atomic('and', R1, 0, R2, 'W'), 'c321000050000000'],
  ['lock *(u64 *)(r1 +0) ^= r2', () => atomic('xor', R1, 0, R2), 'db210000a0000000'],
  ['r2 = atomic64_fetch_add', () => atomicFetch('add', R1, 0, R2), 'db21000001000000'],
  ['r2 = atomic_fetch_add', () => atomicFetch('add', R1, 0, R2, 'W'), 'c321000001000000'],
  ['r2 = atomic64_fetch_or', () => atomicFetch('or', R1, 0, R2), 'db21000041000000'],
  ['r2 = atomic_fetch_and', () => atomicFetch('and', R1, 8, R2, 'W'), 'c321080051000000'],
  ['r2 = atomic64_fetch_xor', () => atomicFetch('xor', R1, 0, R2), 'db210000a1000000'],
  ['r2 = atomic64_xchg', () => atomicXchg(R1, 0, R2), 'db210000e1000000'],
  ['r2 = atomic_xchg', () => atomicXchg(R1, 0, R2, 'W'), 'c3210000e1000000'],
  ['r0 = atomic64_cmpxchg', () => atomicCmpXchg(R1, 0, R3), 'db310000f1000000'],
  ['r0 = atomic_cmpxchg at -8', () => atomicCmpXchg(R1, -8, R3, 'W'), 'c331f8fff1000000'],
  ['lock on the stack', () => atomic('add', R10, -8, R1), 'db1af8ff00000000'],
];

describe('atomic builders', () => {
  it.each(cases)('%s', (_name, build, expected) => {
    expect(hex(build())).toBe(expected);
  });

  it('refuse fetching into r10', () => {
    expect(() => atomicFetch('add', R1, 0, R10)).toThrowError(expect.objectContaining({ code: 'ASM_READ_ONLY_REGISTER' }));
    expect(() => atomicXchg(R1, 0, R10)).toThrowError(expect.objectContaining({ code: 'ASM_READ_ONLY_REGISTER' }));
    // Without fetch r10 is only read.
    expect(hex(atomic('add', R1, 0, R10))).toBe('dba1000000000000');
  });

  it('exist only for W and DW', () => {
    expect(() => atomic('add', R1, 0, R2, 'H' as AtomicSize)).toThrowError(expect.objectContaining({ code: 'ASM_INVALID_OPERAND' }));
    expect(() => atomicCmpXchg(R1, 0, R2, 'B' as AtomicSize)).toThrowError(expect.objectContaining({ code: 'ASM_INVALID_OPERAND' }));
  });
});
