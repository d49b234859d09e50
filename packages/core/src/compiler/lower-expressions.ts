import ts from './lazy-typescript.js';
import { isArrayKind } from '@syrup/maps';
import { negateCompare } from '../ir/ir-semantics.js';
import { HELPER_NAMES, type CompareOp, type HelperName, type InputField, type LoadRegion, type Operand, type SourcePosition } from '../ir/policy-ir.js';
import { inlineCall } from './lower-functions.js';
import type { Lowering } from './lowering.js';
import { describe, int, isCoreNamespace, type Frame, type Scope, type Value } from './lowering-scope.js';
import { parseIntegerLiteral } from './integer-literal.js';
import { CORE_MODULE } from './policy-module.js';
import { ARITHMETIC, COMPARISON, isAssignmentOperator, isTypeWrapper, LOADS, MAP_METHODS, plural } from './policy-syntax.js';
import { expressionReason } from './refusal-reasons.js';
import { unwrapExpression } from './source-context.js';

const HELPERS: ReadonlySet<string> = new Set(HELPER_NAMES);

/** Lowers an expression whose value must be an integer: an immediate when it folds, a register otherwise. */
export function lowerInt(l: Lowering, expression: ts.Expression, scope: Scope, frame: Frame): Operand {
  return requireInt(l, lowerExpression(l, expression, scope, frame), expression);
}

/** The operand of an integer value; any other value is refused at `node`, saying what it is instead. */
export function requireInt(l: Lowering, value: Value, node: ts.Node): Operand {
  switch (value.t) {
    case 'int':
      return value.op;
    case 'verdict':
      return l.ctx.fail(
        node,
        `${value.verdict.toUpperCase()} can only be returned, by schedule or by a function whose call schedule returns (return f(...))`,
      );
    case 'void':
      return l.ctx.fail(node, `${value.what} returns no value`);
    case 'input':
      return l.ctx.fail(node, 'the input is not an integer; read one of its fields');
    case 'bytes':
      return l.ctx.fail(node, `${value.region} is not an integer; read it with ${value.region}.u8(offset) and the like, or use ${value.region}.length`);
    case 'map':
      return l.ctx.fail(node, `map '${value.name}' is not an integer; call one of its methods (get, set, delete, fetchAdd, compareExchange)`);
    case 'maps':
      return l.ctx.fail(node, 'the maps are not an integer; call a method of one of them');
    case 'params':
      return l.ctx.fail(node, 'the params are not an integer; use one of them');
  }
}

/**
 * Lowers an expression to what it denotes (see {@link Value}), emitting the code that computes
 * an integer at run time; constant operands fold in the IR builder with the IR's semantics.
 */
export function lowerExpression(l: Lowering, node: ts.Expression, scope: Scope, frame: Frame): Value {
  l.enter(node);
  const value = lowerExpressionKind(l, node, scope, frame);
  l.leave();
  return value;
}

function lowerExpressionKind(l: Lowering, e: ts.Expression, scope: Scope, frame: Frame): Value {
  const b = l.builder;
  if (isTypeWrapper(e)) return lowerExpression(l, e.expression, scope, frame);
  if (ts.isNumericLiteral(e) || ts.isBigIntLiteral(e)) {
    const literal = parseIntegerLiteral(l.ctx.text(e));
    if (literal.value === undefined) return l.ctx.fail(e, literal.reason);
    return int(literal.value);
  }
  if (e.kind === ts.SyntaxKind.TrueKeyword) return int(1n);
  if (e.kind === ts.SyntaxKind.FalseKeyword) return int(0n);
  if (ts.isIdentifier(e)) return lowerIdentifier(l, e, scope);
  if (ts.isPropertyAccessExpression(e)) {
    checkMemberAccess(l, e);
    const object = e.expression;
    const event = l.constants.threadEvent(e, scope);
    if (event !== undefined) return int(event);
    if (ts.isIdentifier(object) && isCoreNamespace(scope, object.text)) return coreValue(l, e.name.text, e);
    return memberOf(l, lowerExpression(l, object, scope, frame), e.name.text, e.name, l.pos(e));
  }
  if (ts.isElementAccessExpression(e)) {
    if (e.questionDotToken) l.ctx.fail(e, 'optional chaining (?.) is not allowed in policy code');
    return l.ctx.fail(e, 'indexing with [] is not allowed in policy code');
  }
  if (ts.isCallExpression(e)) return lowerCall(l, e, scope, frame, 'value');
  if (ts.isPrefixUnaryExpression(e)) {
    const pos = l.pos(e);
    switch (e.operator) {
      case ts.SyntaxKind.MinusToken:
        return int(b.unary('neg', lowerInt(l, e.operand, scope, frame), pos));
      case ts.SyntaxKind.PlusToken:
        return int(lowerInt(l, e.operand, scope, frame));
      case ts.SyntaxKind.TildeToken:
        return int(b.unary('not', lowerInt(l, e.operand, scope, frame), pos));
      case ts.SyntaxKind.ExclamationToken:
        return int(b.compare('eq', lowerInt(l, e.operand, scope, frame), 0n, pos));
      default:
        return l.ctx.fail(e, '++ and -- can only be statements of their own, as in i++;');
    }
  }
  if (ts.isPostfixUnaryExpression(e)) return l.ctx.fail(e, '++ and -- can only be statements of their own, as in i++;');
  if (ts.isBinaryExpression(e)) return lowerBinary(l, e, scope, frame);
  if (ts.isConditionalExpression(e)) {
    const pos = l.pos(e);
    const known = l.constants.evaluate(e.condition, scope, frame);
    if (known !== undefined) {
      const value = lowerInt(l, known !== 0n ? e.whenTrue : e.whenFalse, scope, frame);
      b.dead(() => lowerInt(l, known !== 0n ? e.whenFalse : e.whenTrue, scope, frame));
      return int(value);
    }
    const result = b.newReg();
    const elseLabel = b.newLabel();
    const end = b.newLabel();
    lowerCondition(l, e.condition, elseLabel, false, scope, frame);
    b.mov(result, lowerInt(l, e.whenTrue, scope, frame), pos);
    b.jump(end, pos);
    b.label(elseLabel, pos);
    b.mov(result, lowerInt(l, e.whenFalse, scope, frame), pos);
    b.label(end, pos);
    return int(result);
  }
  return l.ctx.fail(e, expressionReason(e));
}

/** Refuses the forms of `object.name` policy code never allows, wherever it appears: `?.` and private names. */
export function checkMemberAccess(l: Lowering, e: ts.PropertyAccessExpression): void {
  if (e.questionDotToken) l.ctx.fail(e, 'optional chaining (?.) is not allowed in policy code');
  if (ts.isPrivateIdentifier(e.name)) l.ctx.fail(e.name, 'private names are not allowed in policy code');
}

function lowerBinary(l: Lowering, e: ts.BinaryExpression, scope: Scope, frame: Frame): Value {
  const b = l.builder;
  const kind = e.operatorToken.kind;
  const pos = l.pos(e);
  const arithmetic = ARITHMETIC.get(kind);
  if (arithmetic) {
    const a = lowerInt(l, e.left, scope, frame);
    return int(b.binary(arithmetic, a, lowerInt(l, e.right, scope, frame), pos));
  }
  const comparison = COMPARISON.get(kind);
  if (comparison) {
    const a = lowerInt(l, e.left, scope, frame);
    return int(b.compare(comparison, a, lowerInt(l, e.right, scope, frame), pos));
  }
  if (kind === ts.SyntaxKind.AmpersandAmpersandToken || kind === ts.SyntaxKind.BarBarToken) {
    // JavaScript value semantics over integers: `a && b` is a when a is 0, else b; `a || b` is a when a is not 0, else b.
    const isAnd = kind === ts.SyntaxKind.AmpersandAmpersandToken;
    const known = l.constants.evaluate(e.left, scope, frame);
    if (known !== undefined) {
      const shortCircuits = isAnd ? known === 0n : known !== 0n;
      if (shortCircuits) {
        b.dead(() => lowerInt(l, e.right, scope, frame));
        return int(known);
      }
      return int(lowerInt(l, e.right, scope, frame));
    }
    const a = lowerInt(l, e.left, scope, frame);
    const result = b.newReg();
    const end = b.newLabel();
    b.mov(result, a, pos);
    b.jumpIf(isAnd ? 'eq' : 'ne', a, 0n, end, pos);
    b.mov(result, lowerInt(l, e.right, scope, frame), pos);
    b.label(end, pos);
    return int(result);
  }
  const token = e.operatorToken;
  if (isAssignmentOperator(kind)) return l.ctx.fail(e, 'an assignment can only be a statement of its own');
  switch (kind) {
    case ts.SyntaxKind.AsteriskAsteriskToken:
      return l.ctx.fail(token, 'the ** operator is not allowed in policy code: powers are floats in JavaScript');
    case ts.SyntaxKind.QuestionQuestionToken:
      return l.ctx.fail(token, 'the ?? operator is not allowed in policy code: values are never null or undefined');
    case ts.SyntaxKind.CommaToken:
      return l.ctx.fail(token, 'the comma operator is not allowed in policy code');
    case ts.SyntaxKind.InKeyword:
      return l.ctx.fail(token, 'the in operator is not allowed in policy code');
    case ts.SyntaxKind.InstanceOfKeyword:
      return l.ctx.fail(token, 'the instanceof operator is not allowed in policy code');
    default:
      return l.ctx.fail(token, `the ${token.getText(l.ctx.sourceFile)} operator is not allowed in policy code`);
  }
}

function lowerIdentifier(l: Lowering, node: ts.Identifier, scope: Scope): Value {
  const name = node.text;
  const binding = scope.lookup(name);
  if (!binding) {
    if (name === 'undefined' || name === 'NaN' || name === 'Infinity') return l.ctx.fail(node, `${name} is not an integer`);
    return l.ctx.fail(node, `unknown name '${name}'`);
  }
  if (binding.b === 'let') return int(binding.reg);
  if (binding.b === 'value') return binding.value;
  const m = binding.binding;
  switch (m.kind) {
    case 'function':
      return l.ctx.fail(node, `function '${name}' can only be called`);
    case 'core':
      return coreValue(l, m.name, node);
    case 'core-namespace':
      return l.ctx.fail(node, `'${name}' is a namespace; use its members, such as ${name}.PASS`);
    case 'import':
      return l.ctx.fail(node, importReason(name, m.module));
    case 'constant':
      return int(l.constants.moduleConstant(name, node));
    case 'policy':
      return l.ctx.fail(node, `the policy '${name}' cannot be used inside policy code`);
  }
}

function coreValue(l: Lowering, name: string, node: ts.Node): Value {
  if (name === 'ThreadEvent') return l.ctx.fail(node, 'ThreadEvent is a set of constants; use its members, such as ThreadEvent.WAKEUP');
  if (name === 'PASS') return { t: 'verdict', verdict: 'pass' };
  if (name === 'DROP') return { t: 'verdict', verdict: 'drop' };
  if (name === 'definePolicy') return l.ctx.fail(node, 'definePolicy can only be called once, at the top level of the module');
  if (HELPERS.has(name)) return l.ctx.fail(node, `${name} is a helper; call it as ${name}()`);
  return l.ctx.fail(node, `'${name}' from '${CORE_MODULE}' cannot be used in policy code`);
}

/**
 * `object.name` for the compile-time references: input fields, payload length, maps, params.
 * Input fields come from the lowering's table (`InputField` names only the standard ones; IR
 * compiled with a test's table carries that table's names).
 */
export function memberOf(l: Lowering, object: Value, name: string, nameNode: ts.Node, pos: SourcePosition): Value {
  const b = l.builder;
  switch (object.t) {
    case 'input': {
      const kind = l.policy.input;
      const region = l.inputFields.regionOf(kind);
      if (region !== undefined && name === region) return { t: 'bytes', region };
      const field = l.inputFields.member(kind, name);
      if (field === undefined) return l.ctx.fail(nameNode, `a ${kind} input has no field '${name}'`);
      const dst = b.newReg();
      b.emit({ op: 'input', dst, field: field.name as InputField, pos });
      return int(dst);
    }
    case 'bytes': {
      if (name === 'length') {
        const dst = b.newReg();
        b.emit({ op: 'input', dst, field: l.inputFields.regionLength(object.region).name as InputField, pos });
        return int(dst);
      }
      if (Object.hasOwn(LOADS, name)) return l.ctx.fail(nameNode, `${object.region}.${name} is a method; call it as ${object.region}.${name}(offset)`);
      return l.ctx.fail(nameNode, `${object.region} has no property '${name}'`);
    }
    case 'maps': {
      if (!Object.hasOwn(l.policy.maps, name)) return l.ctx.fail(nameNode, `policy '${l.policy.name}' declares no map '${name}'`);
      return { t: 'map', name };
    }
    case 'params': {
      const value = Object.hasOwn(l.policy.params, name) ? l.policy.params[name] : undefined;
      if (value === undefined) return l.ctx.fail(nameNode, `policy '${l.policy.name}' declares no param '${name}'`);
      return int(BigInt(value));
    }
    case 'map': {
      if (Object.hasOwn(MAP_METHODS, name)) return l.ctx.fail(nameNode, `${object.name}.${name} is a method; call it`);
      return l.ctx.fail(nameNode, `map '${object.name}' has no property '${name}'`);
    }
    default:
      return l.ctx.fail(nameNode, `${describe(object)} has no property '${name}'`);
  }
}

/** Lowers a call: of a helper, a map method, a payload read or a same-module function (inlined in `mode`). */
export function lowerCall(l: Lowering, node: ts.CallExpression, scope: Scope, frame: Frame, mode: 'value' | 'statement'): Value {
  if (node.questionDotToken) l.ctx.fail(node, 'optional chaining (?.) is not allowed in policy code');
  const spread = node.arguments.find(ts.isSpreadElement);
  if (spread) l.ctx.fail(spread, 'spread is not allowed in policy code');
  const callee = unwrapExpression(node.expression);
  if (ts.isIdentifier(callee)) {
    const name = callee.text;
    const binding = scope.lookup(name);
    if (!binding) return l.ctx.fail(callee, `unknown function '${name}'`);
    if (binding.b !== 'module') return l.ctx.fail(callee, `'${name}' is ${describe(binding.b === 'let' ? int(0n) : binding.value)}, not a function`);
    const m = binding.binding;
    switch (m.kind) {
      case 'function':
        return inlineCall(l, m.fn, node, scope, frame, mode);
      case 'core':
        return coreCall(l, m.name, node);
      case 'import':
        return l.ctx.fail(callee, importReason(name, m.module));
      default:
        return l.ctx.fail(callee, `'${name}' is not a function`);
    }
  }
  if (ts.isPropertyAccessExpression(callee)) {
    if (callee.questionDotToken) l.ctx.fail(callee, 'optional chaining (?.) is not allowed in policy code');
    const object = unwrapExpression(callee.expression);
    const method = callee.name.text;
    if (ts.isIdentifier(object)) {
      const binding = scope.lookup(object.text);
      if (!binding) return l.ctx.fail(callee, unboundCallReason(l, object.text, method));
      if (binding.b === 'module' && binding.binding.kind === 'core-namespace') return coreCall(l, method, node);
      if (binding.b === 'module' && binding.binding.kind === 'import') return l.ctx.fail(callee, importReason(object.text, binding.binding.module));
    }
    const target = lowerExpression(l, callee.expression, scope, frame);
    if (target.t === 'map') return lowerMapCall(l, target.name, method, node, callee.name, scope, frame);
    if (target.t === 'bytes') return lowerLoad(l, target.region, method, node, callee.name, scope, frame);
    return l.ctx.fail(callee.name, `${describe(target)} has no method '${method}'`);
  }
  return l.ctx.fail(callee, 'only helpers, map methods, payload reads and functions of this module can be called');
}

function coreCall(l: Lowering, name: string, node: ts.CallExpression): Value {
  if (HELPERS.has(name)) {
    if (node.arguments.length !== 0) l.ctx.fail(node, `${name}() takes no arguments`);
    const dst = l.builder.newReg();
    l.builder.emit({ op: 'helper', dst, helper: name as HelperName, pos: l.pos(node) });
    return int(dst);
  }
  if (name === 'PASS' || name === 'DROP') return l.ctx.fail(node, `${name} is not a function; return it as it is`);
  return coreValue(l, name, node.expression);
}

function lowerArguments(l: Lowering, node: ts.CallExpression, what: string, count: number, scope: Scope, frame: Frame): Operand[] {
  if (node.arguments.length !== count) l.ctx.fail(node, `${what} takes ${plural(count, 'argument')}, not ${node.arguments.length}`);
  return node.arguments.map((argument) => lowerInt(l, argument, scope, frame));
}

/**
 * Why `name.method(...)` names nothing: a map the policy uses without declaring it (or without
 * taking it from schedule's second parameter) is said so, with the maps it has; anything else
 * is an unknown function.
 */
function unboundCallReason(l: Lowering, name: string, method: string): string {
  if (!Object.hasOwn(MAP_METHODS, method)) return `unknown function '${name}.${method}'`;
  const declared = Object.keys(l.manifest?.maps ?? {});
  const has = declared.length > 0 ? `this policy declares ${declared.join(', ')}` : 'this policy declares none';
  if (declared.includes(name)) return `map '${name}' is declared but not taken from schedule's second parameter: write schedule(input, { ${name} }) to use it`;
  return `'${name}' is not a map of this policy (${has}): declare it in maps and take it from schedule's second parameter`;
}

function lowerMapCall(l: Lowering, map: string, method: string, node: ts.CallExpression, methodNode: ts.Node, scope: Scope, frame: Frame): Value {
  const b = l.builder;
  const count = Object.hasOwn(MAP_METHODS, method) ? MAP_METHODS[method] : undefined;
  if (count === undefined) {
    return l.ctx.fail(methodNode, `map '${map}' has no method '${method}'; maps offer get, set, delete, fetchAdd and compareExchange`);
  }
  const spec = l.policy.maps[map];
  if (method === 'delete' && spec && isArrayKind(spec.kind)) {
    l.ctx.fail(node, `entries of ${spec.kind} map '${map}' cannot be deleted; set them to 0 instead`);
  }
  const args = lowerArguments(l, node, `${map}.${method}`, count, scope, frame);
  const pos = l.pos(node);
  const [key, x, y] = args as [Operand, Operand, Operand];
  switch (method) {
    case 'get': {
      const dst = b.newReg();
      b.emit({ op: 'map-get', dst, map, key, pos });
      return int(dst);
    }
    case 'set':
      b.emit({ op: 'map-set', map, key, value: x, pos });
      return { t: 'void', what: `${map}.set(...)` };
    case 'delete':
      b.emit({ op: 'map-delete', map, key, pos });
      return { t: 'void', what: `${map}.delete(...)` };
    case 'fetchAdd': {
      const dst = b.newReg();
      b.emit({ op: 'map-fetch-add', dst, map, key, delta: x, pos });
      return int(dst);
    }
    default: {
      const dst = b.newReg();
      b.emit({ op: 'map-cmpxchg', dst, map, key, expected: x, desired: y, pos });
      return int(dst);
    }
  }
}

function lowerLoad(l: Lowering, region: LoadRegion, method: string, node: ts.CallExpression, methodNode: ts.Node, scope: Scope, frame: Frame): Value {
  const load = Object.hasOwn(LOADS, method) ? LOADS[method] : undefined;
  if (!load) return l.ctx.fail(methodNode, `${region} has no method '${method}'; reads are u8, u16, u32, u64, u16le, u32le and u64le`);
  const [offset] = lowerArguments(l, node, `${region}.${method}`, 1, scope, frame) as [Operand];
  const dst = l.builder.newReg();
  l.builder.emit({ op: 'load', dst, region, offset, size: load.size, byteOrder: load.byteOrder, pos: l.pos(node) });
  return int(dst);
}

function importReason(name: string, module: string): string {
  return `'${name}' is imported from '${module}'; policy code can call only random(), now(), cpu(), map methods, payload reads and functions of its own module`;
}

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
