import { foldIpv6Address, type PolicyEvaluationInput } from '@syrup/core';
import { generateRandomInput, type SeededRandom } from '@syrup/core/testing';

/** One input as the kernel gets it (a frame) and as the evaluator gets it (fields). */
export interface FrameCase {
  readonly frame: Uint8Array;
  readonly input: PolicyEvaluationInput;
}

/** The smallest frame BPF_PROG_TEST_RUN takes for XDP: an Ethernet header. */
const MIN_FRAME = 14;

/**
 * A random input of core's generator as a frame whose XDP prologue yields exactly the
 * evaluator's fields: IPv4 or IPv6 (the evaluator gets the documented address fold), with or
 * without a VLAN tag and IPv4 options. The generator's `hash` and `len` are dropped: the
 * prologue computes the flow hash, and `len` comes from the UDP length field.
 */
export function randomFrameCase(rng: SeededRandom, kind: 'udp' | 'packet'): FrameCase {
  const base = generateRandomInput(rng, kind);
  if (kind === 'packet') {
    let data = base.data ?? new Uint8Array(0);
    if (data.length < MIN_FRAME) {
      const padded = new Uint8Array(MIN_FRAME + rng.int(8));
      padded.set(data);
      for (let i = data.length; i < padded.length; i++) padded[i] = rng.int(256);
      data = padded;
    }
    return { frame: data, input: { data } };
  }
  const payload = base.payload ?? new Uint8Array(0);
  const srcPort = Number(base.srcPort ?? 0);
  const dstPort = Number(base.dstPort ?? 0);
  const ipv6 = rng.chance(0.2);
  const vlan = rng.chance(0.15);
  const ipOptions = !ipv6 && rng.chance(0.1) ? 4 * rng.range(1, 10) : 0;
  let src: number[];
  let dst: number[];
  let srcAddr: number;
  let dstAddr: number;
  if (ipv6) {
    src = Array.from({ length: 16 }, () => rng.int(256));
    dst = Array.from({ length: 16 }, () => rng.int(256));
    srcAddr = foldIpv6Address(new Uint8Array(src));
    dstAddr = foldIpv6Address(new Uint8Array(dst));
  } else {
    srcAddr = Number(base.srcAddr ?? 0);
    dstAddr = Number(base.dstAddr ?? 0);
    src = u32Bytes(srcAddr);
    dst = u32Bytes(dstAddr);
  }
  return { frame: udpFrame({ payload, src, dst, srcPort, dstPort, vlan, ipOptions }), input: { srcAddr, dstAddr, srcPort, dstPort, payload } };
}

interface UdpFrameOptions {
  readonly payload: Uint8Array;
  readonly src: readonly number[];
  readonly dst: readonly number[];
  readonly srcPort: number;
  readonly dstPort: number;
  readonly vlan?: boolean;
  readonly ipOptions?: number;
}

/** An Ethernet frame carrying a UDP datagram over IPv4 (4-byte addresses) or IPv6 (16-byte ones). */
export function udpFrame(options: UdpFrameOptions): Uint8Array {
  const { payload, src, dst } = options;
  const ipv6 = src.length === 16;
  const options4 = options.ipOptions ?? 0;
  const l2 = 14 + (options.vlan ? 4 : 0);
  const l3 = ipv6 ? 40 : 20 + options4;
  const bytes = new Uint8Array(l2 + l3 + 8 + payload.length);
  const view = new DataView(bytes.buffer);
  bytes.fill(0xaa, 0, 12);
  let at = 12;
  if (options.vlan) {
    view.setUint16(at, 0x8100);
    view.setUint16(at + 2, 42);
    at += 4;
  }
  view.setUint16(at, ipv6 ? 0x86dd : 0x0800);
  if (ipv6) {
    view.setUint32(l2, 0x6000_0000);
    view.setUint16(l2 + 4, 8 + payload.length);
    view.setUint8(l2 + 6, 17);
    view.setUint8(l2 + 7, 64);
    bytes.set(src, l2 + 8);
    bytes.set(dst, l2 + 24);
  } else {
    view.setUint8(l2, 0x40 | ((20 + options4) / 4));
    view.setUint16(l2 + 2, l3 + 8 + payload.length);
    view.setUint8(l2 + 8, 64);
    view.setUint8(l2 + 9, 17);
    bytes.set(src, l2 + 12);
    bytes.set(dst, l2 + 16);
  }
  const udp = l2 + l3;
  view.setUint16(udp, options.srcPort);
  view.setUint16(udp + 2, options.dstPort);
  view.setUint16(udp + 4, 8 + payload.length);
  bytes.set(payload, udp + 8);
  return bytes;
}

function u32Bytes(value: number): number[] {
  return [value >>> 24, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff];
}
