import type { CompareOp, IrInsn, VReg } from '@syrup/core';
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
import type { RegionAccess } from './region-access.js';
import { isLoadBoundField } from './input-locations.js';
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

/**
 * What every path to a load has already proven about its region: the region is at least
 * `length` bytes long (a UDP payload's length, from the policy's own comparisons of
 * `payload.length` and from earlier length checks) and `pointer` bytes of it lie before
 * data_end (from earlier pointer checks, whose range the verifier keeps on the base pointer).
 */
export interface RegionFacts {
  readonly length: number;
  readonly pointer: number;
}

const NO_FACTS: RegionFacts = { length: 0, pointer: 0 };
const UNREACHED: RegionFacts = { length: Infinity, pointer: Infinity };

/**
 * The facts that hold before each constant-offset load (by instruction index): a forward
 * dataflow over the IR in which a passed bounds check (the `end` of its plan) or a taken
 * branch of `payload.length` against a constant raises them, and a join keeps the smaller.
 * lowerLoad leaves out a check that the facts already cover. A comparison of the value never
 * proves the pointer part: the verifier only learns packet ranges from pointer comparisons.
 */
export function regionFacts(insns: readonly IrInsn[], plans: ReadonlyMap<number, BoundsPlan>): Map<number, RegionFacts> {
  // Registers that only ever hold payload.length (one read before its write holds 0, which no `>= c` with c > 0 passes).
  const onlyLength = new Map<VReg, boolean>();
  for (const insn of insns) {
    if (!('dst' in insn)) continue;
    onlyLength.set(insn.dst, (onlyLength.get(insn.dst) ?? true) && insn.op === 'input' && isLoadBoundField(insn.field));
  }
  const isLength = (o: unknown): o is VReg => typeof o === 'number' && onlyLength.get(o) === true;

  const labels = new Map<string, number>();
  insns.forEach((insn, index) => {
    if (insn.op === 'label') labels.set(insn.label, index);
  });
  const before: RegionFacts[] = insns.map(() => UNREACHED);
  if (insns.length > 0) before[0] = NO_FACTS;
  const meet = (at: number, facts: RegionFacts, changed: { value: boolean }): void => {
    const old = before[at];
    if (old === undefined) return;
    const next = { length: Math.min(old.length, facts.length), pointer: Math.min(old.pointer, facts.pointer) };
    if (next.length !== old.length || next.pointer !== old.pointer) {
      before[at] = next;
      changed.value = true;
    }
  };
  // Iterate to a fixpoint: one pass for forward jumps, more only when there are loops.
  for (let pass = 0, changed = { value: true }; changed.value && pass < 64; pass++) {
    changed.value = false;
    insns.forEach((insn, index) => {
      const facts = before[index]!;
      if (facts === UNREACHED) return;
      switch (insn.op) {
        case 'return':
          return;
        case 'jump':
          meet(labels.get(insn.target)!, facts, changed);
          return;
        case 'jump-if': {
          const [taken, fallthrough] = branchFacts(insn.kind, insn.a, insn.b, isLength);
          meet(labels.get(insn.target)!, raise(facts, taken), changed);
          meet(index + 1, raise(facts, fallthrough), changed);
          return;
        }
        case 'load': {
          // (At socket-select a failed pointer check takes the helper path instead of PASS, so
          // the pointer fact is only used by direct loads, where it does hold.)
          const plan = plans.get(index);
          const end = plan?.kind === 'check' ? plan.end : typeof insn.offset === 'bigint' ? constantEnd(insn) : 0;
          meet(index + 1, plan?.kind === 'covered' ? facts : { length: Math.max(facts.length, end), pointer: Math.max(facts.pointer, end) }, changed);
          return;
        }
        default:
          meet(index + 1, facts, changed);
      }
    });
  }
  const out = new Map<number, RegionFacts>();
  insns.forEach((insn, index) => {
    if (insn.op === 'load') out.set(index, before[index] === UNREACHED ? NO_FACTS : before[index]!);
  });
  return out;
}

function raise(facts: RegionFacts, length: number): RegionFacts {
  return length > facts.length ? { length, pointer: facts.pointer } : facts;
}

/** The payload length each edge of `if a kind b` proves (0: nothing), when one side is payload.length and the other a constant. */
function branchFacts(kind: CompareOp, a: unknown, b: unknown, isLength: (o: unknown) => o is VReg): [taken: number, fallthrough: number] {
  const SWAP: Readonly<Record<CompareOp, CompareOp>> = { eq: 'eq', ne: 'ne', lt: 'gt', le: 'ge', gt: 'lt', ge: 'le' };
  let k = kind;
  let c: unknown = b;
  if (!isLength(a)) {
    if (!isLength(b)) return [0, 0];
    k = SWAP[kind];
    c = a;
  }
  if (typeof c !== 'bigint') return [0, 0];
  // Past MAX_REGION_END nothing is readable anyway; keep the numbers small.
  const at = Number(c > BigInt(MAX_REGION_END) ? BigInt(MAX_REGION_END) + 1n : c);
  switch (k) {
    case 'ge':
    case 'eq':
      return [at, 0];
    case 'gt':
      return [at + 1, 0];
    case 'lt':
    case 'ne':
      return [0, at];
    case 'le':
      return [0, at + 1];
  }
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
export function lowerLoad(lowering: LoadLowering, insn: LoadInsn, plan: BoundsPlan | undefined, facts: RegionFacts = NO_FACTS): void {
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
        if (facts.length < planned.end) checkLengthConstant(e, access, planned.end, passLabel);
        if (facts.pointer < planned.end) {
          e.emit(loadMem(R5, FP, access.baseSlot, 'DW'), Add.imm(R5, access.displacement + planned.end));
          e.emit(loadMem(R0, FP, access.endSlot, 'DW'), JGT.reg(R5, R0, passLabel));
        }
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
    if (planned.kind === 'check' && facts.length < planned.end) checkLengthConstant(e, access, planned.end, passLabel);
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
