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
export class ProgramError extends Error {
  override readonly name = 'ProgramError';
  readonly code: ProgramErrorCode;

  constructor(code: ProgramErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}
