import { LowLevelError } from '@syrup/errors';

export type BtfErrorCode = 'BTF_INVALID_NAME' | 'BTF_INVALID_TYPE' | 'BTF_INVALID_RECORD' | 'BTF_UNREADABLE' | 'BTF_MEMBER_NOT_FOUND';

/**
 * BtfError is thrown when a BTF blob or its line info cannot be built as asked (a name the
 * kernel would refuse, a reference to a type that does not exist, records out of order).
 *
 * Callers branch on `code`, never on the message, which may be reworded.
 */
export class BtfError extends LowLevelError<BtfErrorCode> {
  override readonly name = 'BtfError';
}
