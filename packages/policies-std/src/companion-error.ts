import { SyrupError } from '@syrup/core';

export type CompanionErrorCode =
  /** A constructor argument or option is out of range (executors, users, rates, the map's shape). */
  | 'COMPANION_OPTIONS_INVALID'
  /** An executor index is not one of the executors the companion was made for. */
  | 'COMPANION_EXECUTOR_INVALID'
  /** The companion was used after `close()`. */
  | 'COMPANION_CLOSED';

/**
 * A refusal of a userspace companion (`ScanTracker`, `TokenRefiller`). Map failures (a closed
 * map, a map that cannot be atomic) are not wrapped: they keep the map's own error and code.
 */
export class CompanionError extends SyrupError<CompanionErrorCode> {
  override name = 'CompanionError';
}
