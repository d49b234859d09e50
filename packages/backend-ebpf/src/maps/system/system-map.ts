import { SyscallError } from '../../errors/syscall-error.js';
import type { Fd } from '../../fd.js';
import { nativeSyscalls } from '../../syscalls/native-syscalls.js';
import type { Syscalls } from '../../syscalls/syscalls.js';
import { KernelMap } from '../kernel-map.js';
import type { KernelMapSpec } from '../kernel-map-spec.js';
import { SystemMapError } from './system-map-error.js';

export interface SystemMapOptions {
  readonly sys?: Syscalls;
}

export interface SystemMapCreateOptions {
  readonly maxEntries: number;
  /** Kernel object name, sanitized. */
  readonly name?: string;
}

/**
 * What every system map shares: a `KernelMap` of one fixed type with u32 keys, checked when
 * created or adopted, and byte buffers reused by each call. Subclasses add the typed
 * operations the kernel offers for their type, and only those.
 */
export abstract class SystemMap implements Disposable {
  readonly kernelMap: KernelMap;
  protected readonly key = new Uint8Array(4);
  protected readonly keyView = new DataView(this.key.buffer);
  readonly #label: string;

  protected constructor(map: KernelMap, label: string) {
    this.kernelMap = map;
    this.#label = label;
  }

  /** Creates the kernel map for a subclass; `valueSize` and `type` are the subclass's. */
  protected static createMap(spec: KernelMapSpec, options: SystemMapOptions): KernelMap {
    if (!Number.isInteger(spec.maxEntries) || spec.maxEntries < 1) {
      throw new SystemMapError('SYSTEM_MAP_SPEC_INVALID', `a system map needs at least one entry, not ${spec.maxEntries}.`);
    }
    return KernelMap.create(spec, { sys: options.sys ?? nativeSyscalls() });
  }

  /** Checks an adopted map's type and sizes; closes it and throws when they differ. */
  protected static checkMap(map: KernelMap, type: number, valueSizes: readonly number[], label: string): KernelMap {
    const { spec } = map;
    if (spec.type !== type || spec.keySize !== 4 || !valueSizes.includes(spec.valueSize)) {
      map.close();
      throw new SystemMapError(
        'SYSTEM_MAP_INCOMPATIBLE',
        `${label}: kernel map type ${spec.type} with ${spec.keySize}-byte keys and ${spec.valueSize}-byte values is not a ${label}.`,
      );
    }
    return map;
  }

  get fd(): Fd {
    if (this.kernelMap.closed) throw new SystemMapError('SYSTEM_MAP_CLOSED', `${this.toString()} is closed.`);
    return this.kernelMap.fd;
  }

  get maxEntries(): number {
    return this.kernelMap.spec.maxEntries;
  }

  get closed(): boolean {
    return this.kernelMap.closed;
  }

  /** Pins the map at `path` in bpffs. */
  pin(path: string): void {
    this.kernelMap.pin(path);
  }

  close(): void {
    this.kernelMap.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  toString(): string {
    return `${this.#label} '${this.kernelMap.spec.name ?? ''}'`;
  }

  /** Encodes `index` after checking it is inside the map. */
  protected keyOf(index: number): Uint8Array {
    if (this.kernelMap.closed) throw new SystemMapError('SYSTEM_MAP_CLOSED', `${this.toString()} is closed.`);
    if (!Number.isInteger(index) || index < 0 || index >= this.maxEntries) {
      throw new SystemMapError('SYSTEM_MAP_INDEX_OUT_OF_RANGE', `${this.toString()}: index ${index} is outside its ${this.maxEntries} entries.`);
    }
    this.keyView.setUint32(0, index, true);
    return this.key;
  }

  /** Runs a map update and turns the kernel's refusal into a `SystemMapError` with a hint for this map type. */
  protected updating(index: number, what: string, hints: Readonly<Record<string, string>>, action: () => void): void {
    try {
      action();
    } catch (error) {
      if (!(error instanceof SyscallError)) throw error;
      const hint = hints[error.code] ?? error.message;
      throw new SystemMapError('SYSTEM_MAP_UPDATE_FAILED', `${this.toString()}: cannot set index ${index} to ${what} (${error.code}): ${hint}.`, {
        cause: error,
      });
    }
  }
}
