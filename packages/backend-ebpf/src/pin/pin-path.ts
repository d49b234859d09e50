import { join } from 'node:path';
import { PinError } from '../errors/pin-error.js';

/**
 * Joins pin path segments under `root`, refusing segments that could escape it or that
 * bpffs cannot hold: empty, `.`/`..`, or containing `/` or NUL. Tenant-supplied names (an
 * app or policy name) go through here before they touch the filesystem.
 */
export function pinPath(root: string, ...segments: readonly string[]): string {
  for (const segment of segments) {
    if (segment === '' || segment === '.' || segment === '..' || /[/\0]/.test(segment)) {
      throw new PinError('PIN_PATH_INVALID', root, `pin path segment '${segment}' must be a plain name without '/', '.' or '..'.`);
    }
  }
  return join(root, ...segments);
}
