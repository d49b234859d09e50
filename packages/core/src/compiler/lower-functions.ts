import ts from './lazy-typescript.js';
import { lowerExpression, memberOf, requireInt } from './lower-expressions.js';
import { lowerReturnValue, lowerStatement } from './lower-statements.js';
import type { Lowering } from './lowering.js';
import { int, Scope, type Frame, type Role, type Value } from './lowering-scope.js';
import type { ModuleFunction } from './policy-module.js';
import { plural } from './policy-syntax.js';
import { propertyNameText } from './source-context.js';

/** Lowers a function's body, a block or a concise arrow body, in `frame`. */
export function lowerBody(l: Lowering, fn: ModuleFunction, scope: Scope, frame: Frame): void {
  const body = fn.node.body as ts.ConciseBody;
  if (ts.isBlock(body)) {
    for (const statement of body.statements) lowerStatement(l, statement, scope, frame);
  } else {
    l.enter(body);
    lowerReturnValue(l, body, body, scope, frame);
    l.leave();
  }
}

/**
 * Inlines a call of a same-module function: the arguments are lowered in the caller's scope,
 * the body in a scope of its own under the module's, and `mode` says what its returns do. A
 * parameter the body assigns gets a register of its own; the others name the argument's value.
 */
export function inlineCall(l: Lowering, fn: ModuleFunction, call: ts.CallExpression, scope: Scope, frame: Frame, mode: Frame['mode']): Value {
  const cycle = l.callStack.indexOf(fn);
  if (cycle !== -1) {
    const path = [...l.callStack.slice(cycle), fn].map((f) => f.name).join(' -> ');
    l.ctx.fail(call, `recursion is not allowed in policy code: ${path}`);
  }
  l.checkFunctionShape(fn);
  const spread = call.arguments.find(ts.isSpreadElement);
  if (spread) l.ctx.fail(spread, 'spread is not allowed in policy code');
  const parameters = fn.node.parameters;
  if (parameters.length !== call.arguments.length) {
    l.ctx.fail(call, `function '${fn.name}' takes ${plural(parameters.length, 'argument')}, not ${call.arguments.length}`);
  }
  // Arguments are evaluated in the caller's scope, left to right, before the body runs.
  const args = call.arguments.map((argument) => {
    const value = lowerExpression(l, argument, scope, frame);
    if (value.t === 'verdict' || value.t === 'void') requireInt(l, value, argument);
    return value;
  });
  l.enter(call);
  const inner = new Scope(l.moduleScope);
  const assigned = l.assignedNames(fn);
  const pos = l.pos(call);
  parameters.forEach((parameter, i) => {
    if (!ts.isIdentifier(parameter.name)) l.ctx.fail(parameter.name, 'only schedule may destructure its parameters');
    const value = args[i] as Value;
    if (value.t === 'int' && assigned.has(parameter.name.text)) {
      const reg = l.builder.newReg();
      l.builder.mov(reg, value.op, pos);
      l.mutable.add(reg);
      l.named.add(reg);
      l.declare(inner, parameter.name, { b: 'let', reg });
    } else {
      if (value.t === 'int' && typeof value.op === 'number') l.named.add(value.op);
      l.declare(inner, parameter.name, { b: 'value', value, role: 'argument' });
    }
  });
  const innerFrame: Frame =
    mode === 'policy'
      ? { fn, mode, result: undefined, end: undefined, breakables: [] }
      : { fn, mode, result: mode === 'value' ? l.builder.newReg() : undefined, end: l.builder.newLabel(), breakables: [] };
  l.callStack.push(fn);
  lowerBody(l, fn, inner, innerFrame);
  l.callStack.pop();
  if (l.builder.reachable && mode !== 'statement') {
    l.ctx.fail(fn.nameNode, `function '${fn.name}' can reach its end without returning a value`);
  }
  if (innerFrame.end) l.builder.label(innerFrame.end, pos);
  l.leave();
  if (innerFrame.result !== undefined) {
    l.named.add(innerFrame.result);
    return int(innerFrame.result);
  }
  return { t: 'void', what: `function '${fn.name}'` };
}

/** Binds schedule's parameter `index` (the input, its maps, its params), whole or destructured. */
export function bindScheduleParameter(l: Lowering, parameter: ts.ParameterDeclaration, index: 0 | 1 | 2, scope: Scope): void {
  const whole: Value = index === 0 ? { t: 'input' } : index === 1 ? { t: 'maps' } : { t: 'params' };
  const role: Role = (['input', 'maps', 'params'] as const)[index];
  if (ts.isIdentifier(parameter.name)) {
    l.declare(scope, parameter.name, { b: 'value', value: whole, role });
    return;
  }
  const pattern = parameter.name as ts.ObjectBindingPattern;
  for (const element of pattern.elements) {
    bindDestructured(l, element, whole, role === 'params' ? 'param' : role, scope);
  }
}

/** Binds one element of `{ a, b: c } = whole` (the input, the maps, the params or a byte region) to the member it names. */
export function bindDestructured(l: Lowering, element: ts.BindingElement, whole: Value, role: Role, scope: Scope): void {
  if (element.dotDotDotToken) l.ctx.fail(element, 'rest elements are not allowed in policy code');
  if (element.initializer) l.ctx.fail(element.initializer, 'default values are not allowed in policy code');
  if (!ts.isIdentifier(element.name)) l.ctx.fail(element.name, 'nested destructuring is not allowed in policy code');
  const key = element.propertyName ? propertyNameText(element.propertyName) : element.name.text;
  if (key === undefined) l.ctx.fail(element, 'computed property names are not allowed in policy code');
  const value = memberOf(l, whole, key, element.propertyName ?? element.name, l.pos(element));
  if (value.t === 'int' && typeof value.op === 'number') l.named.add(value.op);
  l.declare(scope, element.name, { b: 'value', value, role: role === 'maps' || role === 'input' || role === 'param' ? role : 'constant' });
}
