import type { Fd } from '../fd.js';
import { Mmap, type Syscalls } from '../syscalls/syscalls.js';

interface Region {
  readonly sys: Syscalls;
  readonly address: bigint;
  readonly length: number;
}

// As with MapMemory: a range is unmapped only once no JavaScript can reach its ArrayBuffer,
// because touching an unmapped address kills the process. Until then `release()` leaves
// private zero pages in its place.
const unmapWhenUnreachable = new FinalizationRegistry<Region>((region) => {
  try {
    region.sys.munmap(region.address, region.length);
  } catch {
    // Only address space is lost.
  }
});

/**
 * Memory an AF_XDP socket shares with the kernel: the UMEM (anonymous, registered with
 * XDP_UMEM_REG) or a ring (mapped from the socket at its page offset), as an ArrayBuffer
 * without copying.
 *
 * `release()` is crash-safe: it maps private anonymous pages over the range (MAP_FIXED),
 * which drops the shared pages at once (the kernel keeps what it pinned until the socket is
 * gone) while views handed out earlier read zeros instead of faulting.
 */
export class XskMapping {
  readonly address: bigint;
  readonly length: number;
  readonly #sys: Syscalls;
  #buffer: ArrayBuffer | undefined;

  private constructor(sys: Syscalls, address: bigint, length: number, buffer: ArrayBuffer) {
    this.#sys = sys;
    this.address = address;
    this.length = length;
    this.#buffer = buffer;
    unmapWhenUnreachable.register(buffer, { sys, address, length });
  }

  /** Anonymous read-write memory (the UMEM). */
  static anonymous(sys: Syscalls, length: number): XskMapping {
    const address = sys.mmap({ length, prot: Mmap.PROT_READ | Mmap.PROT_WRITE, flags: Mmap.MAP_PRIVATE | Mmap.MAP_ANONYMOUS });
    return XskMapping.#wrap(sys, address, length);
  }

  /** A ring of `socket`, shared read-write with the kernel. */
  static ring(sys: Syscalls, socket: Fd, offset: number, length: number): XskMapping {
    const address = sys.mmap({ length, prot: Mmap.PROT_READ | Mmap.PROT_WRITE, flags: Mmap.MAP_SHARED, fd: socket, offset });
    return XskMapping.#wrap(sys, address, length);
  }

  static #wrap(sys: Syscalls, address: bigint, length: number): XskMapping {
    let buffer: ArrayBuffer;
    try {
      buffer = sys.memoryView(address, length);
    } catch (error) {
      sys.munmap(address, length);
      throw error;
    }
    return new XskMapping(sys, address, length, buffer);
  }

  get buffer(): ArrayBuffer {
    if (this.#buffer === undefined) throw new Error('the AF_XDP memory was released.');
    return this.#buffer;
  }

  get released(): boolean {
    return this.#buffer === undefined;
  }

  /** Detaches the range from the kernel's memory; calling it again does nothing. */
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
    this.#buffer = undefined;
  }
}
