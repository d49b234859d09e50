import type { Fd } from '../../fd.js';
import { MapType } from '../../syscalls/bpf-constants.js';
import { KernelMap } from '../kernel-map.js';
import { SystemMap, type SystemMapCreateOptions, type SystemMapOptions } from './system-map.js';

const LABEL = 'reuseport socket array';

/**
 * BPF_MAP_TYPE_REUSEPORT_SOCKARRAY: the executors of the `socket-select` hook, read by
 * `bpf_sk_select_reuseport`. A socket must be bound (UDP) or listening (TCP) with
 * SO_REUSEPORT when inserted, and the kernel removes it when it closes: the entry does not
 * keep the socket open, so the fd given to `set` may be closed afterwards. The array takes
 * sockets of any group, but a selection only succeeds for a socket of the group the
 * datagram or SYN arrived at (otherwise the helper fails and the kernel hashes).
 */
export class ReuseportSockArray extends SystemMap {
  readonly #value = new Uint8Array(8);
  readonly #valueView = new DataView(this.#value.buffer);

  private constructor(map: KernelMap) {
    super(map, LABEL);
  }

  static create(options: SystemMapCreateOptions, map: SystemMapOptions = {}): ReuseportSockArray {
    return new ReuseportSockArray(
      SystemMap.createMap(
        {
          type: MapType.REUSEPORT_SOCKARRAY,
          keySize: 4,
          valueSize: 8,
          maxEntries: options.maxEntries,
          ...(options.name === undefined ? {} : { name: options.name }),
        },
        map,
      ),
    );
  }

  /** Takes ownership of a kernel map that must be a reuseport socket array (u64 values). */
  static fromKernelMap(map: KernelMap): ReuseportSockArray {
    return new ReuseportSockArray(SystemMap.checkMap(map, MapType.REUSEPORT_SOCKARRAY, [8], LABEL));
  }

  static open(path: string, options: SystemMapOptions = {}): ReuseportSockArray {
    return ReuseportSockArray.fromKernelMap(KernelMap.open(path, options.sys === undefined ? {} : { sys: options.sys }));
  }

  /** Puts `socket` at `index` (the update passes its fd; the kernel stores the socket). */
  set(index: number, socket: Fd): void {
    const key = this.keyOf(index);
    this.#valueView.setBigUint64(0, BigInt(socket.raw), true);
    this.updating(index, String(socket), HINTS, () => this.kernelMap.update(key, this.#value));
  }

  /** The socket cookie (SO_COOKIE) of the socket at `index`, or undefined when empty. */
  get(index: number): bigint | undefined {
    const value = this.kernelMap.lookup(this.keyOf(index));
    return value === undefined ? undefined : new DataView(value.buffer).getBigUint64(0, true);
  }

  /** Empties `index`; the program then gets ENOENT from sk_select_reuseport. False when it was empty. */
  delete(index: number): boolean {
    return this.kernelMap.delete(this.keyOf(index));
  }
}

const HINTS: Readonly<Record<string, string>> = {
  EINVAL: 'the socket is not a bound UDP or listening TCP socket with SO_REUSEPORT',
  ENOTSOCK: 'the fd is not a socket',
  EOPNOTSUPP: 'the socket\'s protocol cannot join a reuseport socket array',
};
