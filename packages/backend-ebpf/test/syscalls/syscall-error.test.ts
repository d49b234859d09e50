import { describe, expect, it } from 'vitest';
import { ERRNO, errnoName } from '../../src/errors/errno.js';
import { isSyscallError, SyscallError } from '../../src/errors/syscall-error.js';

describe('SyscallError', () => {
  it('names the errno, the operation and the likely cause in one sentence', () => {
    const error = new SyscallError('BPF_MAP_CREATE', ERRNO.EPERM, { subject: "map 'next'" });
    expect(error.code).toBe('EPERM');
    expect(error.errno).toBe(1);
    expect(error.operation).toBe('BPF_MAP_CREATE');
    expect(error.message).toBe("BPF_MAP_CREATE on map 'next' failed with EPERM (errno 1): missing CAP_BPF/root (or memlock limit).");
    expect(error.message.split('. ')).toHaveLength(1);
  });

  it('prefers what an errno means to the operation over the generic meaning', () => {
    expect(new SyscallError('BPF_MAP_UPDATE_ELEM', ERRNO.E2BIG).message).toContain("beyond an array map's max_entries, or a hash map is full");
    expect(new SyscallError('BPF_PROG_LOAD', ERRNO.ENOSPC).message).toContain('verifier log buffer is too small');
    expect(new SyscallError('BPF_OBJ_GET', ERRNO.EACCES).message).toContain("pin's owner or mode");
    expect(new SyscallError('close', ERRNO.EBADF).message).toContain('not open');
  });

  it('reports numbers it does not know as EUNKNOWN and keeps the number', () => {
    const error = new SyscallError('mmap', 4095);
    expect(error.code).toBe('EUNKNOWN');
    expect(error.errno).toBe(4095);
    expect(errnoName(524)).toBe('ENOTSUPP');
  });

  it('is recognised by isSyscallError with and without a code', () => {
    const error = new SyscallError('BPF_OBJ_PIN', ERRNO.EEXIST, { cause: 'x' });
    expect(isSyscallError(error)).toBe(true);
    expect(isSyscallError(error, 'EEXIST')).toBe(true);
    expect(isSyscallError(error, 'ENOENT')).toBe(false);
    expect(isSyscallError(new Error('EEXIST'))).toBe(false);
    expect(error.cause).toBe('x');
  });
});
