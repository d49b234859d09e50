import type { DataMapKind, DataMapSpec } from '@syrup/maps';
import { MapFlag, MapType } from '../syscalls/bpf-constants.js';

/**
 * A kernel map as bpf(BPF_MAP_CREATE) sees it: the blueprint of a {@link KernelMap}, pure and
 * serialisable. Data maps derive theirs from a policy's `DataMapSpec`; system maps (program
 * arrays, socket arrays, XSK and CPU maps, ring buffers) write theirs directly.
 */
export interface KernelMapSpec {
  /** A `MapType`. */
  readonly type: number;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  /** `MapFlag` bits. */
  readonly flags?: number;
  /** Object name shown by bpftool; sanitized to the kernel's 15-character alphabet on creation. */
  readonly name?: string;
}

const TYPE_OF_KIND: Readonly<Record<DataMapKind, number>> = {
  array: MapType.ARRAY,
  hash: MapType.HASH,
  'percpu-array': MapType.PERCPU_ARRAY,
  'lru-hash': MapType.LRU_HASH,
};

/** The data-map kind a kernel map type implements, if it is one. */
export function dataMapKindOf(type: number): DataMapKind | undefined {
  return (Object.keys(TYPE_OF_KIND) as DataMapKind[]).find((kind) => TYPE_OF_KIND[kind] === type);
}

export interface DataMapKernelOptions {
  readonly name?: string;
  /** Create an array with BPF_F_MMAPABLE so userspace can map its values (arrays only). */
  readonly mmapable?: boolean;
}

/** The kernel spec of a policy data map: u32 keys, u64 values. */
export function kernelSpecOfDataMap(spec: DataMapSpec, options: DataMapKernelOptions = {}): KernelMapSpec {
  return {
    type: TYPE_OF_KIND[spec.kind],
    keySize: 4,
    valueSize: 8,
    maxEntries: spec.maxEntries,
    flags: options.mmapable ? MapFlag.MMAPABLE : 0,
    ...(options.name === undefined ? {} : { name: options.name }),
  };
}
