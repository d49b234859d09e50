/**
 * The one's-complement sum of RFC 1071 over `bytes[start, end)` as 16-bit big-endian words
 * (an odd last byte is padded with zero), added to `sum`. Kept unfolded so partial sums (a
 * pseudo-header, then a segment) can be chained; fold with {@link finishChecksum}.
 */
export function onesComplementSum(bytes: Uint8Array, start: number, end: number, sum = 0): number {
  let i = start;
  for (; i + 1 < end; i += 2) sum += ((bytes[i] as number) << 8) | (bytes[i + 1] as number);
  if (i < end) sum += (bytes[i] as number) << 8;
  // Folding now and then keeps the sum an exact small integer however long the input is.
  return sum > 0x7fff_ffff ? (sum & 0xffff) + Math.floor(sum / 0x1_0000) : sum;
}

/** Folds a sum to 16 bits and complements it: the value that goes into a checksum field. */
export function finishChecksum(sum: number): number {
  let s = sum;
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x1_0000);
  return ~s & 0xffff;
}

/** The IPv4 header checksum of the header at `offset` (its checksum field is skipped, as if zero). */
export function ipv4HeaderChecksum(frame: Uint8Array, offset: number): number {
  const headerLength = ((frame[offset] as number) & 0x0f) * 4;
  let sum = onesComplementSum(frame, offset, offset + 10);
  sum = onesComplementSum(frame, offset + 12, offset + headerLength, sum);
  return finishChecksum(sum);
}

/**
 * The UDP checksum of the datagram of `udpLength` bytes at `udpOffset`, with the pseudo-header
 * of the IPv4 or IPv6 header at `ipOffset` (`version` says which); the checksum field is
 * skipped, as if zero. A computed 0 is sent as 0xffff (RFC 768: 0 means "none" over IPv4, and
 * is invalid over IPv6).
 */
export function udpChecksum(frame: Uint8Array, ipOffset: number, version: 4 | 6, udpOffset: number, udpLength: number): number {
  let sum =
    version === 4
      ? onesComplementSum(frame, ipOffset + 12, ipOffset + 20)
      : onesComplementSum(frame, ipOffset + 8, ipOffset + 40);
  sum += 17 + udpLength;
  sum = onesComplementSum(frame, udpOffset, udpOffset + 6, sum);
  sum = onesComplementSum(frame, udpOffset + 8, udpOffset + udpLength, sum);
  const checksum = finishChecksum(sum);
  return checksum === 0 ? 0xffff : checksum;
}
