import { LowLevelError } from '@syrup/errors';

/** Stable codes for every way building, assembling or decoding instructions can fail. */
export type AsmErrorCode =
  | 'ASM_INVALID_REGISTER'
  | 'ASM_READ_ONLY_REGISTER'
  | 'ASM_IMMEDIATE_RANGE'
  | 'ASM_OFFSET_RANGE'
  | 'ASM_INVALID_OPERAND'
  | 'ASM_UNKNOWN_HELPER'
  | 'ASM_INVALID_LABEL'
  | 'ASM_UNKNOWN_LABEL'
  | 'ASM_DUPLICATE_LABEL'
  | 'ASM_DANGLING_LABEL'
  | 'ASM_JUMP_RANGE'
  | 'ASM_UNKNOWN_MAP'
  | 'ASM_TRUNCATED'
  | 'ASM_MALFORMED_LD_IMM64';

/**
 * AsmError is thrown by the instruction builders, the assembler and the decoder.
 *
 * Callers branch on `code`, never on the message, which may be reworded.
 */
export class AsmError extends LowLevelError<AsmErrorCode> {
  override readonly name = 'AsmError';
}
