import { SyrupError } from '@syrup/errors';

/** The code generation worker pool failed or is shut down: a refusal whose code reaches the caller as it is. */
export class CodegenPoolError extends SyrupError<'CODEGEN_WORKER_FAILED' | 'CODEGEN_CLOSED'> {
  override readonly name = 'CodegenPoolError';
}
