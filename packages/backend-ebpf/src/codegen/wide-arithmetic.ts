import { Add, And, Div, LSh, Mov, Mul, Or, RSh, Sub, loadMem, storeMem, type Register } from '../asm/index.js';
import type { Emitter } from './emitter.js';
import { FP, SCRATCH, SCRATCH2, emitConstant } from './operands.js';

/**
 * 64-bit multiplication and division for a JIT that multiplies and divides only operands the
 * verifier proves are at most 2^32-1, and divides only by constants (`TargetLowering.arithmetic`
 * `u32-operands`). Every multiplier and dividend here is, by construction, the result of a
 * 32-bit load, a 32-bit move or a right shift by 32, which the verifier bounds by 2^32-1; every
 * divisor is an immediate in [1, 2^31).
 */

const U32 = 32;

/**
 * `x = x * y mod 2^64` in registers: x_lo*y_lo + ((x_hi*y_lo + x_lo*y_hi) << 32). `y` is only
 * read; `t1` and `t2` are destroyed. The four registers must differ.
 */
export function emitWideMultiplyRegisters(e: Emitter, x: Register, y: Register, t1: Register, t2: Register): void {
  e.emit(Mov.reg(t1, x), RSh.imm(t1, U32), Mov.reg32(t2, y), Mul.reg(t1, t2)); // x_hi * y_lo
  e.emit(Mov.reg(t2, y), RSh.imm(t2, U32), Mov.reg32(x, x), Mul.reg(t2, x)); // y_hi * x_lo
  e.emit(Add.reg(t1, t2), LSh.imm(t1, U32), Mov.reg32(t2, y), Mul.reg(x, t2), Add.reg(x, t1));
}

/**
 * Three u64 stack slots the sequences below may use freely (the map operand slots, which hold
 * nothing between map operations), and where their operands were stored.
 */
export interface WideSlots {
  readonly a: number;
  readonly b: number;
  readonly c: number;
}

/**
 * `r0 = [a] * [b] mod 2^64`, with both u64 operands already stored at slots `a` and `b`. Only r0
 * and r5 are used; each 32-bit half is read with a 4-byte load (little-endian: the low half
 * at the slot, the high half 4 bytes above).
 */
export function emitWideMultiplySlots(e: Emitter, slots: WideSlots): void {
  const half = (reg: Register, slot: number, high: boolean): ReturnType<typeof loadMem> => loadMem(reg, FP, slot + (high ? 4 : 0), 'W');
  e.emit(half(SCRATCH, slots.a, true), half(SCRATCH2, slots.b, false), Mul.reg(SCRATCH, SCRATCH2), storeMem(FP, slots.c, SCRATCH, 'DW'));
  e.emit(half(SCRATCH, slots.a, false), half(SCRATCH2, slots.b, true), Mul.reg(SCRATCH, SCRATCH2));
  e.emit(loadMem(SCRATCH2, FP, slots.c, 'DW'), Add.reg(SCRATCH, SCRATCH2), LSh.imm(SCRATCH, U32), storeMem(FP, slots.c, SCRATCH, 'DW'));
  e.emit(half(SCRATCH, slots.a, false), half(SCRATCH2, slots.b, false), Mul.reg(SCRATCH, SCRATCH2));
  e.emit(loadMem(SCRATCH2, FP, slots.c, 'DW'), Add.reg(SCRATCH, SCRATCH2));
}

/**
 * Long division of the u64 at slot `a` by the constant `divisor` (3 <= divisor < 2^31, not a
 * power of two), in digits of `32 - bits(divisor)` bits: the running remainder is below the
 * divisor, so the remainder shifted up by one digit, with the next digit ORed in, stays below
 * 2^32, and each step is one 32-bit division. Leaves the quotient at slot `b` and the remainder
 * at slot `c`, and `r0` holding the one `want` names. Only r0 and r5 are used.
 */
export function emitWideDivideSlots(e: Emitter, slots: WideSlots, divisor: number, want: 'quotient' | 'remainder'): void {
  if (!Number.isInteger(divisor) || divisor < 3 || divisor >= 2 ** 31 || (divisor & (divisor - 1)) === 0) {
    throw new RangeError(`long division by ${divisor}: the divisor must be in [3, 2^31) and not a power of two`);
  }
  const digitBits = U32 - Math.floor(Math.log2(divisor)) - 1;
  const digits = Math.ceil(64 / digitBits);
  e.emit(Mov.imm(SCRATCH, 0), storeMem(FP, slots.b, SCRATCH, 'DW'), storeMem(FP, slots.c, SCRATCH, 'DW'));
  for (let digit = digits - 1; digit >= 0; digit--) {
    const shift = digit * digitBits;
    // r0 = the digit; r5 = (remainder << digitBits) | digit, computed in 32 bits.
    e.emit(loadMem(SCRATCH, FP, slots.a, 'DW'));
    if (shift > 0) e.emit(RSh.imm(SCRATCH, shift));
    e.emit(And.imm(SCRATCH, 2 ** digitBits - 1));
    e.emit(loadMem(SCRATCH2, FP, slots.c, 'DW'), LSh.imm32(SCRATCH2, digitBits), Or.reg32(SCRATCH2, SCRATCH), storeMem(FP, slots.c, SCRATCH2, 'DW'));
    // r0 = this digit of the quotient, moved in 32 bits so the verifier bounds it by 2^32-1.
    e.emit(Mov.reg(SCRATCH, SCRATCH2), Div.imm(SCRATCH, divisor), Mov.reg32(SCRATCH, SCRATCH));
    e.emit(loadMem(SCRATCH2, FP, slots.b, 'DW'), LSh.imm(SCRATCH2, digitBits), Or.reg(SCRATCH2, SCRATCH), storeMem(FP, slots.b, SCRATCH2, 'DW'));
    // remainder = current - digit * divisor (both below 2^32, so 32-bit arithmetic is exact).
    e.emit(Mul.imm32(SCRATCH, divisor), loadMem(SCRATCH2, FP, slots.c, 'DW'), Sub.reg32(SCRATCH2, SCRATCH), storeMem(FP, slots.c, SCRATCH2, 'DW'));
  }
  e.emit(loadMem(SCRATCH, FP, want === 'quotient' ? slots.b : slots.c, 'DW'));
}

/** Stores a u64 held in `reg`, or the constant `value` (through `reg`), at `slot`. */
export function emitStoreU64(e: Emitter, slot: number, reg: Register, value?: bigint): void {
  if (value !== undefined) emitConstant(e, reg, value);
  e.emit(storeMem(FP, slot, reg, 'DW'));
}
