import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { dirname, isAbsolute, normalize, relative } from 'node:path';
import { PinError } from '../errors/pin-error.js';
import { BPF_FS_MAGIC } from '../syscalls/bpf-constants.js';
import { nativeSyscalls } from '../syscalls/native-syscalls.js';
import type { Syscalls } from '../syscalls/syscalls.js';

/** Where Linux conventionally mounts the bpf filesystem. */
export const BPFFS_MOUNT_POINT = '/sys/fs/bpf';

/** The default root of Syrup's pins; a daemon or a test may choose another. */
export const DEFAULT_PIN_ROOT = '/sys/fs/bpf/syrup';

export interface EnsureBpffsOptions {
  readonly sys?: Syscalls;
  /** Where to mount bpffs when `root` is not on one; must contain `root`. */
  readonly mountPoint?: string;
  /** Mode of directories created under the mount point (0o755: root-owned, traversable). */
  readonly mode?: number;
}

/** True when `path` lives on a bpf filesystem (statfs magic 0xcafe4a11). */
export function isBpffs(path: string, options: { sys?: Syscalls } = {}): boolean {
  const sys = options.sys ?? nativeSyscalls();
  try {
    return sys.statfsType(path) === BPF_FS_MAGIC;
  } catch {
    return false;
  }
}

/**
 * Makes `root` a directory on a bpf filesystem and returns it: mounts bpffs at the mount
 * point (default /sys/fs/bpf) when that is not already one, then creates the directories.
 * The mount uses the kernel's default options, so the mount point itself stays traversable
 * by every user and access is decided per directory and per pin.
 */
export function ensureBpffs(root: string = DEFAULT_PIN_ROOT, options: EnsureBpffsOptions = {}): string {
  const sys = options.sys ?? nativeSyscalls();
  const mountPoint = options.mountPoint ?? BPFFS_MOUNT_POINT;
  if (!isAbsolute(root) || normalize(root) !== root) {
    throw new PinError('PIN_PATH_INVALID', root, `pin root '${root}' must be an absolute, normalized path.`);
  }
  const inside = relative(mountPoint, root);
  if (inside.startsWith('..') || isAbsolute(inside)) {
    throw new PinError('BPFFS_UNAVAILABLE', root, `pin root '${root}' is not under the bpffs mount point '${mountPoint}'.`);
  }
  if (!isBpffs(nearestExisting(root), { sys })) {
    try {
      if (!existsSync(mountPoint)) mkdirSync(mountPoint, { recursive: true, mode: 0o755 });
      sys.mount('bpf', mountPoint, 'bpf', 0);
    } catch (error) {
      throw new PinError('BPFFS_UNAVAILABLE', root, `cannot mount bpffs at '${mountPoint}': ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
    if (!isBpffs(mountPoint, { sys })) {
      throw new PinError('BPFFS_UNAVAILABLE', root, `'${mountPoint}' is still not a bpf filesystem after mounting one there.`);
    }
  }
  const mode = options.mode ?? 0o755;
  try {
    const first = mkdirSync(root, { recursive: true, mode });
    // mkdir's mode passes through the umask; the directories Syrup creates get exactly `mode`.
    if (first !== undefined) {
      for (let dir = root; dir.length >= first.length; dir = dirname(dir)) chmodSync(dir, mode);
    }
  } catch (error) {
    throw new PinError('PIN_FAILED', root, `cannot create pin directory '${root}': ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  return root;
}

function nearestExisting(path: string): string {
  let current = path;
  while (!existsSync(current)) {
    const parent = dirname(current);
    if (parent === current) break;
    current = parent;
  }
  return current;
}
