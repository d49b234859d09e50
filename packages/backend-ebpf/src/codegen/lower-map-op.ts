import type { IrInsn, Operand } from '@syrup/core';
import { isArrayKind, type DataMapSpec } from '@syrup/maps';
import {
  Add,
  JEq,
  JNE,
  Mov,
  R0,
  R1,
  R2,
  R3,
  R4,
  R5,
  atomic,
  atomicCmpXchg,
  atomicFetch,
  call,
  ja,
  loadMapPtr,
  loadMem,
  storeImm,
  storeMem,
  type Register,
} from '../asm/index.js';
import type { Emitter } from './emitter.js';
import type { PointerPlan } from './map-pointer-reuse.js';
import { CALL_CLOBBERS, FP, SCRATCH, fitsImm32, imm32, type Operands } from './operands.js';

type MapInsn = Extract<IrInsn, { op: 'map-get' | 'map-set' | 'map-delete' | 'map-fetch-add' | 'map-cmpxchg' }>;

const U32_MASK = 0xffff_ffffn;
const BPF_ANY = 0;
const BPF_NOEXIST = 1;
const EEXIST = 17;

/** What a target's lowering changes in map operations (see `TargetLowering.mapValueStores`). */
export interface MapOpLowering {
  readonly mapValueStores: boolean;
  /** Whether anything reads the operation's answer (fetch-add: a plain atomic add suffices when not). */
  readonly resultUsed: boolean;
}

/** Stack slots map operations stage their operands in (helpers take pointers to keys and values). */
export interface MapOpSlots {
  /** u32 key. */
  readonly key: number;
  /** Three u64 operand slots. */
  readonly values: readonly [number, number, number];
}

/**
 * Semantics, the same as the evaluator's:
 * - a key is the low 32 bits of the operand (as core's PolicyMapAccess).
 * - get of an absent key is 0; set ignores failures (a full hash, an array key out of range);
 *   delete of an array entry does nothing.
 * - fetch-add and compare-exchange are atomic on the value in the map (per-CPU maps: this CPU's
 *   slot). On an absent hash key, fetch-add inserts the delta and compare-exchange inserts the
 *   desired value if the expected one is 0 (both answer 0); if another CPU inserts the key
 *   meanwhile, the operation is retried once on the value now present. An array key out of
 *   range answers 0.
 */
export function lowerMapOp(
  e: Emitter,
  ops: Operands,
  slots: MapOpSlots,
  spec: DataMapSpec,
  insn: MapInsn,
  pointer: PointerPlan = {},
  options: MapOpLowering = { mapValueStores: true, resultUsed: true },
): void {
  const dst = 'dst' in insn ? insn.dst : undefined;
  const result = (): void => {
    if (dst !== undefined) ops.commit(dst, R0);
  };
  // Without stores into map values an array's set goes through map_update_elem, as a hash's does.
  const array = isArrayKind(spec.kind) && (options.mapValueStores || insn.op !== 'map-set');
  const plainAdd = !options.mapValueStores && !options.resultUsed;
  if (insn.op === 'map-delete' && array) return;
  if (array) {
    lowerArrayOp(e, ops, slots, insn as Exclude<MapInsn, { op: 'map-delete' }>, pointer, plainAdd);
    result();
    return;
  }

  // Hash kinds: the value is staged on the stack, since an insert takes it by pointer.
  const done = e.fresh('done');
  const staged: [Operand, number][] = [];
  if (insn.op === 'map-set') staged.push([insn.value, slots.values[0]]);
  if (insn.op === 'map-fetch-add') staged.push([insn.delta, slots.values[0]]);
  if (insn.op === 'map-cmpxchg') staged.push([insn.expected, slots.values[0]], [insn.desired, slots.values[1]]);
  stage(e, ops, insn.key, slots.key, staged);

  const lookup = (): void => {
    e.emit(loadMapPtr(R1, insn.map), Mov.reg(R2, FP), Add.imm(R2, slots.key), call('map_lookup_elem'));
  };
  const update = (valueSlot: number, flags: number): void => {
    e.emit(loadMapPtr(R1, insn.map), Mov.reg(R2, FP), Add.imm(R2, slots.key));
    e.emit(Mov.reg(R3, FP), Add.imm(R3, valueSlot), Mov.imm(R4, flags), call('map_update_elem'));
  };

  switch (insn.op) {
    case 'map-get':
      lookup();
      // A miss leaves r0 = 0, which is the answer.
      e.emit(JEq.imm(R0, 0, done), loadMem(R0, R0, 0, 'DW'));
      break;
    case 'map-set':
      update(slots.values[0], BPF_ANY);
      break;
    case 'map-delete':
      e.emit(loadMapPtr(R1, insn.map), Mov.reg(R2, FP), Add.imm(R2, slots.key), call('map_delete_elem'));
      break;
    case 'map-fetch-add': {
      const found = e.fresh('found');
      const zero = e.fresh('zero');
      if (!options.mapValueStores) {
        // A device that keeps counters apart (the NFP) lets a program create one only as 0:
        // insert 0 (a race that inserts first is fine), then add to the value found.
        lookup();
        e.emit(JNE.imm(R0, 0, found), storeImm(FP, slots.values[1], 0, 'DW'));
        update(slots.values[1], BPF_NOEXIST);
        lookup();
        e.emit(JEq.imm(R0, 0, done));
        e.label(found);
        fetchAdd(e, slots.values[0], plainAdd);
        break;
      }
      lookup();
      e.emit(JNE.imm(R0, 0, found));
      update(slots.values[0], BPF_NOEXIST);
      e.emit(JEq.imm(R0, 0, done), JNE.imm(R0, -EEXIST, zero));
      lookup();
      e.emit(JEq.imm(R0, 0, done));
      e.label(found);
      fetchAdd(e, slots.values[0], plainAdd);
      e.emit(ja(done));
      e.label(zero);
      e.emit(Mov.imm(R0, 0));
      break;
    }
    case 'map-cmpxchg': {
      lookup();
      const found = e.fresh('found');
      const zero = e.fresh('zero');
      e.emit(JNE.imm(R0, 0, found));
      // Absent: as if the value were 0, so only an expected 0 stores the desired value.
      e.emit(loadMem(R5, FP, slots.values[0], 'DW'), JNE.imm(R5, 0, zero));
      update(slots.values[1], BPF_NOEXIST);
      e.emit(JEq.imm(R0, 0, done), JNE.imm(R0, -EEXIST, zero));
      lookup();
      e.emit(JEq.imm(R0, 0, done));
      e.label(found);
      compareExchange(e, slots.values[0], slots.values[1]);
      e.emit(ja(done));
      e.label(zero);
      e.emit(Mov.imm(R0, 0));
      break;
    }
  }
  e.label(done);
  result();
}

/**
 * An operation on an array or per-CPU array, through the element's pointer: one lookup (or the
 * pointer an earlier lookup of the same key saved, see map-pointer-reuse.ts), then a load, a
 * store or an atomic on the element; a NULL pointer (key out of range) answers 0 and writes
 * nothing. Operands are read where they are after the call: constants as immediates, values in
 * r6-r9 or on the stack from there, and only values in r1-r4, which the call destroys, are
 * staged in the operand slots first. Without a call (a reused pointer) nothing is staged.
 */
function lowerArrayOp(e: Emitter, ops: Operands, slots: MapOpSlots, insn: Exclude<MapInsn, { op: 'map-delete' }>, pointer: PointerPlan, plainAdd: boolean): void {
  const done = e.fresh('done');
  const operands: Operand[] =
    insn.op === 'map-set' ? [insn.value] : insn.op === 'map-fetch-add' ? [insn.delta] : insn.op === 'map-cmpxchg' ? [insn.expected, insn.desired] : [];
  const calls = pointer.reuse === undefined;
  const staged = new Map<Operand, number>();
  if (calls) {
    const clobbered = operands.filter((o) => {
      const reg = ops.registerOf(o);
      return reg !== undefined && CALL_CLOBBERS.includes(reg);
    });
    stage(
      e,
      ops,
      insn.key,
      slots.key,
      clobbered.map((o, i) => [o, slots.values[i]!] as [Operand, number]),
    );
    clobbered.forEach((o, i) => staged.set(o, slots.values[i]!));
    e.emit(loadMapPtr(R1, insn.map), Mov.reg(R2, FP), Add.imm(R2, slots.key), call('map_lookup_elem'));
    if (pointer.save !== undefined) e.emit(storeMem(FP, pointer.save, R0, 'DW'));
  } else {
    e.emit(loadMem(R0, FP, pointer.reuse!, 'DW'));
  }
  // A miss leaves r0 = 0, which is also what get, fetch-add and compare-exchange answer.
  e.emit(JEq.imm(R0, 0, done));
  /** A register holding `o` now, loading it into `scratch` when it is not in one that survived. */
  const operand = (o: Operand, scratch: Register): Register => {
    const slot = staged.get(o);
    if (slot !== undefined) {
      e.emit(loadMem(scratch, FP, slot, 'DW'));
      return scratch;
    }
    return ops.read(o, scratch);
  };
  switch (insn.op) {
    case 'map-get':
      e.emit(loadMem(R0, R0, 0, 'DW'));
      break;
    case 'map-set':
      if (typeof insn.value === 'bigint' && fitsImm32(insn.value)) e.emit(storeImm(R0, 0, imm32(insn.value), 'DW'));
      else e.emit(storeMem(R0, 0, operand(insn.value, R5), 'DW'));
      break;
    case 'map-fetch-add': {
      // The atomic writes the old value into its source register, so the delta goes to r5 (never a value's home).
      const delta = operand(insn.delta, R5);
      if (delta !== R5) e.emit(Mov.reg(R5, delta));
      e.emit(plainAdd ? atomic('add', R0, 0, R5) : atomicFetch('add', R0, 0, R5), Mov.reg(R0, R5));
      break;
    }
    case 'map-cmpxchg': {
      // cmpxchg compares with r0 and writes the old value there; the pointer moves to r5. The
      // desired value may stay in its own register (the instruction only reads it); otherwise it
      // goes to r1, or to r2 when the expected value is in r1. (No value lives in r1-r4 across a
      // map operation, call or not: the allocator counts every one as clobbering them.)
      e.emit(Mov.reg(R5, R0));
      const expectedReg = staged.has(insn.expected) ? undefined : ops.registerOf(insn.expected);
      const scratch: Register = expectedReg === R1 ? R2 : R1;
      const desired = operand(insn.desired, scratch);
      const expected = operand(insn.expected, R0);
      if (expected !== R0) e.emit(Mov.reg(R0, expected));
      e.emit(atomicCmpXchg(R5, 0, desired));
      break;
    }
  }
  e.label(done);
}

/** `r0 = atomic_fetch_add(*r0, delta)`, with r0 the value pointer; a plain atomic add when nothing reads the answer. */
function fetchAdd(e: Emitter, deltaSlot: number, plainAdd: boolean): void {
  e.emit(loadMem(R5, FP, deltaSlot, 'DW'), plainAdd ? atomic('add', R0, 0, R5) : atomicFetch('add', R0, 0, R5), Mov.reg(R0, R5));
}

/** `r0 = cmpxchg(*r0, expected, desired)`, with r0 the value pointer; cmpxchg compares with r0. */
function compareExchange(e: Emitter, expectedSlot: number, desiredSlot: number): void {
  e.emit(Mov.reg(R5, R0), loadMem(R0, FP, expectedSlot, 'DW'), loadMem(R1, FP, desiredSlot, 'DW'));
  e.emit(atomicCmpXchg(R5, 0, R1));
}

/**
 * Writes the key (its low 32 bits) and the u64 operands to their slots before any argument
 * register changes: operands in registers first (their registers may be r1-r4, which the call
 * setup overwrites), then spilled and constant ones through r0.
 */
function stage(e: Emitter, ops: Operands, key: Operand, keySlot: number, values: readonly [Operand, number][]): void {
  const keyReg = ops.registerOf(key);
  const storeKey = (reg: Register): void => {
    e.emit(storeMem(FP, keySlot, reg, 'W'));
  };
  if (keyReg !== undefined) storeKey(keyReg);
  for (const [operand, slot] of values) {
    const reg = ops.registerOf(operand);
    if (reg !== undefined) e.emit(storeMem(FP, slot, reg, 'DW'));
  }
  if (keyReg === undefined) {
    if (typeof key === 'bigint') {
      e.emit(storeImm(FP, keySlot, Number(key & U32_MASK), 'W'));
    } else {
      ops.moveInto(SCRATCH, key);
      storeKey(SCRATCH);
    }
  }
  for (const [operand, slot] of values) {
    if (ops.registerOf(operand) !== undefined) continue;
    if (typeof operand === 'bigint' && fitsImm32(operand)) e.emit(storeImm(FP, slot, imm32(operand), 'DW'));
    else e.emit(storeMem(FP, slot, ops.read(operand, SCRATCH), 'DW'));
  }
}
