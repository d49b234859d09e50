import ts from './lazy-typescript.js';
import { negateCompare } from '../ir/ir-semantics.js';
import type { CompareOp } from '../ir/policy-ir.js';
import { lowerInt } from './lower-expressions.js';
import type { Lowering } from './lowering.js';
import type { Frame, Scope } from './lowering-scope.js';
import { COMPARISON, isTypeWrapper } from './policy-syntax.js';

/**
 * Emits a jump to `target` taken exactly when `expression`'s truth equals `jumpIfTrue`; falls
 * through otherwise. `!`, `&&` and `||` become jumps (short-circuit without materializing a
 * 0 or 1), and a comparison becomes one conditional jump.
 */
export function lowerCondition(l: Lowering, expression: ts.Expression, target: string, jumpIfTrue: boolean, scope: Scope, frame: Frame): void {
  l.enter(expression);
  const b = l.builder;
  const e = expression;
  if (isTypeWrapper(e)) {
    lowerCondition(l, e.expression, target, jumpIfTrue, scope, frame);
  } else if (ts.isPrefixUnaryExpression(e) && e.operator === ts.SyntaxKind.ExclamationToken) {
    lowerCondition(l, e.operand, target, !jumpIfTrue, scope, frame);
  } else if (ts.isBinaryExpression(e) && e.operatorToken.kind === ts.SyntaxKind.AmpersandAmpersandToken) {
    if (jumpIfTrue) {
      const skip = b.newLabel();
      lowerCondition(l, e.left, skip, false, scope, frame);
      lowerCondition(l, e.right, target, true, scope, frame);
      b.label(skip, l.pos(e));
    } else {
      lowerCondition(l, e.left, target, false, scope, frame);
      lowerCondition(l, e.right, target, false, scope, frame);
    }
  } else if (ts.isBinaryExpression(e) && e.operatorToken.kind === ts.SyntaxKind.BarBarToken) {
    if (jumpIfTrue) {
      lowerCondition(l, e.left, target, true, scope, frame);
      lowerCondition(l, e.right, target, true, scope, frame);
    } else {
      const skip = b.newLabel();
      lowerCondition(l, e.left, skip, true, scope, frame);
      lowerCondition(l, e.right, target, false, scope, frame);
      b.label(skip, l.pos(e));
    }
  } else if (ts.isBinaryExpression(e) && COMPARISON.has(e.operatorToken.kind)) {
    const kind = COMPARISON.get(e.operatorToken.kind) as CompareOp;
    const a = lowerInt(l, e.left, scope, frame);
    const c = lowerInt(l, e.right, scope, frame);
    b.jumpIf(jumpIfTrue ? kind : negateCompare(kind), a, c, target, l.pos(e));
  } else {
    const value = lowerInt(l, e, scope, frame);
    b.jumpIf(jumpIfTrue ? 'ne' : 'eq', value, 0n, target, l.pos(e));
  }
  l.leave();
}
