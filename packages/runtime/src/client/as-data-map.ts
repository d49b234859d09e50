import type { DataMap, DataMapSpec, PerCpuDataMap } from '@syrup/maps';
import { RuntimeError } from '../errors/runtime-error.js';
import type { ClientMap } from './syrup-client.js';

/**
 * A client's map as the `@syrup/maps` DataMap that companions take (ScanTracker,
 * TokenRefiller): every call goes through the client (so through the daemon under
 * `connect()`), `fetchAdd` and `compareExchange` stay atomic where the map is (MAP_NOT_ATOMIC
 * otherwise, which the companions handle). The shape is the map's own (`ClientMap.spec`);
 * `spec`, when given, must equal it, and is needed only with a server that sends no shapes.
 */
export function asDataMap(map: ClientMap, spec: DataMapSpec & { kind: 'percpu-array' }): PerCpuDataMap;
export function asDataMap(map: ClientMap, spec?: DataMapSpec): DataMap<bigint>;
export function asDataMap(map: ClientMap, spec?: DataMapSpec): DataMap<bigint> | PerCpuDataMap {
  const known = map.spec;
  if (known !== undefined && spec !== undefined && !sameShape(known, spec)) {
    throw new RuntimeError(
      'INVALID_ARGUMENT',
      `the map is a ${known.kind} of ${known.maxEntries} entries, not the ${spec.kind} of ${spec.maxEntries} entries given to asDataMap.`,
    );
  }
  const shape = known ?? spec;
  if (shape === undefined) throw new RuntimeError('INVALID_ARGUMENT', 'the server sent no shape for this map, so asDataMap needs its spec.');
  return new ClientDataMap(map, shape) as DataMap<bigint> | PerCpuDataMap;
}

class ClientDataMap implements DataMap<bigint | readonly bigint[]> {
  constructor(
    private readonly map: ClientMap,
    readonly spec: DataMapSpec,
  ) {}

  get(key: number): Promise<bigint | readonly bigint[]> {
    return this.map.get(key);
  }

  set(key: number, value: bigint | readonly bigint[]): Promise<void> {
    return this.map.set(key, value);
  }

  delete(key: number): Promise<boolean> {
    return this.map.delete(key);
  }

  fetchAdd(key: number, delta: bigint): Promise<bigint> {
    return this.map.fetchAdd(key, delta);
  }

  compareExchange(key: number, expected: bigint, desired: bigint): Promise<bigint> {
    return this.map.compareExchange(key, expected, desired);
  }

  async *entries(): AsyncIterableIterator<[number, bigint | readonly bigint[]]> {
    for (const entry of await this.map.dump()) yield entry;
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<[number, bigint | readonly bigint[]]> {
    return this.entries();
  }
}

function sameShape(a: DataMapSpec, b: DataMapSpec): boolean {
  return a.kind === b.kind && a.key === b.key && a.value === b.value && a.maxEntries === b.maxEntries;
}
