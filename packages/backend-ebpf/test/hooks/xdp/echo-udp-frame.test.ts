import { describe, expect, it } from 'vitest';
import { echoUdpFrame } from '../../../src/xsk/echo-udp-frame.js';
import { finishChecksum, ipv4HeaderChecksum, onesComplementSum, udpChecksum } from '../../../src/xsk/internet-checksum.js';
import { MAC_DST, MAC_SRC, testFrame } from './frames.js';
import { checksumsValid } from './xdp-test-support.js';

/** Sums 16-bit words of a region the way a receiver checks a checksum (independent of the code under test). */
function sums(bytes: Uint8Array, start: number, end: number, initial = 0): number {
  let sum = initial;
  for (let i = start; i < end; i += 2) sum += ((bytes[i] ?? 0) << 8) | (i + 1 < end ? (bytes[i + 1] ?? 0) : 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

describe('internet checksums', () => {
  it('computes the RFC 1071 example', () => {
    const bytes = new Uint8Array([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]);
    expect(finishChecksum(onesComplementSum(bytes, 0, bytes.length))).toBe(~0xddf2 & 0xffff);
  });

  it('pads an odd last byte and stays exact over long inputs', () => {
    const odd = new Uint8Array([0x12, 0x34, 0x56]);
    expect(onesComplementSum(odd, 0, 3)).toBe(0x1234 + 0x5600);
    const long = new Uint8Array(1 << 20).fill(0xff);
    expect(finishChecksum(onesComplementSum(long, 0, long.length))).toBe(0);
  });

  it('fills IPv4 and UDP checksum fields that a receiver accepts', () => {
    const frame = testFrame({ payload: new Uint8Array([9, 8, 7, 6, 5]) });
    const ip = ipv4HeaderChecksum(frame, 14);
    frame[24] = ip >> 8;
    frame[25] = ip & 0xff;
    const udp = udpChecksum(frame, 14, 4, 34, 13);
    frame[40] = udp >> 8;
    frame[41] = udp & 0xff;
    expect(checksumsValid(frame)).toEqual({ ip: true, udp: true });
    frame[45] = (frame[45] ?? 0) ^ 1;
    expect(checksumsValid(frame).udp).toBe(false);
  });
});

describe('echoUdpFrame', () => {
  it('turns an IPv4 datagram around with valid checksums, whatever its checksum fields held', () => {
    const payload = new Uint8Array([0xde, 0xad, 0xbe, 0xef, 0x01]);
    const frame = testFrame({ payload, srcPort: 40000, dstPort: 9000, ipOptions: 4 });
    // A locally sent datagram taken at XDP may carry only its pseudo-header sum.
    frame[14 + 24 + 6] = 0x12;
    frame[14 + 24 + 7] = 0x34;
    const length = echoUdpFrame(frame);
    expect(length).toBe(frame.length);
    const view = new DataView(frame.buffer);
    expect([...frame.subarray(0, 6)]).toEqual(MAC_SRC);
    expect([...frame.subarray(6, 12)]).toEqual(MAC_DST);
    expect([...frame.subarray(26, 30)]).toEqual([10, 0, 0, 2]);
    expect([...frame.subarray(30, 34)]).toEqual([10, 0, 0, 1]);
    expect(frame[22]).toBe(64);
    expect([view.getUint16(38), view.getUint16(40)]).toEqual([9000, 40000]);
    expect([...frame.subarray(46)]).toEqual([...payload]);
    expect(sums(frame, 14, 38)).toBe(0xffff);
    const udpLength = view.getUint16(42);
    expect(sums(frame, 38, 38 + udpLength, sums(frame, 26, 34, 17 + udpLength))).toBe(0xffff);
  });

  it('drops trailing padding from the reply length', () => {
    const frame = testFrame({ payload: new Uint8Array([1]), trailer: 17 });
    expect(echoUdpFrame(frame)).toBe(frame.length - 17);
    expect(checksumsValid(frame)).toEqual({ ip: true, udp: true });
  });

  it('turns around IPv6 and VLAN-tagged datagrams', () => {
    const src = Array.from({ length: 16 }, (_, i) => 0x20 + i);
    const dst = Array.from({ length: 16 }, (_, i) => 0x80 + i);
    const payload = new Uint8Array([1, 2, 3, 4, 5, 6, 7]);
    const frame = testFrame({ srcAddr: src, dstAddr: dst, payload, vlan: true });
    expect(echoUdpFrame(frame)).toBe(frame.length);
    const l3 = 18;
    expect([...frame.subarray(l3 + 8, l3 + 24)]).toEqual(dst);
    expect([...frame.subarray(l3 + 24, l3 + 40)]).toEqual(src);
    expect(frame[l3 + 7]).toBe(64);
    const l4 = l3 + 40;
    const udpLength = 8 + payload.length;
    const pseudo = sums(frame, l3 + 8, l3 + 40, 17 + udpLength);
    expect(sums(frame, l4, l4 + udpLength, pseudo)).toBe(0xffff);
  });

  it('leaves everything that is not a whole, unfragmented UDP datagram alone', () => {
    expect(echoUdpFrame(testFrame({ protocol: 6 }))).toBeUndefined();
    expect(echoUdpFrame(testFrame().subarray(0, 40))).toBeUndefined();
    expect(echoUdpFrame(new Uint8Array(10))).toBeUndefined();
    const fragment = testFrame();
    fragment[20] = 0x20; // more fragments
    expect(echoUdpFrame(fragment)).toBeUndefined();
    const arp = testFrame();
    arp[12] = 0x08;
    arp[13] = 0x06;
    const before = [...arp];
    expect(echoUdpFrame(arp)).toBeUndefined();
    expect([...arp]).toEqual(before);
  });
});
