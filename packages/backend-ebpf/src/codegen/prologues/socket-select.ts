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
  const slot = (field: string): number | undefined => frame.fields.get(field as never);
  e.emit(Mov.reg(R6, R1), storeMem(FP, frame.ctx, R6, 'DW'));
  e.emit(loadMem(R7, R6, SK_REUSEPORT_MD.data, 'DW'), loadMem(R8, R6, SK_REUSEPORT_MD.dataEnd, 'DW'));
  // Ports (and the UDP length) are in the first bytes of the transport header.
  e.emit(Mov.reg(R2, R7), Add.imm(R2, input === 'udp' ? UDP_HEADER_SIZE : 4), JGT.reg(R2, R8, passLabel));
  if (frame.access !== undefined) {
    e.emit(storeMem(FP, frame.access.baseSlot, R7, 'DW'), storeMem(FP, frame.access.endSlot, R8, 'DW'));
  }
  if (input === 'udp') {
    const len = slot('len');
    // Loads bound reads by the payload length, so the frame gives it a slot whenever there are loads.
    const payloadLength = slot('payloadLength');
    if (len !== undefined || payloadLength !== undefined) {
      e.emit(loadMem(R2, R7, 4, 'H'), toBigEndian(R2, 16), JLT.imm(R2, UDP_HEADER_SIZE, passLabel));
      if (len !== undefined) e.emit(storeMem(FP, len, R2, 'DW'));
      if (payloadLength !== undefined) e.emit(Add.imm(R2, -UDP_HEADER_SIZE), storeMem(FP, payloadLength, R2, 'DW'));
    }
  }
  emitPort(e, R7, 0, slot('srcPort'));
  emitPort(e, R7, 2, slot('dstPort'));

  const srcAddr = slot('srcAddr');
  const dstAddr = slot('dstAddr');
  if (srcAddr !== undefined || dstAddr !== undefined) {
    const buffer = frame.buffer!;
    const ipv6 = e.fresh('ipv6');
    const addressesDone = e.fresh('addresses');
    e.emit(loadMem(R2, R6, SK_REUSEPORT_MD.ethProtocol, 'W'), JEq.imm(R2, ETH_P_IPV6_RAW, ipv6), JNE.imm(R2, ETH_P_IP_RAW, passLabel));
    // IPv4: saddr at 12 and daddr at 16, read together.
    loadNetworkBytes(e, 12, buffer, 8, passLabel);
    e.emit(loadMem(R1, FP, buffer, 'W'), toBigEndian(R1, 32), loadMem(R2, FP, buffer + 4, 'W'), toBigEndian(R2, 32));
    storeAddresses(e, srcAddr, dstAddr);
    e.emit(ja(addressesDone));
    e.label(ipv6);
    // IPv6: saddr at 8 and daddr at 24, 16 bytes each, folded to 32 bits by XOR of their words.
    loadNetworkBytes(e, 8, buffer, 32, passLabel);
    foldIpv6(e, R1, FP, buffer, R3);
    foldIpv6(e, R2, FP, buffer + 16, R3);
    storeAddresses(e, srcAddr, dstAddr);
    e.label(addressesDone);
  }
  const hash = slot('hash');
  if (hash !== undefined) {
    emitFlowHash(e, { srcAddr: srcAddr!, dstAddr: dstAddr!, srcPort: slot('srcPort')!, dstPort: slot('dstPort')!, hash });
  }
}

/** `slot = be16(*(u16 *)(base + offset))`, when the slot exists. */
export function emitPort(e: Emitter, base: Register, offset: number, slot: number | undefined): void {
  if (slot === undefined) return;
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

/** r1 = srcAddr, r2 = dstAddr into their slots. */
function storeAddresses(e: Emitter, srcAddr: number | undefined, dstAddr: number | undefined): void {
  if (srcAddr !== undefined) e.emit(storeMem(FP, srcAddr, R1, 'DW'));
  if (dstAddr !== undefined) e.emit(storeMem(FP, dstAddr, R2, 'DW'));
}

/** skb_load_bytes_relative(ctx = r6, offset, fp + buffer, size, BPF_HDR_START_NET); failure answers PASS. */
function loadNetworkBytes(e: Emitter, offset: number, buffer: number, size: number, passLabel: string): void {
  e.emit(Mov.reg(R1, R6), Mov.imm(R2, offset), Mov.reg(R3, FP), Add.imm(R3, buffer), Mov.imm(R4, size));
  e.emit(Mov.imm(R5, BPF_HDR_START_NET), call('skb_load_bytes_relative'), JNE.imm(R0, 0, passLabel));
}
