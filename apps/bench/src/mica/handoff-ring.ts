/**
 * A single-producer single-consumer ring of fixed-size slots in a SharedArrayBuffer: how a
 * MICA-style server's receiving thread hands a request for another partition to that
 * partition's home thread (MICA's own, application-level redirection). One thread pushes, one
 * pops; the indices are published with Atomics, so a slot's bytes are visible to the consumer
 * before the tail that covers them, and the producer never overwrites a slot the consumer has
 * not released. The sleeping and waking is the HandoffMesh's (a doorbell per thread).
 *
 * Layout: Int32 words [head, tail, highWater, pad], then `slots` slots of 4 length bytes plus
 * `slotBytes` bytes each.
 */
export class HandoffRing {
  static readonly HEADER_BYTES = 16;
  readonly slots: number;
  readonly slotBytes: number;
  readonly #indices: Int32Array;
  readonly #bytes: Uint8Array;
  readonly #lengths: DataView;

  /** Bytes of shared memory a ring of `slots` slots of `slotBytes` needs. */
  static bytesFor(slots: number, slotBytes: number): number {
    return HandoffRing.HEADER_BYTES + slots * (4 + slotBytes);
  }

  /** A view of the ring at `offset` in `buffer` (every thread makes its own over the same memory). */
  constructor(buffer: SharedArrayBuffer, offset: number, slots: number, slotBytes: number) {
    if (!Number.isInteger(slots) || slots < 2 || (slots & (slots - 1)) !== 0) throw new RangeError(`a handoff ring needs a power of two of at least 2 slots, not ${slots}.`);
    if (!Number.isInteger(slotBytes) || slotBytes < 1) throw new RangeError(`a handoff ring's slots hold at least 1 byte, not ${slotBytes}.`);
    if (offset % 8 !== 0 || offset + HandoffRing.bytesFor(slots, slotBytes) > buffer.byteLength) {
      throw new RangeError(`a handoff ring of ${slots} x ${slotBytes} bytes does not fit at offset ${offset} of ${buffer.byteLength} bytes.`);
    }
    this.slots = slots;
    this.slotBytes = slotBytes;
    this.#indices = new Int32Array(buffer, offset, 4);
    this.#bytes = new Uint8Array(buffer, offset + HandoffRing.HEADER_BYTES, slots * (4 + slotBytes));
    this.#lengths = new DataView(buffer, offset + HandoffRing.HEADER_BYTES, slots * (4 + slotBytes));
  }

  /** Requests waiting in the ring. */
  get depth(): number {
    return (Atomics.load(this.#indices, 1) - Atomics.load(this.#indices, 0)) | 0;
  }

  /** The deepest the ring has been (kept by the producer). */
  get highWater(): number {
    return Atomics.load(this.#indices, 2);
  }

  /** Producer: copies `bytes` into the next slot; false (nothing done) when the ring is full. */
  push(bytes: Uint8Array): boolean {
    if (bytes.length > this.slotBytes) throw new RangeError(`a request of ${bytes.length} bytes does not fit a handoff slot of ${this.slotBytes}.`);
    const tail = Atomics.load(this.#indices, 1);
    const depth = (tail - Atomics.load(this.#indices, 0)) | 0;
    if (depth >= this.slots) return false;
    const slot = (tail & (this.slots - 1)) * (4 + this.slotBytes);
    this.#lengths.setUint32(slot, bytes.length, true);
    this.#bytes.set(bytes, slot + 4);
    // Published after the bytes: Atomics.store is sequentially consistent, so the consumer that sees this tail sees them.
    Atomics.store(this.#indices, 1, (tail + 1) | 0);
    if (depth + 1 > Atomics.load(this.#indices, 2)) Atomics.store(this.#indices, 2, depth + 1);
    return true;
  }

  /** Consumer: copies the oldest request into `into` and releases its slot; its length, or -1 when the ring is empty. */
  pop(into: Uint8Array): number {
    const head = Atomics.load(this.#indices, 0);
    if (head === Atomics.load(this.#indices, 1)) return -1;
    const slot = (head & (this.slots - 1)) * (4 + this.slotBytes);
    const length = this.#lengths.getUint32(slot, true);
    if (length > into.length) throw new RangeError(`a handed-off request of ${length} bytes does not fit the ${into.length}-byte buffer.`);
    into.set(this.#bytes.subarray(slot + 4, slot + 4 + length));
    Atomics.store(this.#indices, 0, (head + 1) | 0);
    return length;
  }
}
