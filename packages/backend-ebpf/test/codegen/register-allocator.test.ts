import { describe, expect, it } from 'vitest';
import type { IrInsn, PolicyIr } from '@syrup/core';
import { R1, R2, R6, R7, R8, R9, type Register } from '../../src/asm/index.js';
import { buildLiveIntervals, computeLiveness, insnDef, type LiveInterval } from '../../src/codegen/liveness.js';
import { normalizeIr } from '../../src/codegen/normalize-ir.js';
import { ALLOCATABLE, CALL_CLOBBERS } from '../../src/codegen/operands.js';
import { allocateRegisters, type RegisterAllocation } from '../../src/codegen/register-allocator.js';
import { array, policyIr } from './support.js';
import { randomUdpPolicy } from './random-programs.js';

const CALLS = new Set(['map-get', 'map-set', 'map-delete', 'map-fetch-add', 'map-cmpxchg', 'helper']);

function allocate(ir: PolicyIr): { insns: readonly IrInsn[]; allocation: RegisterAllocation; liveness: ReturnType<typeof computeLiveness> } {
  const { insns, registerCount } = normalizeIr(ir);
  const liveness = computeLiveness(insns, registerCount);
  let next = -8;
  const allocation = allocateRegisters(buildLiveIntervals(insns, liveness), {
    registers: ALLOCATABLE,
    insnCount: insns.length,
    clobbers: (i) => (CALLS.has(insns[i]!.op) ? CALL_CLOBBERS : []),
    newSlot: () => (next -= 8),
  });
  return { insns, allocation, liveness };
}

/** `count` values computed before a map call and all read after it. */
function liveAcrossCall(count: number): PolicyIr {
  const insns: IrInsn[] = [];
  for (let v = 0; v < count; v++) insns.push({ op: 'input', dst: v, field: v % 2 === 0 ? 'srcPort' : 'dstPort' });
  insns.push({ op: 'map-fetch-add', dst: count, map: 'm', key: 0n, delta: 1n });
  let acc = count;
  for (let v = 0; v < count; v++) {
    insns.push({ op: 'binary', kind: 'add', dst: count + 1 + v, a: acc, b: v });
    acc = count + 1 + v;
  }
  insns.push({ op: 'return', verdict: 'executor', value: acc });
  return policyIr({ input: 'udp', maps: { m: array(1) }, insns });
}

/** Checks that values live at the same point never share a register or a stack slot. */
function expectNoConflicts(insns: readonly IrInsn[], allocation: RegisterAllocation, liveness: ReturnType<typeof computeLiveness>): void {
  const check = (vregs: number[], where: string): void => {
    const seen = new Map<string, number>();
    for (const v of vregs) {
      const loc = allocation.locations.get(v)!;
      const place = loc.kind === 'register' ? `r${loc.reg}` : `fp${loc.offset}`;
      const other = seen.get(place);
      expect(other, `v${v} and v${String(other)} share ${place} ${where}`).toBeUndefined();
      seen.set(place, v);
    }
  };
  insns.forEach((insn, i) => {
    check(liveness.liveIn[i]!.values(), `before instruction ${i}`);
    const after = liveness.liveOut[i]!.values();
    const def = insnDef(insn);
    if (def !== undefined && !after.includes(def)) after.push(def);
    check(after, `after instruction ${i}`);
  });
}

describe('allocateRegisters', () => {
  it('keeps values live across a helper call in callee-saved registers', () => {
    const { insns, allocation, liveness } = allocate(liveAcrossCall(3));
    const call = insns.findIndex((i) => i.op === 'map-fetch-add');
    const across = liveness.liveIn[call]!.values().filter((v) => liveness.liveOut[call]!.has(v));
    expect(across).toHaveLength(3);
    for (const v of across) {
      expect(allocation.locations.get(v)).toEqual({ kind: 'register', reg: expect.toBeOneOf([R6, R7, R8, R9]) });
    }
    expect(allocation.spilled).toEqual([]);
  });

  it('spills to 8-byte aligned stack slots when more values cross a call than r6-r9 hold', () => {
    const { insns, allocation, liveness } = allocate(liveAcrossCall(8));
    expect(allocation.spilled.length).toBe(4);
    for (const v of allocation.spilled) {
      const loc = allocation.locations.get(v)!;
      expect(loc.kind).toBe('stack');
      if (loc.kind === 'stack') expect(Math.abs(loc.offset) % 8).toBe(0);
    }
    expectNoConflicts(insns, allocation, liveness);
  });

  it('puts values that cross no call in caller-saved registers first', () => {
    const ir = policyIr({
      input: 'udp',
      insns: [
        { op: 'input', dst: 0, field: 'len' },
        { op: 'binary', kind: 'add', dst: 1, a: 0, b: 1n },
        { op: 'return', verdict: 'executor', value: 1 },
      ],
    });
    const { allocation } = allocate(ir);
    expect(allocation.locations.get(0)).toEqual({ kind: 'register', reg: R1 });
    // The hint: the sum takes the register of its operand, which dies there.
    expect(allocation.locations.get(1)).toEqual({ kind: 'register', reg: R1 });
  });

  it('lets an operand that dies at a call stay in a clobbered register', () => {
    const ir = policyIr({
      input: 'udp',
      maps: { m: array(4) },
      insns: [
        { op: 'input', dst: 0, field: 'srcPort' },
        { op: 'map-get', dst: 1, map: 'm', key: 0 },
        { op: 'return', verdict: 'executor', value: 1 },
      ],
    });
    const { allocation } = allocate(ir);
    expect(allocation.locations.get(0)).toEqual({ kind: 'register', reg: R1 });
    expect(allocation.locations.get(1)).toEqual({ kind: 'register', reg: R1 });
  });

  it('shares stack slots between spilled values whose lives do not overlap', () => {
    const intervals: LiveInterval[] = [
      { vreg: 0, start: 1, end: 10, liveAtEntry: false },
      { vreg: 1, start: 12, end: 20, liveAtEntry: false },
    ];
    let next = 0;
    const allocation = allocateRegisters(intervals, { registers: [], insnCount: 10, clobbers: () => [], newSlot: () => (next -= 8) });
    expect(allocation.locations.get(0)).toEqual({ kind: 'stack', offset: -8 });
    expect(allocation.locations.get(1)).toEqual({ kind: 'stack', offset: -8 });
    expect(allocation.slots).toEqual([-8]);
  });

  it('spills the interval that ends last, not the one being placed, when that frees a register', () => {
    const intervals: LiveInterval[] = [
      { vreg: 0, start: 1, end: 100, liveAtEntry: false },
      { vreg: 1, start: 2, end: 5, liveAtEntry: false },
    ];
    const allocation = allocateRegisters(intervals, {
      registers: [R2] as Register[],
      insnCount: 50,
      clobbers: () => [],
      newSlot: () => -8,
    });
    expect(allocation.locations.get(1)).toEqual({ kind: 'register', reg: R2 });
    expect(allocation.locations.get(0)).toEqual({ kind: 'stack', offset: -8 });
  });

  it('never gives simultaneously live values the same place in random policies', () => {
    for (let seed = 1; seed <= 60; seed++) {
      const { insns, allocation, liveness } = allocate(randomUdpPolicy(seed));
      expectNoConflicts(insns, allocation, liveness);
      insns.forEach((insn, i) => {
        if (!CALLS.has(insn.op)) return;
        for (const v of liveness.liveIn[i]!.values()) {
          if (!liveness.liveOut[i]!.has(v) || v === insnDef(insn)) continue;
          const loc = allocation.locations.get(v)!;
          if (loc.kind === 'register') expect(CALL_CLOBBERS, `seed ${seed}: v${v} crosses a call in r${loc.reg}`).not.toContain(loc.reg);
        }
      });
    }
  });
});
