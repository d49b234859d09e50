import { ERRNO } from '../../errors/errno.js';
import { MapFlag, MapType, UpdateFlag } from '../bpf-constants.js';

const PAGE_SIZE = 4096;
const ARRAY_TYPES: ReadonlySet<number> = new Set([MapType.ARRAY, MapType.PERCPU_ARRAY, MapType.PROG_ARRAY, MapType.CPUMAP, MapType.XSKMAP, MapType.REUSEPORT_SOCKARRAY]);
const PERCPU_TYPES: ReadonlySet<number> = new Set([MapType.PERCPU_ARRAY, MapType.PERCPU_HASH, MapType.LRU_PERCPU_HASH]);
const LRU_TYPES: ReadonlySet<number> = new Set([MapType.LRU_HASH, MapType.LRU_PERCPU_HASH]);
const KNOWN_FLAGS = MapFlag.NO_PREALLOC | MapFlag.NO_COMMON_LRU | MapFlag.NUMA_NODE | MapFlag.RDONLY | MapFlag.WRONLY |
  MapFlag.RDONLY_PROG | MapFlag.WRONLY_PROG | MapFlag.MMAPABLE;

function roundUp(value: number, to: number): number {
  return Math.ceil(value / to) * to;
}

export interface FakeMapAttr {
  readonly type: number;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  readonly flags: number;
  readonly name: string;
  /** `map_ifindex`: the device the map is offloaded to, 0 for a host map. */
  readonly ifindex: number;
}

/**
 * A map in the fake kernel, with the errno answers of the real one: arrays answer E2BIG to
 * an update beyond max_entries, EEXIST to BPF_NOEXIST and EINVAL to delete; hashes answer
 * E2BIG when full, LRU hashes evict their oldest entry instead. Values cross the boundary
 * as the kernel copies them: per-CPU values are one 8-byte-aligned slot per possible CPU.
 */
export class FakeMap {
  readonly kind = 'map';
  readonly id: number;
  readonly attr: FakeMapAttr;
  /** Bytes of one value as userspace passes it. */
  readonly userValueSize: number;
  /** Array storage, page-rounded so that an mmapable array can be "mapped" as is. */
  readonly storage: Uint8Array | undefined;
  readonly #slotSize: number;
  readonly #entries = new Map<string, { key: Uint8Array; value: Uint8Array }>();

  private constructor(id: number, attr: FakeMapAttr, cpus: number) {
    this.id = id;
    this.attr = attr;
    this.#slotSize = roundUp(attr.valueSize, 8);
    const perKey = PERCPU_TYPES.has(attr.type) ? this.#slotSize * cpus : attr.valueSize;
    this.userValueSize = perKey;
    if (ARRAY_TYPES.has(attr.type)) {
      const elemSize = PERCPU_TYPES.has(attr.type) ? this.#slotSize * cpus : this.#slotSize;
      this.storage = new Uint8Array(roundUp(elemSize * attr.maxEntries, PAGE_SIZE));
    }
  }

  /** The map, or the negated errno MAP_CREATE would answer. */
  static create(id: number, attr: FakeMapAttr, cpus: number): FakeMap | number {
    if (attr.maxEntries === 0 || attr.valueSize === 0 || (attr.keySize === 0 && attr.type !== MapType.RINGBUF)) return -ERRNO.EINVAL;
    if ((attr.flags & ~KNOWN_FLAGS) !== 0) return -ERRNO.EINVAL;
    if ((attr.flags & MapFlag.MMAPABLE) !== 0 && attr.type !== MapType.ARRAY) return -ERRNO.EINVAL;
    const isArray = ARRAY_TYPES.has(attr.type);
    if (isArray && attr.keySize !== 4) return -ERRNO.EINVAL;
    return new FakeMap(id, attr, cpus);
  }

  get isArray(): boolean {
    return this.storage !== undefined;
  }

  get mmapable(): boolean {
    return (this.attr.flags & MapFlag.MMAPABLE) !== 0;
  }

  /** Copies the value of `key` into `out`; 0 or a negated errno. */
  lookup(key: Uint8Array, out: Uint8Array): number {
    const index = this.#arrayIndex(key);
    if (index !== undefined) {
      if (index < 0) return -ERRNO.ENOENT;
      out.set(this.#arrayValue(index));
      return 0;
    }
    const entry = this.#entries.get(hex(key));
    if (entry === undefined) return -ERRNO.ENOENT;
    out.set(entry.value);
    return 0;
  }

  update(key: Uint8Array, value: Uint8Array, flags: number): number {
    if (flags > UpdateFlag.EXIST) return -ERRNO.EINVAL;
    const index = this.#arrayIndex(key);
    if (index !== undefined) {
      if (index < 0) return -ERRNO.E2BIG;
      if (flags === UpdateFlag.NOEXIST) return -ERRNO.EEXIST;
      this.#arrayValue(index).set(value);
      return 0;
    }
    const id = hex(key);
    const present = this.#entries.has(id);
    if (flags === UpdateFlag.NOEXIST && present) return -ERRNO.EEXIST;
    if (flags === UpdateFlag.EXIST && !present) return -ERRNO.ENOENT;
    if (!present && this.#entries.size >= this.attr.maxEntries) {
      if (!LRU_TYPES.has(this.attr.type)) return -ERRNO.E2BIG;
      const oldest = this.#entries.keys().next();
      if (!oldest.done) this.#entries.delete(oldest.value);
    }
    this.#entries.delete(id);
    this.#entries.set(id, { key: key.slice(), value: value.slice() });
    return 0;
  }

  delete(key: Uint8Array): number {
    if (this.isArray) return -ERRNO.EINVAL;
    return this.#entries.delete(hex(key)) ? 0 : -ERRNO.ENOENT;
  }

  /** Writes the key after `key` (the first when undefined) to `out`; 0 or a negated errno. */
  nextKey(key: Uint8Array | undefined, out: Uint8Array): number {
    if (this.isArray) {
      const current = key === undefined ? undefined : view(key).getUint32(0, true);
      const next = current === undefined || current >= this.attr.maxEntries ? 0 : current + 1;
      if (next >= this.attr.maxEntries) return -ERRNO.ENOENT;
      view(out).setUint32(0, next, true);
      return 0;
    }
    const keys = [...this.#entries.values()];
    // As in the kernel, a key that vanished restarts iteration from the first one.
    const at = key === undefined ? -1 : keys.findIndex((e) => hex(e.key) === hex(key));
    const next = keys[at + 1];
    if (next === undefined) return -ERRNO.ENOENT;
    out.set(next.key);
    return 0;
  }

  get size(): number {
    return this.isArray ? this.attr.maxEntries : this.#entries.size;
  }

  /** The hash entries in iteration order, for batch lookups. */
  entriesFrom(position: number, count: number): { key: Uint8Array; value: Uint8Array }[] {
    return [...this.#entries.values()].slice(position, position + count);
  }

  #arrayIndex(key: Uint8Array): number | undefined {
    if (!this.isArray) return undefined;
    const index = view(key).getUint32(0, true);
    return index < this.attr.maxEntries ? index : -1;
  }

  #arrayValue(index: number): Uint8Array {
    const storage = this.storage as Uint8Array;
    const elem = PERCPU_TYPES.has(this.attr.type) ? this.userValueSize : this.#slotSize;
    return storage.subarray(index * elem, index * elem + this.userValueSize);
  }
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
