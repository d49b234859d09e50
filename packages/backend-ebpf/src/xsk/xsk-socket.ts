import { isSyscallError } from '../errors/syscall-error.js';
import type { Fd } from '../fd.js';
import { interfaceIndex } from '../links/interface-index.js';
import { inNetworkNamespace } from '../links/network-namespace.js';
import {
  AF_XDP,
  SOCKADDR_XDP_SIZE,
  SOL_XDP,
  XDP_STATISTICS_SIZE,
  XdpBindFlag,
  XdpRingPageOffset,
  XdpSockopt,
} from './xsk-constants.js';
import { XskError } from './xsk-error.js';
import { kickTransmit } from './xsk-kick.js';
import { XskConsumerRing, XskProducerRing } from './xsk-ring.js';
import { checkRingSize, openXskSocket, ringOffsets, setRingSize, type XskUmem } from './xsk-umem.js';

export interface XskSocketOptions {
  /** The interface, by index in the UMEM's namespace... */
  readonly ifindex?: number;
  /** ...or by name, looked up there. */
  readonly ifname?: string;
  /** The RX queue. Default 0. */
  readonly queue?: number;
  /** Entries of the RX ring (a power of two, or 0 for none). Default 1024. */
  readonly rxRingSize?: number;
  /** Entries of the TX ring (a power of two, or 0 for none). Default 1024. */
  readonly txRingSize?: number;
}

/** A received frame: its UMEM address and length, and its bytes (a view into the UMEM, valid while lent). */
export interface XskFrame {
  readonly address: number;
  readonly length: number;
  readonly data: Uint8Array;
}

/** `struct xdp_statistics`. */
export interface XskStatistics {
  /** Frames dropped for reasons other than an empty FILL ring or a full RX ring. */
  readonly rxDropped: bigint;
  readonly rxInvalidDescriptors: bigint;
  readonly txInvalidDescriptors: bigint;
  /** Frames dropped because this socket's RX ring was full. */
  readonly rxRingFull: bigint;
  /** Times the kernel found the FILL ring empty. */
  readonly rxFillRingEmpty: bigint;
  readonly txRingEmpty: bigint;
}

/** How many times one `kick` asks the kernel to go on transmitting before leaving the rest for later. */
const KICK_ATTEMPTS = 32;

/**
 * One AF_XDP socket, bound in copy mode to one interface queue, receiving into and
 * transmitting from its UMEM. The first socket of a UMEM uses the UMEM's own fd and binds
 * with XDP_COPY | XDP_USE_NEED_WAKEUP; every further one is a new socket bound with
 * XDP_SHARED_UMEM to the same interface and queue (the kernel allows no other flag there:
 * it inherits the first socket's mode), using the UMEM's FILL and COMPLETION rings.
 *
 * Received frames are lent to the application: each must go back with `umem.releaseFrame`
 * or out again with `transmit`, which returns it to the UMEM when the COMPLETION ring says
 * the kernel is done with it.
 */
export class XskSocket implements Disposable {
  readonly umem: XskUmem;
  readonly ifindex: number;
  readonly queue: number;
  /** True for the sockets that share the UMEM of the group's first socket. */
  readonly shared: boolean;
  readonly rx: XskConsumerRing | undefined;
  readonly tx: XskProducerRing | undefined;
  readonly #fd: Fd;
  #closed = false;

  private constructor(umem: XskUmem, fd: Fd, ifindex: number, queue: number, shared: boolean, rx: XskConsumerRing | undefined, tx: XskProducerRing | undefined) {
    this.umem = umem;
    this.#fd = fd;
    this.ifindex = ifindex;
    this.queue = queue;
    this.shared = shared;
    this.rx = rx;
    this.tx = tx;
  }

  /**
   * Creates and binds a socket on `umem`: the UMEM's own socket the first time, a socket
   * sharing it afterwards. Sharing works only on the queue the UMEM already serves: sockets on
   * other queues need FILL and COMPLETION rings of their own, which this class does not make.
   */
  static bind(umem: XskUmem, options: XskSocketOptions): XskSocket {
    const sys = umem.sys;
    const queue = options.queue ?? 0;
    const rxSize = options.rxRingSize ?? 1024;
    const txSize = options.txRingSize ?? 1024;
    if (!Number.isInteger(queue) || queue < 0) throw new XskError('XSK_INVALID_OPTION', `queue ${String(queue)} is not a queue index.`);
    if (rxSize === 0 && txSize === 0) throw new XskError('XSK_INVALID_OPTION', 'an AF_XDP socket needs an RX ring, a TX ring or both.');
    if (rxSize !== 0) checkRingSize('RX', rxSize);
    if (txSize !== 0) checkRingSize('TX', txSize);
    if ((options.ifindex === undefined) === (options.ifname === undefined)) {
      throw new XskError('XSK_INVALID_OPTION', 'an AF_XDP socket binds to exactly one of ifindex and ifname.');
    }
    const ifindex =
      options.ifindex ??
      (umem.netns === undefined
        ? interfaceIndex(options.ifname as string, { sys })
        : inNetworkNamespace(umem.netns, () => interfaceIndex(options.ifname as string, { sys }), { sys }));
    const target = `${options.ifname === undefined ? `ifindex ${ifindex}` : `'${options.ifname}'`} queue ${queue}`;
    const binding = umem.binding;
    if (binding !== undefined && (binding.ifindex !== ifindex || binding.queue !== queue)) {
      throw new XskError(
        'XSK_SHARE_REFUSED',
        `this UMEM serves ifindex ${binding.ifindex} queue ${binding.queue}, so a socket for ${target} would need FILL and COMPLETION rings of its own; open another socket group there.`,
      );
    }

    const first = umem.takeFirstSocket();
    const fd = first ?? openXskSocket(sys, umem.netns);
    const owned: { unmap(): void }[] = [];
    try {
      if (rxSize !== 0) setRingSize(sys, fd, XdpSockopt.RX_RING, 'RX', rxSize);
      if (txSize !== 0) setRingSize(sys, fd, XdpSockopt.TX_RING, 'TX', txSize);
      const offsets = ringOffsets(sys, fd);
      const rx = rxSize === 0 ? undefined : XskConsumerRing.map(sys, fd, XdpRingPageOffset.RX, offsets.rx, rxSize, 'descriptor');
      if (rx !== undefined) owned.push(rx);
      const tx = txSize === 0 ? undefined : XskProducerRing.map(sys, fd, XdpRingPageOffset.TX, offsets.tx, txSize, 'descriptor');
      if (tx !== undefined) owned.push(tx);
      // The kernel takes receive frames from the FILL ring from the first frame on.
      if (first !== undefined) umem.refill();
      const address = new Uint8Array(SOCKADDR_XDP_SIZE);
      const view = new DataView(address.buffer);
      view.setUint16(0, AF_XDP, true);
      view.setUint16(2, first !== undefined ? XdpBindFlag.COPY | XdpBindFlag.USE_NEED_WAKEUP : XdpBindFlag.SHARED_UMEM, true);
      view.setUint32(4, ifindex, true);
      view.setUint32(8, queue, true);
      view.setUint32(12, first !== undefined ? 0 : umem.fd.raw, true);
      try {
        sys.bind(fd, address);
      } catch (error) {
        throw bindError(error, target, first === undefined);
      }
      if (first !== undefined) umem.setBinding({ ifindex, queue });
      return new XskSocket(umem, fd, ifindex, queue, first === undefined, rx, tx);
    } catch (error) {
      for (const ring of owned.reverse()) ring.unmap();
      // The UMEM's own fd stays the UMEM's to close.
      if (first === undefined) fd.close();
      throw error;
    }
  }

  get fd(): Fd {
    if (this.#closed) throw new XskError('XSK_CLOSED', `${this.toString()} is closed.`);
    return this.#fd;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Takes up to `max` received frames off the RX ring. Each is lent: give it back with
   * `umem.releaseFrame(frame.address)` or send it with `transmit`.
   */
  receive(max = 64): XskFrame[] {
    const rx = this.#rx();
    const count = rx.available(max);
    const frames: XskFrame[] = [];
    for (let i = 0; i < count; i++) {
      const address = rx.address(i);
      const length = rx.length(i);
      frames.push({ address, length, data: this.umem.frame(address, length) });
    }
    if (count > 0) rx.release(count);
    return frames;
  }

  /**
   * Puts the frame of `length` bytes at `address` on the TX ring (a frame lent by `receive`
   * or taken with `umem.allocFrame`); false when the ring is full, and the frame stays the
   * caller's. Call `kick` after a batch.
   */
  transmit(address: number, length: number): boolean {
    const tx = this.#tx();
    if (tx.free(1) === 0) return false;
    tx.setDescriptor(0, address, length);
    tx.submit(1);
    return true;
  }

  /**
   * Tells the kernel to send what the TX ring holds when it asked for a wakeup (in copy mode
   * it always does: each sendto transmits a batch of up to 32 frames), and reaps the UMEM's
   * completions on the way. Returns the frames still waiting on the TX ring.
   */
  kick(): number {
    kickTransmit(this.umem.sys, this.#fd, this.#tx(), { rounds: KICK_ATTEMPTS, afterEach: () => this.umem.reapCompletions(), label: this.toString() });
    this.umem.reapCompletions();
    return this.#tx().outstanding();
  }

  /** The kernel's drop and error counters for this socket (XDP_STATISTICS). */
  statistics(): XskStatistics {
    const bytes = new Uint8Array(XDP_STATISTICS_SIZE);
    this.umem.sys.getsockopt(this.fd, SOL_XDP, XdpSockopt.STATISTICS, bytes);
    const view = new DataView(bytes.buffer);
    const at = (i: number): bigint => view.getBigUint64(i * 8, true);
    return {
      rxDropped: at(0),
      rxInvalidDescriptors: at(1),
      txInvalidDescriptors: at(2),
      rxRingFull: at(3),
      rxFillRingEmpty: at(4),
      txRingEmpty: at(5),
    };
  }

  /**
   * Closes the socket and unmaps its rings. The first socket's fd is the UMEM's, which keeps
   * it open until the UMEM closes (the other sockets share the UMEM through it).
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.rx?.unmap();
    this.tx?.unmap();
    if (this.shared) this.#fd.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  toString(): string {
    return `AF_XDP socket on ifindex ${this.ifindex} queue ${this.queue}${this.#closed ? ' (closed)' : ` (${String(this.#fd)})`}`;
  }

  #rx(): XskConsumerRing {
    if (this.#closed) throw new XskError('XSK_CLOSED', `${this.toString()} is closed.`);
    if (this.rx === undefined) throw new XskError('XSK_INVALID_OPTION', `${this.toString()} has no RX ring.`);
    return this.rx;
  }

  #tx(): XskProducerRing {
    if (this.#closed) throw new XskError('XSK_CLOSED', `${this.toString()} is closed.`);
    if (this.tx === undefined) throw new XskError('XSK_INVALID_OPTION', `${this.toString()} has no TX ring.`);
    return this.tx;
  }
}

function bindError(error: unknown, target: string, shared: boolean): XskError {
  if (isSyscallError(error, 'EBUSY')) {
    return new XskError(
      'XSK_QUEUE_BUSY',
      `${target} already has an AF_XDP UMEM bound (another socket group or process owns it, or one just closed is still being torn down); a queue serves one UMEM, whose further sockets must share it.`,
      { cause: error },
    );
  }
  const reason = isSyscallError(error, 'EINVAL')
    ? shared
      ? 'the UMEM to share is not bound to that interface queue'
      : 'the interface has no such queue, or the socket lacks its rings'
    : isSyscallError(error, 'ENODEV')
      ? 'there is no such interface in the socket\'s network namespace'
      : isSyscallError(error, 'EOPNOTSUPP')
        ? 'the device does not support this AF_XDP mode'
        : (error as Error).message.replace(/\.$/, '');
  return new XskError('XSK_BIND_FAILED', `cannot bind an AF_XDP socket to ${target}: ${reason}.`, { cause: error });
}
