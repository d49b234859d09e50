import { KernelMapError } from '../errors/kernel-map-error.js';
import { MapFlag, MapType } from '../syscalls/bpf-constants.js';
import { Mmap, type Syscalls } from '../syscalls/syscalls.js';
import type { KernelMap } from './kernel-map.js';

interface Mapping {
  readonly sys: Syscalls;
  readonly address: bigint;
  readonly length: number;
}

// Unmaps a mapping once no JavaScript can reach its ArrayBuffer any more. Until then the
// address range must stay mapped: a view that outlived `release()` still points there, and
// touching unmapped memory would kill the process with SIGSEGV. Only memory is managed here;
// kernel objects (fds) are never closed by the collector.
const unmapWhenUnreachable = new FinalizationRegistry<Mapping>((mapping) => {
  try {
    mapping.sys.munmap(mapping.address, mapping.length);
  } catch {
    // Nothing to report to: the range is lost either way, which only leaks address space.
  }
});

/**
 * The values of a BPF_F_MMAPABLE array mapped into this process (MAP_SHARED), exposed as an
 * ArrayBuffer without copying: a write through the buffer is what the kernel's programs
 * read, and the reverse.
 *
 * Release is crash-safe. `release()` does not munmap, because a view taken earlier may still
 * be referenced and a later access would fault. Instead it maps anonymous zero pages over the
 * same range with MAP_FIXED, which atomically drops the map's pages (so the kernel can free
 * the map) while old views read zeros and write into private memory nobody shares. The
 * placeholder is unmapped when the ArrayBuffer becomes unreachable.
 */
export class MapMemory {
  readonly length: number;
  readonly #mapping: Mapping;
  #buffer: ArrayBuffer | undefined;

  private constructor(mapping: Mapping, buffer: ArrayBuffer) {
    this.#mapping = mapping;
    this.length = mapping.length;
    this.#buffer = buffer;
    unmapWhenUnreachable.register(buffer, mapping);
  }

  /** Maps every value of `map`, which must be an array created with `MapFlag.MMAPABLE`. */
  static map(map: KernelMap): MapMemory {
    const { spec } = map;
    if (spec.type !== MapType.ARRAY || ((spec.flags ?? 0) & MapFlag.MMAPABLE) === 0) {
      throw new KernelMapError('KERNEL_MAP_NOT_MMAPABLE', `${String(map)} is not an array created with BPF_F_MMAPABLE, so its values cannot be mapped.`);
    }
    // Array elements are 8-byte aligned; mmap rounds the length up to whole pages itself.
    const length = Math.ceil(spec.valueSize / 8) * 8 * spec.maxEntries;
    const sys = map.sys;
    const address = sys.mmap({ length, prot: Mmap.PROT_READ | Mmap.PROT_WRITE, flags: Mmap.MAP_SHARED, fd: map.fd, offset: 0 });
    let buffer: ArrayBuffer;
    try {
      buffer = sys.memoryView(address, length);
    } catch (error) {
      sys.munmap(address, length);
      throw error;
    }
    return new MapMemory({ sys, address, length }, buffer);
  }

  /**
   * Maps `length` bytes of any mmapable map at `offset` (MAP_SHARED), for map types with a
   * layout of their own, such as a ring buffer's consumer and producer pages. Read-only
   * unless `writable`; release works as for arrays.
   */
  static region(map: KernelMap, options: { readonly offset: number; readonly length: number; readonly writable: boolean }): MapMemory {
    const { sys } = map;
    const { offset, length } = options;
    const prot = options.writable ? Mmap.PROT_READ | Mmap.PROT_WRITE : Mmap.PROT_READ;
    const address = sys.mmap({ length, prot, flags: Mmap.MAP_SHARED, fd: map.fd, offset });
    let buffer: ArrayBuffer;
    try {
      buffer = sys.memoryView(address, length);
    } catch (error) {
      sys.munmap(address, length);
      throw error;
    }
    return new MapMemory({ sys, address, length }, buffer);
  }

  /** The mapped values; throws once released. */
  get buffer(): ArrayBuffer {
    if (this.#buffer === undefined) throw new KernelMapError('KERNEL_MAP_CLOSED', 'the map memory was released.');
    return this.#buffer;
  }

  get released(): boolean {
    return this.#buffer === undefined;
  }

  /**
   * Detaches the memory from the map. Views handed out before stay safe to touch (they see
   * zeros); calling it again does nothing.
   */
  release(): void {
    if (this.#buffer === undefined) return;
    const { sys, address, length } = this.#mapping;
    try {
      sys.mmap({
        address,
        length,
        prot: Mmap.PROT_READ | Mmap.PROT_WRITE,
        flags: Mmap.MAP_PRIVATE | Mmap.MAP_ANONYMOUS | Mmap.MAP_FIXED,
      });
    } catch {
      // The map's pages stay mapped until the buffer is collected: still safe, just later.
    }
    // Dropped only now: the field keeps the buffer (and so the mapping) alive during the remap.
    this.#buffer = undefined;
  }
}
