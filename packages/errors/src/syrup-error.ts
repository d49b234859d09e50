/**
 * Base of every error the framework raises on purpose. `code` is stable across releases and
 * safe to branch on; `message` is one sentence that says what and where; `cause` keeps the
 * underlying error (an errno, a zod issue, a backend's failure).
 *
 * A family of errors is one subclass that names itself and the codes it may carry:
 *
 *     export type FdErrorCode = 'FD_CLOSED' | 'FD_INVALID';
 *     export class FdError extends SyrupError<FdErrorCode> {
 *       override readonly name = 'FdError';
 *     }
 *
 * so `error instanceof FdError` narrows `code` to the family's codes, and `error instanceof
 * SyrupError` holds for every error of every package. A subclass writes a constructor only to
 * keep data of its own (an errno, a path, a verifier log) or to fix its code. A family of a
 * layer under the backend contract (maps, syscalls, kernel objects) extends LowLevelError instead.
 */
export class SyrupError<Code extends string = string> extends Error {
  override name = 'SyrupError';
  readonly code: Code;

  constructor(code: Code, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
