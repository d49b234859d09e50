import {
  checkKey,
  checkValue,
  isArrayKind,
  isPerCpuKind,
  MapError,
  parseDataMapSpec,
  type DataMapSpec,
  type DataMapStore,
  type UpdateMode,
} from '@syrup/maps';
import { KernelMapError } from '../errors/kernel-map-error.js';
import { isSyscallError } from '../errors/syscall-error.js';
import type { PinAccess } from '../pin/pin.js';
import { MapFlag, UpdateFlag } from '../syscalls/bpf-constants.js';
import type { SyscallBuffer } from '../syscalls/syscall-buffer.js';
import type { Syscalls } from '../syscalls/syscalls.js';
import { KernelMap } from './kernel-map.js';
import { dataMapKindOf, kernelSpecOfDataMap } from './kernel-map-spec.js';
import { MapMemory } from './map-memory.js';
import { mapErrorOf, type DataMapOperation } from './map-error-of.js';

const UPDATE_FLAGS: Readonly<Record<UpdateMode, number>> = {
  any: UpdateFlag.ANY,
  noexist: UpdateFlag.NOEXIST,
  exist: UpdateFlag.EXIST,
};

const VALUE_SIZE = 8;
const BATCH_CHUNK = 256;

export interface KernelDataMapStoreOptions {
  /** Used in error messages and, sanitized, as the kernel object name. */
  readonly name: string;
  /**
   * Create an array with BPF_F_MMAPABLE and map its values: lookups and updates then go
   * through memory, and `fetchAdd`/`compareExchange` become atomic. Arrays only.
   */
  readonly mmapable?: boolean;
  /**
   * Create the map on the network device with this index (`map_ifindex`), for programs
   * offloaded to it; see `KernelMap.create`. Values then go through the syscall layer.
   */
  readonly offloadIfindex?: number;
  readonly sys?: Syscalls;
}

export interface OpenKernelDataMapOptions {
  /** Name for messages; the kernel object's name by default. */
  readonly name?: string;
  readonly sys?: Syscalls;
  readonly access?: PinAccess;
}

/**
 * A policy data map in the kernel behind the maps package's `DataMapStore` contract: u32
 * keys and u64 values, one slot per possible CPU for per-CPU kinds. Kernel errnos become
 * `MapError`s with the `SyscallError` as cause.
 *
 * Lookups and updates reuse preallocated key/value buffers, so the syscall path allocates
 * nothing but the returned slots. An mmapable array skips the syscall entirely: its values
 * are read and written through the mapped memory with `Atomics`, which is also what makes
 * `fetchAdd` and `compareExchange` atomic against programs and other processes. Other maps
 * refuse those two with `MAP_NOT_ATOMIC` rather than racing with a read-modify-write.
 */
export class KernelDataMapStore implements DataMapStore {
  readonly spec: DataMapSpec;
  readonly label: string;
  readonly slotsPerKey: number;
  readonly atomic: boolean;
  readonly #map: KernelMap;
  readonly #isArray: boolean;
  readonly #memory: MapMemory | undefined;
  #values: BigUint64Array | undefined;
  readonly #key: SyscallBuffer;
  readonly #value: SyscallBuffer;
  readonly #next: SyscallBuffer;
  #closed = false;
  #identity: string | undefined;

  private constructor(map: KernelMap, spec: DataMapSpec, label: string) {
    this.#map = map;
    this.spec = spec;
    this.label = label;
    this.#isArray = isArrayKind(spec.kind);
    this.slotsPerKey = isPerCpuKind(spec.kind) ? map.sys.possibleCpus() : 1;
    this.#key = map.sys.allocBuffer(4);
    this.#value = map.sys.allocBuffer(VALUE_SIZE * this.slotsPerKey);
    this.#next = map.sys.allocBuffer(4);
    if (((map.spec.flags ?? 0) & MapFlag.MMAPABLE) !== 0) {
      this.#memory = MapMemory.map(map);
      this.#values = new BigUint64Array(this.#memory.buffer, 0, spec.maxEntries);
    }
    this.atomic = this.#values !== undefined;
  }

  /** Creates the map in the kernel. */
  static create(spec: DataMapSpec, options: KernelDataMapStoreOptions): KernelDataMapStore {
    const label = `map '${options.name}'`;
    const parsed = parseDataMapSpec(spec, label);
    if (options.mmapable && parsed.kind !== 'array') {
      throw new KernelMapError('KERNEL_MAP_SPEC_INVALID', `${label}: only array maps can be mmapable, not ${parsed.kind} maps.`);
    }
    const map = KernelMap.create(kernelSpecOfDataMap(parsed, { name: options.name, mmapable: options.mmapable ?? false }), {
      ...(options.sys ? { sys: options.sys } : {}),
      ...(options.offloadIfindex === undefined ? {} : { offloadIfindex: options.offloadIfindex }),
    });
    return KernelDataMapStore.#own(map, parsed, label);
  }

  /**
   * Wraps a kernel map that holds a data map (opened from a pin, or from an fd another
   * thread shared), taking ownership: it is closed if it is not a u32 -> u64 data map.
   */
  static fromKernelMap(map: KernelMap, options: { name?: string } = {}): KernelDataMapStore {
    const label = `map '${options.name ?? map.spec.name ?? ''}'`;
    const kind = dataMapKindOf(map.spec.type);
    if (kind === undefined || map.spec.keySize !== 4 || map.spec.valueSize !== VALUE_SIZE) {
      map.close();
      throw new KernelMapError(
        'KERNEL_MAP_INCOMPATIBLE',
        `${label}: kernel map type ${map.spec.type} with ${map.spec.keySize}-byte keys and ${map.spec.valueSize}-byte values is not a u32 -> u64 data map.`,
      );
    }
    return KernelDataMapStore.#own(map, { kind, key: 'u32', value: 'u64', maxEntries: map.spec.maxEntries }, label);
  }

  /** Opens a pinned data map. */
  static open(path: string, options: OpenKernelDataMapOptions = {}): KernelDataMapStore {
    const map = KernelMap.open(path, { ...(options.sys ? { sys: options.sys } : {}), ...(options.access ? { access: options.access } : {}) });
    return KernelDataMapStore.fromKernelMap(map, options.name === undefined ? {} : { name: options.name });
  }

  /**
   * Another handle on the same kernel map: a duplicated fd (and its own mapping of an
   * mmapable array), closed on its own, so the map stays reachable from userspace after the
   * handle it was shared from closes (a map shared by deployments outlives the one that made it).
   */
  share(): KernelDataMapStore {
    const map = KernelMap.fromFd(this.kernelMap.fd.dup(), { sys: this.#map.sys });
    return KernelDataMapStore.#own(map, this.spec, this.label);
  }

  static #own(map: KernelMap, spec: DataMapSpec, label: string): KernelDataMapStore {
    try {
      return new KernelDataMapStore(map, spec, label);
    } catch (error) {
      map.close();
      throw error;
    }
  }

  /** `ebpf-map:<id>`: the kernel's id of the map, the same for every fd on it and unique while it lives. */
  get identity(): string {
    this.#identity ??= `ebpf-map:${this.kernelMap.info().id}`;
    return this.#identity;
  }

  /** The underlying kernel map, for pinning and for programs that reference it. */
  get kernelMap(): KernelMap {
    this.#checkOpen();
    return this.#map;
  }

  /**
   * The values of an mmapable array, one u64 per key, shared with the kernel without
   * copying. Still safe to touch after `close()` (it then reads zeros, see `MapMemory`).
   */
  get values(): BigUint64Array {
    this.#checkOpen();
    if (this.#values === undefined) {
      throw new KernelMapError('KERNEL_MAP_NOT_MMAPABLE', `${this.label} is not an mmapable array, so it has no mapped values.`);
    }
    return this.#values;
  }

  lookup(key: number): readonly bigint[] | undefined {
    this.#checkOpen();
    checkKey(key, this.label);
    const values = this.#values;
    if (values !== undefined) {
      this.#checkInRange(key);
      return [Atomics.load(values, key)];
    }
    this.#key.view.setUint32(0, key, true);
    let found: boolean;
    try {
      found = this.#map.sys.mapLookupElem(this.#map.fd, this.#key, this.#value);
    } catch (error) {
      throw this.#mapError(error, 'lookup', key);
    }
    if (!found) {
      // An array answers ENOENT only for a key beyond max_entries.
      if (this.#isArray) this.#checkInRange(key, true);
      return undefined;
    }
    // The common case, one slot, without the loop and the sized array.
    if (this.slotsPerKey === 1) return [this.#value.view.getBigUint64(0, true)];
    const slots = new Array<bigint>(this.slotsPerKey);
    for (let i = 0; i < this.slotsPerKey; i++) slots[i] = this.#value.view.getBigUint64(i * VALUE_SIZE, true);
    return slots;
  }

  update(key: number, slots: readonly bigint[], mode: UpdateMode = 'any'): void {
    this.#checkOpen();
    checkKey(key, this.label);
    if (slots.length !== this.slotsPerKey) {
      throw new MapError('MAP_VALUE_INVALID', `${this.label}: expected ${this.slotsPerKey} value(s) per key, got ${slots.length}.`);
    }
    const values = this.#values;
    if (values !== undefined) {
      const value = checkValue(slots[0] as bigint, this.label);
      this.#checkInRange(key);
      if (mode === 'noexist') {
        throw new MapError('MAP_KEY_EXISTS', `${this.label}: array key ${key} always exists, so a no-exist update fails.`);
      }
      Atomics.store(values, key, value);
      return;
    }
    for (let i = 0; i < this.slotsPerKey; i++) {
      this.#value.view.setBigUint64(i * VALUE_SIZE, checkValue(slots[i] as bigint, this.label), true);
    }
    this.#key.view.setUint32(0, key, true);
    try {
      this.#map.sys.mapUpdateElem(this.#map.fd, this.#key, this.#value, UPDATE_FLAGS[mode]);
    } catch (error) {
      throw this.#mapError(error, 'update', key);
    }
  }

  delete(key: number): boolean {
    this.#checkOpen();
    checkKey(key, this.label);
    this.#key.view.setUint32(0, key, true);
    try {
      return this.#map.sys.mapDeleteElem(this.#map.fd, this.#key);
    } catch (error) {
      throw this.#mapError(error, 'delete', key);
    }
  }

  nextKey(key?: number): number | undefined {
    this.#checkOpen();
    if (key !== undefined) checkKey(key, this.label);
    if (this.#isArray) {
      // Array keys are the fixed range [0, maxEntries): no syscall needed to walk them.
      const next = key === undefined ? 0 : key + 1;
      return next < this.spec.maxEntries ? next : undefined;
    }
    let current: SyscallBuffer | null = null;
    if (key !== undefined) {
      this.#key.view.setUint32(0, key, true);
      current = this.#key;
    }
    let found: boolean;
    try {
      found = this.#map.sys.mapGetNextKey(this.#map.fd, current, this.#next);
    } catch (error) {
      throw this.#mapError(error, 'nextKey', key ?? 0);
    }
    return found ? this.#next.view.getUint32(0, true) : undefined;
  }

  fetchAdd(key: number, delta: bigint, cpu = 0): bigint {
    const values = this.#atomicValues('fetchAdd', key, cpu);
    return Atomics.add(values, key, checkValue(delta, this.label));
  }

  compareExchange(key: number, expected: bigint, desired: bigint, cpu = 0): bigint {
    const values = this.#atomicValues('compareExchange', key, cpu);
    return Atomics.compareExchange(values, key, checkValue(expected, this.label), checkValue(desired, this.label));
  }

  /**
   * Every present key with its slots, read with BPF_MAP_LOOKUP_BATCH (falling back to
   * key-by-key iteration on kernels without batch support for the map type).
   */
  entries(): [number, readonly bigint[]][] {
    this.#checkOpen();
    const sys = this.#map.sys;
    const result: [number, readonly bigint[]][] = [];
    let chunk = Math.min(this.spec.maxEntries, BATCH_CHUNK);
    let keys = sys.allocBuffer(4 * chunk);
    let values = sys.allocBuffer(VALUE_SIZE * this.slotsPerKey * chunk);
    const cursor = sys.allocBuffer(8);
    let inBatch: SyscallBuffer | null = null;
    for (;;) {
      let answer: { count: number; done: boolean };
      try {
        answer = sys.mapLookupBatch(this.#map.fd, { inBatch, outBatch: cursor, keys, values, count: chunk });
      } catch (error) {
        if (isSyscallError(error, 'ENOSPC') && !this.#isArray) {
          // A hash bucket holds more entries than the chunk: retry the same position, larger.
          chunk *= 2;
          keys = sys.allocBuffer(4 * chunk);
          values = sys.allocBuffer(VALUE_SIZE * this.slotsPerKey * chunk);
          continue;
        }
        if (inBatch === null && (isSyscallError(error, 'EINVAL') || isSyscallError(error, 'ENOTSUPP') || isSyscallError(error, 'EOPNOTSUPP'))) {
          return this.#entriesByIteration();
        }
        throw error;
      }
      for (let i = 0; i < answer.count; i++) {
        const slots = new Array<bigint>(this.slotsPerKey);
        for (let s = 0; s < this.slotsPerKey; s++) {
          slots[s] = values.view.getBigUint64((i * this.slotsPerKey + s) * VALUE_SIZE, true);
        }
        result.push([keys.view.getUint32(i * 4, true), slots]);
      }
      if (answer.done) return result;
      inBatch = cursor;
    }
  }

  /** Pins the map at `path` in bpffs. */
  pin(path: string): void {
    this.kernelMap.pin(path);
  }

  /**
   * Closes the map's fd and detaches the mapped values (views stay safe to touch, see
   * `MapMemory`); every later call throws `MAP_CLOSED`. Closing twice is harmless.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#values = undefined;
    this.#memory?.release();
    this.#map.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  #entriesByIteration(): [number, readonly bigint[]][] {
    const result: [number, readonly bigint[]][] = [];
    for (let key = this.nextKey(); key !== undefined; key = this.nextKey(key)) {
      const slots = this.lookup(key);
      if (slots !== undefined) result.push([key, slots]);
    }
    return result;
  }

  #atomicValues(operation: string, key: number, cpu: number): BigUint64Array {
    this.#checkOpen();
    checkKey(key, this.label);
    const values = this.#values;
    if (values === undefined) {
      throw new MapError(
        'MAP_NOT_ATOMIC',
        `${this.label}: ${operation} from userspace is atomic only on an mmapable array map, and this ${this.spec.kind} map is not one, so it is refused rather than done as a racy read-modify-write.`,
      );
    }
    if (cpu !== 0) {
      throw new MapError('MAP_KEY_INVALID', `${this.label}: cpu ${cpu} is outside the map's 1 slot(s).`);
    }
    this.#checkInRange(key);
    return values;
  }

  #checkInRange(key: number, outOfRange = key >= this.spec.maxEntries): void {
    if (outOfRange) {
      throw new MapError('MAP_KEY_OUT_OF_RANGE', `${this.label}: key ${key} is outside the array's ${this.spec.maxEntries} entries.`);
    }
  }

  #mapError(error: unknown, operation: DataMapOperation, key: number): unknown {
    return mapErrorOf(error, { label: this.label, isArray: this.#isArray, maxEntries: this.spec.maxEntries, key, operation });
  }

  #checkOpen(): void {
    if (this.#closed) throw new MapError('MAP_CLOSED', `${this.label} is closed.`);
  }
}
