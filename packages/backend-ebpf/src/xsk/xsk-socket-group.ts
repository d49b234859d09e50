import { setTimeout as sleep } from 'node:timers/promises';
import { interfaceIndex } from '../links/interface-index.js';
import { inNetworkNamespace } from '../links/network-namespace.js';
import { networkNamespaceIdentity } from '../links/network-namespace-identity.js';
import { nativeSyscalls } from '../syscalls/native-syscalls.js';
import { XskError } from './xsk-error.js';
import { XskSocket } from './xsk-socket.js';
import { XskUmem, type XskUmemOptions } from './xsk-umem.js';

export interface XskSocketGroupOptions extends XskUmemOptions {
  /** The interface, by name in `netns`... */
  readonly ifname?: string;
  /** ...or by index there. */
  readonly ifindex?: number;
  /** The RX queue every socket binds to. Default 0. */
  readonly queue?: number;
  /** Sockets sharing the UMEM. */
  readonly count: number;
  readonly rxRingSize?: number;
  readonly txRingSize?: number;
  /**
   * How long to keep retrying when the queue is busy only because a UMEM this process closed
   * there is still being torn down (the kernel releases it from a work queue after an RCU
   * grace period). Default 2000 ms. A queue busy for any other reason is refused at once.
   */
  readonly teardownWaitMs?: number;
}

/** When this process last closed a bound UMEM, by namespace, ifindex and queue. */
const recentlyReleased = new Map<string, number>();

/**
 * N AF_XDP sockets on one interface queue sharing one UMEM (XDP_SHARED_UMEM): the executors
 * of the XDP hooks. Socket 0 owns the UMEM and its FILL/COMPLETION rings; every socket has
 * its own RX and TX rings. A queue takes one UMEM only, so a second group on the same queue
 * is refused (`XSK_QUEUE_BUSY`), whoever owns the first. Closing the group closes every
 * socket, then the UMEM.
 */
export class XskSocketGroup implements Disposable {
  readonly umem: XskUmem;
  readonly sockets: readonly XskSocket[];
  readonly ifindex: number;
  readonly queue: number;
  readonly netns: string | undefined;
  #closed = false;

  private constructor(umem: XskUmem, sockets: readonly XskSocket[], netns: string | undefined) {
    this.umem = umem;
    this.sockets = sockets;
    this.ifindex = sockets[0]?.ifindex ?? 0;
    this.queue = sockets[0]?.queue ?? 0;
    this.netns = netns;
  }

  /** Creates the UMEM and binds `count` sockets; waits out this process's own recent teardown of the queue. */
  static async open(options: XskSocketGroupOptions): Promise<XskSocketGroup> {
    if (!Number.isInteger(options.count) || options.count < 1) {
      throw new XskError('XSK_INVALID_OPTION', `an AF_XDP socket group needs at least one socket, not ${String(options.count)}.`);
    }
    const sys = options.sys ?? nativeSyscalls();
    const ifindex =
      options.ifindex ??
      (options.ifname === undefined
        ? undefined
        : options.netns === undefined
          ? interfaceIndex(options.ifname, { sys })
          : inNetworkNamespace(options.netns, () => interfaceIndex(options.ifname as string, { sys }), { sys }));
    if (ifindex === undefined) throw new XskError('XSK_INVALID_OPTION', 'an AF_XDP socket group needs an interface: ifname or ifindex.');
    const queue = options.queue ?? 0;
    const key = queueKey(options.netns, ifindex, queue);
    const waitMs = options.teardownWaitMs ?? 2000;
    for (;;) {
      try {
        return XskSocketGroup.#openNow({ ...options, sys, ifindex, queue }, key);
      } catch (error) {
        const released = recentlyReleased.get(key);
        if (!(error instanceof XskError && error.code === 'XSK_QUEUE_BUSY') || released === undefined || Date.now() - released > waitMs) throw error;
        await sleep(10);
      }
    }
  }

  static #openNow(options: XskSocketGroupOptions & { ifindex: number; queue: number }, key: string): XskSocketGroup {
    const umem = XskUmem.create(options);
    const sockets: XskSocket[] = [];
    try {
      for (let i = 0; i < options.count; i++) {
        sockets.push(
          XskSocket.bind(umem, {
            ifindex: options.ifindex,
            queue: options.queue,
            ...(options.rxRingSize === undefined ? {} : { rxRingSize: options.rxRingSize }),
            ...(options.txRingSize === undefined ? {} : { txRingSize: options.txRingSize }),
          }),
        );
      }
    } catch (error) {
      for (const socket of sockets.reverse()) socket.close();
      umem.close();
      // A failed group may have bound its first socket: its teardown is deferred as well.
      if (sockets.length > 0) recentlyReleased.set(key, Date.now());
      throw error;
    }
    umem.onClose(() => recentlyReleased.set(key, Date.now()));
    return new XskSocketGroup(umem, sockets, options.netns);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Closes every socket, then the UMEM; calling it again does nothing. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const socket of [...this.sockets].reverse()) socket.close();
    this.umem.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  toString(): string {
    return `${this.sockets.length} AF_XDP sockets on ifindex ${this.ifindex} queue ${this.queue}`;
  }
}

function queueKey(netns: string | undefined, ifindex: number, queue: number): string {
  return `${networkNamespaceIdentity(netns)}/${ifindex}/${queue}`;
}
