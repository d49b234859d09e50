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

/**
 * The kinds of state change a thread policy hears about (`ThreadInput.event`). The front end
 * folds `ThreadEvent.WAKEUP` (and `syrup.ThreadEvent.WAKEUP`) to its integer, so a policy
 * compares or switches on them like any constant. The values are part of the policy IR's
 * meaning: never renumber one.
 */
export const ThreadEvent = Object.freeze({
  /** The thread was created (or joined the enclave) and is runnable. */
  NEW: 1,
  /** The thread woke up from a block and is runnable. */
  WAKEUP: 2,
  /** Something else took the thread's CPU; it is still runnable. */
  PREEMPTED: 3,
  /** The thread gave up its CPU and is still runnable (`sched_yield`, or its class changed). */
  YIELD: 4,
  /** The thread blocked: there is nothing to run, so the verdict is ignored (the policy may still update its maps). */
  BLOCKED: 5,
} as const);
export type ThreadEventName = keyof typeof ThreadEvent;
export type ThreadEventCode = (typeof ThreadEvent)[ThreadEventName];

/**
 * A thread of an enclave whose state changed, offered to the thread hook's scheduler. The
 * policy answers core k (run it now on the k-th CPU of the enclave, ahead of deferred and
 * unmanaged threads), PASS (leave it to the kernel) or DROP (defer it: it runs only where a
 * CPU would otherwise idle).
 */
export interface ThreadInput {
  readonly tid: number;
  readonly pid: number;
  /** What changed: one of {@link ThreadEvent}. */
  readonly event: number;
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
