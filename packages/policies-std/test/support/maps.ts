import { setImmediate as nextMacrotask } from 'node:timers/promises';
import { dataMapOf, InMemoryDataMapStore, MapError, type DataMap, type DataMapSpec } from '@syrup/maps';

/** An in-memory map of `spec` and the application's DataMap view over it. */
export function memoryMap(spec: DataMapSpec, name: string): { store: InMemoryDataMapStore; map: DataMap } {
  const store = new InMemoryDataMapStore(spec, { name });
  return { store, map: dataMapOf(store) as DataMap };
}

/**
 * The same map, as one that cannot be atomic from userspace (a hash map in the kernel, say):
 * fetchAdd and compareExchange refuse with MAP_NOT_ATOMIC, the rest works.
 */
export function withoutAtomics(map: DataMap): DataMap {
  const refuse = async (): Promise<never> => {
    throw new MapError('MAP_NOT_ATOMIC', 'this test map refuses atomics from userspace.');
  };
  return overriding(map, { fetchAdd: refuse, compareExchange: refuse });
}

/**
 * The same map with a round trip's latency: every operation settles a macrotask later, as a
 * map reached through the daemon would, so interleavings of concurrent callers show.
 */
export function slow(map: DataMap): DataMap {
  const delayed =
    <A extends unknown[], R>(f: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      await nextMacrotask();
      const result = await f(...args);
      await nextMacrotask();
      return result;
    };
  return overriding(map, {
    get: delayed(map.get.bind(map)),
    set: delayed(map.set.bind(map)),
    fetchAdd: delayed(map.fetchAdd.bind(map)),
    compareExchange: delayed(map.compareExchange.bind(map)),
  });
}

/** `map` with some methods replaced; the others stay bound to the map. */
export function overriding(map: DataMap, methods: Partial<DataMap>): DataMap {
  return new Proxy(map, {
    get(target, property) {
      if (Object.hasOwn(methods, property)) return methods[property as keyof DataMap];
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

export const ARRAY_64: DataMapSpec = { kind: 'array', key: 'u32', value: 'u64', maxEntries: 64 };
export const ARRAY_1024: DataMapSpec = { kind: 'array', key: 'u32', value: 'u64', maxEntries: 1024 };
