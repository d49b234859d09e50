import { InMemoryDataMapStore, MapError, type DataMapSpec } from '@syrup/maps';
import { describe, expect, it } from 'vitest';
import { ERRNO } from '../../src/errors/errno.js';
import { KernelMapError } from '../../src/errors/kernel-map-error.js';
import { SyscallError } from '../../src/errors/syscall-error.js';
import { KernelDataMapProvider } from '../../src/maps/kernel-data-map-provider.js';
import { KernelDataMapStore } from '../../src/maps/kernel-data-map-store.js';
import { KernelMap } from '../../src/maps/kernel-map.js';
import { MapFlag, MapType } from '../../src/syscalls/bpf-constants.js';
import { FakeSyscalls } from '../../src/syscalls/fake-syscalls.js';
import { describeDataMapStoreContract } from '../support/data-map-store-contract.js';

const CPUS = 4;

describeDataMapStoreContract('in-memory store (reference)', (spec, name) => new InMemoryDataMapStore(spec, { name, cpus: CPUS }), {
  cpus: () => CPUS,
});

describeDataMapStoreContract('kernel store over the fake kernel', (spec, name) => KernelDataMapStore.create(spec, { name, sys: new FakeSyscalls({ cpus: CPUS }) }), {
  cpus: () => CPUS,
});

describeDataMapStoreContract(
  'mmapable kernel array over the fake kernel',
  (spec, name) => KernelDataMapStore.create(spec, { name, sys: new FakeSyscalls({ cpus: CPUS }), mmapable: spec.kind === 'array' }),
  { cpus: () => CPUS },
);

function spec(kind: DataMapSpec['kind'], maxEntries: number): DataMapSpec {
  return { kind, key: 'u32', value: 'u64', maxEntries };
}

function caught(action: () => unknown): unknown {
  try {
    action();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('KernelDataMapStore over the fake kernel', () => {
  it('keeps the kernel errno as the cause of a MapError', () => {
    const sys = new FakeSyscalls();
    using store = KernelDataMapStore.create(spec('array', 2), { name: 'a', sys });
    const error = caught(() => store.update(5, [1n]));
    expect(error).toBeInstanceOf(MapError);
    expect((error as MapError).code).toBe('MAP_KEY_OUT_OF_RANGE');
    expect((error as MapError).cause).toBeInstanceOf(SyscallError);
    expect(((error as MapError).cause as SyscallError).code).toBe('E2BIG');
  });

  it('lets errnos the contract has no code for through as SyscallError', () => {
    const sys = new FakeSyscalls();
    using store = KernelDataMapStore.create(spec('hash', 2), { name: 'h', sys });
    sys.failNext('BPF_MAP_UPDATE_ELEM', ERRNO.EPERM);
    const error = caught(() => store.update(1, [1n]));
    expect(error).toBeInstanceOf(SyscallError);
    expect((error as SyscallError).code).toBe('EPERM');
  });

  it('reuses its key and value buffers: a lookup or update allocates no syscall memory', () => {
    const sys = new FakeSyscalls();
    using store = KernelDataMapStore.create(spec('hash', 8), { name: 'h', sys });
    const allocations = (): number => sys.calls.length;
    store.update(1, [1n]);
    const before = allocations();
    let allocated = 0;
    const model = sys.allocBuffer.bind(sys);
    using _counted = sys.override('allocBuffer', (size) => {
      allocated++;
      return model(size);
    });
    for (let i = 0; i < 100; i++) {
      store.update(i % 8, [BigInt(i)]);
      store.lookup(i % 8);
    }
    expect(allocated).toBe(0);
    expect(allocations() - before).toBe(200);
  });

  it('refuses fetchAdd and compareExchange with MAP_NOT_ATOMIC unless the array is mmapable', () => {
    const sys = new FakeSyscalls();
    for (const kind of ['array', 'hash', 'percpu-array', 'lru-hash'] as const) {
      using store = KernelDataMapStore.create(spec(kind, 4), { name: kind, sys });
      expect(store.atomic).toBe(false);
      const error = caught(() => store.fetchAdd(0, 1n));
      expect((error as MapError).code).toBe('MAP_NOT_ATOMIC');
      expect((error as MapError).message).toMatch(/atomic only on an mmapable array map/);
      expect((caught(() => store.compareExchange(0, 0n, 1n)) as MapError).code).toBe('MAP_NOT_ATOMIC');
    }
  });

  it('reads and writes an mmapable array through its mapped values, without syscalls', () => {
    const sys = new FakeSyscalls();
    using store = KernelDataMapStore.create(spec('array', 4), { name: 'm', sys, mmapable: true });
    expect(store.atomic).toBe(true);
    const bpfCalls = (): number => sys.calls.filter((c) => c.startsWith('BPF_')).length;
    const before = bpfCalls();
    store.update(1, [10n]);
    expect(store.lookup(1)).toEqual([10n]);
    expect(store.fetchAdd(1, 5n)).toBe(10n);
    expect(store.compareExchange(1, 15n, 100n)).toBe(15n);
    expect(store.compareExchange(1, 15n, 7n)).toBe(100n);
    expect(store.fetchAdd(2, 0xffff_ffff_ffff_ffffn)).toBe(0n);
    expect(store.fetchAdd(2, 2n)).toBe(0xffff_ffff_ffff_ffffn);
    expect(store.lookup(2)).toEqual([1n]);
    expect(bpfCalls()).toBe(before);
    // The values are the map's own memory: the kernel's view agrees.
    expect(store.kernelMap.lookup(new Uint8Array([1, 0, 0, 0]))).toEqual(new Uint8Array([100, 0, 0, 0, 0, 0, 0, 0]));
    expect(store.values[1]).toBe(100n);
    expect((caught(() => store.fetchAdd(4, 1n)) as MapError).code).toBe('MAP_KEY_OUT_OF_RANGE');
    expect((caught(() => store.fetchAdd(0, 1n, 1)) as MapError).code).toBe('MAP_KEY_INVALID');
    expect((caught(() => store.update(0, [1n], 'noexist')) as MapError).code).toBe('MAP_KEY_EXISTS');
  });

  it('on close replaces the mapping with anonymous memory instead of unmapping it', () => {
    const sys = new FakeSyscalls();
    const store = KernelDataMapStore.create(spec('array', 4), { name: 'm', sys, mmapable: true });
    const view = store.values;
    const [address, mapping] = [...sys.mappings()][0] ?? [];
    expect(mapping?.map).toBeDefined();
    store.close();
    expect(sys.count('munmap')).toBe(0);
    expect(sys.mappings().get(address as bigint)?.map).toBeUndefined();
    expect(sys.openFds()).toEqual([]);
    expect(view.length).toBe(4);
    expect((caught(() => store.values) as MapError).code).toBe('MAP_CLOSED');
    expect((caught(() => store.fetchAdd(0, 1n)) as MapError).code).toBe('MAP_CLOSED');
  });

  it('only arrays can be mmapable', () => {
    const error = caught(() => KernelDataMapStore.create(spec('hash', 4), { name: 'h', sys: new FakeSyscalls(), mmapable: true }));
    expect(error).toBeInstanceOf(KernelMapError);
    expect((error as KernelMapError).code).toBe('KERNEL_MAP_SPEC_INVALID');
  });

  it('closes the map when mapping its values fails', () => {
    const sys = new FakeSyscalls();
    using _noMemory = sys.override('mmap', () => {
      throw new SyscallError('mmap', ERRNO.ENOMEM);
    });
    expect(caught(() => KernelDataMapStore.create(spec('array', 4), { name: 'm', sys, mmapable: true }))).toBeInstanceOf(SyscallError);
    expect(sys.openFds()).toEqual([]);
  });

  it('lists every entry with batch lookups, across several batches', () => {
    const sys = new FakeSyscalls({ cpus: 2 });
    using hash = KernelDataMapStore.create(spec('hash', 1000), { name: 'h', sys });
    for (let k = 0; k < 600; k++) hash.update(k * 3, [BigInt(k)]);
    const entries = hash.entries();
    expect(entries).toHaveLength(600);
    expect(new Map(entries).get(300)).toEqual([100n]);
    using percpu = KernelDataMapStore.create(spec('percpu-array', 300), { name: 'p', sys });
    percpu.update(299, [1n, 2n]);
    const all = percpu.entries();
    expect(all).toHaveLength(300);
    expect(all[299]).toEqual([299, [1n, 2n]]);
    expect(sys.count('BPF_MAP_LOOKUP_BATCH')).toBeGreaterThan(2);
  });

  it('opens a pinned data map and refuses maps that are not u32 -> u64 data maps', () => {
    const sys = new FakeSyscalls();
    using store = KernelDataMapStore.create(spec('lru-hash', 8), { name: 'shared', sys, mmapable: false });
    store.update(3, [33n]);
    store.pin('/sys/fs/bpf/t/shared');
    using again = KernelDataMapStore.open('/sys/fs/bpf/t/shared', { sys });
    expect(again.spec).toEqual(spec('lru-hash', 8));
    expect(again.label).toBe("map 'shared'");
    expect(again.lookup(3)).toEqual([33n]);
    const wide = KernelMap.create({ type: MapType.HASH, keySize: 8, valueSize: 8, maxEntries: 1 }, { sys });
    const error = caught(() => KernelDataMapStore.fromKernelMap(wide));
    expect((error as KernelMapError).code).toBe('KERNEL_MAP_INCOMPATIBLE');
    expect(wide.closed).toBe(true);
  });

  it('leaves no fd open after creating, failing and closing stores', () => {
    const sys = new FakeSyscalls();
    for (let i = 0; i < 50; i++) {
      const store = KernelDataMapStore.create(spec(i % 2 ? 'array' : 'hash', 4), { name: `s${i}`, sys, mmapable: i % 2 === 1 });
      store.lookup(1);
      store.close();
      sys.failNext('BPF_MAP_CREATE', ERRNO.EINVAL);
      expect(caught(() => KernelDataMapStore.create(spec('hash', 4), { name: 'x', sys }))).toBeInstanceOf(SyscallError);
    }
    expect(sys.openFds()).toEqual([]);
  });
});

describe('KernelDataMapProvider', () => {
  it('creates arrays mmapable by default so applications get atomic operations', () => {
    const sys = new FakeSyscalls();
    const provider = new KernelDataMapProvider({ sys });
    expect(provider.name).toBe('ebpf');
    using array = provider.createMap(spec('array', 2), { name: 'a' });
    using hash = provider.createMap(spec('hash', 2), { name: 'h' });
    expect(array.atomic).toBe(true);
    expect(((array.kernelMap.spec.flags ?? 0) & MapFlag.MMAPABLE) !== 0).toBe(true);
    expect(hash.atomic).toBe(false);
    using plain = new KernelDataMapProvider({ sys, mmapableArrays: false }).createMap(spec('array', 2), { name: 'p' });
    expect(plain.atomic).toBe(false);
  });

  it('validates untrusted specs with the maps package rules', () => {
    const provider = new KernelDataMapProvider({ sys: new FakeSyscalls() });
    const error = caught(() => provider.createMap({ kind: 'array', key: 'u32', value: 'u64', maxEntries: 0 }, { name: 'z' }));
    expect((error as MapError).code).toBe('MAP_SPEC_INVALID');
  });
});
