import { KernelMapError } from '../errors/kernel-map-error.js';
import { MapFlag, MapType } from '../syscalls/bpf-constants.js';
import { MappedRegion } from '../memory/mapped-region.js';
import { Mmap } from '../syscalls/syscalls.js';
import type { KernelMap } from './kernel-map.js';

/**
 * The values of a BPF_F_MMAPABLE array mapped into this process (MAP_SHARED), exposed as an
 * ArrayBuffer without copying: a write through the buffer is what the kernel's programs
 * read, and the reverse. Release is crash-safe (see {@link MappedRegion}): the kernel can
 * free the map while views taken earlier read zeros instead of faulting.
 */
export class MapMemory extends MappedRegion {
  /** Maps every value of `map`, which must be an array created with `MapFlag.MMAPABLE`. */
  static map(map: KernelMap): MapMemory {
    const { spec } = map;
    if (spec.type !== MapType.ARRAY || ((spec.flags ?? 0) & MapFlag.MMAPABLE) === 0) {
      throw new KernelMapError('KERNEL_MAP_NOT_MMAPABLE', `${String(map)} is not an array created with BPF_F_MMAPABLE, so its values cannot be mapped.`);
    }
    // Array elements are 8-byte aligned; mmap rounds the length up to whole pages itself.
    const length = Math.ceil(spec.valueSize / 8) * 8 * spec.maxEntries;
    const view = MappedRegion.mapView(map.sys, { length, prot: Mmap.PROT_READ | Mmap.PROT_WRITE, flags: Mmap.MAP_SHARED, fd: map.fd, offset: 0 });
    return new MapMemory(map.sys, view, length);
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
    return new MapMemory(sys, MappedRegion.mapView(sys, { length, prot, flags: Mmap.MAP_SHARED, fd: map.fd, offset }), length);
  }

  protected override releasedError(): Error {
    return new KernelMapError('KERNEL_MAP_CLOSED', 'the map memory was released.');
  }
}
