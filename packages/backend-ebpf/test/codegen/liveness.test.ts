import { describe, expect, it } from 'vitest';
import type { IrInsn } from '@syrup/core';
import { VRegSet, buildLiveIntervals, computeLiveness, defPoint, insnDef, insnUses, successors, usePoint } from '../../src/codegen/liveness.js';

describe('insnUses and insnDef', () => {
  it('name the registers an instruction reads and writes, never immediates', () => {
    const insn: IrInsn = { op: 'map-cmpxchg', dst: 4, map: 'm', key: 1, expected: 2n, desired: 3 };
    expect(insnUses(insn)).toEqual([1, 3]);
    expect(insnDef(insn)).toBe(4);
    expect(insnUses({ op: 'binary', kind: 'mul', dst: 0, a: 2, b: 2 })).toEqual([2]);
    expect(insnDef({ op: 'map-set', map: 'm', key: 0, value: 1 })).toBeUndefined();
    expect(insnUses({ op: 'return', verdict: 'pass' })).toEqual([]);
  });
});

describe('successors', () => {
  it('follow fall-through, jumps and both arms of a conditional jump', () => {
    const insns: IrInsn[] = [
      { op: 'jump-if', kind: 'eq', a: 0, b: 0n, target: 'x' },
      { op: 'jump', target: 'x' },
      { op: 'label', label: 'x' },
      { op: 'return', verdict: 'pass' },
    ];
    expect(successors(insns)).toEqual([[1, 2], [2], [3], []]);
  });
});

describe('VRegSet', () => {
  it('adds, deletes, unions and lists members across word boundaries', () => {
    const a = new VRegSet(70);
    a.add(0);
    a.add(31);
    a.add(69);
    const b = new VRegSet(70);
    b.add(32);
    expect(a.union(b)).toBe(true);
    expect(a.union(b)).toBe(false);
    a.delete(0);
    expect(a.values()).toEqual([31, 32, 69]);
    expect(a.has(32)).toBe(true);
    expect(a.has(33)).toBe(false);
  });
});

describe('computeLiveness and buildLiveIntervals', () => {
  // v0 = 0; v1 = 10; loop: v0 += v1; v2 = v0 < 100; if v2 != 0 goto loop; return v0
  const loop: IrInsn[] = [
    { op: 'const', dst: 0, value: 0n },
    { op: 'const', dst: 1, value: 10n },
    { op: 'label', label: 'loop' },
    { op: 'binary', kind: 'add', dst: 0, a: 0, b: 1 },
    { op: 'compare', kind: 'lt', dst: 2, a: 0, b: 100n },
    { op: 'jump-if', kind: 'ne', a: 2, b: 0n, target: 'loop' },
    { op: 'return', verdict: 'executor', value: 0 },
  ];

  it('carries values around a loop back edge', () => {
    const liveness = computeLiveness(loop, 3);
    // v1 is read on every iteration, so it is live at the back edge and at the loop head.
    expect(liveness.liveOut[5]!.values()).toEqual([0, 1]);
    expect(liveness.liveIn[2]!.values()).toEqual([0, 1]);
    expect(liveness.liveIn[0]!.values()).toEqual([]);
  });

  it('makes intervals span the whole loop for values used across the back edge', () => {
    const intervals = buildLiveIntervals(loop, computeLiveness(loop, 3));
    const of = (v: number) => intervals.find((i) => i.vreg === v)!;
    expect(of(1)).toEqual({ vreg: 1, start: defPoint(1), end: defPoint(5), liveAtEntry: false });
    expect(of(0).end).toBe(usePoint(6));
    // v2 lives only from the compare to the jump.
    expect(of(2)).toEqual({ vreg: 2, start: defPoint(4), end: usePoint(5), liveAtEntry: false });
  });

  it('marks values read before any write on some path as live at entry', () => {
    const insns: IrInsn[] = [
      { op: 'input', dst: 0, field: 'len' },
      { op: 'jump-if', kind: 'eq', a: 0, b: 0n, target: 'skip' },
      { op: 'const', dst: 1, value: 7n },
      { op: 'label', label: 'skip' },
      { op: 'return', verdict: 'executor', value: 1 },
    ];
    const intervals = buildLiveIntervals(insns, computeLiveness(insns, 2));
    expect(intervals.find((i) => i.vreg === 1)).toEqual({ vreg: 1, start: 0, end: usePoint(4), liveAtEntry: true });
    expect(intervals.find((i) => i.vreg === 0)!.liveAtEntry).toBe(false);
  });
});
