import { chmodSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

/** The mode of every directory the runtime makes: root-owned and traversable, so a tenant reaches the files handed to it. */
export const DIRECTORY_MODE = 0o755;

/**
 * Makes `path` and its missing parents with exactly DIRECTORY_MODE (mkdir's mode passes through
 * the umask, so each directory made is chmodded); directories that exist keep their mode.
 */
export function makeTraversableDirectory(path: string): void {
  const first = mkdirSync(path, { recursive: true, mode: DIRECTORY_MODE });
  if (first === undefined) return;
  for (let dir = path; dir.length >= first.length; dir = dirname(dir)) chmodSync(dir, DIRECTORY_MODE);
}
