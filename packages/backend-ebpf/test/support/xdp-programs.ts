import {
  Add,
  call,
  exit,
  JGT,
  JNE,
  label,
  loadMapPtr,
  storeImm,
  JEq,
  loadMem,
  Mov,
  R0,
  R1,
  R2,
  R3,
  R4,
  R5,
  R6,
  R10,
  storeMem,
  atomic,
  toBigEndian,
  type AsmItem,
} from '../../src/asm/index.js';
import { Program } from '../../src/programs/program.js';
import type { MapReference } from '../../src/programs/program-load-spec.js';
import { ProgType } from '../../src/syscalls/bpf-constants.js';

export const XDP_ABORTED = 0;
export const XDP_DROP = 1;
export const XDP_PASS = 2;
export const XDP_REDIRECT = 4;

/** `r0 = value; exit`. */
export function returning(value: number): AsmItem[] {
  return [Mov.imm(R0, value), exit()];
}

export function loadXdp(name: string, instructions: readonly AsmItem[], maps: Record<string, MapReference> = {}, expectedAttachType?: number): Program {
  return Program.load({
    name,
    type: ProgType.XDP,
    license: 'GPL',
    instructions,
    maps: new Map(Object.entries(maps)),
    ...(expectedAttachType === undefined ? {} : { expectedAttachType }),
  });
}

/** Offsets in an untagged Ethernet + IPv4 (no options) + UDP frame. */
export const UDP_DST_PORT_OFFSET = 36;
export const UDP_PAYLOAD_OFFSET = 42;

/**
 * A program for traffic tests: for IPv4/UDP frames to `port` it adds 1 to u64 slot `slot` of
 * array map `counters` (lock xadd on the value pointer) and returns `verdict`; every other
 * frame passes untouched, so ARP, IPv6 noise and other tests' traffic never count.
 */
export function countingUdp(port: number, slot: number, verdict: number): AsmItem[] {
  return [
    loadMem(R2, R1, 0, 'W'),
    loadMem(R3, R1, 4, 'W'),
    Mov.reg(R4, R2),
    Add.imm(R4, UDP_PAYLOAD_OFFSET),
    JGT.reg(R4, R3, 'pass'),
    loadMem(R5, R2, 12, 'H'),
    JNE.imm(R5, 0x0008, 'pass'), // ETH_P_IP in network order, read little-endian
    loadMem(R5, R2, 23, 'B'),
    JNE.imm(R5, 17, 'pass'),
    loadMem(R5, R2, UDP_DST_PORT_OFFSET, 'H'),
    toBigEndian(R5, 16),
    JNE.imm(R5, port, 'pass'),
    ...addOne(slot),
    Mov.imm(R0, verdict),
    exit(),
    label('pass'),
    Mov.imm(R0, XDP_PASS),
    exit(),
  ];
}

/** ringbuf_output of the packet's first 8 bytes (through the stack), then XDP_PASS. */
export function ringbufFirstBytes(): AsmItem[] {
  return [
    Mov.reg(R6, R1),
    loadMem(R2, R6, 0, 'W'),
    loadMem(R3, R6, 4, 'W'),
    Mov.reg(R4, R2),
    Add.imm(R4, 8),
    JGT.reg(R4, R3, 'out'),
    loadMem(R5, R2, 0, 'DW'),
    storeMem(R10, -8, R5, 'DW'),
    loadMapPtr(R1, 'events'),
    Mov.reg(R2, R10),
    Add.imm(R2, -8),
    Mov.imm(R3, 8),
    Mov.imm(R4, 0),
    call('ringbuf_output'),
    label('out'),
    Mov.imm(R0, XDP_PASS),
    exit(),
  ];
}

/**
 * `lock *(u64 *)&counters[slot] += 1` through bpf_map_lookup_elem (a direct value pointer
 * reaches only an array's first element). Clobbers r0-r5; falls through when the lookup misses.
 */
export function addOne(slot: number): AsmItem[] {
  const done = `added_${slot}_${Math.random().toString(36).slice(2)}`;
  return [
    storeImm(R10, -4, slot, 'W'),
    loadMapPtr(R1, 'counters'),
    Mov.reg(R2, R10),
    Add.imm(R2, -4),
    call('map_lookup_elem'),
    JEq.imm(R0, 0, done),
    Mov.imm(R1, 1),
    atomic('add', R0, 0, R1),
    label(done),
  ];
}

/** `lock *(u64 *)&counters[slot] += 1; return XDP_PASS`, for concurrency tests. */
export function incrementing(slot: number): AsmItem[] {
  return [...addOne(slot), Mov.imm(R0, XDP_PASS), exit()];
}

/** A minimal Ethernet frame (zero addresses, EtherType 0x88b5, local experimental) with `payload` after the header. */
export function frame(payload: readonly number[], length = 64): Uint8Array {
  const bytes = new Uint8Array(Math.max(length, 14 + payload.length));
  bytes[12] = 0x88;
  bytes[13] = 0xb5;
  bytes.set(payload, 14);
  return bytes;
}
