import { evalBinary, evalCompare, isCommutative, swapCompare, type BinaryOp, type CompareOp, type IrInsn, type Operand } from '@syrup/core';
import type { DataMapSpec } from '@syrup/maps';
import {
  And,
  Mov,
  R0,
  R5,
  Xor,
  aluImm,
  aluReg,
  call,
  ja,
  jumpImm,
  jumpReg,
  loadMem,
  neg,
  type AluOp,
  type JumpCond,
  type Register,
} from '../asm/index.js';
import { CodegenError } from './codegen-error.js';
import type { TargetLowering } from './codegen-target.js';
import type { Emitter } from './emitter.js';
import { EXECUTOR_KEY, VERDICT_LABELS } from './epilogues.js';
import { fieldSlot, type Frame } from './frame.js';
import { lowerLoad, type BoundsPlan, type RegionFacts } from './lower-load.js';
import { lowerMapOp } from './lower-map-op.js';
import type { PointerPlan } from './map-pointer-reuse.js';
import { FP, SCRATCH, SCRATCH2, emitConstant, fitsImm32, imm32, type Operands } from './operands.js';
import { emitStoreU64, emitWideDivideSlots, emitWideMultiplySlots, type WideSlots } from './wide-arithmetic.js';

const U64_MASK = (1n << 64n) - 1n;

/** What lowering one body instruction needs besides the instruction. */
export interface BodyLowering {
  readonly emitter: Emitter;
  readonly operands: Operands;
  readonly frame: Frame;
  readonly maps: Readonly<Record<string, DataMapSpec>>;
  readonly boundsPlans: ReadonlyMap<number, BoundsPlan>;
  /** What earlier checks and comparisons proved about the region before each load. */
  readonly regionFacts: ReadonlyMap<number, RegionFacts>;
  /** Allocated r1-r4 holding values still needed after instruction `index`. */
  readonly liveCallerSaved: (index: number) => readonly Register[];
  /** Array operations that save or reuse an element pointer, by instruction index. */
  readonly pointerPlans: ReadonlyMap<number, PointerPlan>;
  /** An upper bound of the values an operand can hold (see value-bounds.ts). */
  readonly maxValue: (operand: Operand) => bigint;
  /** How the target lowers what its device cannot run as one instruction. */
  readonly lowering: TargetLowering;
  /** False when nothing reads the value instruction `index` defines. */
  readonly resultUsed: (index: number) => boolean;
}

const U32_MAX = 0xffff_ffffn;

/** The label an IR label becomes; the prefix keeps it apart from generated labels (which start with a dot). */
export function irLabel(name: string): string {
  return `L:${name}`;
}

const ALU_OPS: Readonly<Record<BinaryOp, AluOp>> = {
  add: 'add',
  sub: 'sub',
  mul: 'mul',
  div: 'div',
  mod: 'mod',
  and: 'and',
  or: 'or',
  xor: 'xor',
  shl: 'lsh',
  shr: 'rsh',
};
/** Emits the eBPF for body instruction `index`. */
export function lowerInsn(body: BodyLowering, insn: IrInsn, index: number): void {
  const { emitter: e, operands: ops } = body;
  switch (insn.op) {
    case 'const':
      ops.assign(insn.dst, insn.value);
      return;
    case 'mov':
      ops.assign(insn.dst, insn.src);
      return;
    case 'binary':
      if (body.lowering.arithmetic === 'u32-operands' && (insn.kind === 'mul' || insn.kind === 'div' || insn.kind === 'mod')) {
        const [a, b, c] = body.frame.mapSlots.values;
        lowerU32OperandBinary(e, ops, insn.kind, insn.dst, insn.a, insn.b, { a, b, c });
      } else {
        lowerBinary(e, ops, insn.kind, insn.dst, insn.a, insn.b);
      }
      return;
    case 'unary': {
      if (typeof insn.a === 'bigint') {
        ops.assign(insn.dst, insn.kind === 'neg' ? (-insn.a & U64_MASK) : (~insn.a & U64_MASK));
        return;
      }
      const target = ops.target(insn.dst);
      ops.moveInto(target, insn.a);
      e.emit(insn.kind === 'neg' ? neg(target) : Xor.imm(target, -1));
      ops.commit(insn.dst, target);
      return;
    }
    case 'compare':
      lowerCompare(e, ops, insn.kind, insn.dst, insn.a, insn.b);
      return;
    case 'label':
      e.label(irLabel(insn.label));
      return;
    case 'jump':
      e.emit(ja(irLabel(insn.target)));
      return;
    case 'jump-if':
      emitConditionalJump(e, ops, insn.kind, insn.a, insn.b, irLabel(insn.target));
      return;
    case 'input': {
      const target = ops.target(insn.dst);
      e.emit(loadMem(target, FP, fieldSlot(body.frame, insn.field), 'DW'));
      ops.commit(insn.dst, target);
      return;
    }
    case 'load':
      lowerLoad(
        {
          emitter: e,
          operands: ops,
          access: body.frame.access!,
          passLabel: VERDICT_LABELS.pass,
          liveCallerSaved: body.liveCallerSaved(index),
        },
        insn,
        body.boundsPlans.get(index),
        body.regionFacts.get(index),
      );
      return;
    case 'map-get':
    case 'map-set':
    case 'map-delete':
    case 'map-fetch-add':
    case 'map-cmpxchg':
      lowerMapOp(e, ops, body.frame.mapSlots, body.maps[insn.map]!, insn, body.pointerPlans.get(index), {
        mapValueStores: body.lowering.mapValueStores,
        resultUsed: body.resultUsed(index),
      });
      return;
    case 'helper': {
      e.emit(call(insn.helper === 'random' ? 'get_prandom_u32' : insn.helper === 'now' ? 'ktime_get_ns' : 'get_smp_processor_id'));
      ops.commit(insn.dst, R0);
      return;
    }
    case 'return':
      if (insn.verdict === 'executor') {
        // Keys beyond u32 still take the executor path: the epilogue decides what they mean at the hook.
        ops.moveInto(EXECUTOR_KEY, insn.value);
        e.emit(ja(body.maxValue(insn.value) <= U32_MAX ? VERDICT_LABELS.executor32 : VERDICT_LABELS.executor));
      } else {
        e.emit(ja(insn.verdict === 'pass' ? VERDICT_LABELS.pass : VERDICT_LABELS.drop));
      }
      return;
  }
}

/**
 * `dst = a op b` over 64 bits. Constant operands fold; a constant divisor 0 folds to the IR's
 * answer (0 for div, a for mod) since the verifier rejects a division by the constant 0;
 * constant shift amounts are masked now and variable ones with `& 63` at run time.
 */
export function lowerBinary(e: Emitter, ops: Operands, kind: BinaryOp, dst: number, a: Operand, b: Operand): void {
  if (typeof a === 'bigint' && typeof b === 'bigint') {
    ops.assign(dst, evalBinary(kind, a, b));
    return;
  }
  if ((kind === 'div' || kind === 'mod') && b === 0n) {
    ops.assign(dst, kind === 'div' ? 0n : a);
    return;
  }
  const op = ALU_OPS[kind];
  if ((kind === 'shl' || kind === 'shr') && typeof b === 'bigint') {
    const amount = Number(b & 63n);
    if (amount === 0) {
      ops.assign(dst, a);
      return;
    }
    const target = ops.target(dst);
    ops.moveInto(target, a);
    e.emit(aluImm(op, target, amount));
    ops.commit(dst, target);
    return;
  }
  if (typeof a === 'bigint' && isCommutative(kind)) [a, b] = [b, a];

  const target = ops.target(dst);
  let right: { readonly imm: number } | { readonly reg: Register };
  if (typeof b === 'bigint') {
    if (fitsImm32(b)) {
      right = { imm: imm32(b) };
    } else {
      emitConstant(e, SCRATCH2, b);
      right = { reg: SCRATCH2 };
    }
  } else {
    let reg = ops.read(b, SCRATCH2);
    if (kind === 'shl' || kind === 'shr') {
      e.emit(Mov.reg(SCRATCH2, reg), And.imm(SCRATCH2, 63));
      reg = SCRATCH2;
    } else if (reg === target && ops.registerOf(a) !== target) {
      // Moving a into the target first would destroy b.
      e.emit(Mov.reg(SCRATCH2, reg));
      reg = SCRATCH2;
    }
    right = { reg };
  }
  ops.moveInto(target, a);
  e.emit('imm' in right ? aluImm(op, target, right.imm) : aluReg(op, target, right.reg));
  ops.commit(dst, target);
}

/**
 * `dst = a op b` for `mul`, `div` and `mod` under the `u32-operands` lowering (see
 * `TargetLowering`): constants fold, a power-of-two multiplier, divisor or modulus becomes a
 * shift or an AND, other products are three 32x32-bit partial products, other constant
 * divisors long division over 32-bit steps. A divisor known only at run time, or a constant of
 * 2^31 or more that is not a power of two, is refused at the policy's line.
 */
export function lowerU32OperandBinary(e: Emitter, ops: Operands, kind: 'mul' | 'div' | 'mod', dst: number, a: Operand, b: Operand, slots: WideSlots): void {
  if (typeof a === 'bigint' && typeof b === 'bigint') {
    ops.assign(dst, evalBinary(kind, a, b));
    return;
  }
  if (kind === 'mul' && typeof a === 'bigint') [a, b] = [b, a];
  if (kind !== 'mul' && typeof b !== 'bigint') {
    throw notAllowed(e, kind === 'div' ? 'a division by a value known only at run time' : 'a remainder (%) by a value known only at run time');
  }
  if (kind === 'mul' && b === 0n) {
    ops.assign(dst, 0n);
    return;
  }
  if (typeof b === 'bigint' && (b === 0n || (b & (b - 1n)) === 0n)) {
    const log2 = b === 0n ? 0 : b.toString(2).length - 1;
    if (kind === 'mul') lowerBinary(e, ops, 'shl', dst, a, BigInt(log2));
    else if (kind === 'div') lowerBinary(e, ops, b === 0n ? 'div' : 'shr', dst, a, b === 0n ? 0n : BigInt(log2));
    else lowerBinary(e, ops, b === 0n ? 'mod' : 'and', dst, a, b === 0n ? 0n : b - 1n);
    return;
  }
  if (kind !== 'mul' && (b as bigint) >= 1n << 31n) {
    throw notAllowed(e, `a ${kind === 'div' ? 'division' : 'remainder (%)'} by the constant ${String(b)}, which is neither a power of two nor below 2^31`);
  }
  // Both operands go to the stack; the sequences read them back as 32-bit halves.
  emitStoreU64(e, slots.a, ops.read(a, SCRATCH));
  if (kind === 'mul') emitStoreU64(e, slots.b, ops.read(b, SCRATCH2));
  if (kind === 'mul') emitWideMultiplySlots(e, slots);
  else emitWideDivideSlots(e, slots, Number(b), kind === 'div' ? 'quotient' : 'remainder');
  ops.commit(dst, SCRATCH);
}

function notAllowed(e: Emitter, what: string): CodegenError {
  const where = e.source;
  return new CodegenError('CODEGEN_NOT_ALLOWED', `the policy needs ${what}${where === undefined ? '' : ` at ${where.file}:${where.line}:${where.column}`}, which this target cannot run.`, {
    ...(where === undefined ? {} : { location: where }),
  });
}

/** `dst = (a cmp b) ? 1 : 0`, unsigned. */
function lowerCompare(e: Emitter, ops: Operands, kind: CompareOp, dst: number, a: Operand, b: Operand): void {
  if (typeof a === 'bigint' && typeof b === 'bigint') {
    ops.assign(dst, evalCompare(kind, a, b) ? 1n : 0n);
    return;
  }
  const target = ops.target(dst);
  const left = typeof a === 'bigint' ? undefined : ops.registerOf(a);
  const right = typeof b === 'bigint' ? undefined : ops.registerOf(b);
  if (target !== left && target !== right && target !== SCRATCH) {
    // Setting the answer first is safe: neither operand lives in the target.
    const done = e.fresh('cmp');
    e.emit(Mov.imm(target, 1));
    emitConditionalJump(e, ops, kind, a, b, done);
    e.emit(Mov.imm(target, 0));
    e.label(done);
    return;
  }
  const yes = e.fresh('true');
  const done = e.fresh('cmp');
  emitConditionalJump(e, ops, kind, a, b, yes);
  e.emit(Mov.imm(target, 0), ja(done));
  e.label(yes);
  e.emit(Mov.imm(target, 1));
  e.label(done);
  ops.commit(dst, target);
}

/** `if a cmp b goto label`, unsigned and 64-bit; reads spilled operands into r0 and r5. */
export function emitConditionalJump(e: Emitter, ops: Operands, kind: CompareOp, a: Operand, b: Operand, label: string): void {
  if (typeof a === 'bigint' && typeof b === 'bigint') {
    if (evalCompare(kind, a, b)) e.emit(ja(label));
    return;
  }
  if (typeof a === 'bigint') {
    [a, b] = [b, a];
    kind = swapCompare(kind);
  }
  const cond: JumpCond = kind;
  const left = ops.read(a, SCRATCH);
  if (typeof b === 'bigint' && fitsImm32(b)) {
    e.emit(jumpImm(cond, left, imm32(b), label));
    return;
  }
  const right = ops.read(b, R5);
  e.emit(jumpReg(cond, left, right, label));
}
