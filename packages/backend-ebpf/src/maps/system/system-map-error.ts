import { LowLevelError } from '@syrup/errors';

export type SystemMapErrorCode =
  | 'SYSTEM_MAP_SPEC_INVALID'
  | 'SYSTEM_MAP_INCOMPATIBLE'
  | 'SYSTEM_MAP_INDEX_OUT_OF_RANGE'
  | 'SYSTEM_MAP_UPDATE_FAILED'
  | 'SYSTEM_MAP_CLOSED';

/** A program array, socket array, XSK map, CPU map or ring buffer refused an operation; `cause` keeps the errno. */
export class SystemMapError extends LowLevelError<SystemMapErrorCode> {
  override readonly name = 'SystemMapError';
}
