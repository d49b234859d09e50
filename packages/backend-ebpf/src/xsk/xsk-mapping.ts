import type { Fd } from '../fd.js';
import { MappedRegion } from '../memory/mapped-region.js';
import { Mmap, type Syscalls } from '../syscalls/syscalls.js';

/**
 * Memory an AF_XDP socket shares with the kernel: the UMEM (anonymous, registered with
 * XDP_UMEM_REG) or a ring (mapped from the socket at its page offset), as an ArrayBuffer
 * without copying. Release is crash-safe (see {@link MappedRegion}): the kernel keeps what it
 * pinned until the socket is gone, while views handed out earlier read zeros instead of faulting.
 */
export class XskMapping extends MappedRegion {
  /** Anonymous read-write memory (the UMEM). */
  static anonymous(sys: Syscalls, length: number): XskMapping {
    const view = MappedRegion.mapView(sys, { length, prot: Mmap.PROT_READ | Mmap.PROT_WRITE, flags: Mmap.MAP_PRIVATE | Mmap.MAP_ANONYMOUS });
    return new XskMapping(sys, view, length);
  }

  /** A ring of `socket`, shared read-write with the kernel. */
  static ring(sys: Syscalls, socket: Fd, offset: number, length: number): XskMapping {
    const view = MappedRegion.mapView(sys, { length, prot: Mmap.PROT_READ | Mmap.PROT_WRITE, flags: Mmap.MAP_SHARED, fd: socket, offset });
    return new XskMapping(sys, view, length);
  }

  protected override releasedError(): Error {
    return new Error('the AF_XDP memory was released.');
  }
}
