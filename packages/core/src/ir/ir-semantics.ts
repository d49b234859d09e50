import type { BinaryOp, CompareOp, UnaryOp } from './policy-ir.js';

/**
 * The IR's integer semantics as functions over u64 bigints (every argument is in [0, 2^64)).
 * The front end folds constants with them, the reference interpreter runs them, and the fast
 * evaluator's generated code is tested against them, so one definition serves every target.
 */
export const U64_MASK = (1n << 64n) - 1n;

export function evalBinary(kind: BinaryOp, a: bigint, b: bigint): bigint {
  switch (kind) {
    case 'add':
      return BigInt.asUintN(64, a + b);
    case 'sub':
      return BigInt.asUintN(64, a - b);
    case 'mul':
      return BigInt.asUintN(64, a * b);
    case 'div':
      return b === 0n ? 0n : a / b;
    case 'mod':
      return b === 0n ? a : a % b;
    case 'and':
      return a & b;
    case 'or':
      return a | b;
    case 'xor':
      return a ^ b;
    case 'shl':
      return BigInt.asUintN(64, a << (b & 63n));
    case 'shr':
      return a >> (b & 63n);
  }
}

export function evalUnary(kind: UnaryOp, a: bigint): bigint {
  return kind === 'neg' ? BigInt.asUintN(64, -a) : a ^ U64_MASK;
}

export function evalCompare(kind: CompareOp, a: bigint, b: bigint): boolean {
  switch (kind) {
    case 'eq':
      return a === b;
    case 'ne':
      return a !== b;
    case 'lt':
      return a < b;
    case 'le':
      return a <= b;
    case 'gt':
      return a > b;
    case 'ge':
      return a >= b;
  }
}

/** The comparison that holds exactly when `kind` does not (values are totally ordered). */
export function negateCompare(kind: CompareOp): CompareOp {
  const negated = { eq: 'ne', ne: 'eq', lt: 'ge', ge: 'lt', le: 'gt', gt: 'le' } as const;
  return negated[kind];
}

/** The comparison with its operands swapped: `a < b` is `b > a`. */
export function swapCompare(kind: CompareOp): CompareOp {
  const swapped = { eq: 'eq', ne: 'ne', lt: 'gt', gt: 'lt', le: 'ge', ge: 'le' } as const;
  return swapped[kind];
}

/** Binary operations whose operands can be swapped without changing the result. */
export function isCommutative(kind: BinaryOp): boolean {
  return kind === 'add' || kind === 'mul' || kind === 'and' || kind === 'or' || kind === 'xor';
}
