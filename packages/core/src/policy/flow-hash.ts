/**
 * The framework's own flow hash, computed bit for bit the same at every hook (eBPF prologues
 * generate it; the kernel's skb hash exists only at some hooks and differs between them) and
 * in the userspace evaluator.
 *
 * Algorithm (all arithmetic on u64, wrapping):
 *   addresses = (srcAddr << 32) | dstAddr
 *   ports     = (srcPort << 16) | dstPort
 *   x = addresses ^ (ports * 0x9e3779b97f4a7c15)
 *   x ^= x >> 33; x *= 0xff51afd7ed558ccd
 *   x ^= x >> 33; x *= 0xc4ceb9fe1a85ec53
 *   x ^= x >> 33
 *   hash = x & 0xffffffff
 * i.e. MurmurHash3's 64-bit finaliser over the 4-tuple, truncated to 32 bits. Addresses are
 * u32 values of the address in network byte order read as a big-endian number (127.0.0.1 is
 * 0x7f000001); an IPv6 address folds to 32 bits as the XOR of its four big-endian 32-bit words.
 * Ports are host-order numbers (9000 is 9000).
 */
export function flowHash(srcAddr: number, dstAddr: number, srcPort: number, dstPort: number): number {
  const mask = 0xffff_ffff_ffff_ffffn;
  const addresses = (BigInt(srcAddr >>> 0) << 32n) | BigInt(dstAddr >>> 0);
  const ports = BigInt(((srcPort & 0xffff) << 16) | (dstPort & 0xffff)) & 0xffff_ffffn;
  let x = addresses ^ ((ports * 0x9e37_79b9_7f4a_7c15n) & mask);
  x ^= x >> 33n;
  x = (x * 0xff51_afd7_ed55_8ccdn) & mask;
  x ^= x >> 33n;
  x = (x * 0xc4ce_b9fe_1a85_ec53n) & mask;
  x ^= x >> 33n;
  return Number(x & 0xffff_ffffn);
}

/** Folds an IPv6 address (16 bytes, network order) to the 32-bit value policies see. */
export function foldIpv6Address(bytes: Uint8Array): number {
  if (bytes.length !== 16) throw new RangeError(`an IPv6 address has 16 bytes, not ${bytes.length}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, 16);
  return (view.getUint32(0) ^ view.getUint32(4) ^ view.getUint32(8) ^ view.getUint32(12)) >>> 0;
}

/** The 32-bit value of an IPv4 address in dotted form, as policies see it. */
export function ipv4Address(dotted: string): number {
  const parts = dotted.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) {
    throw new RangeError(`'${dotted}' is not a dotted IPv4 address`);
  }
  const [a, b, c, d] = parts as [number, number, number, number];
  return ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
}
