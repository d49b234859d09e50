import { LowLevelError } from '@syrup/errors';

export type ProgramErrorCode =
  | 'PROGRAM_SPEC_INVALID'
  | 'PROGRAM_LOAD_FAILED'
  | 'PROGRAM_OFFLOAD_REFUSED'
  | 'PROGRAM_BTF_REJECTED'
  | 'PROGRAM_INCOMPATIBLE'
  | 'PROGRAM_CLOSED'
  | 'PROGRAM_TEST_RUN_FAILED';

/**
 * A program could not be described, loaded (for a reason other than the verifier, which
 * raises `VerifierError`), opened or run. `cause` keeps the `SyscallError` with the errno.
 */
export class ProgramError extends LowLevelError<ProgramErrorCode> {
  override readonly name = 'ProgramError';
}
