import type { Fd } from '../fd.js';
import type { Syscalls } from '../syscalls/syscalls.js';
import { XDP_ADDR_SIZE, XDP_DESC_SIZE, XDP_RING_NEED_WAKEUP } from './xsk-constants.js';
import { XskMapping } from './xsk-mapping.js';

/** Byte offsets inside a ring's mapping, as XDP_MMAP_OFFSETS reports them (`struct xdp_ring_offset`). */
export interface XskRingOffsets {
  readonly producer: number;
  readonly consumer: number;
  readonly desc: number;
  readonly flags: number;
}

/** What a ring carries: bare UMEM addresses (FILL, COMPLETION) or descriptors (RX, TX). */
export type XskRingEntry = 'address' | 'descriptor';

/*
 * Memory ordering. The kernel's side (net/xdp/xsk_queue.h) pairs smp_load_acquire and
 * smp_store_release on the producer and consumer words. Here every access to those words is
 * an Atomics operation, which V8 emits as a sequentially consistent instruction (xchg / ldar,
 * stlr) and never moves plain typed-array accesses across:
 * - a producer writes its entries, then Atomics.store(producer): the kernel sees the entries
 *   before the index that publishes them;
 * - a consumer does Atomics.load(producer) before reading entries, and Atomics.store(consumer)
 *   only after it has read them, so the kernel never overwrites an entry still being read.
 * Indices are free-running u32 counters; `>>> 0` keeps the arithmetic modulo 2^32.
 */
abstract class XskRing {
  readonly size: number;
  protected readonly mask: number;
  protected readonly words: Uint32Array;
  protected readonly producerWord: number;
  protected readonly consumerWord: number;
  protected readonly flagsWord: number;
  /** Word index of entry 0 and words per entry. */
  protected readonly base: number;
  protected readonly stride: number;
  readonly #mapping: XskMapping;

  protected constructor(mapping: XskMapping, offsets: XskRingOffsets, size: number, entry: XskRingEntry) {
    this.#mapping = mapping;
    this.size = size;
    this.mask = size - 1;
    this.words = new Uint32Array(mapping.buffer);
    this.producerWord = offsets.producer / 4;
    this.consumerWord = offsets.consumer / 4;
    this.flagsWord = offsets.flags / 4;
    this.base = offsets.desc / 4;
    this.stride = (entry === 'address' ? XDP_ADDR_SIZE : XDP_DESC_SIZE) / 4;
  }

  /** Maps the ring of `socket` at page offset `pageOffset`, large enough for `size` entries. */
  protected static mapRing(sys: Syscalls, socket: Fd, pageOffset: number, offsets: XskRingOffsets, size: number, entry: XskRingEntry): XskMapping {
    const length = offsets.desc + size * (entry === 'address' ? XDP_ADDR_SIZE : XDP_DESC_SIZE);
    return XskMapping.ring(sys, socket, pageOffset, length);
  }

  /** Whether the kernel asked for a wakeup syscall before it makes progress on this ring. */
  needsWakeup(): boolean {
    return (Atomics.load(this.words, this.flagsWord) & XDP_RING_NEED_WAKEUP) !== 0;
  }

  /** Unmaps the ring (crash-safe; see XskMapping). */
  unmap(): void {
    this.#mapping.release();
  }
}

/** A ring this process produces into and the kernel consumes: FILL and TX. */
export class XskProducerRing extends XskRing {
  #producer: number;
  /** The kernel's consumer index plus the ring size, as last read: the first index not free. */
  #limit: number;

  private constructor(mapping: XskMapping, offsets: XskRingOffsets, size: number, entry: XskRingEntry) {
    super(mapping, offsets, size, entry);
    this.#producer = Atomics.load(this.words, this.producerWord);
    this.#limit = (Atomics.load(this.words, this.consumerWord) + size) >>> 0;
  }

  static map(sys: Syscalls, socket: Fd, pageOffset: number, offsets: XskRingOffsets, size: number, entry: XskRingEntry): XskProducerRing {
    return new XskProducerRing(XskRing.mapRing(sys, socket, pageOffset, offsets, size, entry), offsets, size, entry);
  }

  /** Free entries, at most `wanted`; re-reads the kernel's consumer only when the cache has too few. */
  free(wanted: number): number {
    let free = (this.#limit - this.#producer) >>> 0;
    if (free < wanted) {
      this.#limit = (Atomics.load(this.words, this.consumerWord) + this.size) >>> 0;
      free = (this.#limit - this.#producer) >>> 0;
    }
    return Math.min(free, wanted);
  }

  /** Entries produced that the kernel has not consumed yet. */
  outstanding(): number {
    return (this.#producer - Atomics.load(this.words, this.consumerWord)) >>> 0;
  }

  /** Writes address entry `i` past the producer (FILL); publish with `submit`. */
  setAddress(i: number, address: number): void {
    const at = this.base + (((this.#producer + i) & this.mask) * this.stride);
    this.words[at] = address >>> 0;
    this.words[at + 1] = Math.floor(address / 0x1_0000_0000);
  }

  /** Writes descriptor entry `i` past the producer (TX); publish with `submit`. */
  setDescriptor(i: number, address: number, length: number): void {
    const at = this.base + (((this.#producer + i) & this.mask) * this.stride);
    this.words[at] = address >>> 0;
    this.words[at + 1] = Math.floor(address / 0x1_0000_0000);
    this.words[at + 2] = length;
    this.words[at + 3] = 0;
  }

  /** Publishes the next `count` entries written (a release store of the producer index). */
  submit(count: number): void {
    this.#producer = (this.#producer + count) >>> 0;
    Atomics.store(this.words, this.producerWord, this.#producer);
  }
}

/** A ring the kernel produces into and this process consumes: RX and COMPLETION. */
export class XskConsumerRing extends XskRing {
  #consumer: number;
  /** The kernel's producer index as last read. */
  #producer: number;

  private constructor(mapping: XskMapping, offsets: XskRingOffsets, size: number, entry: XskRingEntry) {
    super(mapping, offsets, size, entry);
    this.#consumer = Atomics.load(this.words, this.consumerWord);
    this.#producer = Atomics.load(this.words, this.producerWord);
  }

  static map(sys: Syscalls, socket: Fd, pageOffset: number, offsets: XskRingOffsets, size: number, entry: XskRingEntry): XskConsumerRing {
    return new XskConsumerRing(XskRing.mapRing(sys, socket, pageOffset, offsets, size, entry), offsets, size, entry);
  }

  /** Entries ready to read, at most `max`; re-reads the kernel's producer when the cache is empty. */
  available(max: number): number {
    let ready = (this.#producer - this.#consumer) >>> 0;
    if (ready === 0) {
      this.#producer = Atomics.load(this.words, this.producerWord);
      ready = (this.#producer - this.#consumer) >>> 0;
    }
    return Math.min(ready, max);
  }

  /** The address of entry `i` past the consumer (an address entry, or a descriptor's address). */
  address(i: number): number {
    const at = this.base + (((this.#consumer + i) & this.mask) * this.stride);
    return (this.words[at] as number) + (this.words[at + 1] as number) * 0x1_0000_0000;
  }

  /** The length of descriptor entry `i` past the consumer. */
  length(i: number): number {
    return this.words[this.base + (((this.#consumer + i) & this.mask) * this.stride) + 2] as number;
  }

  /** Hands the next `count` entries back to the kernel (a release store of the consumer index). */
  release(count: number): void {
    this.#consumer = (this.#consumer + count) >>> 0;
    Atomics.store(this.words, this.consumerWord, this.#consumer);
  }
}
