/**
 * What a policy schedules. The object looks the same at every hook that accepts the kind;
 * the backend generates the hook's own parsing around the policy.
 */
export const INPUT_KINDS = ['udp', 'tcp', 'packet', 'thread'] as const;
export type InputKind = (typeof INPUT_KINDS)[number];

/**
 * Bounds-checked reads from a datagram's payload or a raw frame. Multi-byte reads are in
 * network byte order; the `le` variants read little-endian. A read past the end makes the
 * whole policy answer `PASS` (generated code checks every read; authors never do).
 */
export interface Bytes {
  readonly length: number;
  u8(offset: number): number;
  u16(offset: number): number;
  u32(offset: number): number;
  u64(offset: number): number;
  u16le(offset: number): number;
  u32le(offset: number): number;
  u64le(offset: number): number;
}

/**
 * A UDP datagram. `len` and `payload.length` come from the UDP header's length field, never
 * from the frame end. `hash` is the framework's own flow hash of addresses and ports, the same
 * at every hook. An IPv6 address is folded into `srcAddr`/`dstAddr` as documented by the
 * compiler.
 */
export interface UdpInput {
  readonly len: number;
  readonly hash: number;
  readonly srcAddr: number;
  readonly dstAddr: number;
  readonly srcPort: number;
  readonly dstPort: number;
  readonly payload: Bytes;
}

/** A TCP connection request (SYN): the address fields and `hash` of a UDP input, no payload. */
export interface TcpInput {
  readonly hash: number;
  readonly srcAddr: number;
  readonly dstAddr: number;
  readonly srcPort: number;
  readonly dstPort: number;
}

/** A raw frame at XDP: `length` bytes starting at the Ethernet header. */
export interface PacketInput {
  readonly length: number;
  readonly data: Bytes;
}

/** A runnable thread offered to the thread hook's scheduler. */
export interface ThreadInput {
  readonly tid: number;
  readonly pid: number;
  /** The CPU the thread last ran on. */
  readonly lastCpu: number;
  /** Nanoseconds the thread has run since it was created. */
  readonly runtimeNs: number;
}

/** The input object's type for an input kind. */
export type InputOf<K extends InputKind> = {
  udp: UdpInput;
  tcp: TcpInput;
  packet: PacketInput;
  thread: ThreadInput;
}[K];
