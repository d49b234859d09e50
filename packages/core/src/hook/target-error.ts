import { SyrupError } from '../errors/syrup-error.js';

/** A deploy target that does not fit its hook's schema; the message names the hook and the field. */
export class TargetError extends SyrupError<'TARGET_INVALID'> {
  override name = 'TargetError';

  constructor(message: string, options?: { cause?: unknown }) {
    super('TARGET_INVALID', message, options);
  }
}
