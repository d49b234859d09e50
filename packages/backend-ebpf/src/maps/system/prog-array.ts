import type { Program } from '../../programs/program.js';
import { MapType } from '../../syscalls/bpf-constants.js';
import { KernelMap } from '../kernel-map.js';
import { SystemMap, type SystemMapCreateOptions, type SystemMapOptions } from './system-map.js';

const LABEL = 'program array';

/**
 * BPF_MAP_TYPE_PROG_ARRAY: the targets of `bpf_tail_call`. The XDP dispatcher puts each
 * tenant's policy at an index; replacing an entry switches a tail call target atomically.
 * Entries hold a reference to their program, so a program can be closed after `set`.
 */
export class ProgArray extends SystemMap {
  readonly #value = new Uint8Array(4);
  readonly #valueView = new DataView(this.#value.buffer);

  private constructor(map: KernelMap) {
    super(map, LABEL);
  }

  static create(options: SystemMapCreateOptions, map: SystemMapOptions = {}): ProgArray {
    return new ProgArray(
      SystemMap.createMap(
        { type: MapType.PROG_ARRAY, keySize: 4, valueSize: 4, maxEntries: options.maxEntries, ...(options.name === undefined ? {} : { name: options.name }) },
        map,
      ),
    );
  }

  /** Takes ownership of a kernel map that must be a program array. */
  static fromKernelMap(map: KernelMap): ProgArray {
    return new ProgArray(SystemMap.checkMap(map, MapType.PROG_ARRAY, [4], LABEL));
  }

  static open(path: string, options: SystemMapOptions = {}): ProgArray {
    return ProgArray.fromKernelMap(KernelMap.open(path, options.sys === undefined ? {} : { sys: options.sys }));
  }

  /**
   * Puts `program` at `index`. The kernel requires every program in one array to share a type
   * (and JIT-ness) with the programs that tail-call into it.
   */
  set(index: number, program: Program): void {
    const key = this.keyOf(index);
    this.#valueView.setUint32(0, program.fd.raw, true);
    this.updating(index, String(program), HINTS, () => this.kernelMap.update(key, this.#value));
  }

  /** The id of the program at `index` (the kernel answers ids, not fds), or undefined when empty. */
  get(index: number): number | undefined {
    const value = this.kernelMap.lookup(this.keyOf(index));
    return value === undefined ? undefined : new DataView(value.buffer).getUint32(0, true);
  }

  /** Empties `index`; a tail call to it then falls through. False when it was empty. */
  delete(index: number): boolean {
    return this.kernelMap.delete(this.keyOf(index));
  }
}

const HINTS: Readonly<Record<string, string>> = {
  EINVAL: 'the program\'s type differs from the programs this array serves, or it is not a program',
  EBADF: 'the program is closed',
};
