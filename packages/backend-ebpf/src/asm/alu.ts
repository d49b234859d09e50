import { AsmError } from './asm-error.js';
import { Instruction } from './instruction.js';
import { AluCode, Endian, InsnClass, Source } from './opcode.js';
import { checkImm32, checkS32 } from './range.js';
import { checkRegister, checkWritable, type Register } from './register.js';

/**
 * The two-operand arithmetic operations. `sdiv` and `smod` are the signed forms (off = 1,
 * kernel 6.6); the unsigned `div` and `mod` are what the policy language uses.
 */
export type AluOp =
  | 'add'
  | 'sub'
  | 'mul'
  | 'div'
  | 'sdiv'
  | 'or'
  | 'and'
  | 'lsh'
  | 'rsh'
  | 'mod'
  | 'smod'
  | 'xor'
  | 'mov'
  | 'arsh';

/** ALU64 operates on the whole register; ALU (32) on its low half and zero-extends the result. */
export type AluWidth = 64 | 32;

const ALU_OPS: Readonly<Record<AluOp, { readonly code: number; readonly offset: number }>> = {
  add: { code: AluCode.ADD, offset: 0 },
  sub: { code: AluCode.SUB, offset: 0 },
  mul: { code: AluCode.MUL, offset: 0 },
  div: { code: AluCode.DIV, offset: 0 },
  sdiv: { code: AluCode.DIV, offset: 1 },
  or: { code: AluCode.OR, offset: 0 },
  and: { code: AluCode.AND, offset: 0 },
  lsh: { code: AluCode.LSH, offset: 0 },
  rsh: { code: AluCode.RSH, offset: 0 },
  mod: { code: AluCode.MOD, offset: 0 },
  smod: { code: AluCode.MOD, offset: 1 },
  xor: { code: AluCode.XOR, offset: 0 },
  mov: { code: AluCode.MOV, offset: 0 },
  arsh: { code: AluCode.ARSH, offset: 0 },
};

function aluClass(width: AluWidth): number {
  if (width !== 64 && width !== 32) {
    throw new AsmError('ASM_INVALID_OPERAND', `ALU width ${String(width)} is neither 64 nor 32.`);
  }
  return width === 64 ? InsnClass.ALU64 : InsnClass.ALU;
}

function aluOp(op: AluOp): { readonly code: number; readonly offset: number } {
  const found = ALU_OPS[op];
  if (found === undefined) throw new AsmError('ASM_INVALID_OPERAND', `${String(op)} is not an ALU operation.`);
  return found;
}

/** `dst op= imm`. A 64-bit operation sign-extends imm, so imm must fit in s32 there. */
export function aluImm(op: AluOp, dst: Register, imm: number, width: AluWidth = 64): Instruction {
  const { code, offset } = aluOp(op);
  const cls = aluClass(width);
  checkWritable(dst, `destination of ${op}`);
  const value = width === 64 ? checkS32(imm, `${op} immediate`) : checkImm32(imm, `${op} immediate`);
  // The verifier rejects these at load time; failing here points at the generating code instead.
  if ((op === 'lsh' || op === 'rsh' || op === 'arsh') && (value < 0 || value >= width)) {
    throw new AsmError('ASM_IMMEDIATE_RANGE', `shift by ${String(imm)} is outside 0..${String(width - 1)}.`);
  }
  if ((op === 'div' || op === 'sdiv' || op === 'mod' || op === 'smod') && value === 0) {
    throw new AsmError('ASM_IMMEDIATE_RANGE', `${op} by the constant 0 is rejected by the verifier.`);
  }
  return new Instruction({ opcode: cls | code | Source.K, dst, offset, imm: value });
}

/** `dst op= src`. */
export function aluReg(op: AluOp, dst: Register, src: Register, width: AluWidth = 64): Instruction {
  const { code, offset } = aluOp(op);
  const cls = aluClass(width);
  checkWritable(dst, `destination of ${op}`);
  checkRegister(src, `source of ${op}`);
  return new Instruction({ opcode: cls | code | Source.X, dst, src, offset });
}

/** `dst = -dst` over 64 bits. */
export function neg(dst: Register): Instruction {
  checkWritable(dst, 'destination of neg');
  return new Instruction({ opcode: InsnClass.ALU64 | AluCode.NEG, dst });
}

/** `w(dst) = -w(dst)`, zero-extended. */
export function neg32(dst: Register): Instruction {
  checkWritable(dst, 'destination of neg');
  return new Instruction({ opcode: InsnClass.ALU | AluCode.NEG, dst });
}

/** `dst = (s64)(s<bits>)src`: sign-extending move (kernel 6.6). */
export function movSx(dst: Register, src: Register, bits: 8 | 16 | 32): Instruction {
  checkWritable(dst, 'destination of movsx');
  checkRegister(src, 'source of movsx');
  if (bits !== 8 && bits !== 16 && bits !== 32) {
    throw new AsmError('ASM_INVALID_OPERAND', `movsx from ${String(bits)} bits is not 8, 16 or 32.`);
  }
  return new Instruction({ opcode: InsnClass.ALU64 | AluCode.MOV | Source.X, dst, src, offset: bits });
}

/** `w(dst) = (u32)(s32)(s<bits>)w(src)`: sign-extending 32-bit move (kernel 6.6). */
export function movSx32(dst: Register, src: Register, bits: 8 | 16): Instruction {
  checkWritable(dst, 'destination of movsx');
  checkRegister(src, 'source of movsx');
  if (bits !== 8 && bits !== 16) {
    throw new AsmError('ASM_INVALID_OPERAND', `32-bit movsx from ${String(bits)} bits is not 8 or 16.`);
  }
  return new Instruction({ opcode: InsnClass.ALU | AluCode.MOV | Source.X, dst, src, offset: bits });
}

/** The operand widths END and bswap accept. */
export type SwapBits = 16 | 32 | 64;

function swap(opcode: number, dst: Register, bits: SwapBits, what: string): Instruction {
  checkWritable(dst, `destination of ${what}`);
  if (bits !== 16 && bits !== 32 && bits !== 64) {
    throw new AsmError('ASM_INVALID_OPERAND', `${what} width ${String(bits)} is not 16, 32 or 64.`);
  }
  return new Instruction({ opcode, dst, imm: bits });
}

/**
 * `dst = htobe<bits>(dst)`: converts the low `bits` of dst to big-endian and zero-extends.
 * On the little-endian hosts this package targets, that is a byte swap (network order).
 */
export function toBigEndian(dst: Register, bits: SwapBits): Instruction {
  return swap(InsnClass.ALU | AluCode.END | Endian.TO_BE, dst, bits, 'be');
}

/** `dst = htole<bits>(dst)`: on little-endian hosts only truncates to `bits` and zero-extends. */
export function toLittleEndian(dst: Register, bits: SwapBits): Instruction {
  return swap(InsnClass.ALU | AluCode.END | Endian.TO_LE, dst, bits, 'le');
}

/** `dst = bswap<bits>(dst)`: unconditional byte swap, whatever the host order (kernel 6.6). */
export function byteSwap(dst: Register, bits: SwapBits): Instruction {
  return swap(InsnClass.ALU64 | AluCode.END, dst, bits, 'bswap');
}

/**
 * The emitters of one ALU operation, in the 64-bit and 32-bit widths.
 *
 * @example Add.imm(R0, 1)   // r0 += 1
 * @example Mov.reg32(R1, R2) // w1 = w2
 */
export interface AluEmitter {
  readonly op: AluOp;
  /** `dst op= imm` over 64 bits; imm is sign-extended. */
  imm(dst: Register, imm: number): Instruction;
  /** `w(dst) op= imm` over 32 bits. */
  imm32(dst: Register, imm: number): Instruction;
  /** `dst op= src` over 64 bits. */
  reg(dst: Register, src: Register): Instruction;
  /** `w(dst) op= w(src)` over 32 bits. */
  reg32(dst: Register, src: Register): Instruction;
}

function emitter(op: AluOp): AluEmitter {
  return Object.freeze({
    op,
    imm: (dst: Register, imm: number) => aluImm(op, dst, imm, 64),
    imm32: (dst: Register, imm: number) => aluImm(op, dst, imm, 32),
    reg: (dst: Register, src: Register) => aluReg(op, dst, src, 64),
    reg32: (dst: Register, src: Register) => aluReg(op, dst, src, 32),
  });
}

export const Add = emitter('add');
export const Sub = emitter('sub');
export const Mul = emitter('mul');
export const Div = emitter('div');
export const SDiv = emitter('sdiv');
export const Or = emitter('or');
export const And = emitter('and');
export const LSh = emitter('lsh');
export const RSh = emitter('rsh');
export const Mod = emitter('mod');
export const SMod = emitter('smod');
export const Xor = emitter('xor');
export const Mov = emitter('mov');
export const ArSh = emitter('arsh');
