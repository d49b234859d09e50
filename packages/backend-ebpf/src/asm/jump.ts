import { AsmError } from './asm-error.js';
import { helperId, type HelperName } from './helpers.js';
import { Instruction } from './instruction.js';
import { CallSrc, InsnClass, JumpCode, Opcode, Source } from './opcode.js';
import { checkImm32, checkS16, checkS32 } from './range.js';
import { checkRegister, type Register } from './register.js';

/**
 * Conditions of the conditional jumps. Unsigned: eq ne gt ge lt le set (bitwise and is
 * non-zero); signed: sgt sge slt sle.
 */
export type JumpCond = 'eq' | 'ne' | 'gt' | 'ge' | 'lt' | 'le' | 'set' | 'sgt' | 'sge' | 'slt' | 'sle';

/** JMP compares whole registers; JMP32 only their low 32 bits. */
export type JumpWidth = 64 | 32;

/**
 * A branch target: a label name the assembler resolves, or a raw offset in slots relative to
 * the next instruction.
 */
export type JumpTarget = string | number;

const JUMP_CODES: Readonly<Record<JumpCond, number>> = {
  eq: JumpCode.JEQ,
  ne: JumpCode.JNE,
  gt: JumpCode.JGT,
  ge: JumpCode.JGE,
  lt: JumpCode.JLT,
  le: JumpCode.JLE,
  set: JumpCode.JSET,
  sgt: JumpCode.JSGT,
  sge: JumpCode.JSGE,
  slt: JumpCode.JSLT,
  sle: JumpCode.JSLE,
};

function jumpClass(width: JumpWidth): number {
  if (width !== 64 && width !== 32) {
    throw new AsmError('ASM_INVALID_OPERAND', `jump width ${String(width)} is neither 64 nor 32.`);
  }
  return width === 64 ? InsnClass.JMP : InsnClass.JMP32;
}

function jumpCode(cond: JumpCond): number {
  const code = JUMP_CODES[cond];
  if (code === undefined) throw new AsmError('ASM_INVALID_OPERAND', `${String(cond)} is not a jump condition.`);
  return code;
}

/** Splits a target into the reference the assembler resolves or the raw offset it keeps. */
function target(to: JumpTarget, check: (value: number, what: string) => number): { reference?: string; at: number } {
  if (typeof to === 'string') {
    if (to === '') throw new AsmError('ASM_INVALID_LABEL', 'a jump target label must be a non-empty string.');
    return { reference: to, at: 0 };
  }
  return { at: check(to, 'jump offset') };
}

/** `if dst <cond> imm goto target`. A 64-bit compare sign-extends imm, so it must fit in s32. */
export function jumpImm(cond: JumpCond, dst: Register, imm: number, to: JumpTarget, width: JumpWidth = 64): Instruction {
  const cls = jumpClass(width);
  const code = jumpCode(cond);
  checkRegister(dst, `left operand of ${cond}`);
  const value = width === 64 ? checkS32(imm, `${cond} immediate`) : checkImm32(imm, `${cond} immediate`);
  const { reference, at } = target(to, checkS16);
  return new Instruction({ opcode: cls | code | Source.K, dst, offset: at, imm: value, reference });
}

/** `if dst <cond> src goto target`. */
export function jumpReg(cond: JumpCond, dst: Register, src: Register, to: JumpTarget, width: JumpWidth = 64): Instruction {
  const cls = jumpClass(width);
  const code = jumpCode(cond);
  checkRegister(dst, `left operand of ${cond}`);
  checkRegister(src, `right operand of ${cond}`);
  const { reference, at } = target(to, checkS16);
  return new Instruction({ opcode: cls | code | Source.X, dst, src, offset: at, reference });
}

/** `goto target`, within ±32767 slots. */
export function ja(to: JumpTarget): Instruction {
  const { reference, at } = target(to, checkS16);
  return new Instruction({ opcode: Opcode.JA, offset: at, reference });
}

/** `gotol target`: JMP32 | JA with the offset in imm, for targets beyond ±32767 slots (kernel 6.6). */
export function jaLong(to: JumpTarget): Instruction {
  const { reference, at } = target(to, checkS32);
  return new Instruction({ opcode: Opcode.JA32, imm: at, reference });
}

/** `call bpf_<helper>`: arguments in r1-r5, result in r0; r1-r5 are clobbered. */
export function call(helper: HelperName | number): Instruction {
  let id: number;
  if (typeof helper === 'number') {
    if (!Number.isInteger(helper) || helper <= 0 || helper > 0x7fff_ffff) {
      throw new AsmError('ASM_UNKNOWN_HELPER', `helper id ${String(helper)} is not a positive 32-bit integer.`);
    }
    id = helper;
  } else {
    id = helperId(helper);
  }
  return new Instruction({ opcode: Opcode.CALL, src: CallSrc.HELPER, imm: id });
}

/** `call pc+N`: a bpf-to-bpf call of the function starting at `target` (offset in imm). */
export function callLocal(to: JumpTarget): Instruction {
  const { reference, at } = target(to, checkS32);
  return new Instruction({ opcode: Opcode.CALL, src: CallSrc.PSEUDO_CALL, imm: at, reference });
}

/** `exit`: returns r0 to the caller (the kernel, or the calling bpf function). */
export function exit(): Instruction {
  return new Instruction({ opcode: Opcode.EXIT });
}

/**
 * The emitters of one jump condition, in the 64-bit and 32-bit widths.
 *
 * @example JEq.imm(R1, 0, 'out')   // if r1 == 0x0 goto out
 * @example JGT.reg32(R2, R3, 'big') // if w2 > w3 goto big
 */
export interface JumpEmitter {
  readonly cond: JumpCond;
  imm(dst: Register, imm: number, to: JumpTarget): Instruction;
  imm32(dst: Register, imm: number, to: JumpTarget): Instruction;
  reg(dst: Register, src: Register, to: JumpTarget): Instruction;
  reg32(dst: Register, src: Register, to: JumpTarget): Instruction;
}

function emitter(cond: JumpCond): JumpEmitter {
  return Object.freeze({
    cond,
    imm: (dst: Register, imm: number, to: JumpTarget) => jumpImm(cond, dst, imm, to, 64),
    imm32: (dst: Register, imm: number, to: JumpTarget) => jumpImm(cond, dst, imm, to, 32),
    reg: (dst: Register, src: Register, to: JumpTarget) => jumpReg(cond, dst, src, to, 64),
    reg32: (dst: Register, src: Register, to: JumpTarget) => jumpReg(cond, dst, src, to, 32),
  });
}

export const JEq = emitter('eq');
export const JNE = emitter('ne');
export const JGT = emitter('gt');
export const JGE = emitter('ge');
export const JLT = emitter('lt');
export const JLE = emitter('le');
export const JSet = emitter('set');
export const JSGT = emitter('sgt');
export const JSGE = emitter('sge');
export const JSLT = emitter('slt');
export const JSLE = emitter('sle');
