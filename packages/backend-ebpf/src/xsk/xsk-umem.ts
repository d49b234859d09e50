import type { Fd } from '../fd.js';
import { inNetworkNamespace } from '../links/network-namespace.js';
import { nativeSyscalls } from '../syscalls/native-syscalls.js';
import type { Syscalls } from '../syscalls/syscalls.js';
import {
  AF_XDP,
  SOCK_RAW,
  SOL_XDP,
  XDP_MMAP_OFFSETS_SIZE,
  XDP_RING_OFFSET_BASES,
  XDP_UMEM_REG_SIZE,
  XdpRingPageOffset,
  XdpSockopt,
} from './xsk-constants.js';
import { XskError } from './xsk-error.js';
import { XskMapping } from './xsk-mapping.js';
import { XskConsumerRing, XskProducerRing, type XskRingOffsets } from './xsk-ring.js';

export interface XskUmemOptions {
  /** Bytes per frame (the UMEM's chunk size): 2048 or 4096. Default 2048. */
  readonly frameSize?: 2048 | 4096;
  /** Frames in the UMEM. Default 4096 (8 MiB with 2048-byte frames). */
  readonly frameCount?: number;
  /** Entries of the FILL ring (a power of two). Default 2048. */
  readonly fillRingSize?: number;
  /** Entries of the COMPLETION ring (a power of two). Default 2048. */
  readonly completionRingSize?: number;
  /**
   * Frames kept waiting in the FILL ring for the kernel to receive into; the rest stay free
   * for transmitting. Default: half the frames, at most the FILL ring's size.
   */
  readonly fillTarget?: number;
  /**
   * The network namespace (an `ip netns` name or an absolute path) whose interface the
   * sockets will bind to; a socket binds only to interfaces of the namespace it was made in.
   * This thread's own by default.
   */
  readonly netns?: string;
  readonly sys?: Syscalls;
}

const DEFAULTS = { frameSize: 2048, frameCount: 4096, fillRingSize: 2048, completionRingSize: 2048 } as const;

/** What a UMEM knows about the one interface queue its FILL and COMPLETION rings serve. */
export interface XskQueueBinding {
  readonly ifindex: number;
  readonly queue: number;
}

/**
 * A UMEM: the frames an AF_XDP socket group receives into and transmits from, and its FILL
 * and COMPLETION rings. The kernel registers a UMEM on a socket (XDP_UMEM_REG), so a UMEM
 * owns one AF_XDP socket fd: the first socket bound with it uses that fd, and further
 * sockets on the same interface queue share the UMEM through it (XDP_SHARED_UMEM), with RX
 * and TX rings of their own and this one pair of FILL/COMPLETION rings.
 *
 * Frames are tracked here: a frame is in the FILL ring, in some socket's RX or TX ring, lent
 * to the application (received and not yet released or transmitted), or free. The kernel
 * requires the FILL and COMPLETION rings before the first bind, so they exist from the start.
 */
export class XskUmem implements Disposable {
  readonly sys: Syscalls;
  readonly frameSize: number;
  readonly frameCount: number;
  readonly netns: string | undefined;
  /** The whole UMEM; a frame is `memory.subarray(address, address + length)`. */
  readonly memory: Uint8Array;
  readonly fill: XskProducerRing;
  readonly completion: XskConsumerRing;
  /** Frames `refill` keeps in the FILL ring. */
  readonly fillTarget: number;
  readonly #fd: Fd;
  readonly #region: XskMapping;
  /** Base addresses of the free frames, used as a stack. */
  readonly #free: number[] = [];
  #binding: XskQueueBinding | undefined;
  #firstUsed = false;
  #closed = false;
  readonly #onClose: (() => void)[] = [];

  private constructor(
    sys: Syscalls,
    fd: Fd,
    region: XskMapping,
    fill: XskProducerRing,
    completion: XskConsumerRing,
    options: Required<Pick<XskUmemOptions, 'frameSize' | 'frameCount' | 'fillTarget'>> & { netns: string | undefined },
  ) {
    this.sys = sys;
    this.#fd = fd;
    this.#region = region;
    this.fill = fill;
    this.completion = completion;
    this.frameSize = options.frameSize;
    this.frameCount = options.frameCount;
    this.netns = options.netns;
    this.fillTarget = options.fillTarget;
    this.memory = new Uint8Array(region.buffer);
    // Highest addresses at the bottom of the stack, so frames are handed out from address 0 up.
    for (let i = options.frameCount - 1; i >= 0; i--) this.#free.push(i * options.frameSize);
  }

  /** Creates the socket, maps and registers the frames, and maps the FILL and COMPLETION rings. */
  static create(options: XskUmemOptions = {}): XskUmem {
    const sys = options.sys ?? nativeSyscalls();
    const frameSize = options.frameSize ?? DEFAULTS.frameSize;
    const frameCount = options.frameCount ?? DEFAULTS.frameCount;
    const fillSize = options.fillRingSize ?? DEFAULTS.fillRingSize;
    const completionSize = options.completionRingSize ?? DEFAULTS.completionRingSize;
    if (frameSize !== 2048 && frameSize !== 4096) {
      throw new XskError('XSK_INVALID_OPTION', `an AF_XDP frame size must be 2048 or 4096 bytes, not ${String(frameSize)}.`);
    }
    if (!Number.isInteger(frameCount) || frameCount < 1 || frameCount * frameSize > 0xffff_ffff) {
      throw new XskError('XSK_INVALID_OPTION', `a UMEM needs between 1 and ${Math.floor(0xffff_ffff / frameSize)} frames of ${frameSize} bytes, not ${String(frameCount)}.`);
    }
    checkRingSize('FILL', fillSize);
    checkRingSize('COMPLETION', completionSize);
    const fillTarget = options.fillTarget ?? Math.min(fillSize, Math.max(1, Math.floor(frameCount / 2)));
    if (!Number.isInteger(fillTarget) || fillTarget < 1 || fillTarget > Math.min(fillSize, frameCount)) {
      throw new XskError('XSK_INVALID_OPTION', `the FILL target must be between 1 and ${Math.min(fillSize, frameCount)} frames, not ${String(fillTarget)}.`);
    }
    const fd = openXskSocket(sys, options.netns);
    const owned: { unmap(): void }[] = [];
    try {
      const length = frameCount * frameSize;
      let region: XskMapping;
      try {
        region = XskMapping.anonymous(sys, length);
      } catch (error) {
        throw new XskError('XSK_UMEM_FAILED', `cannot map ${length} bytes for a UMEM.`, { cause: error });
      }
      owned.push({ unmap: () => region.release() });
      const reg = new Uint8Array(XDP_UMEM_REG_SIZE);
      const view = new DataView(reg.buffer);
      view.setBigUint64(0, region.address, true);
      view.setBigUint64(8, BigInt(length), true);
      view.setUint32(16, frameSize, true);
      // headroom 0, flags 0 (aligned chunks), tx_metadata_len 0
      try {
        sys.setsockopt(fd, SOL_XDP, XdpSockopt.UMEM_REG, reg);
      } catch (error) {
        throw new XskError('XSK_UMEM_FAILED', `cannot register a UMEM of ${frameCount} frames of ${frameSize} bytes (XDP_UMEM_REG needs CAP_NET_RAW and locked-memory allowance).`, { cause: error });
      }
      setRingSize(sys, fd, XdpSockopt.UMEM_FILL_RING, 'FILL', fillSize);
      setRingSize(sys, fd, XdpSockopt.UMEM_COMPLETION_RING, 'COMPLETION', completionSize);
      const offsets = ringOffsets(sys, fd);
      const fill = XskProducerRing.map(sys, fd, XdpRingPageOffset.FILL, offsets.fill, fillSize, 'address');
      owned.push(fill);
      const completion = XskConsumerRing.map(sys, fd, XdpRingPageOffset.COMPLETION, offsets.completion, completionSize, 'address');
      owned.push(completion);
      return new XskUmem(sys, fd, region, fill, completion, { frameSize, frameCount, fillTarget, netns: options.netns });
    } catch (error) {
      for (const mapping of owned.reverse()) mapping.unmap();
      fd.close();
      throw error;
    }
  }

  /** The UMEM's address in this process: another thread of the process views the same frames there (`sys.memoryView`). */
  get address(): bigint {
    return this.#region.address;
  }

  /** The socket the UMEM is registered on (the first socket of its group). */
  get fd(): Fd {
    if (this.#closed) throw new XskError('XSK_CLOSED', 'the UMEM is closed.');
    return this.#fd;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** The interface queue the UMEM's FILL and COMPLETION rings serve, once its first socket is bound. */
  get binding(): XskQueueBinding | undefined {
    return this.#binding;
  }

  /** Frames neither in a ring nor lent to the application. */
  get freeFrames(): number {
    return this.#free.length;
  }

  /** The bytes of a frame: `length` bytes from `address` (a descriptor's address, not necessarily a frame start). */
  frame(address: number, length: number): Uint8Array {
    return this.memory.subarray(address, address + length);
  }

  /** Takes a free frame to build a frame to transmit; undefined when none is free. */
  allocFrame(): number | undefined {
    return this.#free.pop();
  }

  /** Gives a frame back (any address inside it); it goes to the FILL ring on the next `refill`. */
  releaseFrame(address: number): void {
    this.#free.push(address - (address % this.frameSize));
  }

  /** Tops the FILL ring up to `fillTarget` frames from the free ones; returns how many it added. */
  refill(): number {
    const wanted = Math.min(this.#free.length, this.fillTarget - this.fill.outstanding());
    if (wanted <= 0) return 0;
    const count = this.fill.free(wanted);
    for (let i = 0; i < count; i++) this.fill.setAddress(i, this.#free.pop() as number);
    if (count > 0) this.fill.submit(count);
    return count;
  }

  /** Takes the frames the kernel finished transmitting back into the free list; returns how many. */
  reapCompletions(max = this.completion.size): number {
    const count = this.completion.available(max);
    for (let i = 0; i < count; i++) this.releaseFrame(this.completion.address(i));
    if (count > 0) this.completion.release(count);
    return count;
  }

  /** Runs `action` when the UMEM closes (its socket group's bookkeeping). */
  onClose(action: () => void): void {
    this.#onClose.push(action);
  }

  /**
   * @internal The fd for the group's first socket, once; later sockets get undefined and must
   * share the UMEM through `fd`.
   */
  takeFirstSocket(): Fd | undefined {
    if (this.#firstUsed) return undefined;
    this.#firstUsed = true;
    return this.#fd;
  }

  /** @internal Records the queue the first socket bound to. */
  setBinding(binding: XskQueueBinding): void {
    this.#binding = binding;
  }

  /**
   * Closes the UMEM's socket and unmaps its rings and frames. Sockets sharing it keep the
   * kernel's UMEM alive until they close too; close them first (a socket group does).
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#fd.close();
    this.fill.unmap();
    this.completion.unmap();
    this.#region.release();
    for (const action of this.#onClose.splice(0)) action();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  toString(): string {
    return `UMEM of ${this.frameCount} x ${this.frameSize}-byte frames`;
  }
}

/** socket(AF_XDP, SOCK_RAW) in `netns` (a socket binds only to interfaces of its own namespace). */
export function openXskSocket(sys: Syscalls, netns: string | undefined): Fd {
  const open = (): Fd => sys.socket(AF_XDP, SOCK_RAW, 0);
  try {
    return netns === undefined ? open() : inNetworkNamespace(netns, open, { sys });
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'EAFNOSUPPORT') throw new XskError('XSK_UNSUPPORTED', 'this kernel has no AF_XDP sockets (CONFIG_XDP_SOCKETS is off).', { cause: error });
    if (code === 'EPERM' || code === 'EACCES') throw new XskError('XSK_UNSUPPORTED', 'creating an AF_XDP socket needs CAP_NET_RAW.', { cause: error });
    throw error;
  }
}

export function checkRingSize(ring: string, size: number): void {
  if (!Number.isInteger(size) || size < 1 || size > 1 << 24 || (size & (size - 1)) !== 0) {
    throw new XskError('XSK_INVALID_OPTION', `the ${ring} ring size must be a power of two, not ${String(size)}.`);
  }
}

export function setRingSize(sys: Syscalls, fd: Fd, option: number, ring: string, size: number): void {
  const value = new Uint8Array(4);
  new DataView(value.buffer).setUint32(0, size, true);
  try {
    sys.setsockopt(fd, SOL_XDP, option, value);
  } catch (error) {
    throw new XskError('XSK_RING_FAILED', `cannot create a ${ring} ring of ${size} entries.`, { cause: error });
  }
}

/** XDP_MMAP_OFFSETS: where producer, consumer, flags and entries sit in each ring's mapping. */
export function ringOffsets(sys: Syscalls, fd: Fd): Record<keyof typeof XDP_RING_OFFSET_BASES, XskRingOffsets> {
  const bytes = new Uint8Array(XDP_MMAP_OFFSETS_SIZE);
  try {
    sys.getsockopt(fd, SOL_XDP, XdpSockopt.MMAP_OFFSETS, bytes);
  } catch (error) {
    throw new XskError('XSK_RING_FAILED', 'cannot read the AF_XDP ring offsets (XDP_MMAP_OFFSETS).', { cause: error });
  }
  const view = new DataView(bytes.buffer);
  const at = (base: number): XskRingOffsets => ({
    producer: Number(view.getBigUint64(base, true)),
    consumer: Number(view.getBigUint64(base + 8, true)),
    desc: Number(view.getBigUint64(base + 16, true)),
    flags: Number(view.getBigUint64(base + 24, true)),
  });
  return {
    rx: at(XDP_RING_OFFSET_BASES.rx),
    tx: at(XDP_RING_OFFSET_BASES.tx),
    fill: at(XDP_RING_OFFSET_BASES.fill),
    completion: at(XDP_RING_OFFSET_BASES.completion),
  };
}
