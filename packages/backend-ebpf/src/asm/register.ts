import { AsmError } from './asm-error.js';

/**
 * An eBPF register number.
 *
 * r0 holds return values, r1-r5 carry call arguments and are clobbered by calls, r6-r9 survive
 * calls, and r10 is the read-only frame pointer.
 */
export type Register = 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9 | 10;

export const R0 = 0;
export const R1 = 1;
export const R2 = 2;
export const R3 = 3;
export const R4 = 4;
export const R5 = 5;
export const R6 = 6;
export const R7 = 7;
export const R8 = 8;
export const R9 = 9;
export const R10 = 10;
/** The frame pointer, an alias of R10. */
export const RFP = R10;

export function isRegister(value: unknown): value is Register {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 10;
}

/** Checks a register operand; `what` names the operand in the error message. */
export function checkRegister(value: number, what: string): Register {
  if (!isRegister(value)) {
    throw new AsmError('ASM_INVALID_REGISTER', `${what} ${String(value)} is not a register (r0 to r10).`);
  }
  return value;
}

/**
 * Checks a register the instruction writes: the verifier rejects any write to r10, so builders
 * refuse it where the mistake is made rather than at load time.
 */
export function checkWritable(value: number, what: string): Register {
  const reg = checkRegister(value, what);
  if (reg === R10) {
    throw new AsmError('ASM_READ_ONLY_REGISTER', `${what} cannot be r10, the read-only frame pointer.`);
  }
  return reg;
}
