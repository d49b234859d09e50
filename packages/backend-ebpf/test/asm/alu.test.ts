import { describe, expect, it } from 'vitest';
import {
  Add,
  And,
  ArSh,
  AsmError,
  Div,
  LSh,
  Mod,
  Mov,
  Mul,
  Or,
  R0,
  R1,
  R2,
  R3,
  R4,
  R5,
  R6,
  R10,
  RSh,
  SDiv,
  SMod,
  Sub,
  Xor,
  aluImm,
  aluReg,
  byteSwap,
  movSx,
  movSx32,
  neg,
  neg32,
  toBigEndian,
  toLittleEndian,
  type Instruction,
  type Register,
  type SwapBits,
} from '../../src/asm/index.js';
import { hex } from './support.js';

// Expected bytes: opcode, (src << 4) | dst, offset LE16, imm LE32 (RFC 9669 opcode table).
const cases: [string, () => Instruction, string][] = [
  ['r1 += 22', () => Add.imm(R1, 22), '0701000016000000'],
  ['w1 += 22', () => Add.imm32(R1, 22), '0401000016000000'],
  ['r1 += r2', () => Add.reg(R1, R2), '0f21000000000000'],
  ['w1 += w2', () => Add.reg32(R1, R2), '0c21000000000000'],
  ['r1 -= -1', () => Sub.imm(R1, -1), '17010000ffffffff'],
  ['w1 -= w2', () => Sub.reg32(R1, R2), '1c21000000000000'],
  ['r2 *= 3', () => Mul.imm(R2, 3), '2702000003000000'],
  ['w2 *= w3', () => Mul.reg32(R2, R3), '2c32000000000000'],
  ['r3 /= 10', () => Div.imm(R3, 10), '370300000a000000'],
  ['r3 /= r4', () => Div.reg(R3, R4), '3f43000000000000'],
  ['w3 /= 10', () => Div.imm32(R3, 10), '340300000a000000'],
  ['w3 /= w4', () => Div.reg32(R3, R4), '3c43000000000000'],
  ['r3 s/= -2', () => SDiv.imm(R3, -2), '37030100feffffff'],
  ['w3 s/= w4', () => SDiv.reg32(R3, R4), '3c43010000000000'],
  ['r1 |= 0x40', () => Or.imm(R1, 0x40), '4701000040000000'],
  ['w1 |= w2', () => Or.reg32(R1, R2), '4c21000000000000'],
  ['w1 &= 0xffff', () => And.imm32(R1, 0xffff), '54010000ffff0000'],
  ['w1 &= 0xffffffff (unsigned spelling)', () => And.imm32(R1, 0xffff_ffff), '54010000ffffffff'],
  ['r1 &= r2', () => And.reg(R1, R2), '5f21000000000000'],
  ['r1 <<= 32', () => LSh.imm(R1, 32), '6701000020000000'],
  ['w1 <<= w2', () => LSh.reg32(R1, R2), '6c21000000000000'],
  ['w1 >>= 8', () => RSh.imm32(R1, 8), '7401000008000000'],
  ['r1 >>= r2', () => RSh.reg(R1, R2), '7f21000000000000'],
  ['r1 %= 7', () => Mod.imm(R1, 7), '9701000007000000'],
  ['w1 %= w2', () => Mod.reg32(R1, R2), '9c21000000000000'],
  ['w1 s%= -3', () => SMod.imm32(R1, -3), '94010100fdffffff'],
  ['r1 s%= r2', () => SMod.reg(R1, R2), '9f21010000000000'],
  ['r5 ^= 1', () => Xor.imm(R5, 1), 'a705000001000000'],
  ['w5 ^= w5', () => Xor.reg32(R5, R5), 'ac55000000000000'],
  ['r0 = 0', () => Mov.imm(R0, 0), 'b700000000000000'],
  ['r0 = -1', () => Mov.imm(R0, -1), 'b7000000ffffffff'],
  ['w0 = 0xffffffff', () => Mov.imm32(R0, 0xffff_ffff), 'b4000000ffffffff'],
  ['r6 = r1', () => Mov.reg(R6, R1), 'bf16000000000000'],
  ['w0 = w1', () => Mov.reg32(R0, R1), 'bc10000000000000'],
  ['r1 s>>= 63', () => ArSh.imm(R1, 63), 'c70100003f000000'],
  ['w1 s>>= w2', () => ArSh.reg32(R1, R2), 'cc21000000000000'],
  ['r1 = -r1', () => neg(R1), '8701000000000000'],
  ['w1 = -w1', () => neg32(R1), '8401000000000000'],
  ['r1 = (s8)r2', () => movSx(R1, R2, 8), 'bf21080000000000'],
  ['r1 = (s16)r2', () => movSx(R1, R2, 16), 'bf21100000000000'],
  ['r1 = (s32)r2', () => movSx(R1, R2, 32), 'bf21200000000000'],
  ['w1 = (s8)w2', () => movSx32(R1, R2, 8), 'bc21080000000000'],
  ['w1 = (s16)w2', () => movSx32(R1, R2, 16), 'bc21100000000000'],
  ['r1 = be16 r1', () => toBigEndian(R1, 16), 'dc01000010000000'],
  ['r1 = be32 r1', () => toBigEndian(R1, 32), 'dc01000020000000'],
  ['r1 = be64 r1', () => toBigEndian(R1, 64), 'dc01000040000000'],
  ['r1 = le16 r1', () => toLittleEndian(R1, 16), 'd401000010000000'],
  ['r1 = le64 r1', () => toLittleEndian(R1, 64), 'd401000040000000'],
  ['r1 = bswap16 r1', () => byteSwap(R1, 16), 'd701000010000000'],
  ['r1 = bswap32 r1', () => byteSwap(R1, 32), 'd701000020000000'],
  ['r1 = bswap64 r1', () => byteSwap(R1, 64), 'd701000040000000'],
  ['aluImm add 32', () => aluImm('add', R1, 1, 32), '0401000001000000'],
  ['aluReg xor 64', () => aluReg('xor', R6, R6), 'af66000000000000'],
];

describe('ALU builders', () => {
  it.each(cases)('%s', (_name, build, expected) => {
    expect(hex(build())).toBe(expected);
  });

  it('accept the unsigned spelling of a 32-bit immediate only in 32-bit operations', () => {
    expect(hex(Add.imm32(R1, 0x8000_0000))).toBe('0401000000000080');
    expect(() => Add.imm(R1, 0x8000_0000)).toThrowError(expect.objectContaining({ code: 'ASM_IMMEDIATE_RANGE' }));
    expect(() => Add.imm32(R1, 0x1_0000_0000)).toThrowError(expect.objectContaining({ code: 'ASM_IMMEDIATE_RANGE' }));
    expect(() => Add.imm(R1, 1.5)).toThrowError(expect.objectContaining({ code: 'ASM_IMMEDIATE_RANGE' }));
  });

  it('refuse to write r10, the read-only frame pointer', () => {
    const writes: (() => Instruction)[] = [
      () => Mov.imm(R10, 0),
      () => Add.reg(R10, R1),
      () => Sub.imm32(R10, 8),
      () => neg(R10),
      () => neg32(R10),
      () => movSx(R10, R1, 8),
      () => byteSwap(R10, 16),
      () => toBigEndian(R10, 32),
    ];
    for (const write of writes) {
      expect(write).toThrowError(AsmError);
      expect(write).toThrowError(expect.objectContaining({ code: 'ASM_READ_ONLY_REGISTER' }));
    }
    expect(() => Mov.imm(R10, 0)).toThrowError('destination of mov cannot be r10, the read-only frame pointer.');
    // Reading r10 is fine: this is how stack addresses are formed.
    expect(hex(Mov.reg(R6, R10))).toBe('bfa6000000000000');
  });

  it('reject registers outside r0-r10', () => {
    expect(() => Add.reg(R1, 11 as Register)).toThrowError(expect.objectContaining({ code: 'ASM_INVALID_REGISTER' }));
    expect(() => Mov.imm(-1 as Register, 0)).toThrowError(expect.objectContaining({ code: 'ASM_INVALID_REGISTER' }));
  });

  it('reject shifts the verifier would refuse', () => {
    expect(() => LSh.imm(R1, 64)).toThrowError(expect.objectContaining({ code: 'ASM_IMMEDIATE_RANGE' }));
    expect(() => LSh.imm32(R1, 32)).toThrowError(expect.objectContaining({ code: 'ASM_IMMEDIATE_RANGE' }));
    expect(() => RSh.imm(R1, -1)).toThrowError(expect.objectContaining({ code: 'ASM_IMMEDIATE_RANGE' }));
    expect(hex(LSh.imm32(R1, 31))).toBe('640100001f000000');
  });

  it('reject division and modulo by the constant 0', () => {
    expect(() => Div.imm(R1, 0)).toThrowError(expect.objectContaining({ code: 'ASM_IMMEDIATE_RANGE' }));
    expect(() => Mod.imm32(R1, 0)).toThrowError(expect.objectContaining({ code: 'ASM_IMMEDIATE_RANGE' }));
    expect(() => SDiv.imm(R1, 0)).toThrowError(expect.objectContaining({ code: 'ASM_IMMEDIATE_RANGE' }));
  });

  it('reject byte-swap and sign-extension widths that do not exist', () => {
    expect(() => byteSwap(R1, 8 as SwapBits)).toThrowError(expect.objectContaining({ code: 'ASM_INVALID_OPERAND' }));
    expect(() => movSx(R1, R2, 64 as 8)).toThrowError(expect.objectContaining({ code: 'ASM_INVALID_OPERAND' }));
    expect(() => movSx32(R1, R2, 32 as 8)).toThrowError(expect.objectContaining({ code: 'ASM_INVALID_OPERAND' }));
  });

  it('name the operation on the emitter', () => {
    expect(Add.op).toBe('add');
    expect(ArSh.op).toBe('arsh');
    expect(Object.isFrozen(Mov)).toBe(true);
  });

  it('put src in the high nibble and dst in the low nibble of byte 1', () => {
    expect(hex(Add.reg(R0, R6))).toBe('0f60000000000000');
  });
});
