import { MapError } from '@syrup/maps';
import { SyscallError } from '../errors/syscall-error.js';

export type DataMapOperation = 'lookup' | 'update' | 'delete' | 'nextKey';

export interface MapErrorContext {
  readonly label: string;
  readonly isArray: boolean;
  readonly maxEntries: number;
  readonly key: number;
  readonly operation: DataMapOperation;
}

/**
 * Translates the kernel's errno for a data-map operation into the maps contract's
 * `MapError`, keeping the `SyscallError` as `cause`. The same errno means different things
 * per map kind (E2BIG is "key out of range" to an array, "full" to a hash), which is why the
 * context travels along. Errors the contract has no code for are returned unchanged.
 */
export function mapErrorOf(error: unknown, context: MapErrorContext): unknown {
  if (!(error instanceof SyscallError)) return error;
  const { label, key } = context;
  const outOfRange = (): MapError =>
    new MapError('MAP_KEY_OUT_OF_RANGE', `${label}: key ${key} is outside the array's ${context.maxEntries} entries.`, { cause: error });
  switch (error.code) {
    case 'E2BIG':
      if (context.isArray) return outOfRange();
      if (context.operation === 'update') {
        return new MapError('MAP_FULL', `${label}: the hash map is full (${context.maxEntries} entries), so a new key cannot be inserted.`, { cause: error });
      }
      return error;
    case 'EEXIST':
      return new MapError(
        'MAP_KEY_EXISTS',
        context.isArray ? `${label}: array key ${key} always exists, so a no-exist update fails.` : `${label}: key ${key} already exists.`,
        { cause: error },
      );
    case 'ENOENT':
      // An array answers ENOENT to a lookup only beyond max_entries.
      if (context.isArray) return outOfRange();
      return new MapError('MAP_KEY_NOT_FOUND', `${label}: key ${key} does not exist.`, { cause: error });
    case 'EINVAL':
      if (context.isArray && context.operation === 'delete') {
        return new MapError('MAP_DELETE_UNSUPPORTED', `${label}: entries of an array map cannot be deleted.`, { cause: error });
      }
      return error;
    default:
      return error;
  }
}
