import { AsmError } from './asm-error.js';

const S16_MIN = -0x8000;
const S16_MAX = 0x7fff;
const S32_MIN = -0x8000_0000;
const S32_MAX = 0x7fff_ffff;
const U32_MAX = 0xffff_ffff;

/** Checks a signed 16-bit field (memory offsets, jump offsets). */
export function checkS16(value: number, what: string): number {
  if (!Number.isInteger(value) || value < S16_MIN || value > S16_MAX) {
    throw new AsmError('ASM_OFFSET_RANGE', `${what} ${String(value)} does not fit in a signed 16-bit offset.`);
  }
  return value;
}

/**
 * Checks an immediate the CPU sign-extends to 64 bits (ALU64, JMP, ST DW). Accepting 0xffffffff
 * here would silently mean -1, so only the signed range is allowed.
 */
export function checkS32(value: number, what: string): number {
  if (!Number.isInteger(value) || value < S32_MIN || value > S32_MAX) {
    throw new AsmError(
      'ASM_IMMEDIATE_RANGE',
      `${what} ${String(value)} does not fit in a signed 32-bit immediate; load it with LD_IMM64.`,
    );
  }
  return value;
}

/**
 * Checks an immediate only ever used as 32 bits (ALU32, JMP32, narrow stores), where signed and
 * unsigned spellings of the same bits mean the same thing. Returns the signed form.
 */
export function checkImm32(value: number, what: string): number {
  if (!Number.isInteger(value) || value < S32_MIN || value > U32_MAX) {
    throw new AsmError('ASM_IMMEDIATE_RANGE', `${what} ${String(value)} does not fit in 32 bits.`);
  }
  return value | 0;
}

/** Normalises a 64-bit constant given signed or unsigned to its unsigned bit pattern. */
export function checkImm64(value: number | bigint, what: string): bigint {
  if (typeof value === 'number' && !Number.isSafeInteger(value)) {
    throw new AsmError(
      'ASM_IMMEDIATE_RANGE',
      `${what} ${String(value)} is not an exact integer; pass a bigint for values beyond 2^53.`,
    );
  }
  const big = BigInt(value);
  if (big < -(1n << 63n) || big >= 1n << 64n) {
    throw new AsmError('ASM_IMMEDIATE_RANGE', `${what} ${String(value)} does not fit in 64 bits.`);
  }
  return BigInt.asUintN(64, big);
}
