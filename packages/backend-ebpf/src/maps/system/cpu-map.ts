import type { Program } from '../../programs/program.js';
import { MapType } from '../../syscalls/bpf-constants.js';
import { nativeSyscalls } from '../../syscalls/native-syscalls.js';
import { KernelMap } from '../kernel-map.js';
import { SystemMap, type SystemMapCreateOptions, type SystemMapOptions } from './system-map.js';

const LABEL = 'CPU map';
/** `struct bpf_cpumap_val`: u32 qsize, then the program's fd on update and its id on lookup. */
const VALUE_SIZE = 8;
/** The kernel's upper bound of a CPU's queue (cpu_map_update_elem). */
export const CPU_MAP_MAX_QUEUE_SIZE = 16384;

export interface CpuMapEntry {
  /** Frames the CPU's queue holds before redirects to it drop. */
  readonly queueSize: number;
  /** An XDP program loaded with expected attach type XDP_CPUMAP, run on the target CPU (5.9+). */
  readonly program?: Program;
}

export interface CpuMapValue {
  readonly queueSize: number;
  /** Id of the program that runs on the CPU, 0 for none. */
  readonly programId: number;
}

/**
 * BPF_MAP_TYPE_CPUMAP: CPUs as executors of the `cpu-redirect` hook. A redirect to an entry
 * queues the frame for a kernel thread on that CPU, which builds the skb there (and first runs
 * the entry's program, if any).
 */
export class CpuMap extends SystemMap {
  readonly #value = new Uint8Array(VALUE_SIZE);
  readonly #valueView = new DataView(this.#value.buffer);

  private constructor(map: KernelMap) {
    super(map, LABEL);
  }

  /** `maxEntries` defaults to the possible CPUs: the key is a CPU number. */
  static create(options: Partial<SystemMapCreateOptions> = {}, map: SystemMapOptions = {}): CpuMap {
    const maxEntries = options.maxEntries ?? (map.sys ?? nativeSyscalls()).possibleCpus();
    return new CpuMap(
      SystemMap.createMap(
        { type: MapType.CPUMAP, keySize: 4, valueSize: VALUE_SIZE, maxEntries, ...(options.name === undefined ? {} : { name: options.name }) },
        map,
      ),
    );
  }

  /** Takes ownership of a kernel map that must be a CPU map with `bpf_cpumap_val` values. */
  static fromKernelMap(map: KernelMap): CpuMap {
    return new CpuMap(SystemMap.checkMap(map, MapType.CPUMAP, [VALUE_SIZE], LABEL));
  }

  static open(path: string, options: SystemMapOptions = {}): CpuMap {
    return CpuMap.fromKernelMap(KernelMap.open(path, options.sys === undefined ? {} : { sys: options.sys }));
  }

  /** Enables `cpu` as a redirect target with a queue of `queueSize` frames. */
  set(cpu: number, entry: CpuMapEntry): void {
    const key = this.keyOf(cpu);
    this.#valueView.setUint32(0, entry.queueSize, true);
    this.#valueView.setInt32(4, entry.program === undefined ? 0 : entry.program.fd.raw, true);
    this.updating(cpu, `queue size ${entry.queueSize}${entry.program === undefined ? '' : ` with ${String(entry.program)}`}`, HINTS, () =>
      this.kernelMap.update(key, this.#value),
    );
  }

  /** The entry of `cpu`, or undefined when it is not a target. */
  get(cpu: number): CpuMapValue | undefined {
    const value = this.kernelMap.lookup(this.keyOf(cpu));
    if (value === undefined) return undefined;
    const view = new DataView(value.buffer);
    return { queueSize: view.getUint32(0, true), programId: view.getUint32(4, true) };
  }

  /**
   * Stops redirects to `cpu` (they take the fallback action). The kernel answers the same
   * whether or not the CPU was a target, so nothing is returned.
   */
  delete(cpu: number): void {
    this.kernelMap.delete(this.keyOf(cpu));
  }
}

const HINTS: Readonly<Record<string, string>> = {
  EOVERFLOW: `the queue size is above ${CPU_MAP_MAX_QUEUE_SIZE}`,
  EINVAL: 'the CPU is not possible on this machine, or the program was not loaded with expected attach type XDP_CPUMAP',
  ENODEV: 'the CPU is offline',
};
