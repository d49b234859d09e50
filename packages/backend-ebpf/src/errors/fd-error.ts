export type FdErrorCode = 'FD_CLOSED' | 'FD_INVALID';

/** Misuse of an owned file descriptor: reading a closed one, or adopting a number that is not an fd. */
export class FdError extends Error {
  override readonly name = 'FdError';
  readonly code: FdErrorCode;

  constructor(code: FdErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}
