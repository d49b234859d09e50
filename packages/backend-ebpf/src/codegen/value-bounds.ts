import { STANDARD_INPUT_FIELD_SPECS, type IrInsn, type Operand, type VReg } from '@syrup/core';
import { insnDef } from './liveness.js';

const U64_MAX = (1n << 64n) - 1n;
const U32_MAX = 0xffff_ffffn;

/**
 * The largest value each input field can have at the eBPF hooks: core's table gives the bits
 * every hook delivers (ports and UDP lengths come from 16-bit header fields, addresses from
 * 32-bit ones with IPv6 folded to 32 bits, the flow hash is truncated to 32 bits and a frame is
 * shorter than 4 GiB).
 */
const FIELD_MAX: ReadonlyMap<string, bigint> = new Map(STANDARD_INPUT_FIELD_SPECS.map((f) => [f.name, (1n << BigInt(f.width)) - 1n]));

/**
 * An upper bound of every value an operand can hold anywhere in the program: the maximum over
 * all instructions that write the register (a register read before any write is 0). It follows
 * registers through moves and arithmetic whose result it can bound (`x % 6`, `x & 0xff`,
 * `1 + y`, loads of at most 4 bytes, 32-bit input fields); anything else is 2^64 - 1. The code
 * generator uses it to leave out run-time checks that cannot fail, such as the "executor key
 * below 2^32" test of the hook epilogues.
 */
export function valueBounds(insns: readonly IrInsn[]): (operand: Operand) => bigint {
  const defs = new Map<VReg, IrInsn[]>();
  for (const insn of insns) {
    const def = insnDef(insn);
    if (def !== undefined) defs.set(def, [...(defs.get(def) ?? []), insn]);
  }
  const memo = new Map<VReg, bigint>();
  const visiting = new Set<VReg>();

  const maxOf = (o: Operand): bigint => {
    if (typeof o === 'bigint') return o;
    const known = memo.get(o);
    if (known !== undefined) return known;
    // A register defined from itself (x = x + 1 around a loop) has no bound this finds.
    if (visiting.has(o)) return U64_MAX;
    visiting.add(o);
    let max = 0n;
    for (const insn of defs.get(o) ?? []) {
      max = larger(max, maxOfDef(insn, maxOf));
      if (max === U64_MAX) break;
    }
    visiting.delete(o);
    memo.set(o, max);
    return max;
  };
  return maxOf;
}

function larger(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}

function capped(value: bigint): bigint {
  return value > U64_MAX ? U64_MAX : value;
}

/** 2^bits - 1 covering `value`: the bound of an OR or XOR of values up to it. */
function mask(value: bigint): bigint {
  return (1n << BigInt(value.toString(2).length)) - 1n;
}

function maxOfDef(insn: IrInsn, maxOf: (o: Operand) => bigint): bigint {
  switch (insn.op) {
    case 'const':
      return insn.value;
    case 'mov':
      return maxOf(insn.src);
    case 'compare':
      return 1n;
    case 'input':
      return FIELD_MAX.get(insn.field) ?? U64_MAX;
    case 'load':
      return insn.size < 8 ? (1n << BigInt(8 * insn.size)) - 1n : U64_MAX;
    case 'helper':
      return insn.helper === 'now' ? U64_MAX : U32_MAX;
    case 'binary': {
      const a = maxOf(insn.a);
      switch (insn.kind) {
        case 'add':
          return capped(a + maxOf(insn.b));
        case 'mul':
          return capped(a * maxOf(insn.b));
        case 'sub':
          return insn.b === 0n ? a : U64_MAX;
        // x / y <= x, and x / 0 is 0.
        case 'div':
          return a;
        // x % y < y, and x % 0 is x: either way at most x.
        case 'mod':
          return typeof insn.b === 'bigint' && insn.b > 0n && insn.b - 1n < a ? insn.b - 1n : a;
        case 'and': {
          const b = maxOf(insn.b);
          return a < b ? a : b;
        }
        case 'or':
        case 'xor':
          return mask(larger(a, maxOf(insn.b)));
        case 'shr':
          return typeof insn.b === 'bigint' ? a >> (insn.b & 63n) : a;
        case 'shl':
          return typeof insn.b === 'bigint' ? capped(a << (insn.b & 63n)) : U64_MAX;
      }
      return U64_MAX;
    }
    default:
      // unary (neg, not) and map operations: any u64.
      return U64_MAX;
  }
}
