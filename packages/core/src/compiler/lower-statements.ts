import ts from './lazy-typescript.js';
import { evalBinary } from '../ir/ir-semantics.js';
import type { BinaryOp, VReg } from '../ir/policy-ir.js';
import { lowerCall, lowerCondition, lowerExpression, lowerInt, requireInt } from './lower-expressions.js';
import { bindDestructured, inlineCall } from './lower-functions.js';
import type { Lowering } from './lowering.js';
import { describe, int, Scope, type Breakable, type Frame, type Role } from './lowering-scope.js';
import { COMPOUND, declarationKind, isAssignmentOperator, isIncrement } from './policy-syntax.js';
import { statementReason } from './refusal-reasons.js';
import { unwrapExpression } from './source-context.js';

/** Lowers one statement of a body in `frame`; a construct outside the policy language is refused at its position. */
export function lowerStatement(l: Lowering, node: ts.Statement, scope: Scope, frame: Frame): void {
  l.enter(node);
  const pos = l.pos(node);
  const b = l.builder;
  if (ts.isBlock(node)) {
    const inner = new Scope(scope);
    for (const statement of node.statements) lowerStatement(l, statement, inner, frame);
  } else if (ts.isVariableStatement(node)) {
    lowerVariables(l, node.declarationList, scope, frame);
  } else if (ts.isExpressionStatement(node)) {
    lowerExpressionStatement(l, node.expression, scope, frame);
  } else if (ts.isIfStatement(node)) {
    const elseLabel = b.newLabel();
    lowerCondition(l, node.expression, elseLabel, false, scope, frame);
    lowerStatement(l, node.thenStatement, new Scope(scope), frame);
    if (node.elseStatement) {
      const end = b.newLabel();
      b.jump(end, pos);
      b.label(elseLabel, pos);
      lowerStatement(l, node.elseStatement, new Scope(scope), frame);
      b.label(end, pos);
    } else {
      b.label(elseLabel, pos);
    }
  } else if (ts.isReturnStatement(node)) {
    lowerReturn(l, node, scope, frame);
  } else if (ts.isSwitchStatement(node)) {
    lowerSwitch(l, node, scope, frame);
  } else if (ts.isForStatement(node)) {
    lowerFor(l, node, scope, frame);
  } else if (ts.isBreakStatement(node)) {
    if (node.label) l.ctx.fail(node.label, 'labels are not allowed in policy code');
    const target = frame.breakables.at(-1);
    if (!target) l.ctx.fail(node, '`break` must be inside a loop or a switch');
    b.jump(target.breakLabel, pos);
  } else if (ts.isContinueStatement(node)) {
    if (node.label) l.ctx.fail(node.label, 'labels are not allowed in policy code');
    const loop = frame.breakables.findLast((x) => x.kind === 'loop');
    if (!loop) l.ctx.fail(node, '`continue` must be inside a loop');
    b.jump(loop.continueLabel, pos);
  } else if (ts.isEmptyStatement(node) || ts.isTypeAliasDeclaration(node) || ts.isInterfaceDeclaration(node)) {
    // Nothing to run.
  } else {
    l.ctx.fail(node, statementReason(node));
  }
  l.leave();
}

function lowerVariables(l: Lowering, list: ts.VariableDeclarationList, scope: Scope, frame: Frame): void {
  const kind = declarationKind(list);
  if (kind === 'using') l.ctx.fail(list, '`using` declarations are not allowed in policy code');
  if (kind === 'var') l.ctx.fail(list, '`var` is not allowed in policy code; use let or const');
  const isConst = kind === 'const';
  for (const declaration of list.declarations) {
    const name = declaration.name;
    if (ts.isArrayBindingPattern(name)) l.ctx.fail(name, 'array destructuring is not allowed in policy code');
    if (ts.isObjectBindingPattern(name)) {
      if (!isConst) l.ctx.fail(name, 'destructuring needs const');
      if (!declaration.initializer) l.ctx.fail(declaration, 'a destructuring declaration needs a value');
      const whole = lowerExpression(l, declaration.initializer, scope, frame);
      if (whole.t !== 'input' && whole.t !== 'maps' && whole.t !== 'params' && whole.t !== 'bytes') {
        l.ctx.fail(declaration.initializer, 'only the input, the maps and the params can be destructured');
      }
      const role: Role = whole.t === 'params' ? 'param' : whole.t === 'maps' ? 'maps' : 'input';
      for (const element of name.elements) bindDestructured(l, element, whole, role, scope);
      continue;
    }
    if (!declaration.initializer && isConst) l.ctx.fail(declaration, `const '${name.text}' needs a value`);
    // A `let` without a value starts at 0; TypeScript's definite-assignment check keeps authors from reading it first.
    const value = declaration.initializer ? lowerExpression(l, declaration.initializer, scope, frame) : int(0n);
    if (isConst) {
      if (value.t === 'verdict' || value.t === 'void') requireInt(l, value, declaration.initializer as ts.Expression);
      let bound = value;
      if (value.t === 'int' && typeof value.op === 'number') {
        if (l.mutable.has(value.op)) {
          // A const keeps the value of the moment, not the variable it was read from.
          const copy = l.builder.newReg();
          l.builder.mov(copy, value.op, l.pos(declaration));
          bound = int(copy);
        }
        l.named.add((bound as { op: VReg }).op);
      }
      l.declare(scope, name, { b: 'value', value: bound, role: 'constant' });
      continue;
    }
    if (value.t !== 'int') {
      if (value.t === 'verdict' || value.t === 'void') requireInt(l, value, declaration.initializer as ts.Expression);
      l.ctx.fail(declaration.initializer as ts.Expression, 'a let variable holds an integer; name the input, a map or the payload with const');
    }
    let reg: VReg;
    if (typeof value.op === 'number' && !l.named.has(value.op)) {
      reg = value.op;
    } else {
      reg = l.builder.newReg();
      l.builder.mov(reg, value.op, l.pos(declaration));
    }
    l.mutable.add(reg);
    l.named.add(reg);
    l.declare(scope, name, { b: 'let', reg });
  }
}

function lowerExpressionStatement(l: Lowering, expression: ts.Expression, scope: Scope, frame: Frame): void {
  let e = expression;
  while (ts.isParenthesizedExpression(e)) e = e.expression;
  if (ts.isBinaryExpression(e) && isAssignmentOperator(e.operatorToken.kind)) {
    lowerAssignment(l, e, scope, frame);
  } else if ((ts.isPrefixUnaryExpression(e) || ts.isPostfixUnaryExpression(e)) && isIncrement(e.operator)) {
    const reg = assignTarget(l, e.operand, scope, frame);
    const kind = e.operator === ts.SyntaxKind.PlusPlusToken ? 'add' : 'sub';
    l.builder.emit({ op: 'binary', kind, dst: reg, a: reg, b: 1n, pos: l.pos(e) });
  } else if (ts.isCallExpression(e)) {
    lowerCall(l, e, scope, frame, 'statement');
  } else {
    const value = lowerExpression(l, e, scope, frame);
    if (value.t === 'verdict') requireInt(l, value, e);
  }
}

function lowerAssignment(l: Lowering, node: ts.BinaryExpression, scope: Scope, frame: Frame): void {
  const b = l.builder;
  const pos = l.pos(node);
  const operator = node.operatorToken.kind;
  if (operator === ts.SyntaxKind.AsteriskAsteriskEqualsToken) l.ctx.fail(node.operatorToken, 'the **= operator is not allowed in policy code: powers are floats in JavaScript');
  if (operator === ts.SyntaxKind.QuestionQuestionEqualsToken) l.ctx.fail(node.operatorToken, 'the ??= operator is not allowed in policy code: values are never null or undefined');
  const reg = assignTarget(l, node.left, scope, frame);
  if (operator === ts.SyntaxKind.EqualsToken) {
    b.mov(reg, lowerInt(l, node.right, scope, frame), pos);
    return;
  }
  if (operator === ts.SyntaxKind.AmpersandAmpersandEqualsToken || operator === ts.SyntaxKind.BarBarEqualsToken) {
    const skip = b.newLabel();
    b.jumpIf(operator === ts.SyntaxKind.AmpersandAmpersandEqualsToken ? 'eq' : 'ne', reg, 0n, skip, pos);
    b.mov(reg, lowerInt(l, node.right, scope, frame), pos);
    b.label(skip, pos);
    return;
  }
  const kind = COMPOUND.get(operator) as BinaryOp;
  const value = lowerInt(l, node.right, scope, frame);
  b.emit({ op: 'binary', kind, dst: reg, a: reg, b: value, pos });
}

/** The register of the `let` an assignment writes, or the reason it cannot be written. */
function assignTarget(l: Lowering, node: ts.Expression, scope: Scope, frame: Frame): VReg {
  let target = node;
  while (ts.isParenthesizedExpression(target)) target = target.expression;
  if (ts.isIdentifier(target)) {
    const name = target.text;
    const binding = scope.lookup(name);
    if (!binding) return l.ctx.fail(target, `unknown name '${name}'`);
    if (binding.b === 'let') return binding.reg;
    if (binding.b === 'module') {
      return l.ctx.fail(target, binding.binding.kind === 'constant' ? `'${name}' is a constant and cannot be assigned` : `'${name}' cannot be assigned`);
    }
    const reasons: Record<Role, string> = {
      constant: `'${name}' is a constant and cannot be assigned`,
      param: `'${name}' is a param, a compile-time constant, and cannot be assigned`,
      'loop variable': `the loop counter '${name}' can only be changed by its for loop's update`,
      argument: `'${name}' is ${describe(binding.value)} and cannot be assigned`,
      input: 'the input is read-only',
      maps: `'${name}' is ${describe(binding.value)} and cannot be assigned`,
      params: 'params are compile-time constants and cannot be assigned',
    };
    return l.ctx.fail(target, reasons[binding.role]);
  }
  if (ts.isPropertyAccessExpression(target)) {
    const object = lowerExpression(l, target.expression, scope, frame);
    if (object.t === 'input' || object.t === 'bytes') l.ctx.fail(target, 'the input is read-only');
    if (object.t === 'maps' || object.t === 'map') l.ctx.fail(target, 'maps cannot be assigned; write entries with map.set(key, value)');
    if (object.t === 'params') l.ctx.fail(target, 'params are compile-time constants and cannot be assigned');
  }
  if (ts.isElementAccessExpression(target)) l.ctx.fail(target, 'indexing with [] is not allowed in policy code');
  if (ts.isObjectLiteralExpression(target) || ts.isArrayLiteralExpression(target)) {
    l.ctx.fail(target, 'destructuring assignment is not allowed in policy code');
  }
  return l.ctx.fail(target, 'only variables declared with let can be assigned');
}

function lowerReturn(l: Lowering, node: ts.ReturnStatement, scope: Scope, frame: Frame): void {
  if (!node.expression) {
    if (frame.mode === 'policy') l.ctx.fail(node, 'return needs a value: an executor key, PASS or DROP');
    if (frame.mode === 'value') l.ctx.fail(node, `return needs an integer value: the call of '${frame.fn?.name}' uses its value`);
    l.builder.jump(frame.end as string, l.pos(node));
    return;
  }
  lowerReturnValue(l, node.expression, node, scope, frame);
}

/**
 * Lowers `return expression` (or a concise arrow body) as `frame` says: a policy return ends
 * the policy with a verdict or an executor key, other returns hand an integer to the caller.
 */
export function lowerReturnValue(l: Lowering, expression: ts.Expression, node: ts.Node, scope: Scope, frame: Frame): void {
  const b = l.builder;
  const pos = l.pos(node);
  if (frame.mode !== 'policy') {
    const op = lowerInt(l, expression, scope, frame);
    if (frame.result !== undefined) b.mov(frame.result, op, pos);
    b.jump(frame.end as string, pos);
    return;
  }
  const e = unwrapExpression(expression);
  if (ts.isConditionalExpression(e)) {
    // A verdict may only be returned, so `return c ? PASS : k` lowers as two returns.
    const known = l.constants.evaluate(e.condition, scope, frame);
    if (known !== undefined) {
      lowerReturnValue(l, known !== 0n ? e.whenTrue : e.whenFalse, node, scope, frame);
      b.dead(() => lowerReturnValue(l, known !== 0n ? e.whenFalse : e.whenTrue, node, scope, frame));
      return;
    }
    const elseLabel = b.newLabel();
    lowerCondition(l, e.condition, elseLabel, false, scope, frame);
    lowerReturnValue(l, e.whenTrue, node, scope, frame);
    b.label(elseLabel, pos);
    lowerReturnValue(l, e.whenFalse, node, scope, frame);
    return;
  }
  if (ts.isCallExpression(e) && !e.questionDotToken) {
    const callee = unwrapExpression(e.expression);
    const binding = ts.isIdentifier(callee) ? scope.lookup(callee.text) : undefined;
    if (binding?.b === 'module' && binding.binding.kind === 'function') {
      // A tail call: the function's own returns end the policy, so it may return PASS or DROP.
      inlineCall(l, binding.binding.fn, e, scope, frame, 'policy');
      return;
    }
  }
  const value = lowerExpression(l, expression, scope, frame);
  if (value.t === 'verdict') {
    b.terminate({ op: 'return', verdict: value.verdict, pos });
    return;
  }
  b.terminate({ op: 'return', verdict: 'executor', value: requireInt(l, value, expression), pos });
}

function lowerSwitch(l: Lowering, node: ts.SwitchStatement, scope: Scope, frame: Frame): void {
  const b = l.builder;
  const pos = l.pos(node);
  const discriminant = lowerInt(l, node.expression, scope, frame);
  const end = b.newLabel();
  const clauses = node.caseBlock.clauses;
  const labels = clauses.map(() => b.newLabel());
  const seen = new Set<bigint>();
  let defaultLabel: string | undefined;
  clauses.forEach((clause, i) => {
    const label = labels[i] as string;
    if (ts.isDefaultClause(clause)) {
      if (defaultLabel) l.ctx.fail(clause, 'a switch has at most one default clause');
      defaultLabel = label;
      return;
    }
    const value = l.constants.require(clause.expression, scope, frame, 'case values must be compile-time constants (literals, params and constants)');
    if (seen.has(value)) l.ctx.fail(clause.expression, `case ${value} appears twice in this switch`);
    seen.add(value);
    b.jumpIf('eq', discriminant, value, label, l.pos(clause));
  });
  b.jump(defaultLabel ?? end, pos);
  frame.breakables.push({ kind: 'switch', breakLabel: end, continueLabel: '' });
  clauses.forEach((clause, i) => {
    b.label(labels[i] as string, l.pos(clause));
    // Each clause is its own scope: a name declared in one clause is not visible in the next.
    const inner = new Scope(scope);
    for (const statement of clause.statements) lowerStatement(l, statement, inner, frame);
  });
  frame.breakables.pop();
  b.label(end, pos);
}

function lowerFor(l: Lowering, node: ts.ForStatement, scope: Scope, frame: Frame): void {
  const b = l.builder;
  const pos = l.pos(node);
  const init = node.initializer;
  const shape = 'a for loop must count with a constant bound: for (let i = <constant>; <condition on i>; <update of i>)';
  if (!init) l.ctx.fail(node, shape);
  if (!ts.isVariableDeclarationList(init)) l.ctx.fail(init, shape);
  const kind = declarationKind(init);
  if (kind === 'var') l.ctx.fail(init, '`var` is not allowed in policy code; use let or const');
  if (kind !== 'let') l.ctx.fail(init, 'the loop counter must be declared with let');
  const declaration = init.declarations[0];
  if (init.declarations.length !== 1 || !declaration) l.ctx.fail(init, 'a for loop declares exactly one counter');
  if (!ts.isIdentifier(declaration.name)) l.ctx.fail(declaration.name, 'the loop counter must be a plain name');
  if (!declaration.initializer) l.ctx.fail(declaration, 'the loop counter needs a start value');
  if (!node.condition) l.ctx.fail(node, 'a for loop needs a condition with a constant bound; unbounded loops are not allowed');
  if (!node.incrementor) l.ctx.fail(node, 'a for loop needs an update of its counter, such as i++');
  const name = declaration.name;
  const start = l.constants.require(declaration.initializer, scope, frame, 'the loop counter must start at a compile-time constant');
  if (scope.lookup(name.text)) {
    l.ctx.fail(name, `'${name.text}' is already declared; policy code does not allow redeclaring or shadowing a name`);
  }
  const counter = (value: bigint): Scope => {
    const inner = new Scope(scope);
    inner.names.set(name.text, { b: 'value', value: int(value), role: 'loop variable' });
    return inner;
  };

  // The counter's values are known before the body is looked at: condition and update are constants.
  const values: bigint[] = [];
  for (let i = start; ; ) {
    const probe = counter(i);
    const holds = l.constants.require(
      node.condition,
      probe,
      frame,
      'the loop condition must be a compile-time constant once the counter is known: loops need constant bounds',
    );
    if (holds === 0n) break;
    if (values.length === l.limits.maxLoopIterations) {
      l.ctx.fail(node, `the loop runs more than ${l.limits.maxLoopIterations} iterations`);
    }
    values.push(i);
    i = loopUpdate(l, node.incrementor, name.text, i, probe, frame);
  }

  const loop: Breakable = { kind: 'loop', breakLabel: b.newLabel(), continueLabel: '' };
  frame.breakables.push(loop);
  const liveAtStart = b.reachable;
  for (let k = 0; k < values.length; k++) {
    loop.continueLabel = b.newLabel();
    const before = b.size;
    lowerStatement(l, node.statement, counter(values[k] as bigint), frame);
    b.label(loop.continueLabel, pos);
    if (k === 0 && liveAtStart) {
      const total = (b.size - before) * values.length;
      if (total > l.limits.maxIrInstructions) {
        l.ctx.fail(
          node,
          `the loop unrolls to about ${total} IR instructions (${values.length} iterations of ${b.size - before}), more than the budget of ${l.limits.maxIrInstructions}`,
        );
      }
    }
    // When no path reaches the next iteration, the remaining ones can never run.
    if (!b.reachable) break;
  }
  frame.breakables.pop();
  b.label(loop.breakLabel, pos);
}

function loopUpdate(l: Lowering, update: ts.Expression, counter: string, current: bigint, probe: Scope, frame: Frame): bigint {
  let e = update;
  while (ts.isParenthesizedExpression(e)) e = e.expression;
  const isCounter = (node: ts.Expression): boolean => {
    const target = unwrapExpression(node);
    return ts.isIdentifier(target) && target.text === counter;
  };
  if ((ts.isPrefixUnaryExpression(e) || ts.isPostfixUnaryExpression(e)) && isIncrement(e.operator) && isCounter(e.operand)) {
    return evalBinary(e.operator === ts.SyntaxKind.PlusPlusToken ? 'add' : 'sub', current, 1n);
  }
  if (ts.isBinaryExpression(e) && isCounter(e.left)) {
    const reason = 'the loop update must change the counter by a compile-time constant';
    if (e.operatorToken.kind === ts.SyntaxKind.EqualsToken) return l.constants.require(e.right, probe, frame, reason);
    const kind = COMPOUND.get(e.operatorToken.kind);
    if (kind) return evalBinary(kind, current, l.constants.require(e.right, probe, frame, reason));
  }
  return l.ctx.fail(update, `the loop update must change the counter '${counter}' by a constant, as in ${counter}++ or ${counter} += 2`);
}
