import { checkValue } from './codecs.js';
import type { DataMapStore } from './data-map-store.js';
import { MapError } from './errors.js';
import { isPerCpuKind, type DataMapSpec } from './map-spec.js';

/**
 * The application's view of a data map: `number` keys, exact `bigint` values, async so the
 * same interface serves in-process maps and maps reached through the daemon. `get` answers
 * 0 for an absent key, as a policy sees it.
 */
export interface DataMap<V extends bigint | readonly bigint[] = bigint> {
  readonly spec: DataMapSpec;
  get(key: number): Promise<V>;
  set(key: number, value: V): Promise<void>;
  /** Removes the key and says whether it was present; array maps refuse. */
  delete(key: number): Promise<boolean>;
  /** Atomically adds `delta` and returns the old value; refused where the store cannot be atomic. */
  fetchAdd(key: number, delta: bigint): Promise<bigint>;
  /** Atomically stores `desired` if the value is `expected`; returns the old value. */
  compareExchange(key: number, expected: bigint, desired: bigint): Promise<bigint>;
  /** Every present key with its value, in the store's order. */
  entries(): AsyncIterableIterator<[number, V]>;
  [Symbol.asyncIterator](): AsyncIterableIterator<[number, V]>;
}

/** A per-CPU map reads as one value per CPU. */
export type PerCpuDataMap = DataMap<readonly bigint[]>;

/** The application-side type of a map declared with spec `S`. */
export type DataMapOf<S extends DataMapSpec> = S['kind'] extends 'percpu-array' ? PerCpuDataMap : DataMap<bigint>;

/** The application-side types of a record of map declarations. */
export type DataMapsOf<M extends Record<string, DataMapSpec>> = { readonly [K in keyof M]: DataMapOf<M[K]> };

/** Wraps a provider's store in the typed application-side interface. */
export function dataMapOf<S extends DataMapSpec>(store: DataMapStore): DataMapOf<S> {
  return (isPerCpuKind(store.spec.kind) ? new PerCpuStoreView(store) : new ScalarStoreView(store)) as unknown as DataMapOf<S>;
}

abstract class StoreView<V extends bigint | readonly bigint[]> implements DataMap<V> {
  constructor(protected readonly store: DataMapStore) {}

  get spec(): DataMapSpec {
    return this.store.spec;
  }

  protected abstract fromSlots(slots: readonly bigint[] | undefined): V;
  protected abstract toSlots(value: V): readonly bigint[];

  async get(key: number): Promise<V> {
    return this.fromSlots(this.store.lookup(key));
  }

  async set(key: number, value: V): Promise<void> {
    this.store.update(key, this.toSlots(value));
  }

  async delete(key: number): Promise<boolean> {
    return this.store.delete(key);
  }

  async fetchAdd(key: number, delta: bigint): Promise<bigint> {
    this.#checkAtomic('fetchAdd');
    return this.store.fetchAdd(key, delta);
  }

  async compareExchange(key: number, expected: bigint, desired: bigint): Promise<bigint> {
    this.#checkAtomic('compareExchange');
    return this.store.compareExchange(key, expected, desired);
  }

  async *entries(): AsyncIterableIterator<[number, V]> {
    for (let key = this.store.nextKey(); key !== undefined; key = this.store.nextKey(key)) {
      const slots = this.store.lookup(key);
      if (slots !== undefined) yield [key, this.fromSlots(slots)];
    }
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<[number, V]> {
    return this.entries();
  }

  #checkAtomic(operation: string): void {
    if (!this.store.atomic) {
      throw new MapError(
        'MAP_NOT_ATOMIC',
        `${this.store.label}: ${operation} needs an mmapable array map to be atomic from userspace, and this ${this.store.spec.kind} map is not one.`,
      );
    }
  }
}

class ScalarStoreView extends StoreView<bigint> {
  protected fromSlots(slots: readonly bigint[] | undefined): bigint {
    return slots?.[0] ?? 0n;
  }

  protected toSlots(value: bigint): readonly bigint[] {
    return [checkValue(value, this.store.label)];
  }
}

class PerCpuStoreView extends StoreView<readonly bigint[]> {
  protected fromSlots(slots: readonly bigint[] | undefined): readonly bigint[] {
    return slots ?? new Array<bigint>(this.store.slotsPerKey).fill(0n);
  }

  protected toSlots(value: readonly bigint[]): readonly bigint[] {
    return value;
  }
}
