export type PinErrorCode =
  | 'PIN_PATH_INVALID'
  | 'PIN_EXISTS'
  | 'PIN_NOT_FOUND'
  | 'PIN_ACCESS_DENIED'
  | 'PIN_FAILED'
  | 'BPFFS_UNAVAILABLE';

/** A pin could not be created, opened, changed or removed; `cause` keeps the errno. */
export class PinError extends Error {
  override readonly name = 'PinError';
  readonly code: PinErrorCode;
  /** The pin's path in bpffs. */
  readonly path: string;

  constructor(code: PinErrorCode, path: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    this.path = path;
  }
}
