import { describe, expect, it } from 'vitest';
import { InMemoryDataMapProvider, InMemoryDataMapStore, MapError, type DataMapKind, type MapErrorCode } from '../src/index.js';

function store(kind: DataMapKind, maxEntries: number, cpus?: number): InMemoryDataMapStore {
  return new InMemoryDataMapStore({ kind, key: 'u32', value: 'u64', maxEntries }, { name: 'm', cpus });
}

function codeOf(fn: () => unknown): MapErrorCode | undefined {
  try {
    fn();
  } catch (e) {
    if (e instanceof MapError) return e.code;
    throw e;
  }
  return undefined;
}

describe('array semantics', () => {
  it('has every key in range present and zero until written', () => {
    const m = store('array', 3);
    expect(m.lookup(0)).toEqual([0n]);
    m.update(2, [7n]);
    expect(m.lookup(2)).toEqual([7n]);
    expect([m.nextKey(), m.nextKey(0), m.nextKey(1), m.nextKey(2)]).toEqual([0, 1, 2, undefined]);
  });

  it('refuses keys at or beyond maxEntries', () => {
    const m = store('array', 3);
    expect(codeOf(() => m.lookup(3))).toBe('MAP_KEY_OUT_OF_RANGE');
    expect(codeOf(() => m.update(3, [1n]))).toBe('MAP_KEY_OUT_OF_RANGE');
    expect(codeOf(() => m.fetchAdd(9, 1n))).toBe('MAP_KEY_OUT_OF_RANGE');
  });

  it('cannot delete entries, and a no-exist update fails because keys always exist', () => {
    const m = store('array', 3);
    expect(codeOf(() => m.delete(0))).toBe('MAP_DELETE_UNSUPPORTED');
    expect(codeOf(() => m.update(0, [1n], 'noexist'))).toBe('MAP_KEY_EXISTS');
    expect(codeOf(() => store('percpu-array', 2).delete(1))).toBe('MAP_DELETE_UNSUPPORTED');
  });
});

describe('hash semantics', () => {
  it('inserts, updates, deletes and iterates present keys', () => {
    const m = store('hash', 4);
    expect(m.lookup(10)).toBeUndefined();
    m.update(10, [1n]);
    m.update(20, [2n]);
    m.update(10, [3n]);
    expect(m.lookup(10)).toEqual([3n]);
    const keys: number[] = [];
    for (let k = m.nextKey(); k !== undefined; k = m.nextKey(k)) keys.push(k);
    expect(keys.sort()).toEqual([10, 20]);
    expect(m.delete(10)).toBe(true);
    expect(m.delete(10)).toBe(false);
    expect(m.lookup(10)).toBeUndefined();
  });

  it('honours no-exist and exist update modes', () => {
    const m = store('hash', 4);
    expect(codeOf(() => m.update(1, [1n], 'exist'))).toBe('MAP_KEY_NOT_FOUND');
    m.update(1, [1n], 'noexist');
    expect(codeOf(() => m.update(1, [2n], 'noexist'))).toBe('MAP_KEY_EXISTS');
    m.update(1, [3n], 'exist');
    expect(m.lookup(1)).toEqual([3n]);
  });

  it('refuses a new key when full with a clear MAP_FULL error, but still updates present keys', () => {
    const m = store('hash', 2);
    m.update(1, [1n]);
    m.update(2, [2n]);
    let error: unknown;
    try {
      m.update(3, [3n]);
    } catch (e) {
      error = e;
    }
    expect((error as MapError).code).toBe('MAP_FULL');
    expect((error as MapError).message).toBe("map 'm': the hash map is full (2 entries), so a new key cannot be inserted.");
    m.update(2, [5n]);
    expect(m.lookup(2)).toEqual([5n]);
    expect(m.lookup(3)).toBeUndefined();
  });

  it('fetchAdd on an absent key inserts the delta and returns 0', () => {
    const m = store('hash', 2);
    expect(m.fetchAdd(5, 4n)).toBe(0n);
    expect(m.fetchAdd(5, 4n)).toBe(4n);
    expect(m.lookup(5)).toEqual([8n]);
  });
});

describe('lru-hash semantics', () => {
  it('evicts the least recently used entry when full', () => {
    const m = store('lru-hash', 2);
    m.update(1, [1n]);
    m.update(2, [2n]);
    m.lookup(1); // 1 is now more recent than 2
    m.update(3, [3n]);
    expect(m.lookup(2)).toBeUndefined();
    expect(m.lookup(1)).toEqual([1n]);
    expect(m.lookup(3)).toEqual([3n]);
  });
});

describe('percpu-array semantics', () => {
  it('holds one value per CPU and adds to one CPU slot', () => {
    const m = store('percpu-array', 2, 3);
    expect(m.slotsPerKey).toBe(3);
    expect(m.lookup(1)).toEqual([0n, 0n, 0n]);
    m.update(1, [1n, 2n, 3n]);
    expect(m.fetchAdd(1, 10n, 2)).toBe(3n);
    expect(m.lookup(1)).toEqual([1n, 2n, 13n]);
    expect(codeOf(() => m.update(1, [1n]))).toBe('MAP_VALUE_INVALID');
    expect(codeOf(() => m.fetchAdd(1, 1n, 3))).toBe('MAP_KEY_INVALID');
  });
});

describe('atomic operations and value checks', () => {
  it('fetchAdd wraps at 2^64 and compareExchange swaps only on a match', () => {
    const m = store('array', 1);
    m.update(0, [(1n << 64n) - 1n]);
    expect(m.fetchAdd(0, 2n)).toBe((1n << 64n) - 1n);
    expect(m.lookup(0)).toEqual([1n]);
    expect(m.compareExchange(0, 5n, 9n)).toBe(1n);
    expect(m.lookup(0)).toEqual([1n]);
    expect(m.compareExchange(0, 1n, 9n)).toBe(1n);
    expect(m.lookup(0)).toEqual([9n]);
  });

  it('refuses keys that are not u32 and values that are not u64', () => {
    const m = store('hash', 2);
    expect(codeOf(() => m.lookup(-1))).toBe('MAP_KEY_INVALID');
    expect(codeOf(() => m.lookup(2 ** 32))).toBe('MAP_KEY_INVALID');
    expect(codeOf(() => m.lookup(1.5))).toBe('MAP_KEY_INVALID');
    expect(codeOf(() => m.update(1, [-1n]))).toBe('MAP_VALUE_INVALID');
    expect(codeOf(() => m.update(1, [1n << 64n]))).toBe('MAP_VALUE_INVALID');
  });

  it('refuses every operation once closed, and closing twice is harmless', () => {
    const provider = new InMemoryDataMapProvider();
    const m = provider.createMap({ kind: 'hash', key: 'u32', value: 'u64', maxEntries: 2 }, { name: 'm' });
    m.update(1, [1n]);
    m.close();
    m.close();
    expect(codeOf(() => m.lookup(1))).toBe('MAP_CLOSED');
  });

  it('supports `using` for disposal', () => {
    let captured: InMemoryDataMapStore | undefined;
    {
      using m = store('hash', 1);
      captured = m;
      m.update(1, [1n]);
    }
    expect(codeOf(() => captured?.lookup(1))).toBe('MAP_CLOSED');
  });
});

describe('InMemoryDataMapStore.share', () => {
  it('gives another handle on the same entries that outlives the one it was shared from', () => {
    const first = new InMemoryDataMapStore({ kind: 'hash', key: 'u32', value: 'u64', maxEntries: 4 }, { name: 'seen' });
    first.update(1, [5n]);
    const second = first.share();
    expect(second.lookup(1)).toEqual([5n]);
    second.update(2, [7n]);
    expect(first.lookup(2)).toEqual([7n]);
    first.close();
    expect(() => first.lookup(1)).toThrow("map 'seen' is closed.");
    expect(second.lookup(1)).toEqual([5n]);
    second.close();
    expect(() => second.lookup(1)).toThrow("map 'seen' is closed.");
  });
});
