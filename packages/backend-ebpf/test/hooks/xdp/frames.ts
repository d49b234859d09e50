/** Test frames: Ethernet (optionally one VLAN tag) + IPv4 or IPv6 + UDP, with zeroed checksums. */
export interface FrameOptions {
  readonly payload?: Uint8Array;
  /** 4 bytes for IPv4, 16 for IPv6. */
  readonly srcAddr?: readonly number[];
  readonly dstAddr?: readonly number[];
  readonly srcPort?: number;
  readonly dstPort?: number;
  readonly vlan?: boolean;
  /** IPv4 option bytes (a multiple of 4). */
  readonly ipOptions?: number;
  readonly protocol?: number;
  /** Bytes of padding after the datagram, as a NIC may add. */
  readonly trailer?: number;
}

export const MAC_DST = [0x02, 0, 0, 0, 0, 0xaa];
export const MAC_SRC = [0x02, 0, 0, 0, 0, 0xbb];

export function testFrame(options: FrameOptions = {}): Uint8Array {
  const payload = options.payload ?? new Uint8Array([1, 2, 3]);
  const src = options.srcAddr ?? [10, 0, 0, 1];
  const dst = options.dstAddr ?? [10, 0, 0, 2];
  const ipv6 = src.length === 16;
  const ipOptions = options.ipOptions ?? 0;
  const l2 = 14 + (options.vlan ? 4 : 0);
  const l3 = ipv6 ? 40 : 20 + ipOptions;
  const bytes = new Uint8Array(l2 + l3 + 8 + payload.length + (options.trailer ?? 0));
  const view = new DataView(bytes.buffer);
  bytes.set(MAC_DST, 0);
  bytes.set(MAC_SRC, 6);
  let at = 12;
  if (options.vlan) {
    view.setUint16(at, 0x8100);
    view.setUint16(at + 2, 7);
    at += 4;
  }
  view.setUint16(at, ipv6 ? 0x86dd : 0x0800);
  const protocol = options.protocol ?? 17;
  if (ipv6) {
    view.setUint32(l2, 0x6000_0000);
    view.setUint16(l2 + 4, 8 + payload.length);
    view.setUint8(l2 + 6, protocol);
    view.setUint8(l2 + 7, 3);
    bytes.set(src, l2 + 8);
    bytes.set(dst, l2 + 24);
  } else {
    view.setUint8(l2, 0x40 | (l3 / 4));
    view.setUint16(l2 + 2, l3 + 8 + payload.length);
    view.setUint8(l2 + 8, 3);
    view.setUint8(l2 + 9, protocol);
    bytes.set(src, l2 + 12);
    bytes.set(dst, l2 + 16);
    for (let i = 0; i < ipOptions; i++) bytes[l2 + 20 + i] = 1; // NOP options
  }
  const udp = l2 + l3;
  view.setUint16(udp, options.srcPort ?? 40000);
  view.setUint16(udp + 2, options.dstPort ?? 9000);
  view.setUint16(udp + 4, 8 + payload.length);
  bytes.set(payload, udp + 8);
  return bytes;
}
