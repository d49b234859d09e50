import { Mmap, type MmapOptions, type Syscalls } from '../syscalls/syscalls.js';

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
 * Memory mapped into this process (a BPF map's values, an AF_XDP UMEM or ring) exposed as an
 * ArrayBuffer without copying.
 *
 * Release is crash-safe. `release()` does not munmap, because a view taken earlier may still
 * be referenced and a later access would fault. Instead it maps private anonymous zero pages
 * over the same range with MAP_FIXED, which atomically drops the shared pages (so the kernel
 * can free what it shared) while old views read zeros and write into memory nobody shares.
 * The placeholder is unmapped when the ArrayBuffer becomes unreachable.
 */
/** An address range mmap(2) returned, with its zero-copy view. */
export interface MappedView {
  readonly address: bigint;
  readonly buffer: ArrayBuffer;
}

export class MappedRegion {
  readonly address: bigint;
  readonly length: number;
  readonly #sys: Syscalls;
  #buffer: ArrayBuffer | undefined;

  protected constructor(sys: Syscalls, view: MappedView, length: number) {
    this.#sys = sys;
    this.address = view.address;
    this.length = length;
    this.#buffer = view.buffer;
    unmapWhenUnreachable.register(view.buffer, { sys, address: view.address, length });
  }

  /** mmap(2) with `options` and view the range; it is unmapped again if viewing fails. */
  protected static mapView(sys: Syscalls, options: MmapOptions): MappedView {
    const address = sys.mmap(options);
    try {
      return { address, buffer: sys.memoryView(address, options.length) };
    } catch (error) {
      sys.munmap(address, options.length);
      throw error;
    }
  }

  /** The mapped bytes; throws {@link releasedError} once released. */
  get buffer(): ArrayBuffer {
    if (this.#buffer === undefined) throw this.releasedError();
    return this.#buffer;
  }

  get released(): boolean {
    return this.#buffer === undefined;
  }

  /** Detaches the range from what it shared; views handed out before stay safe. Idempotent. */
  release(): void {
    if (this.#buffer === undefined) return;
    try {
      this.#sys.mmap({
        address: this.address,
        length: this.length,
        prot: Mmap.PROT_READ | Mmap.PROT_WRITE,
        flags: Mmap.MAP_PRIVATE | Mmap.MAP_ANONYMOUS | Mmap.MAP_FIXED,
      });
    } catch {
      // The shared pages stay mapped until the buffer is collected: still safe, just later.
    }
    // Dropped only now: the field keeps the buffer (and so the mapping) alive during the remap.
    this.#buffer = undefined;
  }

  /** The error `buffer` throws after release; subclasses name their own object. */
  protected releasedError(): Error {
    return new Error('the mapped memory was released.');
  }
}
