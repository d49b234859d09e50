import { LowLevelError } from '@syrup/errors';

export type KernelMapErrorCode =
  | 'KERNEL_MAP_SPEC_INVALID'
  | 'KERNEL_MAP_INCOMPATIBLE'
  | 'KERNEL_MAP_CLOSED'
  | 'KERNEL_MAP_NOT_MMAPABLE'
  | 'KERNEL_MAP_OFFLOAD_REFUSED';

/**
 * A kernel map could not be described, opened or used as asked. Errors of the data-map
 * operations themselves are `MapError`s from `@syrup/maps`, so callers see one contract.
 */
export class KernelMapError extends LowLevelError<KernelMapErrorCode> {
  override readonly name = 'KernelMapError';
}
