import type { IrInsn, Operand, VReg } from '@syrup/core';
import { isArrayKind, type DataMapSpec } from '@syrup/maps';
import { insnDef, successors } from './liveness.js';

/**
 * How one array map operation reaches its value: `save` keeps the pointer its lookup returned
 * (or NULL) in a stack slot, `reuse` takes the pointer from such a slot instead of calling
 * bpf_map_lookup_elem again.
 */
export interface PointerPlan {
  readonly save?: number;
  readonly reuse?: number;
}

type ArrayOp = Extract<IrInsn, { op: 'map-get' | 'map-set' | 'map-fetch-add' | 'map-cmpxchg' }>;

/**
 * Groups beyond this many keep their lookups: each group costs 8 bytes of the 512-byte stack
 * (and none is made when `newSlot` finds no room).
 */
const MAX_GROUPS = 8;

/**
 * Finds array map operations that can reuse an earlier lookup's value pointer. The element of
 * an array (or this CPU's element of a per-CPU array) never moves and a lookup of the same key
 * answers the same pointer, NULL for a key out of range, for the whole run of the program. So
 * an operation B can take the pointer of an earlier operation A on the same map when A runs on
 * every path to B (A dominates B) and the key is the same value at both: the same constant, or
 * the same register with a single definition that runs before A. A policy's `get` then
 * `compareExchange` of one bucket (token-qos) then costs one lookup, as it would in C.
 *
 * Only for IR whose jumps all go forward (what the front end produces): without loops, a
 * register with one definition that dominates A holds one value from A on.
 */
export function planPointerReuse(
  insns: readonly IrInsn[],
  maps: Readonly<Record<string, DataMapSpec>>,
  newSlot: () => number | undefined,
): Map<number, PointerPlan> {
  const plans = new Map<number, PointerPlan>();
  const labels = new Map<string, number>();
  insns.forEach((insn, index) => {
    if (insn.op === 'label') labels.set(insn.label, index);
  });
  const backward = insns.some((insn, index) => (insn.op === 'jump' || insn.op === 'jump-if') && (labels.get(insn.target) ?? 0) <= index);
  if (backward) return plans;

  const definitions = new Map<VReg, number[]>();
  insns.forEach((insn, index) => {
    const def = insnDef(insn);
    if (def !== undefined) definitions.set(def, [...(definitions.get(def) ?? []), index]);
  });
  const idom = immediateDominators(insns);
  const dominates = (a: number, b: number): boolean => {
    let at = b;
    while (at > a) at = idom[at]!;
    return at === a;
  };
  /** A name for the key's value that is the same at every operation it names, or undefined. */
  const keyName = (key: Operand, at: number): string | undefined => {
    if (typeof key === 'bigint') return `#${key & 0xffff_ffffn}`;
    const defs = definitions.get(key);
    if (defs?.length !== 1 || defs[0] === at || !dominates(defs[0]!, at)) return undefined;
    return `r${key}`;
  };

  // Candidate groups: same map and key name; within a group, each member reuses the nearest
  // earlier member that dominates it.
  const groups = new Map<string, { root: number; members: number[] }[]>();
  insns.forEach((insn, index) => {
    if (!isArrayOp(insn) || !isArrayKind(maps[insn.map]?.kind ?? 'hash')) return;
    const name = keyName(insn.key, index);
    if (name === undefined) return;
    const id = `${insn.map}\u0000${name}`;
    const trees = groups.get(id) ?? [];
    const home = trees.find((tree) => dominates(tree.root, index));
    if (home === undefined) trees.push({ root: index, members: [] });
    else home.members.push(index);
    groups.set(id, trees);
  });
  const chosen = [...groups.values()]
    .flat()
    .filter((tree) => tree.members.length > 0)
    .sort((a, b) => b.members.length - a.members.length || a.root - b.root)
    .slice(0, MAX_GROUPS);
  for (const tree of chosen) {
    const slot = newSlot();
    if (slot === undefined) break;
    plans.set(tree.root, { save: slot });
    for (const member of tree.members) plans.set(member, { reuse: slot });
  }
  return plans;
}

function isArrayOp(insn: IrInsn): insn is ArrayOp {
  return insn.op === 'map-get' || insn.op === 'map-set' || insn.op === 'map-fetch-add' || insn.op === 'map-cmpxchg';
}

/**
 * Immediate dominators (Cooper, Harvey and Kennedy) of a control-flow graph whose edges all go
 * forward, so instruction order is a topological order; the entry is its own.
 */
function immediateDominators(insns: readonly IrInsn[]): number[] {
  const next = successors(insns);
  const predecessors: number[][] = insns.map(() => []);
  next.forEach((targets, from) => {
    for (const to of targets) if (to < insns.length) predecessors[to]!.push(from);
  });
  const idom = new Array<number>(insns.length).fill(-1);
  idom[0] = 0;
  const intersect = (a: number, b: number): number => {
    while (a !== b) {
      while (a > b) a = idom[a]!;
      while (b > a) b = idom[b]!;
    }
    return a;
  };
  for (let node = 1; node < insns.length; node++) {
    let dom = -1;
    for (const pred of predecessors[node]!) {
      if (idom[pred] === -1) continue;
      dom = dom === -1 ? pred : intersect(dom, pred);
    }
    // Normalized IR has no unreachable instruction; were there one, the entry stands in.
    idom[node] = dom === -1 ? 0 : dom;
  }
  return idom;
}
