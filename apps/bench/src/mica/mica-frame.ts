import { ipv4HeaderChecksum } from '@syrup/backend-ebpf/xsk';

/*
 * The MICA server's frames: Ethernet, IPv4 and UDP around the bench's request wire format
 * (big-endian: 0-3 type, 4-7 user, 8-15 request id, 16-23 key; a PUT's value follows). A
 * reply is written over its request in the same UMEM frame: addresses and ports swapped, the
 * request's 24-byte header kept, then the serving thread's index (4 bytes), then a GET's value.
 */

const ETH_HEADER = 14;
const ETHERTYPE_IPV4 = 0x0800;
const PROTO_UDP = 17;
const UDP_HEADER = 8;
export const REQUEST_HEADER = 24;
/** Where the serving thread's index goes in a reply's payload (as the kv server's). */
export const WORKER_INDEX_OFFSET = REQUEST_HEADER;
export const VALUE_OFFSET = REQUEST_HEADER + 4;

/** The offset of the UDP payload in an IPv4/UDP frame with at least a request header, or -1. */
export function payloadOffset(frame: Uint8Array, length: number): number {
  if (length < ETH_HEADER + 20 + UDP_HEADER + REQUEST_HEADER) return -1;
  if (((frame[12]! << 8) | frame[13]!) !== ETHERTYPE_IPV4) return -1;
  const ihl = (frame[ETH_HEADER]! & 0x0f) * 4;
  if (frame[ETH_HEADER]! >> 4 !== 4 || ihl < 20 || frame[ETH_HEADER + 9] !== PROTO_UDP) return -1;
  const offset = ETH_HEADER + ihl + UDP_HEADER;
  return offset + REQUEST_HEADER <= length ? offset : -1;
}

/**
 * Turns the request frame around into its reply of `payloadLength` bytes (already written at
 * `payload`): swaps MAC and IP addresses and UDP ports, sets the lengths and the IPv4 header
 * checksum (the UDP checksum is left 0, which IPv4 allows). Answers the reply frame's length.
 */
export function turnAround(frame: Uint8Array, payload: number, payloadLength: number): number {
  for (let i = 0; i < 6; i++) {
    const b = frame[i]!;
    frame[i] = frame[6 + i]!;
    frame[6 + i] = b;
  }
  const ip = ETH_HEADER;
  for (let i = 0; i < 4; i++) {
    const b = frame[ip + 12 + i]!;
    frame[ip + 12 + i] = frame[ip + 16 + i]!;
    frame[ip + 16 + i] = b;
  }
  const udp = payload - UDP_HEADER;
  for (let i = 0; i < 2; i++) {
    const b = frame[udp + i]!;
    frame[udp + i] = frame[udp + 2 + i]!;
    frame[udp + 2 + i] = b;
  }
  const udpLength = UDP_HEADER + payloadLength;
  const ipLength = udp - ip + udpLength;
  frame[ip + 2] = ipLength >> 8;
  frame[ip + 3] = ipLength & 0xff;
  frame[ip + 10] = 0;
  frame[ip + 11] = 0;
  const checksum = ipv4HeaderChecksum(frame, ip);
  frame[ip + 10] = checksum >> 8;
  frame[ip + 11] = checksum & 0xff;
  frame[udp + 4] = udpLength >> 8;
  frame[udp + 5] = udpLength & 0xff;
  frame[udp + 6] = 0;
  frame[udp + 7] = 0;
  return payload + payloadLength;
}
