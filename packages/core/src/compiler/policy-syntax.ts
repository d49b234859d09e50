import ts, { lazyMap } from './lazy-typescript.js';
import type { BinaryOp, CompareOp } from '../ir/policy-ir.js';

/**
 * What the policy language's syntax means, as tables and predicates over TypeScript's syntax
 * kinds: the operators and the IR operation each lowers to, payload reads and map methods
 * (the members of inputs are the table of policy/input-fields.ts). The lowering and the
 * constant folder read the same tables, so a constant folds to what the same expression
 * computes at run time.
 */

export const ARITHMETIC = lazyMap<ts.SyntaxKind, BinaryOp>(() => [
  [ts.SyntaxKind.PlusToken, 'add'],
  [ts.SyntaxKind.MinusToken, 'sub'],
  [ts.SyntaxKind.AsteriskToken, 'mul'],
  [ts.SyntaxKind.SlashToken, 'div'],
  [ts.SyntaxKind.PercentToken, 'mod'],
  [ts.SyntaxKind.AmpersandToken, 'and'],
  [ts.SyntaxKind.BarToken, 'or'],
  [ts.SyntaxKind.CaretToken, 'xor'],
  [ts.SyntaxKind.LessThanLessThanToken, 'shl'],
  // Values are unsigned, so the sign-propagating shift is the logical one too.
  [ts.SyntaxKind.GreaterThanGreaterThanToken, 'shr'],
  [ts.SyntaxKind.GreaterThanGreaterThanGreaterThanToken, 'shr'],
]);

export const COMPOUND = lazyMap<ts.SyntaxKind, BinaryOp>(() => [
  [ts.SyntaxKind.PlusEqualsToken, 'add'],
  [ts.SyntaxKind.MinusEqualsToken, 'sub'],
  [ts.SyntaxKind.AsteriskEqualsToken, 'mul'],
  [ts.SyntaxKind.SlashEqualsToken, 'div'],
  [ts.SyntaxKind.PercentEqualsToken, 'mod'],
  [ts.SyntaxKind.AmpersandEqualsToken, 'and'],
  [ts.SyntaxKind.BarEqualsToken, 'or'],
  [ts.SyntaxKind.CaretEqualsToken, 'xor'],
  [ts.SyntaxKind.LessThanLessThanEqualsToken, 'shl'],
  [ts.SyntaxKind.GreaterThanGreaterThanEqualsToken, 'shr'],
  [ts.SyntaxKind.GreaterThanGreaterThanGreaterThanEqualsToken, 'shr'],
]);

export const COMPARISON = lazyMap<ts.SyntaxKind, CompareOp>(() => [
  [ts.SyntaxKind.EqualsEqualsEqualsToken, 'eq'],
  [ts.SyntaxKind.EqualsEqualsToken, 'eq'],
  [ts.SyntaxKind.ExclamationEqualsEqualsToken, 'ne'],
  [ts.SyntaxKind.ExclamationEqualsToken, 'ne'],
  [ts.SyntaxKind.LessThanToken, 'lt'],
  [ts.SyntaxKind.LessThanEqualsToken, 'le'],
  [ts.SyntaxKind.GreaterThanToken, 'gt'],
  [ts.SyntaxKind.GreaterThanEqualsToken, 'ge'],
]);

/** The read methods of a byte region, and the load each one is. */
export const LOADS: Readonly<Record<string, { readonly size: 1 | 2 | 4 | 8; readonly byteOrder: 'be' | 'le' }>> = {
  u8: { size: 1, byteOrder: 'be' },
  u16: { size: 2, byteOrder: 'be' },
  u32: { size: 4, byteOrder: 'be' },
  u64: { size: 8, byteOrder: 'be' },
  u16le: { size: 2, byteOrder: 'le' },
  u32le: { size: 4, byteOrder: 'le' },
  u64le: { size: 8, byteOrder: 'le' },
};

/** Map methods and how many arguments each takes. */
export const MAP_METHODS: Readonly<Record<string, number>> = { get: 1, set: 2, delete: 1, fetchAdd: 2, compareExchange: 3 };

/** The wrappers that only matter to the type checker: parentheses, `as`, `satisfies`, `!`, `<T>x`. */
export function isTypeWrapper(
  e: ts.Expression,
): e is ts.ParenthesizedExpression | ts.AsExpression | ts.SatisfiesExpression | ts.NonNullExpression | ts.TypeAssertion {
  return ts.isParenthesizedExpression(e) || ts.isAsExpression(e) || ts.isSatisfiesExpression(e) || ts.isNonNullExpression(e) || ts.isTypeAssertionExpression(e);
}

export function declarationKind(list: ts.VariableDeclarationList): 'let' | 'const' | 'var' | 'using' {
  const scoped = list.flags & ts.NodeFlags.BlockScoped;
  if (scoped === ts.NodeFlags.Let) return 'let';
  if (scoped === ts.NodeFlags.Const) return 'const';
  return scoped === 0 ? 'var' : 'using';
}

export function isAssignmentOperator(kind: ts.SyntaxKind): boolean {
  return kind >= ts.SyntaxKind.FirstAssignment && kind <= ts.SyntaxKind.LastAssignment;
}

export function isIncrement(operator: ts.SyntaxKind): boolean {
  return operator === ts.SyntaxKind.PlusPlusToken || operator === ts.SyntaxKind.MinusMinusToken;
}

export const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;
