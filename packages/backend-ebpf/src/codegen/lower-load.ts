import type { IrInsn } from '@syrup/core';
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
  call,
  ja,
  loadMem,
  storeMem,
  toBigEndian,
  type Register,
  type Size,
} from '../asm/index.js';
import type { Emitter } from './emitter.js';
import { FP, type Operands } from './operands.js';

type LoadInsn = Extract<IrInsn, { op: 'load' }>;

/**
 * No payload or frame these hooks see is longer than 65535 bytes (the UDP length field is 16
 * bits), so a read ending beyond that is out of bounds everywhere.
 */
export const MAX_REGION_END = 0xffff;

/**
 * Reads checked against packet pointers must end at most here. The verifier drops a bounds
 * check whose pointer may reach past MAX_PACKET_OFF (0xffff) including the variable part a
 * header parser adds (at most 60 + 4 + 40 + 8 bytes), and no XDP buffer's linear part reaches
 * this far anyway.
 */
export const DIRECT_LIMIT = 0xff00;

/** Constant offsets up to here fit the signed 16-bit offset of a load, so one check can cover several. */
export const MERGE_LIMIT = 0x7fff;

/**
 * How the policy's readable bytes (a UDP payload, or a raw frame) are reached at a hook. All
 * slots are negative offsets from r10 that the prologue filled.
 */
export interface RegionAccess {
  /**
   * `direct`: only packet memory up to data_end is readable (XDP). `direct-or-helper`: reads
   * past the linear part fall back to `bpf_skb_load_bytes` (socket-select, where data_end is
   * only the skb's linear head).
   */
  readonly mode: 'direct' | 'direct-or-helper';
  /** Slot holding the packet pointer the region's offsets count from, minus `displacement`. */
  readonly baseSlot: number;
  /** Bytes from the base pointer to byte 0 of the region. */
  readonly displacement: number;
  /** Slot holding the packet end pointer. */
  readonly endSlot: number;
  /** Slot holding the region's length when it is not bounded by data_end alone (UDP payloads). */
  readonly lengthSlot?: number;
  /** `direct-or-helper`: the context pointer's slot, an 8-byte buffer and 4 slots to save r1-r4. */
  readonly ctxSlot?: number;
  readonly bufferSlot?: number;
  readonly saveSlot?: number;
}

/**
 * Bounds-check plan of a load with a constant offset: `check` performs one check covering
 * every constant read up to `end` bytes into the region, `covered` relies on an earlier one.
 */
export type BoundsPlan = { readonly kind: 'check'; readonly end: number } | { readonly kind: 'covered' };

/**
 * Merges the bounds checks of constant-offset loads. Within a straight run of instructions
 * with no side effect between them, the first such load checks for the furthest byte any of
 * them reads: if that fails, the policy answers PASS a few loads early, which no one can
 * observe because nothing happened in between. Runs end at labels, jumps and map writes.
 */
export function planBoundsChecks(insns: readonly IrInsn[]): Map<number, BoundsPlan> {
  const plans = new Map<number, BoundsPlan>();
  let run: number[] = [];
  const flush = (): void => {
    if (run.length === 0) return;
    let end = 0;
    for (const index of run) end = Math.max(end, constantEnd(insns[index] as LoadInsn));
    plans.set(run[0]!, { kind: 'check', end });
    for (const index of run.slice(1)) plans.set(index, { kind: 'covered' });
    run = [];
  };
  insns.forEach((insn, index) => {
    switch (insn.op) {
      case 'label':
        flush();
        return;
      case 'load':
        if (typeof insn.offset === 'bigint' && insn.offset + BigInt(insn.size) <= BigInt(MERGE_LIMIT)) run.push(index);
        return;
      case 'jump':
      case 'jump-if':
      case 'return':
      case 'map-set':
      case 'map-delete':
      case 'map-fetch-add':
      case 'map-cmpxchg':
        flush();
        return;
      default:
        return;
    }
  });
  flush();
  return plans;
}

function constantEnd(insn: LoadInsn): number {
  return Number(insn.offset as bigint) + insn.size;
}

const SIZES: Readonly<Record<1 | 2 | 4 | 8, Size>> = { 1: 'B', 2: 'H', 4: 'W', 8: 'DW' };

export interface LoadLowering {
  readonly emitter: Emitter;
  readonly operands: Operands;
  readonly access: RegionAccess;
  /** Where a failed bounds check goes. */
  readonly passLabel: string;
  /** Allocated caller-saved registers holding values still needed after this load. */
  readonly liveCallerSaved: readonly Register[];
}

/**
 * Lowers a bounds-checked load. Every check has the shape the verifier tracks: a packet pointer
 * (same id as the one loaded through) plus a constant, compared as 64 bits with data_end.
 * Variable offsets are clamped first so the verifier can bound the pointer.
 */
export function lowerLoad(lowering: LoadLowering, insn: LoadInsn, plan: BoundsPlan | undefined): void {
  const { emitter: e, operands: ops, access, passLabel } = lowering;
  const size = insn.size;
  const width = SIZES[size];
  const target = ops.target(insn.dst);
  const finish = (): void => {
    if (insn.byteOrder === 'be' && size > 1) e.emit(toBigEndian(target, (size * 8) as 16 | 32 | 64));
    ops.commit(insn.dst, target);
  };

  if (typeof insn.offset === 'bigint' && insn.offset + BigInt(size) > BigInt(MAX_REGION_END)) {
    alwaysPass(e, passLabel);
    e.emit(Mov.imm(target, 0));
    ops.commit(insn.dst, target);
    return;
  }

  if (access.mode === 'direct') {
    if (typeof insn.offset === 'bigint' && insn.offset + BigInt(size) <= BigInt(MERGE_LIMIT)) {
      const offset = Number(insn.offset);
      const planned = plan ?? { kind: 'check', end: offset + size };
      if (planned.kind === 'check') {
        checkLengthConstant(e, access, planned.end, passLabel);
        e.emit(loadMem(R5, FP, access.baseSlot, 'DW'), Add.imm(R5, access.displacement + planned.end));
        e.emit(loadMem(R0, FP, access.endSlot, 'DW'), JGT.reg(R5, R0, passLabel));
      }
      e.emit(loadMem(R5, FP, access.baseSlot, 'DW'), loadMem(target, R5, access.displacement + offset, width));
      finish();
      return;
    }
    if (typeof insn.offset === 'bigint' && insn.offset + BigInt(size) > BigInt(DIRECT_LIMIT)) {
      alwaysPass(e, passLabel);
      e.emit(Mov.imm(target, 0));
      ops.commit(insn.dst, target);
      return;
    }
    ops.moveInto(R0, insn.offset);
    e.emit(JGT.imm(R0, DIRECT_LIMIT - size, passLabel));
    checkLengthVariable(e, access, size, passLabel);
    pointerCheck(e, access, size, passLabel);
    e.emit(loadMem(target, R5, -size, width));
    finish();
    return;
  }

  // direct-or-helper: the payload length bounds the read; data_end only decides the path.
  const slow = e.fresh('slow');
  const join = e.fresh('join');
  if (typeof insn.offset === 'bigint') {
    const offset = Number(insn.offset);
    const planned = plan ?? { kind: 'check', end: offset + size };
    if (planned.kind === 'check') checkLengthConstant(e, access, planned.end, passLabel);
    if (access.displacement + offset + size <= DIRECT_LIMIT) {
      e.emit(loadMem(R5, FP, access.baseSlot, 'DW'), Add.imm(R5, access.displacement + offset + size));
      e.emit(loadMem(R0, FP, access.endSlot, 'DW'), JGT.reg(R5, R0, slow));
      e.emit(loadMem(target, R5, -size, width), ja(join));
    } else {
      e.emit(ja(slow));
    }
  } else {
    ops.moveInto(R0, insn.offset);
    e.emit(JGT.imm(R0, MAX_REGION_END - size, passLabel));
    checkLengthVariable(e, access, size, passLabel);
    e.emit(JGT.imm(R0, DIRECT_LIMIT - access.displacement - size, slow));
    pointerCheck(e, access, size, slow);
    e.emit(loadMem(target, R5, -size, width), ja(join));
  }

  e.label(slow);
  const save = access.saveSlot!;
  lowering.liveCallerSaved.forEach((reg, i) => e.emit(storeMem(FP, save + 8 * i, reg, 'DW')));
  // r2 first: the offset may sit in r1, which the context pointer is about to replace.
  if (typeof insn.offset === 'bigint') {
    e.emit(Mov.imm(R2, Number(insn.offset) + access.displacement));
  } else {
    ops.moveInto(R2, insn.offset);
    e.emit(Add.imm(R2, access.displacement));
  }
  e.emit(loadMem(R1, FP, access.ctxSlot!, 'DW'), Mov.reg(R3, FP), Add.imm(R3, access.bufferSlot!), Mov.imm(R4, size));
  e.emit(call('skb_load_bytes'), JNE.imm(R0, 0, passLabel));
  e.emit(loadMem(R0, FP, access.bufferSlot!, width));
  lowering.liveCallerSaved.forEach((reg, i) => e.emit(loadMem(reg, FP, save + 8 * i, 'DW')));
  if (target !== R0) e.emit(Mov.reg(target, R0));
  e.label(join);
  finish();
}

/** `if length < end goto pass`, when the region has a length of its own. */
function checkLengthConstant(e: Emitter, access: RegionAccess, end: number, passLabel: string): void {
  if (access.lengthSlot === undefined) return;
  e.emit(loadMem(R5, FP, access.lengthSlot, 'DW'), JLT.imm(R5, end, passLabel));
}

/** With the offset in r0: `if offset + size > length goto pass`, written so nothing overflows. */
function checkLengthVariable(e: Emitter, access: RegionAccess, size: number, passLabel: string): void {
  if (access.lengthSlot === undefined) return;
  e.emit(loadMem(R5, FP, access.lengthSlot, 'DW'), JLT.imm(R5, size, passLabel));
  e.emit(Add.imm(R5, -size), JGT.reg(R0, R5, passLabel));
}

/**
 * With the clamped offset in r0: leaves r5 = base + displacement + offset + size, proven not to
 * pass data_end, so the caller loads at `r5 - size`. Comparing the pointer itself (rather than
 * a copy) marks the range on r5's id, which the load uses.
 */
function pointerCheck(e: Emitter, access: RegionAccess, size: number, fail: string): void {
  e.emit(loadMem(R5, FP, access.baseSlot, 'DW'), Add.reg(R5, R0), Add.imm(R5, access.displacement + size));
  e.emit(loadMem(R0, FP, access.endSlot, 'DW'), JGT.reg(R5, R0, fail));
}

/**
 * A jump to PASS the verifier knows is always taken, yet the control-flow check sees as
 * conditional, so the code after it is not "unreachable" (it is never verified nor run).
 */
export function alwaysPass(e: Emitter, passLabel: string): void {
  e.emit(Mov.imm(R0, 0), JEq.imm(R0, 0, passLabel));
}
