import { describe, expect, it } from 'vitest';
import { InMemoryDataMapStore, MapError, dataMapOf, type DataMapStore } from '../src/index.js';

describe('dataMapOf (application-side typed view)', () => {
  it('reads absent keys as 0n and round-trips exact u64 values beyond 2^53', async () => {
    const map = dataMapOf<{ kind: 'hash'; key: 'u32'; value: 'u64'; maxEntries: 4 }>(
      new InMemoryDataMapStore({ kind: 'hash', key: 'u32', value: 'u64', maxEntries: 4 }, { name: 'm' }),
    );
    expect(await map.get(1)).toBe(0n);
    const big = (1n << 63n) + 12345n;
    await map.set(1, big);
    expect(await map.get(1)).toBe(big);
    expect(await map.fetchAdd(1, 1n)).toBe(big);
    expect(await map.compareExchange(1, big + 1n, 3n)).toBe(big + 1n);
    expect(await map.get(1)).toBe(3n);
    await map.set(2, 4n);
    const seen: Array<[number, bigint]> = [];
    for await (const entry of map) seen.push(entry);
    expect(seen.sort((a, b) => a[0] - b[0])).toEqual([
      [1, 3n],
      [2, 4n],
    ]);
    expect(await map.delete(1)).toBe(true);
  });

  it('reads a per-CPU map as one value per CPU', async () => {
    const map = dataMapOf<{ kind: 'percpu-array'; key: 'u32'; value: 'u64'; maxEntries: 2 }>(
      new InMemoryDataMapStore({ kind: 'percpu-array', key: 'u32', value: 'u64', maxEntries: 2 }, { name: 'p', cpus: 2 }),
    );
    expect(await map.get(0)).toEqual([0n, 0n]);
    await map.set(0, [5n, 6n]);
    expect(await map.get(0)).toEqual([5n, 6n]);
  });

  it('refuses fetchAdd and compareExchange on a store that cannot be atomic instead of faking them', async () => {
    const inner = new InMemoryDataMapStore({ kind: 'hash', key: 'u32', value: 'u64', maxEntries: 2 }, { name: 'k' });
    const notAtomic: DataMapStore = Object.create(inner, { atomic: { value: false } });
    const map = dataMapOf(notAtomic);
    await expect(map.fetchAdd(0, 1n)).rejects.toThrow(MapError);
    await expect(map.compareExchange(0, 0n, 1n)).rejects.toMatchObject({ code: 'MAP_NOT_ATOMIC' });
    expect(inner.lookup(0)).toBeUndefined();
  });
});
