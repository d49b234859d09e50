// How a program's loads reach the policy's bytes: set up by the prologue (frame.ts) and read by
// the load lowering (lower-load.ts); in a file of its own so neither imports the other for it.

/**
 * How the policy's readable bytes (a UDP payload, or a raw frame) are reached at a hook. All
 * slots are negative offsets from r10 that the prologue filled.
 */
export interface RegionAccess {
  /**
   * `direct`: only packet memory up to data_end is readable (XDP). `direct-or-helper`: reads
   * past the linear part fall back to `bpf_skb_load_bytes` (socket-select, where data_end is
   * only the skb's linear head).
   */
  readonly mode: 'direct' | 'direct-or-helper';
  /** Slot holding the packet pointer the region's offsets count from, minus `displacement`. */
  readonly baseSlot: number;
  /** Bytes from the base pointer to byte 0 of the region. */
  readonly displacement: number;
  /** Slot holding the packet end pointer. */
  readonly endSlot: number;
  /** Slot holding the region's length when it is not bounded by data_end alone (UDP payloads). */
  readonly lengthSlot?: number;
  /** `direct-or-helper`: the context pointer's slot, an 8-byte buffer and 4 slots to save r1-r4. */
  readonly ctxSlot?: number;
  readonly bufferSlot?: number;
  readonly saveSlot?: number;
}
