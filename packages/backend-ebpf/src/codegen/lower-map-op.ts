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
import { FP, SCRATCH, fitsImm32, imm32, type Operands } from './operands.js';

type MapInsn = Extract<IrInsn, { op: 'map-get' | 'map-set' | 'map-delete' | 'map-fetch-add' | 'map-cmpxchg' }>;

const U32_MASK = 0xffff_ffffn;
const BPF_ANY = 0;
const BPF_NOEXIST = 1;
const EEXIST = 17;

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
export function lowerMapOp(e: Emitter, ops: Operands, slots: MapOpSlots, spec: DataMapSpec, insn: MapInsn): void {
  const dst = 'dst' in insn ? insn.dst : undefined;
  const result = (): void => {
    if (dst !== undefined) ops.commit(dst, R0);
  };
  const array = isArrayKind(spec.kind);
  if (insn.op === 'map-delete' && array) return;

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
      lookup();
      if (array) {
        e.emit(JEq.imm(R0, 0, done));
      } else {
        const zero = e.fresh('zero');
        e.emit(JNE.imm(R0, 0, found));
        update(slots.values[0], BPF_NOEXIST);
        e.emit(JEq.imm(R0, 0, done), JNE.imm(R0, -EEXIST, zero));
        lookup();
        e.emit(JEq.imm(R0, 0, done));
        e.label(found);
        fetchAdd(e, slots.values[0]);
        e.emit(ja(done));
        e.label(zero);
        e.emit(Mov.imm(R0, 0));
        break;
      }
      fetchAdd(e, slots.values[0]);
      break;
    }
    case 'map-cmpxchg': {
      lookup();
      if (array) {
        e.emit(JEq.imm(R0, 0, done));
        compareExchange(e, slots.values[0], slots.values[1]);
        break;
      }
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

/** `r0 = atomic_fetch_add(*r0, delta)`, with r0 the value pointer. */
function fetchAdd(e: Emitter, deltaSlot: number): void {
  e.emit(loadMem(R5, FP, deltaSlot, 'DW'), atomicFetch('add', R0, 0, R5), Mov.reg(R0, R5));
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
