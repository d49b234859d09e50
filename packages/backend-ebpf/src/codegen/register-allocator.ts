import type { VReg } from '@syrup/core';
import type { Register } from '../asm/index.js';
import type { LiveInterval } from './liveness.js';

/** Where a virtual register lives for its whole interval: a machine register or an 8-byte stack slot. */
export type Location =
  | { readonly kind: 'register'; readonly reg: Register }
  /** `offset` is negative, relative to the frame pointer r10, and a multiple of 8. */
  | { readonly kind: 'stack'; readonly offset: number };

export interface AllocationOptions {
  /** Registers values may live in, most preferred first (caller-saved ones before callee-saved). */
  readonly registers: readonly Register[];
  /** Number of IR instructions the intervals' points refer to. */
  readonly insnCount: number;
  /**
   * Registers instruction `index` destroys while it runs, such as r1-r5 across a helper call. A
   * value living across that instruction cannot stay in one; an operand the instruction reads
   * last, or the result it writes, can (the lowering reads operands first and writes last).
   */
  readonly clobbers: (index: number) => readonly Register[];
  /** Hands out a fresh 8-byte stack slot (its negative offset) when a spill needs one, for `interval` (whose start is where all the slots are live at once). */
  readonly newSlot: (interval: LiveInterval) => number;
  /** Virtual registers whose register a value would like to reuse (the source of a move). */
  readonly hints?: ReadonlyMap<VReg, readonly VReg[]>;
}

export interface RegisterAllocation {
  readonly locations: ReadonlyMap<VReg, Location>;
  /** Virtual registers that live on the stack, by ascending interval start. */
  readonly spilled: readonly VReg[];
  /** The distinct stack slots spills use. */
  readonly slots: readonly number[];
  readonly intervals: readonly LiveInterval[];
}

interface Active {
  readonly interval: LiveInterval;
  reg: Register;
}

/**
 * Linear-scan register allocation (Poletto and Sarkar) with fixed clobbers: intervals are
 * visited by start point; each takes the most preferred register that is free and not
 * destroyed by an instruction the interval spans. When none is left, whichever of the new
 * interval and the active ones ends last (among those whose register the new one could use)
 * moves to the stack for its whole life. Stack slots are shared by spilled intervals that do
 * not overlap.
 */
export function allocateRegisters(intervals: readonly LiveInterval[], options: AllocationOptions): RegisterAllocation {
  const sorted = [...intervals].sort((a, b) => a.start - b.start || a.vreg - b.vreg);
  const clobberCounts = countClobbers(options);
  const allowed = (interval: LiveInterval, reg: Register): boolean => {
    // Instructions i with 2i+1 >= start and 2i+2 <= end are spanned, not just touched.
    const first = Math.max(0, Math.ceil((interval.start - 1) / 2));
    const last = Math.min(options.insnCount - 1, Math.floor((interval.end - 2) / 2));
    if (first > last) return true;
    const counts = clobberCounts.get(reg);
    return counts === undefined || counts[last + 1]! - counts[first]! === 0;
  };

  const registerOf = new Map<VReg, Register>();
  const spilled: LiveInterval[] = [];
  let active: Active[] = [];

  for (const current of sorted) {
    active = active.filter((a) => a.interval.end >= current.start);
    const taken = new Set(active.map((a) => a.reg));
    const candidates = options.registers.filter((reg) => allowed(current, reg));
    const free = candidates.filter((reg) => !taken.has(reg));
    if (free.length > 0) {
      const reg = hinted(current, free, registerOf, options.hints) ?? free[0]!;
      registerOf.set(current.vreg, reg);
      active.push({ interval: current, reg });
      continue;
    }
    let victim: Active | undefined;
    for (const a of active) {
      if (!candidates.includes(a.reg)) continue;
      if (victim === undefined || a.interval.end > victim.interval.end) victim = a;
    }
    if (victim !== undefined && victim.interval.end > current.end) {
      registerOf.delete(victim.interval.vreg);
      spilled.push(victim.interval);
      registerOf.set(current.vreg, victim.reg);
      active = active.filter((a) => a !== victim);
      active.push({ interval: current, reg: victim.reg });
    } else {
      spilled.push(current);
    }
  }

  const locations = new Map<VReg, Location>();
  for (const [vreg, reg] of registerOf) locations.set(vreg, { kind: 'register', reg });
  const slots = assignSlots(spilled, locations, options.newSlot);
  const spilledOrder = [...spilled].sort((a, b) => a.start - b.start || a.vreg - b.vreg).map((i) => i.vreg);
  return { locations, spilled: spilledOrder, slots, intervals: sorted };
}

function hinted(
  current: LiveInterval,
  free: readonly Register[],
  registerOf: ReadonlyMap<VReg, Register>,
  hints: ReadonlyMap<VReg, readonly VReg[]> | undefined,
): Register | undefined {
  for (const source of hints?.get(current.vreg) ?? []) {
    const reg = registerOf.get(source);
    if (reg !== undefined && free.includes(reg)) return reg;
  }
  return undefined;
}

/** Prefix counts per register: counts[i] = instructions before i that clobber it. */
function countClobbers(options: AllocationOptions): Map<Register, Int32Array> {
  const counts = new Map<Register, Int32Array>();
  for (let i = 0; i < options.insnCount; i++) {
    for (const reg of options.clobbers(i)) {
      if (!counts.has(reg)) counts.set(reg, new Int32Array(options.insnCount + 1));
    }
  }
  for (const [reg, prefix] of counts) {
    for (let i = 0; i < options.insnCount; i++) {
      prefix[i + 1] = prefix[i]! + (options.clobbers(i).includes(reg) ? 1 : 0);
    }
  }
  return counts;
}

function assignSlots(spilled: readonly LiveInterval[], locations: Map<VReg, Location>, newSlot: (interval: LiveInterval) => number): number[] {
  const order = [...spilled].sort((a, b) => a.start - b.start || a.vreg - b.vreg);
  const slots: number[] = [];
  const freeSlots: number[] = [];
  let busy: { end: number; offset: number }[] = [];
  for (const interval of order) {
    const stillBusy: { end: number; offset: number }[] = [];
    for (const b of busy) {
      if (b.end < interval.start) freeSlots.push(b.offset);
      else stillBusy.push(b);
    }
    busy = stillBusy;
    let offset = freeSlots.shift();
    if (offset === undefined) {
      offset = newSlot(interval);
      slots.push(offset);
    }
    busy.push({ end: interval.end, offset });
    locations.set(interval.vreg, { kind: 'stack', offset });
  }
  return slots;
}
