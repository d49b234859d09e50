import { describe, expect, it } from 'vitest';
import { ERRNO } from '../../src/errors/errno.js';
import { PinError } from '../../src/errors/pin-error.js';
import { SyscallError } from '../../src/errors/syscall-error.js';
import { ensureBpffs, isBpffs } from '../../src/pin/bpffs.js';
import { openPinned, pinObject, unpin } from '../../src/pin/pin.js';
import { pinPath } from '../../src/pin/pin-path.js';
import { MapType } from '../../src/syscalls/bpf-constants.js';
import { FakeSyscalls } from '../../src/syscalls/fake-syscalls.js';

function pinError(action: () => unknown): PinError {
  try {
    action();
  } catch (error) {
    if (error instanceof PinError) return error;
    throw error;
  }
  throw new Error('expected a PinError');
}

describe('pin paths', () => {
  it('joins plain segments under the root', () => {
    expect(pinPath('/sys/fs/bpf/syrup', 'tenant-1', 'sita', 'maps')).toBe('/sys/fs/bpf/syrup/tenant-1/sita/maps');
  });

  it.each(['', '.', '..', 'a/b', 'nul\0'])('refuses the segment %j, which could escape the root', (segment) => {
    expect(pinError(() => pinPath('/sys/fs/bpf/syrup', 'app', segment)).code).toBe('PIN_PATH_INVALID');
  });

  it('refuses relative, unnormalized and trailing-slash pin paths before calling the kernel', () => {
    const sys = new FakeSyscalls();
    using map = sys.mapCreate({ mapType: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 1 });
    for (const path of ['relative/m', '/sys/fs/bpf/../m', '/sys/fs/bpf/m/']) {
      expect(pinError(() => pinObject(map, path, { sys })).code).toBe('PIN_PATH_INVALID');
      expect(pinError(() => openPinned(path, { sys })).code).toBe('PIN_PATH_INVALID');
    }
    expect(pinError(() => unpin('x')).code).toBe('PIN_PATH_INVALID');
    expect(sys.count('BPF_OBJ_PIN')).toBe(0);
  });

  it('maps the kernel answers to pin error codes, keeping the errno as cause', () => {
    const sys = new FakeSyscalls();
    using map = sys.mapCreate({ mapType: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 1 });
    pinObject(map, '/sys/fs/bpf/t/m', { sys });
    const exists = pinError(() => pinObject(map, '/sys/fs/bpf/t/m', { sys }));
    expect(exists.code).toBe('PIN_EXISTS');
    expect(exists.path).toBe('/sys/fs/bpf/t/m');
    expect((exists.cause as { code: string }).code).toBe('EEXIST');
    expect(pinError(() => openPinned('/sys/fs/bpf/t/none', { sys })).code).toBe('PIN_NOT_FOUND');
    using _denied = sys.override('objGet', (path) => {
      throw new SyscallError('BPF_OBJ_GET', ERRNO.EACCES, { subject: path });
    });
    expect(pinError(() => openPinned('/sys/fs/bpf/t/m', { sys })).code).toBe('PIN_ACCESS_DENIED');
  });
});

describe('ensureBpffs', () => {
  it('refuses a root outside the mount point', () => {
    const error = pinError(() => ensureBpffs('/run/syrup', { sys: new FakeSyscalls() }));
    expect(error.code).toBe('BPFFS_UNAVAILABLE');
    expect(error.message).toContain("'/sys/fs/bpf'");
  });

  it('tells bpffs from other filesystems by the statfs magic', () => {
    const sys = new FakeSyscalls();
    expect(isBpffs('/sys/fs/bpf', { sys })).toBe(false);
    sys.mount('bpf', '/sys/fs/bpf', 'bpf', 0);
    expect(isBpffs('/sys/fs/bpf/syrup', { sys })).toBe(true);
    using _gone = sys.override('statfsType', (path) => {
      throw new SyscallError('statfs', ERRNO.ENOENT, { subject: path });
    });
    expect(isBpffs('/sys/fs/bpf', { sys })).toBe(false);
  });
});
