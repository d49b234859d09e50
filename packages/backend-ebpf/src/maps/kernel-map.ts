import { KernelMapError } from '../errors/kernel-map-error.js';
import type { Fd } from '../fd.js';
import { openPinned, pinObject, type PinAccess } from '../pin/pin.js';
import { sanitizeObjectName } from '../syscalls/bpf-attr.js';
import { MapType, UpdateFlag } from '../syscalls/bpf-constants.js';
import { isSyscallError } from '../errors/syscall-error.js';
import { nativeSyscalls } from '../syscalls/native-syscalls.js';
import { isIfindex, offloadDeviceLabel } from '../syscalls/offload-device.js';
import { getMapInfo, type MapInfo } from '../syscalls/obj-info.js';
import type { SyscallBuffer } from '../syscalls/syscall-buffer.js';
import type { Syscalls } from '../syscalls/syscalls.js';
import type { KernelMapSpec } from './kernel-map-spec.js';

const PERCPU_TYPES: ReadonlySet<number> = new Set([MapType.PERCPU_ARRAY, MapType.PERCPU_HASH, MapType.LRU_PERCPU_HASH]);

export interface KernelMapOptions {
  /** The syscall layer; the native one by default. */
  readonly sys?: Syscalls;
}

export interface CreateKernelMapOptions extends KernelMapOptions {
  /**
   * Create the map on the network device with this index (`map_ifindex`), for programs
   * offloaded to it. The kernel refuses a device without BPF offload, which becomes a
   * `KernelMapError` with code `KERNEL_MAP_OFFLOAD_REFUSED`.
   */
  readonly offloadIfindex?: number;
}

export interface OpenKernelMapOptions extends KernelMapOptions {
  /** Access the fd grants; read-write by default. */
  readonly access?: PinAccess;
}

/**
 * A live kernel map: it owns the map's fd. Closing drops this process's reference; the
 * kernel frees the map once nothing else holds it (another fd, a pin, a program using it,
 * an mmap of its values). The byte-level element methods serve system maps; data maps
 * have the typed `KernelDataMapStore` on top.
 */
export class KernelMap implements Disposable {
  readonly spec: KernelMapSpec;
  readonly sys: Syscalls;
  readonly #fd: Fd;
  /** Bytes of one value as the kernel copies it: a slot per possible CPU for per-CPU maps. */
  readonly valueBufferSize: number;
  #key: SyscallBuffer | undefined;
  #value: SyscallBuffer | undefined;
  #next: SyscallBuffer | undefined;

  private constructor(fd: Fd, spec: KernelMapSpec, sys: Syscalls) {
    this.#fd = fd;
    this.spec = spec;
    this.sys = sys;
    this.valueBufferSize = PERCPU_TYPES.has(spec.type) ? Math.ceil(spec.valueSize / 8) * 8 * sys.possibleCpus() : spec.valueSize;
  }

  /**
   * Creates the map in the kernel (BPF_MAP_CREATE); throws `SyscallError` as the kernel
   * answers, or `KernelMapError` when an offload device is refused.
   */
  static create(spec: KernelMapSpec, options: CreateKernelMapOptions = {}): KernelMap {
    const sys = options.sys ?? nativeSyscalls();
    const name = spec.name === undefined ? undefined : sanitizeObjectName(spec.name);
    const ifindex = options.offloadIfindex;
    const label = name === undefined ? 'a map' : `map '${name}'`;
    if (ifindex !== undefined && !isIfindex(ifindex)) {
      throw new KernelMapError('KERNEL_MAP_SPEC_INVALID', `${label}: offload ifindex ${String(ifindex)} is not a positive 32-bit integer.`);
    }
    let fd: Fd;
    try {
      fd = sys.mapCreate({
        mapType: spec.type,
        keySize: spec.keySize,
        valueSize: spec.valueSize,
        maxEntries: spec.maxEntries,
        mapFlags: spec.flags ?? 0,
        ...(name === undefined ? {} : { name }),
        ...(ifindex === undefined ? {} : { ifindex }),
      });
    } catch (error) {
      if (ifindex === undefined || !isSyscallError(error) || error.code === 'EPERM') throw error;
      throw new KernelMapError(
        'KERNEL_MAP_OFFLOAD_REFUSED',
        `${label} could not be created on ${offloadDeviceLabel(sys, ifindex)}: the kernel answered ${error.code}${error.code === 'EINVAL' ? ', as it does for a device whose driver does not offload BPF maps (or a map type it cannot offload)' : ''}.`,
        { cause: error },
      );
    }
    return new KernelMap(fd, { ...spec, flags: spec.flags ?? 0, ...(name === undefined ? {} : { name }) }, sys);
  }

  /** Opens a pinned map (BPF_OBJ_GET) and reads its spec back from the kernel. */
  static open(path: string, options: OpenKernelMapOptions = {}): KernelMap {
    const sys = options.sys ?? nativeSyscalls();
    return KernelMap.fromFd(openPinned(path, { sys, ...(options.access ? { access: options.access } : {}) }), { sys });
  }

  /**
   * Takes ownership of a map fd obtained elsewhere (a dup, a disowned number adopted in a
   * worker) and reads its spec from the kernel. Closes `fd` if it is not a map.
   */
  static fromFd(fd: Fd, options: KernelMapOptions = {}): KernelMap {
    const sys = options.sys ?? nativeSyscalls();
    let info: MapInfo;
    try {
      const kind = sys.objectKind(fd);
      if (kind !== 'map') throw new KernelMapError('KERNEL_MAP_INCOMPATIBLE', `${String(fd)} is ${kind === undefined ? 'not a bpf object' : `a bpf ${kind}`}, not a map.`);
      info = getMapInfo(sys, fd);
    } catch (error) {
      fd.close();
      if (error instanceof KernelMapError) throw error;
      throw new KernelMapError('KERNEL_MAP_INCOMPATIBLE', `${String(fd)} is not a bpf map the kernel can describe.`, { cause: error });
    }
    const spec: KernelMapSpec = {
      type: info.type,
      keySize: info.keySize,
      valueSize: info.valueSize,
      maxEntries: info.maxEntries,
      flags: info.flags,
      name: info.name,
    };
    return new KernelMap(fd, spec, sys);
  }

  /** The owned fd, for syscalls that reference the map (program loads, map-in-map, links). */
  get fd(): Fd {
    if (this.#fd.closed) throw this.#closedError();
    return this.#fd;
  }

  get closed(): boolean {
    return this.#fd.closed;
  }

  /** The kernel's description: id, type, sizes, flags and name. */
  info(): MapInfo {
    return getMapInfo(this.sys, this.fd);
  }

  /** Pins the map at `path` in bpffs, so it outlives this process. */
  pin(path: string): void {
    pinObject(this.fd, path, { sys: this.sys });
  }

  /** Copies the value of `key` into a new array, or undefined when absent. */
  lookup(key: Uint8Array): Uint8Array | undefined {
    const value = this.#valueBuffer();
    if (!this.sys.mapLookupElem(this.fd, this.#keyBuffer(key), value)) return undefined;
    return value.bytes.slice();
  }

  /** Writes `value` (valueBufferSize bytes) under `key`; `flags` is an `UpdateFlag`. */
  update(key: Uint8Array, value: Uint8Array, flags: number = UpdateFlag.ANY): void {
    const buffer = this.#valueBuffer();
    if (value.length !== buffer.bytes.length) {
      throw new KernelMapError('KERNEL_MAP_INCOMPATIBLE', `a value of this map is ${buffer.bytes.length} bytes, got ${value.length}.`);
    }
    buffer.bytes.set(value);
    this.sys.mapUpdateElem(this.fd, this.#keyBuffer(key), buffer, flags);
  }

  /** Removes `key`; false when it was absent. */
  delete(key: Uint8Array): boolean {
    return this.sys.mapDeleteElem(this.fd, this.#keyBuffer(key));
  }

  /** The key after `key` (the first without one), or undefined at the end. */
  nextKey(key?: Uint8Array): Uint8Array | undefined {
    this.#next ??= this.sys.allocBuffer(this.spec.keySize);
    const current = key === undefined ? null : this.#keyBuffer(key);
    return this.sys.mapGetNextKey(this.fd, current, this.#next) ? this.#next.bytes.slice() : undefined;
  }

  /** Closes this process's fd; calling it again does nothing. */
  close(): void {
    this.#fd.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  toString(): string {
    return `map '${this.spec.name ?? ''}' (${String(this.#fd)})`;
  }

  #keyBuffer(key: Uint8Array): SyscallBuffer {
    this.#key ??= this.sys.allocBuffer(this.spec.keySize);
    if (key.length !== this.spec.keySize) {
      throw new KernelMapError('KERNEL_MAP_INCOMPATIBLE', `a key of this map is ${this.spec.keySize} bytes, got ${key.length}.`);
    }
    this.#key.bytes.set(key);
    return this.#key;
  }

  #valueBuffer(): SyscallBuffer {
    this.#value ??= this.sys.allocBuffer(this.valueBufferSize);
    return this.#value;
  }

  #closedError(): KernelMapError {
    return new KernelMapError('KERNEL_MAP_CLOSED', `map '${this.spec.name ?? ''}' is closed.`);
  }
}
