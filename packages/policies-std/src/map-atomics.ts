/**
 * Whether a map operation failed because the map cannot do it atomically. Checked by code, not
 * by class: a map reached through the daemon reports the same code with its own error class.
 */
export function isNotAtomic(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 'MAP_NOT_ATOMIC';
}
