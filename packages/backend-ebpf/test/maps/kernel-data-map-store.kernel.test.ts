import { fileURLToPath } from 'node:url';
import type { Worker } from 'node:worker_threads';
import type { DataMapSpec, MapError } from '@syrup/maps';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { SyscallError } from '../../src/errors/syscall-error.js';
import { KernelDataMapProvider } from '../../src/maps/kernel-data-map-provider.js';
import { KernelDataMapStore } from '../../src/maps/kernel-data-map-store.js';
import { KernelMap } from '../../src/maps/kernel-map.js';
import { ensureBpffs } from '../../src/pin/bpffs.js';
import { MapType } from '../../src/syscalls/bpf-constants.js';
import { nativeSyscalls } from '../../src/syscalls/native-syscalls.js';
import { describeDataMapStoreContract } from '../support/data-map-store-contract.js';
import { describeKernel } from '@syrup/test-support/kernel-gate';
import { removePinRoot, uniquePinRoot } from '../support/pin-root.js';
import { firstMessage, runTsScript, startTsWorker } from '../support/ts-process.js';
import { openFdCount } from '@syrup/test-support/open-fds';

const fixture = (name: string): string => fileURLToPath(new URL(`../support/fixtures/${name}`, import.meta.url));

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

describeKernel('kernel data maps', { needs: ['bpf', 'bpffs'] }, () => {
  describeDataMapStoreContract('kernel store', (s, name) => KernelDataMapStore.create(s, { name }), { cpus: () => nativeSyscalls().possibleCpus() });
  describeDataMapStoreContract('mmapable kernel store', (s, name) => KernelDataMapStore.create(s, { name, mmapable: s.kind === 'array' }), {
    cpus: () => nativeSyscalls().possibleCpus(),
  });

  const open: { close(): void }[] = [];
  const track = <T extends { close(): void }>(value: T): T => {
    open.push(value);
    return value;
  };
  afterEach(() => {
    for (const value of open.splice(0)) value.close();
  });

  it('sizes per-CPU values by the possible CPUs and keeps each CPU slot apart', () => {
    const cpus = nativeSyscalls().possibleCpus();
    const store = track(KernelDataMapStore.create(spec('percpu-array', 4), { name: 'pcpu' }));
    expect(store.slotsPerKey).toBe(cpus);
    expect(store.kernelMap.valueBufferSize).toBe(8 * cpus);
    const slots = Array.from({ length: cpus }, (_, cpu) => (BigInt(cpu) << 56n) | BigInt(cpu + 1));
    store.update(3, slots);
    expect(store.lookup(3)).toEqual(slots);
    expect(new Map(store.entries()).get(3)).toEqual(slots);
  });

  it('maps array errnos: E2BIG out of range, EINVAL delete, ENOENT lookup beyond the end', () => {
    const store = track(KernelDataMapStore.create(spec('array', 8), { name: 'arr' }));
    const update = caught(() => store.update(8, [1n])) as MapError;
    expect(update.code).toBe('MAP_KEY_OUT_OF_RANGE');
    expect((update.cause as SyscallError).code).toBe('E2BIG');
    const del = caught(() => store.delete(0)) as MapError;
    expect(del.code).toBe('MAP_DELETE_UNSUPPORTED');
    expect((del.cause as SyscallError).code).toBe('EINVAL');
    expect((caught(() => store.lookup(100)) as MapError).code).toBe('MAP_KEY_OUT_OF_RANGE');
  });

  it('maps a full hash to MAP_FULL with the E2BIG as cause', () => {
    const store = track(KernelDataMapStore.create(spec('hash', 2), { name: 'full' }));
    store.update(1, [1n]);
    store.update(2, [2n]);
    const error = caught(() => store.update(3, [3n])) as MapError;
    expect(error.code).toBe('MAP_FULL');
    expect((error.cause as SyscallError).code).toBe('E2BIG');
  });

  it('evicts from an LRU hash: 10x its size inserted, at most its size present', () => {
    const store = track(KernelDataMapStore.create(spec('lru-hash', 128), { name: 'lru' }));
    for (let k = 0; k < 1280; k++) store.update(k, [BigInt(k)]);
    const present = store.entries();
    expect(present.length).toBeGreaterThan(0);
    expect(present.length).toBeLessThanOrEqual(128);
    for (const [key, [value]] of present) expect(value).toBe(BigInt(key));
  });

  it('iterates a hash with get-next-key, visiting each key once', () => {
    const store = track(KernelDataMapStore.create(spec('hash', 512), { name: 'iter' }));
    for (let k = 0; k < 300; k++) store.update(k * 7, [BigInt(k)]);
    const seen: number[] = [];
    for (let k = store.nextKey(); k !== undefined; k = store.nextKey(k)) seen.push(k);
    expect(seen).toHaveLength(300);
    expect(new Set(seen).size).toBe(300);
    expect(seen.every((k) => k % 7 === 0)).toBe(true);
  });

  it('reads whole maps with batch lookups (hash over several batches, array, per-CPU)', () => {
    const hash = track(KernelDataMapStore.create(spec('hash', 4096), { name: 'bhash' }));
    for (let k = 0; k < 3000; k++) hash.update(k + 1, [BigInt(k) * 3n]);
    const entries = new Map(hash.entries());
    expect(entries.size).toBe(3000);
    expect(entries.get(1000)).toEqual([2997n]);
    const array = track(KernelDataMapStore.create(spec('array', 600), { name: 'barr' }));
    array.update(599, [5n]);
    const all = array.entries();
    expect(all).toHaveLength(600);
    expect(all[599]).toEqual([599, [5n]]);
  });

  it('shares an mmapable array with the kernel without copying, in both directions', () => {
    const store = track(KernelDataMapStore.create(spec('array', 64), { name: 'zc', mmapable: true }));
    const view = store.values;
    const map = store.kernelMap;
    const key = new Uint8Array([9, 0, 0, 0]);
    // kernel -> view: an update through bpf() shows up in memory.
    map.update(key, new Uint8Array([0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11]));
    expect(view[9]).toBe(0x1122334455667788n);
    // view -> kernel: a store into memory is what bpf() lookup returns.
    view[10] = 0xdeadbeefcafebaben;
    expect(map.lookup(new Uint8Array([10, 0, 0, 0]))).toEqual(new Uint8Array([0xbe, 0xba, 0xfe, 0xca, 0xef, 0xbe, 0xad, 0xde]));
    // A second, independent opening of the same map sees the same memory.
    const other = track(KernelDataMapStore.fromKernelMap(KernelMap.fromFd(map.fd.dup()), { name: 'zc2' }));
    expect(other.atomic).toBe(true);
    other.values[11] = 77n;
    expect(view[11]).toBe(77n);
  });

  it('does fetchAdd and compareExchange with Atomics on the mapped values', () => {
    const store = track(KernelDataMapStore.create(spec('array', 4), { name: 'atom', mmapable: true }));
    expect(store.fetchAdd(0, 5n)).toBe(0n);
    expect(store.fetchAdd(0, 0xffff_ffff_ffff_ffffn)).toBe(5n);
    expect(store.lookup(0)).toEqual([4n]);
    expect(store.compareExchange(0, 4n, 10n)).toBe(4n);
    expect(store.compareExchange(0, 4n, 99n)).toBe(10n);
    expect(store.kernelMap.lookup(new Uint8Array(4))).toEqual(new Uint8Array([10, 0, 0, 0, 0, 0, 0, 0]));
  });

  it('refuses fetchAdd with MAP_NOT_ATOMIC on maps that are not mmapable arrays', () => {
    for (const kind of ['array', 'hash', 'percpu-array', 'lru-hash'] as const) {
      const store = track(KernelDataMapStore.create(spec(kind, 4), { name: `na_${kind.replace('-', '_')}` }));
      expect(store.atomic).toBe(false);
      expect((caught(() => store.fetchAdd(0, 1n)) as MapError).code).toBe('MAP_NOT_ATOMIC');
    }
  });

  it('keeps the provider defaults: arrays mmapable and atomic', () => {
    const provider = new KernelDataMapProvider();
    const store = track(provider.createMap(spec('array', 2), { name: 'next' }));
    expect(store.atomic).toBe(true);
    expect(store.fetchAdd(0, 1n)).toBe(0n);
  });

  describeKernel('across threads and processes', { needs: ['bpf'] }, () => {
    let root: string;
    beforeAll(() => {
      root = ensureBpffs(uniquePinRoot());
    });
    afterAll(() => removePinRoot(root));

    it('loses no increment when 4 worker threads fetchAdd 100k times each', async () => {
      const iterations = 100_000;
      const store = track(KernelDataMapStore.create(spec('array', 4), { name: 'counter', mmapable: true }));
      const path = `${root}/counter`;
      store.pin(path);
      const start = new SharedArrayBuffer(4);
      const workers: Worker[] = [];
      try {
        for (let i = 0; i < 4; i++) {
          // Two open the pin, two adopt a dup'ed fd this thread disowns to them.
          const data = i % 2 === 0 ? { path, key: 2, iterations, start } : { fd: store.kernelMap.fd.dup().disown(), key: 2, iterations, start };
          workers.push(startTsWorker(fixture('fetch-add-worker.ts'), data));
        }
        const ready = await Promise.all(workers.map((w) => firstMessage<{ atomic: boolean }>(w)));
        expect(ready.every((r) => r.atomic)).toBe(true);
        const done = Promise.all(workers.map((w) => firstMessage(w)));
        Atomics.store(new Int32Array(start), 0, 1);
        Atomics.notify(new Int32Array(start), 0);
        await done;
      } finally {
        await Promise.all(workers.map((w) => w.terminate()));
      }
      expect(store.lookup(2)).toEqual([BigInt(4 * iterations)]);
      expect(store.kernelMap.lookup(new Uint8Array([2, 0, 0, 0]))).toEqual(
        new Uint8Array(new BigUint64Array([BigInt(4 * iterations)]).buffer),
      );
    }, 120_000);

    it('survives touching a view of a map that was closed (child process exits 0)', async () => {
      const result = await runTsScript(fixture('close-with-live-view.ts'));
      expect(result.stderr).toBe('');
      expect(result.signal).toBeNull();
      expect(result.code).toBe(0);
      expect(JSON.parse(result.stdout)).toEqual({
        mappedBefore: 1,
        mappedAfter: 0,
        readAfterClose: '0',
        writeThenRead: '9',
        fetchAfterClose: '0',
      });
    }, 60_000);
  });

  it('leaves the fd table as it was after thousands of creates, closes and failures', () => {
    const sys = nativeSyscalls();
    const cycles = 2000;
    // Warm up lazily created buffers and libc prototypes before counting.
    KernelDataMapStore.create(spec('array', 1), { name: 'warm', mmapable: true }).close();
    const before = openFdCount();
    for (let i = 0; i < cycles; i++) {
      const kind = (['array', 'hash', 'percpu-array', 'lru-hash'] as const)[i % 4] as DataMapSpec['kind'];
      const store = KernelDataMapStore.create(spec(kind, 8), { name: `cycle${i}`, mmapable: kind === 'array' && i % 8 === 0 });
      store.update(1, new Array<bigint>(store.slotsPerKey).fill(1n));
      if (kind === 'hash' || kind === 'lru-hash') expect(store.lookup(99)).toBeUndefined();
      else expect((caught(() => store.lookup(99)) as MapError).code).toBe('MAP_KEY_OUT_OF_RANGE');
      store.close();
      const refused = caught(() => KernelMap.create({ type: MapType.HASH, keySize: 0, valueSize: 8, maxEntries: 1 }, { sys }));
      expect((refused as SyscallError).code).toBe('EINVAL');
    }
    expect(openFdCount()).toBe(before);
  }, 120_000);
});
