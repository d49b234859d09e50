import {
  Add,
  And,
  JEq,
  JGT,
  JLT,
  JNE,
  LSh,
  Mov,
  R1,
  R2,
  R3,
  R4,
  R5,
  R6,
  R7,
  R8,
  RSh,
  Sub,
  ja,
  loadMem,
  storeMem,
  toBigEndian,
} from '../../asm/index.js';
import type { Emitter } from '../emitter.js';
import type { Frame } from '../frame.js';
import { FP } from '../operands.js';
import type { TargetLowering } from '../codegen-target.js';
import { emitFlowHash } from './flow-hash.js';
import { ETH_P_IPV6_RAW, ETH_P_IP_RAW, UDP_HEADER_SIZE, emitTransportFields, emitUdpLengths, foldIpv6 } from './socket-select.js';
import { XDP_LOCATIONS, addressSlot, flowHashSlots, locatedSlots } from '../input-locations.js';

/** `xdp_md` field offsets; every field is a u32. */
export const XDP_MD = Object.freeze({ data: 0, dataEnd: 4, dataMeta: 8, ingressIfindex: 12, rxQueueIndex: 16 });

const ETH_HEADER_SIZE = 14;
const VLAN_TAG_SIZE = 4;
const IPV4_MIN_HEADER_SIZE = 20;
const IPV6_HEADER_SIZE = 40;
const IPPROTO_UDP = 17;
/** EtherTypes as a little-endian u16 read of network-order bytes. */
const ETH_P_8021Q_RAW = 0x0081;
const ETH_P_8021AD_RAW = 0xa888;
/** The 13 fragment-offset bits of the IPv4 flags word, as a little-endian read sees them. */
const IPV4_FRAGMENT_OFFSET_RAW = 0xff1f;

export interface XdpPrologueOptions {
  /** Only UDP datagrams to this destination port run the policy; everything else passes. */
  readonly port?: number;
  /** How the flow hash multiplies (`TargetLowering.arithmetic`); default `native`. */
  readonly arithmetic?: TargetLowering['arithmetic'];
}

/**
 * The XDP prologue of a `packet` input: the region is the frame from data to data_end, and
 * `length` is their distance. Subtracting packet pointers needs the loader to be privileged
 * (CAP_PERFMON lets the verifier turn the difference into a scalar).
 */
export function emitXdpPacketPrologue(e: Emitter, frame: Frame): void {
  e.emit(Mov.reg(R6, R1), storeMem(FP, frame.ctx, R6, 'DW'));
  const length = locatedSlots(frame, XDP_LOCATIONS.packet ?? {}).find((l) => l.location.at === 'frame-length')?.slot;
  if (frame.access === undefined && length === undefined) return;
  e.emit(loadMem(R7, R6, XDP_MD.data, 'W'), loadMem(R8, R6, XDP_MD.dataEnd, 'W'));
  if (frame.access !== undefined) {
    e.emit(storeMem(FP, frame.access.baseSlot, R7, 'DW'), storeMem(FP, frame.access.endSlot, R8, 'DW'));
  }
  if (length !== undefined) e.emit(Mov.reg(R2, R8), Sub.reg(R2, R7), storeMem(FP, length, R2, 'DW'));
}

/**
 * The XDP prologue of a `udp` input. Parses Ethernet with at most one VLAN tag (802.1Q or
 * 802.1ad), IPv4 with options or IPv6 without extension headers, then UDP. Anything else (other
 * EtherTypes, other protocols, non-first IPv4 fragments, truncated headers, a UDP length below
 * 8, another destination port when `port` is set) answers PASS before the policy runs. `len`
 * and the payload length come from the UDP length field; a length claiming more than the frame
 * holds makes reads past the frame answer PASS through the load checks.
 *
 * r7 walks the headers: after the link layer, the IP header is at r7 + 14 (r7 moved by a VLAN
 * tag), and after IP the UDP header is at r7 + 14 (r7 moved by the IP header length).
 */
export function emitXdpUdpPrologue(e: Emitter, frame: Frame, passLabel: string, options: XdpPrologueOptions = {}): void {
  const located = locatedSlots(frame, XDP_LOCATIONS.udp ?? {});
  const source = addressSlot(located, 'source');
  const destination = addressSlot(located, 'destination');
  const ipv6 = e.fresh('ipv6');
  const vlan = e.fresh('vlan');
  const network = e.fresh('network');
  const udp = e.fresh('udp');
  const bound = (bytes: number): void => {
    e.emit(Mov.reg(R2, R7), Add.imm(R2, bytes), JGT.reg(R2, R8, passLabel));
  };

  e.emit(Mov.reg(R6, R1), storeMem(FP, frame.ctx, R6, 'DW'));
  e.emit(loadMem(R7, R6, XDP_MD.data, 'W'), loadMem(R8, R6, XDP_MD.dataEnd, 'W'));
  bound(ETH_HEADER_SIZE);
  e.emit(loadMem(R3, R7, 12, 'H'), JEq.imm(R3, ETH_P_8021Q_RAW, vlan), JNE.imm(R3, ETH_P_8021AD_RAW, network));
  e.label(vlan);
  bound(ETH_HEADER_SIZE + VLAN_TAG_SIZE);
  e.emit(loadMem(R3, R7, 16, 'H'), Add.imm(R7, VLAN_TAG_SIZE));
  e.label(network);
  e.emit(JEq.imm(R3, ETH_P_IPV6_RAW, ipv6), JNE.imm(R3, ETH_P_IP_RAW, passLabel));

  // IPv4 at r7 + 14.
  bound(ETH_HEADER_SIZE + IPV4_MIN_HEADER_SIZE);
  e.emit(loadMem(R3, R7, ETH_HEADER_SIZE, 'B'), Mov.reg(R4, R3), RSh.imm(R4, 4), JNE.imm(R4, 4, passLabel));
  e.emit(loadMem(R4, R7, ETH_HEADER_SIZE + 9, 'B'), JNE.imm(R4, IPPROTO_UDP, passLabel));
  e.emit(loadMem(R4, R7, ETH_HEADER_SIZE + 6, 'H'), And.imm(R4, IPV4_FRAGMENT_OFFSET_RAW), JNE.imm(R4, 0, passLabel));
  if (source !== undefined) e.emit(loadMem(R1, R7, ETH_HEADER_SIZE + 12, 'W'), toBigEndian(R1, 32), storeMem(FP, source, R1, 'DW'));
  if (destination !== undefined) e.emit(loadMem(R1, R7, ETH_HEADER_SIZE + 16, 'W'), toBigEndian(R1, 32), storeMem(FP, destination, R1, 'DW'));
  // IHL in 32-bit words, 5..15: the verifier sees r3 in [20, 60] after the shift.
  e.emit(And.imm(R3, 0x0f), JLT.imm(R3, 5, passLabel), LSh.imm(R3, 2), Add.reg(R7, R3));
  e.emit(ja(udp));

  // IPv6 at r7 + 14: saddr at 8, daddr at 24.
  e.label(ipv6);
  bound(ETH_HEADER_SIZE + IPV6_HEADER_SIZE);
  e.emit(loadMem(R4, R7, ETH_HEADER_SIZE + 6, 'B'), JNE.imm(R4, IPPROTO_UDP, passLabel));
  if (source !== undefined) {
    foldIpv6(e, R1, R7, ETH_HEADER_SIZE + 8, R5);
    e.emit(storeMem(FP, source, R1, 'DW'));
  }
  if (destination !== undefined) {
    foldIpv6(e, R1, R7, ETH_HEADER_SIZE + 24, R5);
    e.emit(storeMem(FP, destination, R1, 'DW'));
  }
  e.emit(Add.imm(R7, IPV6_HEADER_SIZE));

  // UDP at r7 + 14.
  e.label(udp);
  bound(ETH_HEADER_SIZE + UDP_HEADER_SIZE);
  if (options.port !== undefined) {
    e.emit(loadMem(R2, R7, ETH_HEADER_SIZE + 2, 'H'), toBigEndian(R2, 16), JNE.imm(R2, options.port, passLabel));
  }
  emitTransportFields(e, R7, ETH_HEADER_SIZE, located);
  emitUdpLengths(e, R7, ETH_HEADER_SIZE, located, passLabel);
  if (frame.access !== undefined) {
    e.emit(Mov.reg(R2, R7), Add.imm(R2, ETH_HEADER_SIZE + UDP_HEADER_SIZE));
    e.emit(storeMem(FP, frame.access.baseSlot, R2, 'DW'), storeMem(FP, frame.access.endSlot, R8, 'DW'));
  }
  const hash = flowHashSlots(frame, located);
  if (hash !== undefined) emitFlowHash(e, hash, options.arithmetic);
}
