import { SyrupError } from '@syrup/errors';

/**
 * Codes of the policy compiler's own failures, as opposed to the policy's (PolicyCompileError):
 * - COMPILE_WORKER_FAILED: the worker that runs the front end did not start in time, exited,
 *   or ran out of its heap; the policy may be fine, and a retry gets a fresh worker;
 * - COMPILER_CLOSED: the compiler was shut down (the service is closing), queued compiles included.
 */
export type CompilerErrorCode = 'COMPILE_WORKER_FAILED' | 'COMPILER_CLOSED';

/** The runtime's policy compiler could not compile, for a reason of its own; the message is one sentence. */
export class CompilerError extends SyrupError<CompilerErrorCode> {
  override name = 'CompilerError';
}
