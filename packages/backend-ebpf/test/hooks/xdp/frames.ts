import { udpFrame, type UdpFrameOptions } from '../../codegen/kernel-support.js';

/** Test frames for the XDP hook tests: distinct MACs, a small payload, TTL 3, NOP IPv4 options. */
export type FrameOptions = Omit<UdpFrameOptions, 'dstMac' | 'srcMac' | 'vlanId' | 'ttl' | 'ipOptionByte' | 'udpLength' | 'fragmentOffset'>;

export const MAC_DST = [0x02, 0, 0, 0, 0, 0xaa];
export const MAC_SRC = [0x02, 0, 0, 0, 0, 0xbb];

export function testFrame(options: FrameOptions = {}): Uint8Array {
  return udpFrame({
    payload: new Uint8Array([1, 2, 3]),
    ...options,
    dstMac: MAC_DST,
    srcMac: MAC_SRC,
    vlanId: 7,
    ttl: 3,
    ipOptionByte: 1,
  });
}
