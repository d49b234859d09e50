/** AF_XDP values of `linux/if_xdp.h` and `linux/socket.h` (the same on every architecture). */
export const AF_XDP = 44;
export const SOCK_RAW = 3;
export const SOL_XDP = 283;

/** `SOL_XDP` socket options. */
export const XdpSockopt = {
  MMAP_OFFSETS: 1,
  RX_RING: 2,
  TX_RING: 3,
  UMEM_REG: 4,
  UMEM_FILL_RING: 5,
  UMEM_COMPLETION_RING: 6,
  STATISTICS: 7,
  OPTIONS: 8,
} as const;

/** `sockaddr_xdp.sxdp_flags`. A socket sharing another's UMEM may set no flag but SHARED_UMEM. */
export const XdpBindFlag = {
  SHARED_UMEM: 1 << 0,
  COPY: 1 << 1,
  ZEROCOPY: 1 << 2,
  USE_NEED_WAKEUP: 1 << 3,
} as const;

/** `xdp_ring.flags`: the kernel needs a syscall (sendto for TX, poll/recvfrom for FILL) to make progress. */
export const XDP_RING_NEED_WAKEUP = 1;

/** mmap offsets that select a ring of the socket. */
export const XdpRingPageOffset = {
  RX: 0,
  TX: 0x8000_0000,
  FILL: 0x1_0000_0000,
  COMPLETION: 0x1_8000_0000,
} as const;

/**
 * Bytes the kernel keeps in front of every received frame in copy mode (XDP_PACKET_HEADROOM):
 * an RX descriptor's address is the chunk's start plus this plus the UMEM's own headroom.
 */
export const XDP_PACKET_HEADROOM = 256;

/** `struct xdp_desc` (u64 addr, u32 len, u32 options) of RX and TX rings. */
export const XDP_DESC_SIZE = 16;
/** FILL and COMPLETION entries are bare u64 addresses. */
export const XDP_ADDR_SIZE = 8;

/** `struct xdp_mmap_offsets`: four `struct xdp_ring_offset` {producer, consumer, desc, flags} of u64s. */
export const XDP_MMAP_OFFSETS_SIZE = 128;
export const XDP_RING_OFFSET_BASES = { rx: 0, tx: 32, fill: 64, completion: 96 } as const;

/** `struct xdp_umem_reg` with tx_metadata_len (6.8); older kernels read the shorter prefix they know. */
export const XDP_UMEM_REG_SIZE = 32;
/** `struct sockaddr_xdp`. */
export const SOCKADDR_XDP_SIZE = 16;
/** `struct xdp_statistics`: six u64 counters. */
export const XDP_STATISTICS_SIZE = 48;

export const MSG_DONTWAIT = 0x40;
