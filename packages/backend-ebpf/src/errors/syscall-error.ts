import { LowLevelError } from '@syrup/errors';
import { errnoHint, errnoName, type ErrnoCode } from './errno.js';

export interface SyscallErrorOptions {
  /** What the call acted on, for the message: `map 'next'`, `/sys/fs/bpf/syrup/x`. */
  readonly subject?: string;
  readonly cause?: unknown;
}

/**
 * A failed system call: `code` is the errno name (`EPERM`, `ENOENT`, ...) and stable,
 * `errno` the number, `operation` the call (`BPF_MAP_CREATE`, `mmap`). The message is one
 * sentence that names the likely cause; callers branch on `code`, never on the message.
 */
export class SyscallError extends LowLevelError<ErrnoCode> {
  override readonly name = 'SyscallError';
  readonly errno: number;
  readonly operation: string;
  readonly subject: string | undefined;

  constructor(operation: string, errno: number, options: SyscallErrorOptions = {}) {
    const code = errnoName(errno);
    const on = options.subject === undefined ? '' : ` on ${options.subject}`;
    super(code, `${operation}${on} failed with ${code} (errno ${errno}): ${errnoHint(operation, code)}.`, {
      cause: options.cause,
    });
    this.errno = errno;
    this.operation = operation;
    this.subject = options.subject;
  }
}

/** True when `error` is a {@link SyscallError} with the given errno name. */
export function isSyscallError(error: unknown, code?: ErrnoCode): error is SyscallError {
  return error instanceof SyscallError && (code === undefined || error.code === code);
}
