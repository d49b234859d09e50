import type { Fd } from '../../fd.js';
import { MapType } from '../../syscalls/bpf-constants.js';
import { KernelMap } from '../kernel-map.js';
import { SystemMap, type SystemMapCreateOptions, type SystemMapOptions } from './system-map.js';

const LABEL = 'XSK map';

/**
 * BPF_MAP_TYPE_XSKMAP: AF_XDP sockets by RX queue, the executors of the XDP hooks
 * (`bpf_redirect_map`). The kernel accepts any AF_XDP socket, bound or not, but a frame
 * reaches one only when the socket is bound to the interface and queue the frame arrived on.
 *
 * There is deliberately no `get`: the kernel offers no lookup from userspace for this map
 * type (xsk_map_lookup_elem_sys answers EOPNOTSUPP), so the type does not pretend to.
 */
export class XskMap extends SystemMap {
  readonly #value = new Uint8Array(4);
  readonly #valueView = new DataView(this.#value.buffer);

  private constructor(map: KernelMap) {
    super(map, LABEL);
  }

  static create(options: SystemMapCreateOptions, map: SystemMapOptions = {}): XskMap {
    return new XskMap(
      SystemMap.createMap(
        { type: MapType.XSKMAP, keySize: 4, valueSize: 4, maxEntries: options.maxEntries, ...(options.name === undefined ? {} : { name: options.name }) },
        map,
      ),
    );
  }

  /** Takes ownership of a kernel map that must be an XSK map. */
  static fromKernelMap(map: KernelMap): XskMap {
    return new XskMap(SystemMap.checkMap(map, MapType.XSKMAP, [4], LABEL));
  }

  static open(path: string, options: SystemMapOptions = {}): XskMap {
    return XskMap.fromKernelMap(KernelMap.open(path, options.sys === undefined ? {} : { sys: options.sys }));
  }

  /** Puts the AF_XDP socket `socket` at `queue`. The entry holds the socket until deleted or the map is freed. */
  set(queue: number, socket: Fd): void {
    const key = this.keyOf(queue);
    this.#valueView.setUint32(0, socket.raw, true);
    this.updating(queue, String(socket), HINTS, () => this.kernelMap.update(key, this.#value));
  }

  /**
   * Empties `queue`; redirects to it then take the fallback action. The kernel answers the
   * same whether or not a socket was there, so nothing is returned.
   */
  delete(queue: number): void {
    this.kernelMap.delete(this.keyOf(queue));
  }
}

const HINTS: Readonly<Record<string, string>> = {
  EOPNOTSUPP: 'the fd is a socket, but not an AF_XDP socket',
  ENOTSOCK: 'the fd is not a socket',
  EBADF: 'the fd is not open',
};
