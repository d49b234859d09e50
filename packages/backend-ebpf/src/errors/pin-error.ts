import { LowLevelError } from '@syrup/errors';

export type PinErrorCode =
  | 'PIN_PATH_INVALID'
  | 'PIN_EXISTS'
  | 'PIN_NOT_FOUND'
  | 'PIN_ACCESS_DENIED'
  | 'PIN_FAILED'
  | 'BPFFS_UNAVAILABLE';

/** A pin could not be created, opened, changed or removed; `cause` keeps the errno. */
export class PinError extends LowLevelError<PinErrorCode> {
  override readonly name = 'PinError';
  /** The pin's path in bpffs. */
  readonly path: string;

  constructor(code: PinErrorCode, path: string, message: string, options?: ErrorOptions) {
    super(code, message, options);
    this.path = path;
  }
}
