import { AsmError } from './asm-error.js';
import { Instruction } from './instruction.js';
import { AtomicCode, InsnClass, Mode, Size } from './opcode.js';
import { checkS16 } from './range.js';
import { checkRegister, checkWritable, type Register } from './register.js';

/** Atomic operations exist for 32-bit and 64-bit memory only. */
export type AtomicSize = 'W' | 'DW';

/** The read-modify-write operations; xchg and cmpxchg have their own builders. */
export type AtomicOp = 'add' | 'or' | 'and' | 'xor';

const ATOMIC_CODES: Readonly<Record<AtomicOp, number>> = {
  add: AtomicCode.ADD,
  or: AtomicCode.OR,
  and: AtomicCode.AND,
  xor: AtomicCode.XOR,
};

function build(code: number, dst: Register, offset: number, src: Register, size: AtomicSize): Instruction {
  if (size !== 'W' && size !== 'DW') {
    throw new AsmError('ASM_INVALID_OPERAND', `atomic operations need size W or DW, not ${String(size)}.`);
  }
  checkRegister(dst, 'base of an atomic operation');
  checkRegister(src, 'operand of an atomic operation');
  return new Instruction({
    opcode: InsnClass.STX | Mode.ATOMIC | Size[size],
    dst,
    src,
    offset: checkS16(offset, 'atomic offset'),
    imm: code,
  });
}

function opCode(op: AtomicOp): number {
  const code = ATOMIC_CODES[op];
  if (code === undefined) throw new AsmError('ASM_INVALID_OPERAND', `${String(op)} is not an atomic operation.`);
  return code;
}

/** `lock *(size *)(dst + offset) op= src`. The 64-bit `add` is the old XADD. */
export function atomic(op: AtomicOp, dst: Register, offset: number, src: Register, size: AtomicSize = 'DW'): Instruction {
  return build(opCode(op), dst, offset, src, size);
}

/**
 * `src = atomic_fetch_<op>((size *)(dst + offset), src)`: as atomic(), and src receives the
 * value memory held before (kernel 5.12).
 */
export function atomicFetch(op: AtomicOp, dst: Register, offset: number, src: Register, size: AtomicSize = 'DW'): Instruction {
  checkWritable(src, 'operand of a fetching atomic operation');
  return build(opCode(op) | AtomicCode.FETCH, dst, offset, src, size);
}

/** `src = xchg((size *)(dst + offset), src)`: swaps memory and src (kernel 5.12). */
export function atomicXchg(dst: Register, offset: number, src: Register, size: AtomicSize = 'DW'): Instruction {
  checkWritable(src, 'operand of xchg');
  return build(AtomicCode.XCHG, dst, offset, src, size);
}

/**
 * `r0 = cmpxchg((size *)(dst + offset), r0, src)`: stores src if memory equals r0, and r0
 * always receives the value memory held before (kernel 5.12).
 */
export function atomicCmpXchg(dst: Register, offset: number, src: Register, size: AtomicSize = 'DW'): Instruction {
  return build(AtomicCode.CMPXCHG, dst, offset, src, size);
}
