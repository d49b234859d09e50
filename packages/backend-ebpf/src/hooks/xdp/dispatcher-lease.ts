import { crashPoint } from '@syrup/core';
import type { ProgArray } from '../../maps/system/prog-array.js';
import type { Program } from '../../programs/program.js';
import { XdpHookError } from './xdp-hook-error.js';
import type { RouteTable } from './route-table.js';

/** What a lease works on: the dispatcher's policy slots and routes, and its count of holders. */
export interface LeaseHolder {
  readonly ifname: string;
  readonly policies: ProgArray;
  readonly routeTable: RouteTable;
  /** The lease of `port` no longer holds the dispatcher (the last one to go lets it idle). */
  leave(port: number): void;
}

/**
 * One tenant's place in a dispatcher: its port's route and its policy slot. It ends exactly
 * once, in one of core's two ways (see `Attachment`): `close()` takes the policy out of the
 * kernel, `release()` only lets go of this process's hold and leaves it running.
 */
export class DispatcherLease<D extends LeaseHolder = LeaseHolder> {
  readonly dispatcher: D;
  readonly port: number;
  readonly slot: number;
  /** The RX queue the route serves, or undefined for every queue. */
  readonly #queue: number | undefined;
  /** Whether the kernel routes the port to the slot (from the first `install`, or restored so). */
  #routed: boolean;
  #ended = false;

  constructor(dispatcher: D, port: number, slot: number, queue: number | undefined, routed: boolean) {
    this.dispatcher = dispatcher;
    this.port = port;
    this.slot = slot;
    this.#queue = queue;
    this.#routed = routed;
  }

  /**
   * Puts `program` in the slot atomically: each frame runs the old policy or the new one. The
   * first install then routes the port, so no frame reaches an empty slot.
   */
  install(program: Program): void {
    if (this.#ended) throw new XdpHookError('XDP_CLOSED', `the lease of port ${this.port} on '${this.dispatcher.ifname}' was released.`);
    this.dispatcher.policies.set(this.slot, program);
    if (!this.#routed) {
      crashPoint('xdp-after-install');
      this.dispatcher.routeTable.route(this.port, this.slot, this.#queue);
      crashPoint('xdp-after-route');
      this.#routed = true;
    }
  }

  /** Unroutes the port, then empties the slot, and gives up this lease's hold on the dispatcher. Harmless twice. */
  close(): void {
    if (this.#ended) return;
    this.#ended = true;
    try {
      if (this.#routed) this.dispatcher.routeTable.unroute(this.port);
      this.dispatcher.policies.delete(this.slot);
    } finally {
      this.dispatcher.leave(this.port);
    }
  }

  /**
   * Gives up this lease's hold without touching the kernel: the port stays routed to the slot
   * and the slot keeps its program (a persisted deployment whose process stops). When no lease
   * is left the dispatcher drops its fds and, being pinned, stays attached. Harmless twice,
   * and after `close()`.
   */
  release(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.dispatcher.leave(this.port);
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
