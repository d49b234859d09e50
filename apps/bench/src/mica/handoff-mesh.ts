import { HandoffRing } from './handoff-ring.js';

/** How a mesh is laid out; plain data, so it crosses to worker threads with its buffer. */
export interface HandoffMeshLayout {
  readonly threads: number;
  readonly slots: number;
  readonly slotBytes: number;
  readonly buffer: SharedArrayBuffer;
}

/**
 * The handoff paths among a MICA-style server's N threads: a HandoffRing from every thread to
 * every other (so each ring has one producer and one consumer, and needs no lock), and a
 * doorbell word per thread that producers bump and notify, so a home thread with nothing to
 * do sleeps in Atomics.wait instead of spinning on N-1 rings.
 *
 * Layout: N Int32 doorbells (padded to 8 bytes), then the N x N rings (the diagonal unused).
 */
export class HandoffMesh {
  readonly threads: number;
  readonly layout: HandoffMeshLayout;
  readonly #doorbells: Int32Array;
  /** rings[from][to]; undefined on the diagonal. */
  readonly #rings: (HandoffRing | undefined)[][];

  /** A new mesh for `threads` threads, `slots` requests of at most `slotBytes` bytes per ring. */
  static create(threads: number, slots: number, slotBytes: number): HandoffMesh {
    if (!Number.isInteger(threads) || threads < 1) throw new RangeError(`a handoff mesh needs at least one thread, not ${threads}.`);
    const ringBytes = align8(HandoffRing.bytesFor(slots, slotBytes));
    const buffer = new SharedArrayBuffer(align8(threads * 4) + threads * threads * ringBytes);
    return new HandoffMesh({ threads, slots, slotBytes, buffer });
  }

  /** This thread's view of a mesh another thread created. */
  constructor(layout: HandoffMeshLayout) {
    const { threads, slots, slotBytes, buffer } = layout;
    this.threads = threads;
    this.layout = layout;
    this.#doorbells = new Int32Array(buffer, 0, threads);
    const ringBytes = align8(HandoffRing.bytesFor(slots, slotBytes));
    const base = align8(threads * 4);
    this.#rings = Array.from({ length: threads }, (_, from) =>
      Array.from({ length: threads }, (_, to) => (from === to ? undefined : new HandoffRing(buffer, base + (from * threads + to) * ringBytes, slots, slotBytes))),
    );
  }

  /** Thread `from` hands `request` to thread `to` and wakes it; false when that ring is full (the caller drops or retries). */
  send(from: number, to: number, request: Uint8Array): boolean {
    if (!this.#ring(from, to).push(request)) return false;
    Atomics.add(this.#doorbells, to, 1);
    Atomics.notify(this.#doorbells, to, 1);
    return true;
  }

  /**
   * Thread `to` takes every request waiting for it, in each sender's order, calling `serve`
   * with the bytes (valid during the call) and the sender; answers how many it served.
   */
  receive(to: number, scratch: Uint8Array, serve: (request: Uint8Array, from: number) => void): number {
    let served = 0;
    for (let from = 0; from < this.threads; from++) {
      if (from === to) continue;
      const ring = this.#ring(from, to);
      for (let length = ring.pop(scratch); length >= 0; length = ring.pop(scratch)) {
        serve(scratch.subarray(0, length), from);
        served++;
      }
    }
    return served;
  }

  /** The doorbell of thread `to` as last seen, for `wait`: read it before looking at the rings. */
  doorbell(to: number): number {
    return Atomics.load(this.#doorbells, to);
  }

  /** Sleeps until a sender rings thread `to`'s doorbell after it read `seen`, or `timeoutMs` passes. */
  wait(to: number, seen: number, timeoutMs: number): void {
    Atomics.wait(this.#doorbells, to, seen, timeoutMs);
  }

  /** Requests waiting for thread `to`, over all senders. */
  depth(to: number): number {
    let depth = 0;
    for (let from = 0; from < this.threads; from++) if (from !== to) depth += this.#ring(from, to).depth;
    return depth;
  }

  /** The deepest any ring into thread `to` has been. */
  highWater(to: number): number {
    let high = 0;
    for (let from = 0; from < this.threads; from++) if (from !== to) high = Math.max(high, this.#ring(from, to).highWater);
    return high;
  }

  #ring(from: number, to: number): HandoffRing {
    const ring = this.#rings[from]?.[to];
    if (ring === undefined) throw new RangeError(`there is no handoff path from thread ${from} to thread ${to} among ${this.threads}.`);
    return ring;
  }
}

const align8 = (n: number): number => Math.ceil(n / 8) * 8;
