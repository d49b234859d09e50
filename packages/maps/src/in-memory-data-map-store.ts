import { checkKey, checkValue, wrapU64 } from './codecs.js';
import type { DataMapStore, UpdateMode, DataMapProvider, CreateDataMapOptions } from './data-map-store.js';
import { MapError } from './errors.js';
import { isArrayKind, isPerCpuKind, parseDataMapSpec, type DataMapSpec } from './map-spec.js';

export interface InMemoryDataMapOptions {
  /** Name used in error messages. */
  readonly name?: string;
  /** Slots of a per-CPU map; defaults to 1 so tests are deterministic. */
  readonly cpus?: number;
}

/** Numbers the in-memory maps of this process, for their `identity`. */
let mapCount = 0;

/**
 * A data map in userspace memory with the kernel's semantics: array keys at or beyond
 * `maxEntries` are refused and array entries cannot be deleted; a full hash refuses new keys;
 * an LRU hash evicts its least recently used entry instead. The kernel's LRU is approximate
 * (per-CPU free lists, batch eviction), so it may evict a different entry than this exact
 * LRU does: code must not depend on which entry goes first. Single-threaded JavaScript makes
 * every read-modify-write here atomic, so `fetchAdd` and `compareExchange` work on every kind.
 */
export class InMemoryDataMapStore implements DataMapStore {
  readonly spec: DataMapSpec;
  readonly label: string;
  readonly slotsPerKey: number;
  readonly atomic = true;
  /** Insertion order doubles as recency order for the LRU kind; shared with the handles `share()` made. */
  #entries = new Map<number, bigint[]>();
  /** Open handles on `#entries` (this one and those `share()` made); the entries go with the last. `map` numbers the entries for `identity`. */
  #handles = { open: 1, map: ++mapCount };
  #closed = false;

  constructor(spec: DataMapSpec, options: InMemoryDataMapOptions = {}) {
    this.label = `map '${options.name ?? 'anonymous'}'`;
    this.spec = parseDataMapSpec(spec, this.label);
    this.slotsPerKey = isPerCpuKind(this.spec.kind) ? Math.max(1, options.cpus ?? 1) : 1;
  }

  /** `memory:<n>`: the same for every handle `share()` made on these entries, unique in this process. */
  get identity(): string {
    return `memory:${this.#handles.map}`;
  }

  lookup(key: number): readonly bigint[] | undefined {
    this.#checkOpen();
    checkKey(key, this.label);
    if (isArrayKind(this.spec.kind)) {
      this.#checkInRange(key);
      return this.#entries.get(key) ?? this.#zeros();
    }
    const slots = this.#entries.get(key);
    if (slots !== undefined && this.spec.kind === 'lru-hash') this.#touch(key, slots);
    return slots;
  }

  update(key: number, slots: readonly bigint[], mode: UpdateMode = 'any'): void {
    this.#checkOpen();
    checkKey(key, this.label);
    const values = this.#checkSlots(slots);
    if (isArrayKind(this.spec.kind)) {
      this.#checkInRange(key);
      if (mode === 'noexist') {
        throw new MapError('MAP_KEY_EXISTS', `${this.label}: array key ${key} always exists, so a no-exist update fails.`);
      }
      this.#entries.set(key, values);
      return;
    }
    const present = this.#entries.has(key);
    if (mode === 'noexist' && present) {
      throw new MapError('MAP_KEY_EXISTS', `${this.label}: key ${key} already exists.`);
    }
    if (mode === 'exist' && !present) {
      throw new MapError('MAP_KEY_NOT_FOUND', `${this.label}: key ${key} does not exist.`);
    }
    if (!present) this.#makeRoom();
    this.#entries.delete(key);
    this.#entries.set(key, values);
  }

  delete(key: number): boolean {
    this.#checkOpen();
    checkKey(key, this.label);
    if (isArrayKind(this.spec.kind)) {
      throw new MapError('MAP_DELETE_UNSUPPORTED', `${this.label}: entries of an ${this.spec.kind} map cannot be deleted.`);
    }
    return this.#entries.delete(key);
  }

  nextKey(key?: number): number | undefined {
    this.#checkOpen();
    if (isArrayKind(this.spec.kind)) {
      const next = key === undefined ? 0 : key + 1;
      return next < this.spec.maxEntries ? next : undefined;
    }
    const keys = [...this.#entries.keys()];
    if (key === undefined) return keys[0];
    const at = keys.indexOf(key);
    // As in the kernel, a vanished key restarts iteration from the first key.
    return at === -1 ? keys[0] : keys[at + 1];
  }

  fetchAdd(key: number, delta: bigint, cpu = 0): bigint {
    return this.#readModifyWrite(key, cpu, (old) => wrapU64(old + checkValue(delta, this.label)));
  }

  compareExchange(key: number, expected: bigint, desired: bigint, cpu = 0): bigint {
    checkValue(expected, this.label);
    checkValue(desired, this.label);
    return this.#readModifyWrite(key, cpu, (old) => (old === expected ? desired : old));
  }

  /** Another handle on the same entries, closed on its own; the entries are cleared when the last handle closes. */
  share(): InMemoryDataMapStore {
    this.#checkOpen();
    const other = new InMemoryDataMapStore(this.spec, { name: this.label.slice("map '".length, -1), cpus: this.slotsPerKey });
    other.#entries = this.#entries;
    other.#handles = this.#handles;
    this.#handles.open++;
    return other;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (--this.#handles.open === 0) this.#entries.clear();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  /** Absent hash keys start at 0, which gives fetchAdd the policy semantics "insert d, return 0". */
  #readModifyWrite(key: number, cpu: number, next: (old: bigint) => bigint): bigint {
    this.#checkOpen();
    checkKey(key, this.label);
    if (!Number.isInteger(cpu) || cpu < 0 || cpu >= this.slotsPerKey) {
      throw new MapError('MAP_KEY_INVALID', `${this.label}: cpu ${cpu} is outside the map's ${this.slotsPerKey} slot(s).`);
    }
    const current = this.lookup(key);
    const slots = current ? [...current] : this.#zeros();
    const old = slots[cpu] ?? 0n;
    const updated = next(old);
    if (current === undefined || updated !== old) {
      slots[cpu] = updated;
      this.update(key, slots);
    }
    return old;
  }

  #makeRoom(): void {
    if (this.#entries.size < this.spec.maxEntries) return;
    if (this.spec.kind === 'lru-hash') {
      const oldest = this.#entries.keys().next();
      if (!oldest.done) this.#entries.delete(oldest.value);
      return;
    }
    throw new MapError('MAP_FULL', `${this.label}: the hash map is full (${this.spec.maxEntries} entries), so a new key cannot be inserted.`);
  }

  #touch(key: number, slots: bigint[]): void {
    this.#entries.delete(key);
    this.#entries.set(key, slots);
  }

  #checkInRange(key: number): void {
    if (key >= this.spec.maxEntries) {
      throw new MapError('MAP_KEY_OUT_OF_RANGE', `${this.label}: key ${key} is outside the array's ${this.spec.maxEntries} entries.`);
    }
  }

  #checkSlots(slots: readonly bigint[]): bigint[] {
    if (slots.length !== this.slotsPerKey) {
      throw new MapError('MAP_VALUE_INVALID', `${this.label}: expected ${this.slotsPerKey} value(s) per key, got ${slots.length}.`);
    }
    return slots.map((v) => checkValue(v, this.label));
  }

  #zeros(): bigint[] {
    return new Array<bigint>(this.slotsPerKey).fill(0n);
  }

  #checkOpen(): void {
    if (this.#closed) throw new MapError('MAP_CLOSED', `${this.label} is closed.`);
  }
}

/** The provider that keeps maps in memory: tests, the simulator and the userspace evaluator. */
export class InMemoryDataMapProvider implements DataMapProvider {
  readonly name = 'memory';
  readonly residence = 'userspace';

  constructor(private readonly cpus = 1) {}

  createMap(spec: DataMapSpec, options: CreateDataMapOptions): InMemoryDataMapStore {
    return new InMemoryDataMapStore(spec, { name: options.name, cpus: this.cpus });
  }
}
