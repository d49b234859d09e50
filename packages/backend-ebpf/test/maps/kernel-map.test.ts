import { describe, expect, it } from 'vitest';
import { KernelMapError } from '../../src/errors/kernel-map-error.js';
import { KernelMap } from '../../src/maps/kernel-map.js';
import { kernelSpecOfDataMap } from '../../src/maps/kernel-map-spec.js';
import { MapFlag, MapType, UpdateFlag } from '../../src/syscalls/bpf-constants.js';
import { FakeSyscalls } from '../../src/syscalls/fake-syscalls.js';

describe('KernelMap over the fake kernel', () => {
  it('creates a map with a sanitized name and describes it', () => {
    const sys = new FakeSyscalls();
    using map = KernelMap.create({ type: MapType.PROG_ARRAY, keySize: 4, valueSize: 4, maxEntries: 8, name: 'tenant-a/dispatch' }, { sys });
    expect(map.spec.name).toBe('tenant_a_dispat');
    expect(map.info()).toMatchObject({ type: MapType.PROG_ARRAY, keySize: 4, valueSize: 4, maxEntries: 8, name: 'tenant_a_dispat' });
    expect(String(map)).toMatch(/^map 'tenant_a_dispat' \(fd \d+\)$/);
  });

  it('offers byte-level element access for system maps, sized per possible CPU', () => {
    const sys = new FakeSyscalls({ cpus: 3 });
    using map = KernelMap.create({ type: MapType.PERCPU_HASH, keySize: 2, valueSize: 4, maxEntries: 4 }, { sys });
    expect(map.valueBufferSize).toBe(24);
    const key = new Uint8Array([1, 2]);
    expect(map.lookup(key)).toBeUndefined();
    map.update(key, new Uint8Array(24).fill(7), UpdateFlag.NOEXIST);
    expect(map.lookup(key)).toEqual(new Uint8Array(24).fill(7));
    expect(map.nextKey()).toEqual(key);
    expect(map.nextKey(key)).toBeUndefined();
    expect(map.delete(key)).toBe(true);
    expect(() => map.update(new Uint8Array(3), new Uint8Array(24))).toThrow(KernelMapError);
    expect(() => map.update(key, new Uint8Array(8))).toThrow(/24 bytes/);
  });

  it('throws KERNEL_MAP_CLOSED after close', () => {
    const sys = new FakeSyscalls();
    const map = KernelMap.create({ type: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 1 }, { sys });
    map.close();
    map.close();
    expect(map.closed).toBe(true);
    expect(() => map.fd).toThrow(expect.objectContaining({ code: 'KERNEL_MAP_CLOSED' }));
  });

  it('adopts an fd and reads its spec from the kernel, closing fds that are not maps', () => {
    const sys = new FakeSyscalls();
    using original = KernelMap.create({ type: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 3, flags: MapFlag.MMAPABLE, name: 'o' }, { sys });
    using copy = KernelMap.fromFd(original.fd.dup(), { sys });
    expect(copy.spec).toEqual({ type: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 3, flags: MapFlag.MMAPABLE, name: 'o' });
    const prog = sys.progLoad({ progType: 6, insns: new Uint8Array(8), license: 'GPL' });
    expect(() => KernelMap.fromFd(prog, { sys })).toThrow(expect.objectContaining({ code: 'KERNEL_MAP_INCOMPATIBLE' }));
    expect(prog.closed).toBe(true);
  });

  it('derives data-map kernel specs: u32 keys, u64 values, mmapable only when asked', () => {
    expect(kernelSpecOfDataMap({ kind: 'lru-hash', key: 'u32', value: 'u64', maxEntries: 9 }, { name: 'n' })).toEqual({
      type: MapType.LRU_HASH,
      keySize: 4,
      valueSize: 8,
      maxEntries: 9,
      flags: 0,
      name: 'n',
    });
    expect(kernelSpecOfDataMap({ kind: 'array', key: 'u32', value: 'u64', maxEntries: 1 }, { mmapable: true }).flags).toBe(MapFlag.MMAPABLE);
  });
});
