import { ipv4HeaderChecksum, udpChecksum } from './internet-checksum.js';

const ETH_HEADER = 14;
const VLAN_TAG = 4;
const IPV6_HEADER = 40;
const UDP_HEADER = 8;
const IPPROTO_UDP = 17;
const HOP_LIMIT = 64;

/**
 * Turns a received Ethernet frame carrying a UDP datagram into the reply that echoes its
 * payload, in place: swaps the MAC addresses, the IP addresses and the ports, resets the TTL
 * (hop limit), and computes the IPv4 header checksum and the UDP checksum from scratch.
 * Both checksums are recomputed, never adjusted: a frame taken off the wire at XDP may carry
 * only the pseudo-header sum that checksum offload would have completed (CHECKSUM_PARTIAL
 * from a local sender), so its own checksum cannot be trusted as a base.
 *
 * Handles IPv4 (with options, unfragmented) and IPv6 without extension headers, untagged or
 * with one VLAN tag. Returns the reply's length (trailing padding dropped), or undefined for
 * anything else, which the caller should drop.
 */
export function echoUdpFrame(frame: Uint8Array): number | undefined {
  if (frame.length < ETH_HEADER) return undefined;
  let l3 = ETH_HEADER;
  let etherType = ((frame[12] as number) << 8) | (frame[13] as number);
  if (etherType === 0x8100 || etherType === 0x88a8) {
    if (frame.length < ETH_HEADER + VLAN_TAG) return undefined;
    etherType = ((frame[16] as number) << 8) | (frame[17] as number);
    l3 += VLAN_TAG;
  }
  let l4: number;
  let end: number;
  let version: 4 | 6;
  if (etherType === 0x0800) {
    if (frame.length < l3 + 20 || (frame[l3] as number) >> 4 !== 4) return undefined;
    const headerLength = ((frame[l3] as number) & 0x0f) * 4;
    const totalLength = ((frame[l3 + 2] as number) << 8) | (frame[l3 + 3] as number);
    const fragment = (((frame[l3 + 6] as number) & 0x3f) << 8) | (frame[l3 + 7] as number);
    if (headerLength < 20 || frame[l3 + 9] !== IPPROTO_UDP || fragment !== 0) return undefined;
    if (totalLength < headerLength + UDP_HEADER || l3 + totalLength > frame.length) return undefined;
    version = 4;
    l4 = l3 + headerLength;
    end = l3 + totalLength;
  } else if (etherType === 0x86dd) {
    if (frame.length < l3 + IPV6_HEADER || (frame[l3] as number) >> 4 !== 6 || frame[l3 + 6] !== IPPROTO_UDP) return undefined;
    const payloadLength = ((frame[l3 + 4] as number) << 8) | (frame[l3 + 5] as number);
    if (payloadLength < UDP_HEADER || l3 + IPV6_HEADER + payloadLength > frame.length) return undefined;
    version = 6;
    l4 = l3 + IPV6_HEADER;
    end = l4 + payloadLength;
  } else {
    return undefined;
  }
  const udpLength = ((frame[l4 + 4] as number) << 8) | (frame[l4 + 5] as number);
  if (udpLength < UDP_HEADER || l4 + udpLength > end) return undefined;

  swap(frame, 0, 6, 6);
  if (version === 4) {
    swap(frame, l3 + 12, l3 + 16, 4);
    frame[l3 + 8] = HOP_LIMIT;
    const checksum = ipv4HeaderChecksum(frame, l3);
    frame[l3 + 10] = checksum >> 8;
    frame[l3 + 11] = checksum & 0xff;
  } else {
    swap(frame, l3 + 8, l3 + 24, 16);
    frame[l3 + 7] = HOP_LIMIT;
  }
  swap(frame, l4, l4 + 2, 2);
  const checksum = udpChecksum(frame, l3, version, l4, udpLength);
  frame[l4 + 6] = checksum >> 8;
  frame[l4 + 7] = checksum & 0xff;
  return end;
}

function swap(bytes: Uint8Array, a: number, b: number, length: number): void {
  for (let i = 0; i < length; i++) {
    const t = bytes[a + i] as number;
    bytes[a + i] = bytes[b + i] as number;
    bytes[b + i] = t;
  }
}
