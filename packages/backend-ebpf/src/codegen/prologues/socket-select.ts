import {
  Add,
  JEq,
  JGT,
  JLT,
  JNE,
  Mov,
  R0,
  R1,
  R2,
  R3,
  R4,
  R5,
  R6,
  R7,
  R8,
  Xor,
  call,
  ja,
  loadMem,
  storeMem,
  toBigEndian,
  type Register,
} from '../../asm/index.js';
import type { Emitter } from '../emitter.js';
import type { Frame } from '../frame.js';
import { FP } from '../operands.js';
import { emitFlowHash } from './flow-hash.js';
import { SOCKET_SELECT_LOCATIONS, addressSlot, flowHashSlots, locatedSlots, type LocatedSlot } from '../input-locations.js';

/** `sk_reuseport_md` field offsets (include/uapi/linux/bpf.h). */
export const SK_REUSEPORT_MD = Object.freeze({ data: 0, dataEnd: 8, len: 16, ethProtocol: 20, ipProtocol: 24, hash: 32 });

/** `skb->protocol` as the context shows it: the network-order EtherType read as a little-endian u32. */
export const ETH_P_IP_RAW = 0x0008;
export const ETH_P_IPV6_RAW = 0xdd86;
/** `BPF_HDR_START_NET`: offsets of skb_load_bytes_relative count from the network header. */
const BPF_HDR_START_NET = 1;
export const UDP_HEADER_SIZE = 8;

/**
 * The socket-select prologue (BPF_PROG_TYPE_SK_REUSEPORT). `data` points at the transport
 * header (checked live: UDP header for datagrams, TCP header for SYNs) and `data_end` ends the
 * skb's linear part. Ports and the UDP length come from that header; addresses from the IP
 * header through `skb_load_bytes_relative` from the network header, IPv4 or IPv6 by
 * `eth_protocol`. `len` and the payload length come from the UDP length field, not ctx->len.
 */
export function emitSocketSelectPrologue(e: Emitter, input: 'udp' | 'tcp', frame: Frame, passLabel: string): void {
  const located = locatedSlots(frame, SOCKET_SELECT_LOCATIONS[input] ?? {});
  e.emit(Mov.reg(R6, R1), storeMem(FP, frame.ctx, R6, 'DW'));
  e.emit(loadMem(R7, R6, SK_REUSEPORT_MD.data, 'DW'), loadMem(R8, R6, SK_REUSEPORT_MD.dataEnd, 'DW'));
  // Ports (and the UDP length) are in the first bytes of the transport header.
  e.emit(Mov.reg(R2, R7), Add.imm(R2, input === 'udp' ? UDP_HEADER_SIZE : 4), JGT.reg(R2, R8, passLabel));
  if (frame.access !== undefined) {
    e.emit(storeMem(FP, frame.access.baseSlot, R7, 'DW'), storeMem(FP, frame.access.endSlot, R8, 'DW'));
  }
  // Loads bound reads by the payload length, so the frame gives it a slot whenever there are loads.
  emitUdpLengths(e, R7, 0, located, passLabel);
  emitTransportFields(e, R7, 0, located);

  const source = addressSlot(located, 'source');
  const destination = addressSlot(located, 'destination');
  if (source !== undefined || destination !== undefined) {
    const buffer = frame.buffer!;
    const ipv6 = e.fresh('ipv6');
    const addressesDone = e.fresh('addresses');
    e.emit(loadMem(R2, R6, SK_REUSEPORT_MD.ethProtocol, 'W'), JEq.imm(R2, ETH_P_IPV6_RAW, ipv6), JNE.imm(R2, ETH_P_IP_RAW, passLabel));
    // IPv4: saddr at 12 and daddr at 16, read together.
    loadNetworkBytes(e, 12, buffer, 8, passLabel);
    e.emit(loadMem(R1, FP, buffer, 'W'), toBigEndian(R1, 32), loadMem(R2, FP, buffer + 4, 'W'), toBigEndian(R2, 32));
    storeAddresses(e, source, destination);
    e.emit(ja(addressesDone));
    e.label(ipv6);
    // IPv6: saddr at 8 and daddr at 24, 16 bytes each, folded to 32 bits by XOR of their words.
    loadNetworkBytes(e, 8, buffer, 32, passLabel);
    foldIpv6(e, R1, FP, buffer, R3);
    foldIpv6(e, R2, FP, buffer + 16, R3);
    storeAddresses(e, source, destination);
    e.label(addressesDone);
  }
  const hash = flowHashSlots(frame, located);
  if (hash !== undefined) emitFlowHash(e, hash);
}

/**
 * The fields at `udp-length`, from the UDP header at `base + header`: one load and check (a
 * length below the header answers PASS), then each field, the header bytes it leaves out
 * taken off in ascending order. Uses r2.
 */
export function emitUdpLengths(e: Emitter, base: Register, header: number, located: readonly LocatedSlot[], passLabel: string): void {
  const lengths = located.flatMap(({ location, slot }) => (location.at === 'udp-length' ? [{ less: location.less, slot }] : [])).sort((a, b) => a.less - b.less);
  if (lengths.length === 0) return;
  e.emit(loadMem(R2, base, header + 4, 'H'), toBigEndian(R2, 16), JLT.imm(R2, UDP_HEADER_SIZE, passLabel));
  let taken = 0;
  for (const { less, slot } of lengths) {
    if (less !== taken) e.emit(Add.imm(R2, taken - less));
    taken = less;
    e.emit(storeMem(FP, slot, R2, 'DW'));
  }
}

/** The fields at `transport` (the ports), from the transport header at `base + header`. */
export function emitTransportFields(e: Emitter, base: Register, header: number, located: readonly LocatedSlot[]): void {
  for (const { location, slot } of located) if (location.at === 'transport') emitPort(e, base, header + location.offset, slot);
}

/** `slot = be16(*(u16 *)(base + offset))`. */
function emitPort(e: Emitter, base: Register, offset: number, slot: number): void {
  e.emit(loadMem(R2, base, offset, 'H'), toBigEndian(R2, 16), storeMem(FP, slot, R2, 'DW'));
}

/**
 * `reg = be32(w0 ^ w1 ^ w2 ^ w3)` over the 16 bytes at `base + offset`. XOR commutes with the
 * byte swap, so one swap after folding equals core's XOR of four big-endian words.
 */
export function foldIpv6(e: Emitter, reg: Register, base: Register, offset: number, tmp: Register): void {
  e.emit(loadMem(reg, base, offset, 'W'));
  for (const word of [4, 8, 12]) e.emit(loadMem(tmp, base, offset + word, 'W'), Xor.reg(reg, tmp));
  e.emit(toBigEndian(reg, 32));
}

/** r1 = the source address, r2 = the destination address into their slots. */
function storeAddresses(e: Emitter, source: number | undefined, destination: number | undefined): void {
  if (source !== undefined) e.emit(storeMem(FP, source, R1, 'DW'));
  if (destination !== undefined) e.emit(storeMem(FP, destination, R2, 'DW'));
}

/** skb_load_bytes_relative(ctx = r6, offset, fp + buffer, size, BPF_HDR_START_NET); failure answers PASS. */
function loadNetworkBytes(e: Emitter, offset: number, buffer: number, size: number, passLabel: string): void {
  e.emit(Mov.reg(R1, R6), Mov.imm(R2, offset), Mov.reg(R3, FP), Add.imm(R3, buffer), Mov.imm(R4, size));
  e.emit(Mov.imm(R5, BPF_HDR_START_NET), call('skb_load_bytes_relative'), JNE.imm(R0, 0, passLabel));
}
