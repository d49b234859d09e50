import { LowLevelError } from '@syrup/errors';

export type FdErrorCode = 'FD_CLOSED' | 'FD_INVALID';

/** Misuse of an owned file descriptor: reading a closed one, or adopting a number that is not an fd. */
export class FdError extends LowLevelError<FdErrorCode> {
  override readonly name = 'FdError';
}
