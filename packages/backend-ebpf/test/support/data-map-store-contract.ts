import type { DataMapKind, DataMapSpec, DataMapStore } from '@syrup/maps';
import { afterEach, describe, expect, it } from 'vitest';

export type StoreFactory = (spec: DataMapSpec, name: string) => DataMapStore;

function spec(kind: DataMapKind, maxEntries: number): DataMapSpec {
  return { kind, key: 'u32', value: 'u64', maxEntries };
}

function codeOf(action: () => unknown): string | undefined {
  try {
    action();
  } catch (error) {
    return (error as { code?: string }).code;
  }
  return undefined;
}

/**
 * The behaviour every `DataMapStore` must share, whatever holds the data: the in-memory
 * store, the kernel store over the fake syscalls, and the kernel store over the real
 * kernel all run this same suite, which is how the fake is kept honest.
 */
export function describeDataMapStoreContract(name: string, create: StoreFactory, options: { cpus: () => number }): void {
  describe(`${name}: DataMapStore contract`, () => {
    const open: DataMapStore[] = [];
    const make = (kind: DataMapKind, maxEntries: number): DataMapStore => {
      const store = create(spec(kind, maxEntries), `c_${kind.replace('-', '_')}`);
      open.push(store);
      return store;
    };
    afterEach(() => {
      for (const store of open.splice(0)) store.close();
    });

    it('round-trips u64 values in an array, including 0 and 2^64-1', () => {
      const store = make('array', 4);
      expect(store.slotsPerKey).toBe(1);
      expect(store.lookup(2)).toEqual([0n]);
      store.update(2, [0xffff_ffff_ffff_ffffn]);
      store.update(3, [1n << 53n]);
      expect(store.lookup(2)).toEqual([0xffff_ffff_ffff_ffffn]);
      expect(store.lookup(3)).toEqual([1n << 53n]);
      expect(store.lookup(0)).toEqual([0n]);
    });

    it('answers MAP_KEY_OUT_OF_RANGE and MAP_DELETE_UNSUPPORTED on arrays', () => {
      const store = make('array', 4);
      expect(codeOf(() => store.update(4, [1n]))).toBe('MAP_KEY_OUT_OF_RANGE');
      expect(codeOf(() => store.lookup(4))).toBe('MAP_KEY_OUT_OF_RANGE');
      expect(codeOf(() => store.delete(1))).toBe('MAP_DELETE_UNSUPPORTED');
      expect(codeOf(() => store.update(1, [1n], 'noexist'))).toBe('MAP_KEY_EXISTS');
      store.update(1, [7n], 'exist');
      expect(store.lookup(1)).toEqual([7n]);
    });

    it('walks array keys 0..maxEntries-1', () => {
      const store = make('array', 3);
      const keys: number[] = [];
      for (let k = store.nextKey(); k !== undefined; k = store.nextKey(k)) keys.push(k);
      expect(keys).toEqual([0, 1, 2]);
    });

    it('holds one value per possible CPU in a per-CPU array', () => {
      const store = make('percpu-array', 2);
      const cpus = options.cpus();
      expect(store.slotsPerKey).toBe(cpus);
      const slots = Array.from({ length: cpus }, (_, i) => BigInt(i + 1) * 1000n);
      store.update(1, slots);
      expect(store.lookup(1)).toEqual(slots);
      expect(store.lookup(0)).toEqual(new Array(cpus).fill(0n));
      expect(codeOf(() => store.update(1, [1n, ...slots]))).toBe('MAP_VALUE_INVALID');
      expect(codeOf(() => store.update(2, slots))).toBe('MAP_KEY_OUT_OF_RANGE');
    });

    for (const kind of ['hash', 'lru-hash'] as const) {
      it(`inserts, updates, deletes and iterates a ${kind}`, () => {
        const store = make(kind, 8);
        expect(store.lookup(5)).toBeUndefined();
        store.update(5, [50n]);
        store.update(6, [60n], 'noexist');
        store.update(5, [55n], 'exist');
        expect(store.lookup(5)).toEqual([55n]);
        expect(codeOf(() => store.update(6, [1n], 'noexist'))).toBe('MAP_KEY_EXISTS');
        expect(codeOf(() => store.update(7, [1n], 'exist'))).toBe('MAP_KEY_NOT_FOUND');
        const keys: number[] = [];
        for (let k = store.nextKey(); k !== undefined; k = store.nextKey(k)) keys.push(k);
        expect(keys.sort()).toEqual([5, 6]);
        expect(store.delete(5)).toBe(true);
        expect(store.delete(5)).toBe(false);
        expect(store.lookup(5)).toBeUndefined();
      });
    }

    it('refuses a new key in a full hash with MAP_FULL', () => {
      const store = make('hash', 4);
      for (let k = 0; k < 4; k++) store.update(k, [BigInt(k)]);
      expect(codeOf(() => store.update(100, [1n]))).toBe('MAP_FULL');
      store.update(3, [33n]);
      expect(store.lookup(3)).toEqual([33n]);
    });

    it('evicts instead of refusing in a full LRU hash', () => {
      const store = make('lru-hash', 64);
      for (let k = 0; k < 1000; k++) store.update(k, [BigInt(k)]);
      let present = 0;
      for (let k = store.nextKey(); k !== undefined; k = store.nextKey(k)) present++;
      expect(present).toBeGreaterThan(0);
      expect(present).toBeLessThanOrEqual(64);
      // Which entries go is the kernel's business (its LRU is approximate); the newest stays.
      expect(store.lookup(999)).toEqual([999n]);
    });

    it('refuses keys and values outside u32/u64', () => {
      const store = make('hash', 4);
      expect(codeOf(() => store.update(-1, [1n]))).toBe('MAP_KEY_INVALID');
      expect(codeOf(() => store.update(2 ** 32, [1n]))).toBe('MAP_KEY_INVALID');
      expect(codeOf(() => store.update(1, [-1n]))).toBe('MAP_VALUE_INVALID');
      expect(codeOf(() => store.update(1, [1n << 64n]))).toBe('MAP_VALUE_INVALID');
    });

    it('throws MAP_CLOSED after close, and closing twice is harmless', () => {
      const store = make('hash', 4);
      store.close();
      store.close();
      expect(codeOf(() => store.lookup(1))).toBe('MAP_CLOSED');
      expect(codeOf(() => store.update(1, [1n]))).toBe('MAP_CLOSED');
      expect(codeOf(() => store.nextKey())).toBe('MAP_CLOSED');
    });
  });
}
