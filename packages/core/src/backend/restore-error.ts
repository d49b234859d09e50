import { SyrupError } from '../errors/syrup-error.js';

/**
 * Why a persisted attachment could not be restored. Recovery acts on the code:
 * `RESTORE_TARGET_GONE` removes the pins (nothing is left to steer), `RESTORE_UNTRUSTED` (a
 * pinned object's id or tag is not the recorded one) leaves the directory alone and uses
 * nothing in it, `RESTORE_UNSUPPORTED` means the backend cannot restore that hook.
 */
export type RestoreErrorCode = 'RESTORE_TARGET_GONE' | 'RESTORE_UNTRUSTED' | 'RESTORE_UNSUPPORTED' | 'RESTORE_FAILED';

export class RestoreError extends SyrupError<RestoreErrorCode> {
  override name = 'RestoreError';
}
