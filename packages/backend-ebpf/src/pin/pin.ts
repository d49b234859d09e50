import { chmodSync, chownSync, unlinkSync } from 'node:fs';
import { isAbsolute, normalize } from 'node:path';
import { PinError, type PinErrorCode } from '../errors/pin-error.js';
import { SyscallError } from '../errors/syscall-error.js';
import type { Fd } from '../fd.js';
import { FileFlag } from '../syscalls/bpf-constants.js';
import { nativeSyscalls } from '../syscalls/native-syscalls.js';
import type { Syscalls } from '../syscalls/syscalls.js';

/** Access an fd opened from a pin grants; the pin's mode must allow it for the caller. */
export type PinAccess = 'read-write' | 'read-only' | 'write-only';

const FILE_FLAGS: Readonly<Record<PinAccess, number>> = {
  'read-write': 0,
  'read-only': FileFlag.RDONLY,
  'write-only': FileFlag.WRONLY,
};

export interface PinOptions {
  readonly sys?: Syscalls;
}

export interface OpenPinnedOptions extends PinOptions {
  readonly access?: PinAccess;
}

function checkPath(path: string): string {
  if (!isAbsolute(path) || normalize(path) !== path || path.endsWith('/')) {
    throw new PinError('PIN_PATH_INVALID', path, `pin path '${path}' must be absolute and normalized, without a trailing slash.`);
  }
  return path;
}

function pinErrorOf(error: unknown, path: string, action: string, codes: Partial<Record<string, PinErrorCode>>): PinError {
  const code = error instanceof Error && 'code' in error ? String(error.code) : 'EUNKNOWN';
  const reason = error instanceof SyscallError ? error.message : `${action} failed with ${code}.`;
  return new PinError(codes[code] ?? 'PIN_FAILED', path, `cannot ${action} '${path}': ${reason}`, { cause: error });
}

/** Pins a map, program or link at `path` (BPF_OBJ_PIN), which must be in bpffs and not exist yet. */
export function pinObject(object: Fd, path: string, options: PinOptions = {}): void {
  const sys = options.sys ?? nativeSyscalls();
  try {
    sys.objPin(object, checkPath(path));
  } catch (error) {
    if (error instanceof PinError) throw error;
    throw pinErrorOf(error, path, 'pin at', { EEXIST: 'PIN_EXISTS', ENOENT: 'PIN_PATH_INVALID', EPERM: 'PIN_ACCESS_DENIED', EACCES: 'PIN_ACCESS_DENIED' });
  }
}

/** Opens the object pinned at `path` (BPF_OBJ_GET) with the requested access. */
export function openPinned(path: string, options: OpenPinnedOptions = {}): Fd {
  const sys = options.sys ?? nativeSyscalls();
  try {
    return sys.objGet(checkPath(path), FILE_FLAGS[options.access ?? 'read-write']);
  } catch (error) {
    if (error instanceof PinError) throw error;
    throw pinErrorOf(error, path, 'open pin', { ENOENT: 'PIN_NOT_FOUND', EACCES: 'PIN_ACCESS_DENIED', EPERM: 'PIN_ACCESS_DENIED' });
  }
}

/**
 * Removes the pin. The object lives on while anything else holds it (an fd, a program, an
 * attachment). Returns false when nothing was pinned there.
 */
export function unpin(path: string): boolean {
  try {
    unlinkSync(checkPath(path));
    return true;
  } catch (error) {
    if (error instanceof PinError) throw error;
    if (isNodeError(error, 'ENOENT')) return false;
    throw pinErrorOf(error, path, 'unpin', { EACCES: 'PIN_ACCESS_DENIED', EPERM: 'PIN_ACCESS_DENIED' });
  }
}

/**
 * Gives the pin to `uid`/`gid`. Who may open a pin is decided by its owner and mode like
 * any file's, which is how a tenant gets its own data maps and nothing else.
 */
export function setPinOwner(path: string, uid: number, gid: number): void {
  try {
    chownSync(checkPath(path), uid, gid);
  } catch (error) {
    if (error instanceof PinError) throw error;
    throw pinErrorOf(error, path, 'change the owner of', { ENOENT: 'PIN_NOT_FOUND', EPERM: 'PIN_ACCESS_DENIED' });
  }
}

/** Sets the pin's permission bits (for example 0o600: only the owner may open it). */
export function setPinMode(path: string, mode: number): void {
  try {
    chmodSync(checkPath(path), mode);
  } catch (error) {
    if (error instanceof PinError) throw error;
    throw pinErrorOf(error, path, 'change the mode of', { ENOENT: 'PIN_NOT_FOUND', EPERM: 'PIN_ACCESS_DENIED' });
  }
}

function isNodeError(error: unknown, code: string): boolean {
  return error instanceof Error && 'code' in error && error.code === code;
}
