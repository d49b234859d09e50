import { ReadinessPoller, type ReadinessWatch } from '../readiness/readiness-poller.js';
import { XskError } from './xsk-error.js';
import type { XskSocket } from './xsk-socket.js';

/**
 * What a server does with one received frame (`socket` is its index in the server's list):
 * return a length to send the frame's first `length` bytes back out of the same socket (the
 * handler rewrote it in place), or undefined to drop it. The bytes are valid only during the
 * call.
 */
export type XskFrameHandler = (frame: Uint8Array, socket: number) => number | undefined;

export interface XskServerOptions {
  /** Frames taken off an RX ring per batch. Default 64. */
  readonly batch?: number;
  /** Batches per wakeup before yielding to the event loop. Default 8. */
  readonly batchesPerWakeup?: number;
  /** Called when the handler throws or waiting fails; the frame is dropped and serving goes on. */
  readonly onError?: (error: unknown) => void;
}

/** Counters of one socket of a server. */
export interface XskServerCounters {
  received: number;
  transmitted: number;
  /** Replies dropped because the TX ring was full. */
  txRingFull: number;
}

/**
 * A receive loop over AF_XDP sockets that share a UMEM: it sleeps until a socket's RX ring
 * has frames (epoll in the poller's worker thread, so no spinning and a free event loop),
 * hands each frame to the handler, transmits the replies, keeps the FILL ring stocked and
 * reaps completions. With a handler that turns UDP frames around it is a UDP server that
 * never enters the kernel's network stack.
 */
export class XskServer implements Disposable {
  readonly sockets: readonly XskSocket[];
  readonly counters: readonly XskServerCounters[];
  readonly #handler: XskFrameHandler;
  readonly #batch: number;
  readonly #batches: number;
  readonly #onError: (error: unknown) => void;
  readonly #watches: ReadinessWatch[] = [];
  #retry: NodeJS.Timeout | undefined;
  #closed = false;
  #started = false;

  constructor(sockets: readonly XskSocket[], handler: XskFrameHandler, options: XskServerOptions = {}) {
    if (sockets.length === 0) throw new XskError('XSK_INVALID_OPTION', 'an AF_XDP server needs at least one socket.');
    const umem = sockets[0]?.umem;
    if (sockets.some((s) => s.umem !== umem)) throw new XskError('XSK_INVALID_OPTION', 'the sockets of one AF_XDP server must share one UMEM.');
    this.sockets = sockets;
    this.counters = sockets.map(() => ({ received: 0, transmitted: 0, txRingFull: 0 }));
    this.#handler = handler;
    this.#batch = options.batch ?? 64;
    this.#batches = options.batchesPerWakeup ?? 8;
    this.#onError = options.onError ?? (() => {});
  }

  /** Starts waiting for frames on every socket. */
  start(): this {
    if (this.#started) return this;
    this.#started = true;
    const socket0 = this.sockets[0] as XskSocket;
    const poller = ReadinessPoller.of(socket0.umem.sys);
    this.sockets.forEach((socket, index) => {
      const watch = poller.watch(socket.fd, (error) => {
        // The sockets' owner may close them before stopping the server: nothing to serve then.
        if (this.#closed || socket.closed) return;
        if (error !== undefined) {
          this.#onError(error);
          return;
        }
        this.#serve(index);
        watch.arm();
      });
      this.#watches.push(watch);
      watch.arm();
    });
    return this;
  }

  /** Frames received over all sockets. */
  get received(): number {
    return this.counters.reduce((n, c) => n + c.received, 0);
  }

  /** Serves what socket `index` has received, in batches; the re-armed watch reports any rest at once. */
  #serve(index: number): void {
    const socket = this.sockets[index] as XskSocket;
    const counters = this.counters[index] as XskServerCounters;
    const { umem } = socket;
    for (let round = 0; round < this.#batches; round++) {
      const frames = socket.receive(this.#batch);
      let sent = 0;
      for (const frame of frames) {
        counters.received++;
        let reply: number | undefined;
        try {
          reply = this.#handler(frame.data, index);
        } catch (error) {
          this.#onError(error);
          reply = undefined;
        }
        if (reply !== undefined && socket.tx !== undefined && socket.transmit(frame.address, reply)) {
          sent++;
          counters.transmitted++;
        } else {
          if (reply !== undefined) counters.txRingFull++;
          umem.releaseFrame(frame.address);
        }
      }
      umem.refill();
      if (sent > 0) this.#kick(socket);
      if (frames.length < this.#batch) break;
    }
  }

  #kick(socket: XskSocket): void {
    let waiting: number;
    try {
      waiting = socket.kick();
    } catch (error) {
      this.#onError(error);
      return;
    }
    socket.umem.refill();
    // The kernel could not take everything now (device queue full): try again shortly.
    if (waiting > 0 && this.#retry === undefined && !this.#closed) {
      this.#retry = setTimeout(() => {
        this.#retry = undefined;
        if (!this.#closed && !socket.closed) this.#kick(socket);
      }, 1);
    }
  }

  /** Stops waiting; the sockets stay open (their owner closes them). Calling it again does nothing. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#retry !== undefined) clearTimeout(this.#retry);
    for (const watch of this.#watches.splice(0)) watch.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
