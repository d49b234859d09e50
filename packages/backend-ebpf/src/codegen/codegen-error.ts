import { LowLevelError } from '@syrup/errors';

/** Stable codes for every way turning a policy IR into an eBPF program can fail. */
export type CodegenErrorCode =
  | 'CODEGEN_INVALID_IR'
  | 'CODEGEN_UNSUPPORTED_INPUT'
  | 'CODEGEN_INVALID_OPTION'
  | 'CODEGEN_STACK_OVERFLOW'
  | 'CODEGEN_PROGRAM_TOO_LARGE'
  | 'CODEGEN_NOT_ALLOWED';

/** Where in the policy an error points, when it comes from one IR instruction. */
export interface CodegenErrorLocation {
  readonly file: string;
  readonly line: number;
  readonly column: number;
}

/**
 * CodegenError is thrown when a policy IR cannot be compiled for a hook: malformed IR, an input
 * kind the hook does not offer, an instruction or helper the target does not allow, or a
 * program that does not fit the eBPF machine.
 *
 * Callers branch on `code`, never on the message, which may be reworded.
 */
export class CodegenError extends LowLevelError<CodegenErrorCode> {
  override readonly name = 'CodegenError';
  readonly location: CodegenErrorLocation | undefined;

  constructor(code: CodegenErrorCode, message: string, options?: ErrorOptions & { location?: CodegenErrorLocation }) {
    super(code, message, options);
    this.location = options?.location;
  }
}
