import { LowLevelError } from '@syrup/errors';

/** Stable codes of every error the maps package raises. */
export type MapErrorCode =
  | 'MAP_SPEC_INVALID'
  | 'MAP_KEY_INVALID'
  | 'MAP_KEY_OUT_OF_RANGE'
  | 'MAP_VALUE_INVALID'
  | 'MAP_FULL'
  | 'MAP_KEY_EXISTS'
  | 'MAP_KEY_NOT_FOUND'
  | 'MAP_DELETE_UNSUPPORTED'
  | 'MAP_NOT_ATOMIC'
  | 'MAP_CLOSED';

/** An error from a data map: `code` is stable, `message` is one sentence. */
export class MapError extends LowLevelError<MapErrorCode> {
  override readonly name = 'MapError';
}
