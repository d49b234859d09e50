import { SyrupError } from '@syrup/core';
/**
 * A mistake of whoever started the server (a bad flag, a bad service-time string, a policy
 * that does not compile, a missing privilege): the process says it in one sentence on stderr
 * and exits with status 2, unlike a bug, which exits 1 with a stack.
 */
export class UsageError extends SyrupError<'USAGE'> {
  override name = 'UsageError';

  constructor(message: string, options?: { cause?: unknown }) {
    super('USAGE', message, options);
  }
}

/** The exit status of a usage mistake. */
export const USAGE_EXIT_CODE = 2;
