import { isArrayKind, isPerCpuKind, MapError, type DataMapStore } from '@syrup/maps';

const U32_MASK = 0xffff_ffffn;

/**
 * A data map as policy code sees it, over any {@link DataMapStore}: keys are the low 32 bits
 * of the operand, array keys out of range read 0 and write nothing, a full hash ignores new
 * keys, per-CPU kinds use the given CPU's slot, and compare-exchange on an absent hash key
 * inserts only when it expected 0. These are the IR's map semantics (see policy-ir.ts).
 */
export class PolicyMapAccess {
  readonly store: DataMapStore;
  readonly #array: boolean;
  readonly #perCpu: boolean;
  readonly #maxEntries: number;

  constructor(store: DataMapStore) {
    this.store = store;
    this.#array = isArrayKind(store.spec.kind);
    this.#perCpu = isPerCpuKind(store.spec.kind);
    this.#maxEntries = store.spec.maxEntries;
  }

  get(key: bigint, cpu: number): bigint {
    const k = toKey(key);
    if (this.#array && k >= this.#maxEntries) return 0n;
    const slots = this.store.lookup(k);
    return slots === undefined ? 0n : (slots[this.#perCpu ? cpu : 0] ?? 0n);
  }

  set(key: bigint, value: bigint, cpu: number): void {
    const k = toKey(key);
    if (this.#array && k >= this.#maxEntries) return;
    let slots: bigint[];
    if (this.#perCpu) {
      slots = [...(this.store.lookup(k) ?? new Array<bigint>(this.store.slotsPerKey).fill(0n))];
      slots[cpu] = value;
    } else {
      slots = [value];
    }
    try {
      this.store.update(k, slots);
    } catch (error) {
      if (!isFull(error)) throw error;
    }
  }

  delete(key: bigint): void {
    if (this.#array) return;
    this.store.delete(toKey(key));
  }

  fetchAdd(key: bigint, delta: bigint, cpu: number): bigint {
    const k = toKey(key);
    if (this.#array && k >= this.#maxEntries) return 0n;
    try {
      return this.store.fetchAdd(k, delta, this.#perCpu ? cpu : 0);
    } catch (error) {
      if (isFull(error)) return 0n;
      throw error;
    }
  }

  compareExchange(key: bigint, expected: bigint, desired: bigint, cpu: number): bigint {
    const k = toKey(key);
    if (this.#array) {
      if (k >= this.#maxEntries) return 0n;
    } else if (expected !== 0n && this.store.lookup(k) === undefined) {
      return 0n;
    }
    try {
      return this.store.compareExchange(k, expected, desired, this.#perCpu ? cpu : 0);
    } catch (error) {
      if (isFull(error)) return 0n;
      throw error;
    }
  }
}

function toKey(key: bigint): number {
  return Number(key <= U32_MASK ? key : key & U32_MASK);
}

function isFull(error: unknown): boolean {
  return error instanceof MapError && error.code === 'MAP_FULL';
}
