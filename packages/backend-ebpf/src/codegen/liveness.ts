import { insnRegisters, type IrInsn, type VReg } from '@syrup/core';

/** The virtual registers an instruction reads, each once; which operands are read is core's insnRegisters. */
export function insnUses(insn: IrInsn): VReg[] {
  return [...new Set(insnRegisters(insn).reads)];
}

/** The virtual register an instruction writes, if any (IR instructions write at most one). */
export function insnDef(insn: IrInsn): VReg | undefined {
  return insnRegisters(insn).write;
}

/** Successor instruction indices of each instruction; a `return` has none. */
export function successors(insns: readonly IrInsn[]): number[][] {
  const labels = new Map<string, number>();
  insns.forEach((insn, index) => {
    if (insn.op === 'label') labels.set(insn.label, index);
  });
  const target = (name: string): number => {
    const at = labels.get(name);
    if (at === undefined) throw new RangeError(`jump to undefined label '${name}'`);
    return at;
  };
  return insns.map((insn, index) => {
    switch (insn.op) {
      case 'return':
        return [];
      case 'jump':
        return [target(insn.target)];
      case 'jump-if':
        return [index + 1, target(insn.target)];
      default:
        return [index + 1];
    }
  });
}

/**
 * Virtual registers live into and out of each instruction. `liveIn[i]` holds what instruction
 * i or a later one may still read before writing; jumps make it flow backwards over loops.
 */
export interface Liveness {
  readonly registerCount: number;
  readonly liveIn: readonly VRegSet[];
  readonly liveOut: readonly VRegSet[];
}

/** A fixed-size set of virtual registers. */
export class VRegSet {
  readonly words: Uint32Array;

  constructor(registerCount: number) {
    this.words = new Uint32Array(Math.ceil(registerCount / 32));
  }

  has(v: VReg): boolean {
    return ((this.words[v >>> 5] ?? 0) & (1 << (v & 31))) !== 0;
  }

  add(v: VReg): void {
    this.words[v >>> 5]! |= 1 << (v & 31);
  }

  delete(v: VReg): void {
    this.words[v >>> 5]! &= ~(1 << (v & 31));
  }

  /** Adds every member of `other`; answers whether this set grew. */
  union(other: VRegSet): boolean {
    let grew = false;
    for (let i = 0; i < this.words.length; i++) {
      const before = this.words[i]!;
      const after = (before | other.words[i]!) >>> 0;
      if (after !== before) {
        this.words[i] = after;
        grew = true;
      }
    }
    return grew;
  }

  copyFrom(other: VRegSet): void {
    this.words.set(other.words);
  }

  values(): VReg[] {
    const out: VReg[] = [];
    this.words.forEach((word, index) => {
      let bits = word;
      while (bits !== 0) {
        const low = bits & -bits;
        out.push(index * 32 + 31 - Math.clz32(low));
        bits = (bits ^ low) >>> 0;
      }
    });
    return out;
  }
}

/** Backward dataflow to a fixpoint: liveIn = uses ∪ (liveOut − def), liveOut = ∪ liveIn(successors). */
export function computeLiveness(insns: readonly IrInsn[], registerCount: number): Liveness {
  const succ = successors(insns);
  const liveIn = insns.map(() => new VRegSet(registerCount));
  const liveOut = insns.map(() => new VRegSet(registerCount));
  const uses = insns.map(insnUses);
  const defs = insns.map(insnDef);
  const scratch = new VRegSet(registerCount);
  let changed = true;
  while (changed) {
    changed = false;
    for (let i = insns.length - 1; i >= 0; i--) {
      const out = liveOut[i]!;
      for (const s of succ[i]!) {
        const next = liveIn[s];
        if (next !== undefined && out.union(next)) changed = true;
      }
      scratch.copyFrom(out);
      const def = defs[i];
      if (def !== undefined) scratch.delete(def);
      for (const u of uses[i]!) scratch.add(u);
      if (liveIn[i]!.union(scratch)) changed = true;
    }
  }
  return { registerCount, liveIn, liveOut };
}

/**
 * Program points: the entry is 0, instruction i reads its operands at `2i + 1` and writes its
 * result at `2i + 2`. An operand whose last use is instruction i and that instruction's result
 * may therefore share a register.
 */
export function usePoint(index: number): number {
  return 2 * index + 1;
}

export function defPoint(index: number): number {
  return 2 * index + 2;
}

/** The program points from a virtual register's first definition to its last use, gaps included. */
export interface LiveInterval {
  readonly vreg: VReg;
  readonly start: number;
  readonly end: number;
  /** True when the value may be read before any write (the program must zero it at entry). */
  readonly liveAtEntry: boolean;
}

/**
 * One interval per virtual register that is written or read. Intervals are conservative
 * single ranges: a value live around a loop's back edge covers the whole loop.
 */
export function buildLiveIntervals(insns: readonly IrInsn[], liveness: Liveness): LiveInterval[] {
  const start = new Map<VReg, number>();
  const end = new Map<VReg, number>();
  const touch = (v: VReg, point: number): void => {
    const s = start.get(v);
    if (s === undefined || point < s) start.set(v, point);
    const e = end.get(v);
    if (e === undefined || point > e) end.set(v, point);
  };
  insns.forEach((insn, i) => {
    for (const v of liveness.liveIn[i]!.values()) touch(v, usePoint(i));
    for (const v of liveness.liveOut[i]!.values()) touch(v, defPoint(i));
    for (const v of insnUses(insn)) touch(v, usePoint(i));
    const def = insnDef(insn);
    if (def !== undefined) touch(def, defPoint(i));
  });
  const atEntry = insns.length > 0 ? liveness.liveIn[0]! : new VRegSet(liveness.registerCount);
  const intervals: LiveInterval[] = [];
  for (const [vreg, s] of start) {
    const liveAtEntry = atEntry.has(vreg);
    intervals.push({ vreg, start: liveAtEntry ? 0 : s, end: end.get(vreg)!, liveAtEntry });
  }
  return intervals.sort((x, y) => x.start - y.start || x.vreg - y.vreg);
}
