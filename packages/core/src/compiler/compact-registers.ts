import type { IrInsn, Operand, VReg } from '../ir/policy-ir.js';

/** Renumbers the registers that survived dead-code removal densely, in order of first appearance. */
export function compactRegisters(insns: IrInsn[]): { insns: IrInsn[]; registerCount: number } {
  const numbers = new Map<VReg, VReg>();
  const r = (reg: VReg): VReg => {
    let n = numbers.get(reg);
    if (n === undefined) {
      n = numbers.size;
      numbers.set(reg, n);
    }
    return n;
  };
  const o = (operand: Operand): Operand => (typeof operand === 'bigint' ? operand : r(operand));
  const renumbered = insns.map((insn): IrInsn => {
    switch (insn.op) {
      case 'const':
        return { ...insn, dst: r(insn.dst) };
      case 'mov':
        return { ...insn, src: o(insn.src), dst: r(insn.dst) };
      case 'binary':
      case 'compare':
        return { ...insn, a: o(insn.a), b: o(insn.b), dst: r(insn.dst) };
      case 'unary':
        return { ...insn, a: o(insn.a), dst: r(insn.dst) };
      case 'jump-if':
        return { ...insn, a: o(insn.a), b: o(insn.b) };
      case 'input':
      case 'helper':
        return { ...insn, dst: r(insn.dst) };
      case 'load':
        return { ...insn, offset: o(insn.offset), dst: r(insn.dst) };
      case 'map-get':
        return { ...insn, key: o(insn.key), dst: r(insn.dst) };
      case 'map-set':
        return { ...insn, key: o(insn.key), value: o(insn.value) };
      case 'map-delete':
        return { ...insn, key: o(insn.key) };
      case 'map-fetch-add':
        return { ...insn, key: o(insn.key), delta: o(insn.delta), dst: r(insn.dst) };
      case 'map-cmpxchg':
        return { ...insn, key: o(insn.key), expected: o(insn.expected), desired: o(insn.desired), dst: r(insn.dst) };
      case 'return':
        return insn.verdict === 'executor' ? { ...insn, value: o(insn.value) } : insn;
      case 'label':
      case 'jump':
        return insn;
    }
  });
  return { insns: renumbered, registerCount: numbers.size };
}
