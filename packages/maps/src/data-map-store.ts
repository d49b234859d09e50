import type { DataMapSpec } from './map-spec.js';

/** How an update treats an existing key, as the kernel's BPF_ANY / BPF_NOEXIST / BPF_EXIST. */
export type UpdateMode = 'any' | 'noexist' | 'exist';

/**
 * The provider contract: a synchronous store of one data map, kernel-resident or in memory.
 * Backends implement it for kernel maps; {@link InMemoryDataMapStore} implements it in
 * userspace. Every value is an array with one slot per CPU for per-CPU kinds and exactly
 * one slot otherwise, so one shape serves every kind.
 */
export interface DataMapStore extends Disposable {
  readonly spec: DataMapSpec;
  /** Name used in error messages, for example `map 'next'`. */
  readonly label: string;
  /** Slots under each key: the number of possible CPUs for per-CPU kinds, otherwise 1. */
  readonly slotsPerKey: number;
  /**
   * True when `fetchAdd` and `compareExchange` are atomic against every other writer
   * (kernel programs included); false stores refuse them with `MAP_NOT_ATOMIC`.
   */
  readonly atomic: boolean;
  /**
   * Optional: names the map behind this handle, equal for every handle on the same map and
   * different for every other live map (a kernel map's id: `ebpf-map:42`). How the runtime
   * tells, after a restart, that two deployments' handles are one shared map. Stores without
   * it are the same map only as the same object.
   */
  readonly identity?: string;
  /** The key's slots, or undefined when the key is absent (array keys are always present). */
  lookup(key: number): readonly bigint[] | undefined;
  /** Writes every slot of the key; throws `MAP_FULL`, `MAP_KEY_EXISTS`, `MAP_KEY_NOT_FOUND`, `MAP_KEY_OUT_OF_RANGE`. */
  update(key: number, slots: readonly bigint[], mode?: UpdateMode): void;
  /** Removes the key and says whether it was present; arrays throw `MAP_DELETE_UNSUPPORTED`. */
  delete(key: number): boolean;
  /** The key after `key` in the store's iteration order, the first key without an argument. */
  nextKey(key?: number): number | undefined;
  /** Adds `delta` to the key's slot `cpu` (0 unless per-CPU) and returns the old value. */
  fetchAdd(key: number, delta: bigint, cpu?: number): bigint;
  /** Stores `desired` when the slot holds `expected`; returns the old value either way. */
  compareExchange(key: number, expected: bigint, desired: bigint, cpu?: number): bigint;
  /**
   * Optional: another handle on the same map (a kernel map's duplicated fd), closed on its
   * own: closing either handle leaves the other working. What lets a map shared by several
   * deployments outlive the one that created it. Stores without it cannot be shared.
   */
  share?(): DataMapStore;
  /** Releases the store's resources; later calls throw `MAP_CLOSED`. Closing twice is harmless. */
  close(): void;
}

/** Options every provider accepts when it creates a store. */
export interface CreateDataMapOptions {
  /** Name used in error messages and, where the provider has one, as the object's name. */
  readonly name: string;
}

/** Where a provider's maps live: in the kernel (readable by kernel programs) or in a process's memory. */
export type DataMapResidence = 'kernel' | 'userspace';

/**
 * A source of data-map stores: a backend's kernel maps, or memory. Providers register in the
 * container under the {@link DataMapProvider} token (`container.register(DataMapProvider,
 * { useValue })`, several may); the runtime creates the maps deployments share from them.
 */
export interface DataMapProvider {
  /** Short provider name for messages, such as `memory` or `ebpf`. */
  readonly name: string;
  /** Where its maps live: a `kernel` map serves kernel programs and userspace alike. */
  readonly residence: DataMapResidence;
  createMap(spec: DataMapSpec, options: CreateDataMapOptions): DataMapStore;
}

/** The tsyringe token under which data-map providers register. */
export const DataMapProvider: unique symbol = Symbol.for('@syrup/maps.DataMapProvider');
