import { MapType } from '../../syscalls/bpf-constants.js';
import { nativeSyscalls } from '../../syscalls/native-syscalls.js';
import { KernelMap } from '../kernel-map.js';
import { MapMemory } from '../map-memory.js';
import { ReadinessPoller, type ReadinessWatch } from '../../readiness/readiness-poller.js';
import { SystemMapError } from './system-map-error.js';
import type { SystemMapOptions } from './system-map.js';

/** Record header bits (BPF_RINGBUF_BUSY_BIT, BPF_RINGBUF_DISCARD_BIT) and size. */
const BUSY = 0x8000_0000;
const DISCARD = 0x4000_0000;
const LENGTH_MASK = 0x3fff_ffff;
const HEADER_SIZE = 8;

export interface RingBufferCreateOptions {
  /** Bytes of record data: a power of two and a multiple of the page size. */
  readonly size: number;
  readonly name?: string;
}

/** A record callback; `data` points into the shared ring and is valid only until the callback returns. */
export type RingBufferRecordHandler = (data: Uint8Array) => void;

export interface RingBufferSubscription {
  close(): void;
}

/**
 * BPF_MAP_TYPE_RINGBUF with a consumer in TypeScript (libbpf's ringbuf.c, without C): the
 * consumer page is mapped read-write, the producer page and the data read-only, the data
 * twice in a row so a record that wraps around the end still reads as one contiguous slice.
 *
 * Records are parsed in place: an 8-byte header (length, BUSY while the producer is still
 * writing, DISCARD for a dropped reservation), the data, padding to 8 bytes. Positions are
 * read and published with Atomics, the producer position with acquire and the consumer
 * position with release semantics, as the kernel's smp_load_acquire/smp_store_release expect.
 * Positions are handled as JavaScript numbers, exact up to 2^53 bytes consumed (8 PiB).
 *
 * Waiting for records neither blocks the event loop nor spins: the map fd is pollable, and a
 * `ReadinessPoller` thread waits in epoll_wait and wakes this thread when it becomes readable.
 */
export class RingBuffer implements Disposable {
  readonly kernelMap: KernelMap;
  /** Bytes of record data. */
  readonly size: number;
  readonly #consumer: MapMemory;
  readonly #producer: MapMemory;
  readonly #consumerPosition: BigUint64Array;
  readonly #producerPosition: BigUint64Array;
  readonly #data: Uint8Array;
  readonly #words: Uint32Array;
  readonly #mask: number;
  #watch: ReadinessWatch | undefined;
  #waiters: { resolve: () => void; reject: (error: Error) => void }[] = [];
  #subscriber: RingBufferRecordHandler | undefined;
  #closed = false;

  private constructor(map: KernelMap) {
    this.kernelMap = map;
    this.size = map.spec.maxEntries;
    this.#mask = this.size - 1;
    const page = map.sys.pageSize();
    this.#consumer = MapMemory.region(map, { offset: 0, length: page, writable: true });
    try {
      this.#producer = MapMemory.region(map, { offset: page, length: page + 2 * this.size, writable: false });
    } catch (error) {
      this.#consumer.release();
      throw error;
    }
    this.#consumerPosition = new BigUint64Array(this.#consumer.buffer, 0, 1);
    this.#producerPosition = new BigUint64Array(this.#producer.buffer, 0, 1);
    this.#data = new Uint8Array(this.#producer.buffer, page, 2 * this.size);
    this.#words = new Uint32Array(this.#producer.buffer, page, (2 * this.size) / 4);
  }

  /** Creates a ring buffer map and maps it. */
  static create(options: RingBufferCreateOptions, map: SystemMapOptions = {}): RingBuffer {
    const sys = map.sys ?? nativeSyscalls();
    const { size } = options;
    const page = sys.pageSize();
    if (!Number.isInteger(size) || size < page || (size & (size - 1)) !== 0) {
      throw new SystemMapError('SYSTEM_MAP_SPEC_INVALID', `a ring buffer's size must be a power of two of at least one page (${page} bytes), not ${size}.`);
    }
    const kernelMap = KernelMap.create(
      { type: MapType.RINGBUF, keySize: 0, valueSize: 0, maxEntries: size, ...(options.name === undefined ? {} : { name: options.name }) },
      { sys },
    );
    return RingBuffer.fromKernelMap(kernelMap);
  }

  /** Takes ownership of a ring buffer map and maps it; closes the map if it is not one. */
  static fromKernelMap(map: KernelMap): RingBuffer {
    if (map.spec.type !== MapType.RINGBUF) {
      map.close();
      throw new SystemMapError('SYSTEM_MAP_INCOMPATIBLE', `kernel map type ${map.spec.type} is not a ring buffer.`);
    }
    try {
      return new RingBuffer(map);
    } catch (error) {
      map.close();
      throw error;
    }
  }

  static open(path: string, options: SystemMapOptions = {}): RingBuffer {
    return RingBuffer.fromKernelMap(KernelMap.open(path, options.sys === undefined ? {} : { sys: options.sys }));
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** True when records (or reservations still being written) are waiting. */
  available(): boolean {
    this.#checkOpen();
    return Atomics.load(this.#consumerPosition, 0) !== Atomics.load(this.#producerPosition, 0);
  }

  /**
   * Hands every committed record to `onRecord` (up to `max`) and frees its space for the
   * producer; returns how many were delivered. Never blocks: it stops at the first record
   * still being written. A record is freed only after its handler returns, so a handler
   * that throws sees the same record again on the next drain.
   */
  drain(onRecord: RingBufferRecordHandler, max = Number.POSITIVE_INFINITY): number {
    this.#checkOpen();
    const consumer = this.#consumerPosition;
    const words = this.#words;
    const data = this.#data;
    const mask = this.#mask;
    let position = Number(Atomics.load(consumer, 0));
    let delivered = 0;
    for (;;) {
      const producer = Number(Atomics.load(this.#producerPosition, 0));
      if (position >= producer) break;
      let progressed = false;
      while (position < producer && delivered < max) {
        const offset = position & mask;
        const header = Atomics.load(words, offset >>> 2);
        if ((header & BUSY) !== 0) break;
        const length = header & LENGTH_MASK;
        if ((header & DISCARD) === 0) {
          onRecord(data.subarray(offset + HEADER_SIZE, offset + HEADER_SIZE + length));
          delivered++;
        }
        position += (length + HEADER_SIZE + 7) & ~7;
        // Published per record, as libbpf does, so the producer gets space back as early as possible.
        Atomics.store(consumer, 0, BigInt(position));
        progressed = true;
      }
      if (!progressed || delivered >= max) break;
    }
    return delivered;
  }

  /** Resolves when a record may be read (at once if one is waiting); rejects when the ring buffer closes. */
  wait(): Promise<void> {
    this.#checkOpen();
    if (this.available()) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.#waiters.push({ resolve, reject });
      this.#arm();
    });
  }

  /**
   * Delivers records as they arrive: drains now, then after every wakeup, until the
   * subscription or the ring buffer is closed. One subscriber at a time. Like a listening
   * socket, an open subscription keeps the process alive.
   */
  subscribe(onRecord: RingBufferRecordHandler): RingBufferSubscription {
    this.#checkOpen();
    if (this.#subscriber !== undefined) {
      throw new SystemMapError('SYSTEM_MAP_INCOMPATIBLE', 'this ring buffer already has a subscriber; records can be consumed only once.');
    }
    this.#subscriber = onRecord;
    this.drain(onRecord);
    this.#arm();
    return {
      close: () => {
        if (this.#subscriber === onRecord) this.#subscriber = undefined;
      },
    };
  }

  /** Pins the map at `path` in bpffs. */
  pin(path: string): void {
    this.kernelMap.pin(path);
  }

  /** Stops waiting, rejects pending waits, unmaps the ring and closes the map. Harmless twice. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#watch?.close();
    this.#watch = undefined;
    this.#subscriber = undefined;
    const error = new SystemMapError('SYSTEM_MAP_CLOSED', 'the ring buffer was closed while waiting for records.');
    for (const waiter of this.#waiters.splice(0)) waiter.reject(error);
    this.#producer.release();
    this.#consumer.release();
    this.kernelMap.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  #arm(): void {
    this.#watch ??= ReadinessPoller.of(this.kernelMap.sys).watch(this.kernelMap.fd, (error) => this.#ready(error));
    this.#watch.arm();
  }

  #ready(error?: Error): void {
    if (this.#closed) return;
    if (error !== undefined) {
      this.#watch = undefined;
      for (const waiter of this.#waiters.splice(0)) waiter.reject(error);
      return;
    }
    for (const waiter of this.#waiters.splice(0)) waiter.resolve();
    const subscriber = this.#subscriber;
    if (subscriber !== undefined) {
      try {
        this.drain(subscriber);
      } finally {
        // Re-armed even when the handler threw (the error still reaches the caller's loop), so
        // the subscription never stalls; it may have closed the ring buffer or unsubscribed.
        if (!this.#closed && this.#subscriber !== undefined) this.#arm();
      }
    }
  }

  #checkOpen(): void {
    if (this.#closed) throw new SystemMapError('SYSTEM_MAP_CLOSED', 'the ring buffer is closed.');
  }
}
