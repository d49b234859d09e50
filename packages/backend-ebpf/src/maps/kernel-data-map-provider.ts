import type { CreateDataMapOptions, DataMapProvider, DataMapSpec } from '@syrup/maps';
import type { Syscalls } from '../syscalls/syscalls.js';
import { KernelDataMapStore } from './kernel-data-map-store.js';

export interface KernelDataMapProviderOptions {
  readonly sys?: Syscalls;
  /**
   * Create `array` maps mmapable (default true), so applications get atomic `fetchAdd` and
   * `compareExchange` on them. Costs nothing to programs; the values are page-rounded.
   */
  readonly mmapableArrays?: boolean;
}

/** The provider of kernel-resident data maps (`ebpf`). */
export class KernelDataMapProvider implements DataMapProvider {
  readonly name = 'ebpf';
  readonly residence = 'kernel';
  readonly #sys: Syscalls | undefined;
  readonly #mmapableArrays: boolean;

  constructor(options: KernelDataMapProviderOptions = {}) {
    this.#sys = options.sys;
    this.#mmapableArrays = options.mmapableArrays ?? true;
  }

  createMap(spec: DataMapSpec, options: CreateDataMapOptions): KernelDataMapStore {
    return KernelDataMapStore.create(spec, {
      name: options.name,
      mmapable: this.#mmapableArrays && spec.kind === 'array',
      ...(this.#sys ? { sys: this.#sys } : {}),
    });
  }
}
