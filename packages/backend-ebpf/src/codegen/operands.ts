import type { Operand, VReg } from '@syrup/core';
import { Mov, R0, R1, R2, R3, R4, R5, R6, R7, R8, R9, R10, loadImm64, loadMem, storeImm, storeMem, type Register } from '../asm/index.js';
import type { Emitter } from './emitter.js';
import type { Location } from './register-allocator.js';

/**
 * Register plan. r0 and r5 are never given to values: every lowering may use them as scratch
 * (r0 is where helpers return, r5 the argument register helpers here use least). Values live in
 * r1-r4 when no helper call runs during their life, and in r6-r9 (preserved by calls)
 * otherwise; the context pointer lives in a stack slot, not in r6, so r6 is free for values.
 */
export const SCRATCH: Register = R0;
export const SCRATCH2: Register = R5;
export const ALLOCATABLE: readonly Register[] = Object.freeze([R1, R2, R3, R4, R6, R7, R8, R9]);
/** Allocatable registers a helper call destroys (r0 and r5 hold no values). */
export const CALL_CLOBBERS: readonly Register[] = Object.freeze([R1, R2, R3, R4]);
export const FP: Register = R10;

const S32_MAX = (1n << 31n) - 1n;
const U32_MAX = (1n << 32n) - 1n;
const U64_LIMIT = 1n << 64n;

/** True when the u64 `value` is what an s32 immediate sign-extends to. */
export function fitsImm32(value: bigint): boolean {
  return value <= S32_MAX || value >= U64_LIMIT - (1n << 31n);
}

/** The s32 immediate that sign-extends to the u64 `value` (which must satisfy fitsImm32). */
export function imm32(value: bigint): number {
  return Number(BigInt.asIntN(64, value));
}

/** Emits the shortest instruction that sets `reg` to the u64 `value`. */
export function emitConstant(emitter: Emitter, reg: Register, value: bigint): void {
  if (fitsImm32(value)) emitter.emit(Mov.imm(reg, imm32(value)));
  // A 32-bit move zero-extends, which covers [2^31, 2^32) in one slot.
  else if (value <= U32_MAX) emitter.emit(Mov.imm32(reg, Number(value)));
  else emitter.emit(loadImm64(reg, value));
}

/** Moves values between their allocated locations, scratch registers and stack memory. */
export class Operands {
  readonly #emitter: Emitter;
  readonly #locations: ReadonlyMap<VReg, Location>;

  constructor(emitter: Emitter, locations: ReadonlyMap<VReg, Location>) {
    this.#emitter = emitter;
    this.#locations = locations;
  }

  location(v: VReg): Location {
    const loc = this.#locations.get(v);
    // A value never written nor read has no location; reading it cannot happen after liveness.
    if (loc === undefined) throw new RangeError(`virtual register ${v} has no location`);
    return loc;
  }

  /** The register `o` lives in, or undefined when it is an immediate or spilled. */
  registerOf(o: Operand): Register | undefined {
    if (typeof o === 'bigint') return undefined;
    const loc = this.location(o);
    return loc.kind === 'register' ? loc.reg : undefined;
  }

  /** A register holding `o`: its own, or `scratch` after a fill or a constant load. */
  read(o: Operand, scratch: Register): Register {
    const reg = this.registerOf(o);
    if (reg !== undefined) return reg;
    this.moveInto(scratch, o);
    return scratch;
  }

  /** Emits code that leaves `o` in `reg` (nothing when it is already there). */
  moveInto(reg: Register, o: Operand): void {
    if (typeof o === 'bigint') {
      emitConstant(this.#emitter, reg, o);
      return;
    }
    const loc = this.location(o);
    if (loc.kind === 'register') {
      if (loc.reg !== reg) this.#emitter.emit(Mov.reg(reg, loc.reg));
    } else {
      this.#emitter.emit(loadMem(reg, FP, loc.offset, 'DW'));
    }
  }

  /** The register to compute `dst` in: its own, or r0 when it is spilled (then {@link commit}). */
  target(dst: VReg): Register {
    const loc = this.location(dst);
    return loc.kind === 'register' ? loc.reg : SCRATCH;
  }

  /** Stores `reg` to `dst`'s stack slot when `dst` is spilled; `reg` came from {@link target}. */
  commit(dst: VReg, reg: Register): void {
    const loc = this.location(dst);
    if (loc.kind === 'stack') this.#emitter.emit(storeMem(FP, loc.offset, reg, 'DW'));
    else if (loc.reg !== reg) this.#emitter.emit(Mov.reg(loc.reg, reg));
  }

  /** Writes `o` as a u64 to `fp + offset`, going through `scratch` only when it must. */
  storeU64(offset: number, o: Operand, scratch: Register): void {
    if (typeof o === 'bigint' && fitsImm32(o)) {
      this.#emitter.emit(storeImm(FP, offset, imm32(o), 'DW'));
      return;
    }
    this.#emitter.emit(storeMem(FP, offset, this.read(o, scratch), 'DW'));
  }

  /** Sets `dst` to `o` wherever `dst` lives. */
  assign(dst: VReg, o: Operand): void {
    const loc = this.location(dst);
    if (loc.kind === 'register') {
      this.moveInto(loc.reg, o);
      return;
    }
    if (typeof o !== 'bigint' && o === dst) return;
    this.storeU64(loc.offset, o, SCRATCH);
  }
}
