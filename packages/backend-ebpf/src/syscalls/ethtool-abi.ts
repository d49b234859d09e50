/**
 * The slice of the ethtool ioctl ABI Syrup uses (uapi/linux/ethtool.h, uapi/linux/sockios.h),
 * shared by the native caller and the fake kernel that decodes the same bytes.
 *
 * A request is `ioctl(socket, SIOCETHTOOL, &ifreq)`: the interface name in the first
 * IFNAMSIZ bytes of `struct ifreq`, and in its union a pointer to the command struct (here a
 * `struct ethtool_value { u32 cmd; u32 data; }`). The socket only names the network namespace.
 */
export const SIOCETHTOOL = 0x8946;
/** IFNAMSIZ: 15 characters and the terminating NUL. */
export const IFNAMSIZ = 16;
/** sizeof(struct ifreq) on 64-bit Linux: the name, then a 24-byte union. */
export const IFREQ_SIZE = 40;
/** Offset of `ifr_data` (the command struct's address) in `struct ifreq`. */
export const IFREQ_DATA_OFFSET = IFNAMSIZ;
/** sizeof(struct ethtool_value). */
export const ETHTOOL_VALUE_SIZE = 8;

/** Legacy one-feature commands: still served by every kernel, and all a tx checksum switch needs. */
export const EthtoolCommand = {
  /** Reads whether any tx checksum feature is on (NETIF_F_CSUM_MASK). */
  GTXCSUM: 0x16,
  /** Turns every tx checksum feature on or off, as `ethtool -K <dev> tx on|off` does. */
  STXCSUM: 0x17,
} as const;
