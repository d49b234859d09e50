import ts, { lazyMap } from './lazy-typescript.js';
import { isArrayKind } from '@syrup/maps';
import { evalBinary, evalCompare, evalUnary, negateCompare } from '../ir/ir-semantics.js';
import type { BinaryOp, CompareOp, InputField, IrInsn, LoadRegion, Operand, SourcePosition, VReg } from '../ir/policy-ir.js';
import type { PolicyManifest } from '../policy/define-policy.js';
import { ThreadEvent, type ThreadEventName } from '../policy/inputs.js';
import { compactRegisters } from './compact-registers.js';
import { IrBudgetExceeded, IrBuilder } from './ir-builder.js';
import { parseIntegerLiteral } from './integer-literal.js';
import { CORE_MODULE, type ModuleBinding, type ModuleFunction, type PolicyModule } from './policy-module.js';
import { POLICY_LIMITS, type PolicyLimits } from './policy-limits.js';
import { expressionReason, statementReason } from './refusal-reasons.js';
import { propertyNameText, unwrapExpression, type SourceContext } from './source-context.js';


/** What an expression of policy code denotes. Only `int` values exist at run time; the rest are compile-time references. */
type Value =
  | { readonly t: 'int'; readonly op: Operand }
  | { readonly t: 'input' }
  | { readonly t: 'bytes'; readonly region: LoadRegion }
  | { readonly t: 'maps' }
  | { readonly t: 'map'; readonly name: string }
  | { readonly t: 'params' }
  | { readonly t: 'verdict'; readonly verdict: 'pass' | 'drop' }
  | { readonly t: 'void'; readonly what: string };

/** Why a read-only name cannot be assigned; it picks the error message. */
type Role = 'constant' | 'param' | 'loop variable' | 'argument' | 'input' | 'maps' | 'params';

type Binding =
  | { readonly b: 'let'; readonly reg: VReg }
  | { readonly b: 'value'; readonly value: Value; readonly role: Role }
  | { readonly b: 'module'; readonly binding: ModuleBinding };

class Scope {
  readonly names = new Map<string, Binding>();
  constructor(readonly parent: Scope | undefined) {}

  lookup(name: string): Binding | undefined {
    for (let scope: Scope | undefined = this; scope; scope = scope.parent) {
      const binding = scope.names.get(name);
      if (binding) return binding;
    }
    return undefined;
  }
}

interface Breakable {
  readonly kind: 'loop' | 'switch';
  readonly breakLabel: string;
  continueLabel: string;
}

/**
 * How a function body's `return` lowers: `policy` returns end the policy (schedule, and a
 * function whose call schedule returns directly); `value` returns hand an integer to the
 * caller; `statement` returns just leave the function.
 */
interface Frame {
  readonly fn: ModuleFunction | undefined;
  readonly mode: 'policy' | 'value' | 'statement';
  readonly result: VReg | undefined;
  readonly end: string | undefined;
  readonly breakables: Breakable[];
}

const ARITHMETIC = lazyMap<ts.SyntaxKind, BinaryOp>(() => [
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

const COMPOUND = lazyMap<ts.SyntaxKind, BinaryOp>(() => [
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

const COMPARISON = lazyMap<ts.SyntaxKind, CompareOp>(() => [
  [ts.SyntaxKind.EqualsEqualsEqualsToken, 'eq'],
  [ts.SyntaxKind.EqualsEqualsToken, 'eq'],
  [ts.SyntaxKind.ExclamationEqualsEqualsToken, 'ne'],
  [ts.SyntaxKind.ExclamationEqualsToken, 'ne'],
  [ts.SyntaxKind.LessThanToken, 'lt'],
  [ts.SyntaxKind.LessThanEqualsToken, 'le'],
  [ts.SyntaxKind.GreaterThanToken, 'gt'],
  [ts.SyntaxKind.GreaterThanEqualsToken, 'ge'],
]);

/** Scalar fields of each input kind as policy code names them, and the IR field they read. */
const INPUT_MEMBERS: Readonly<Record<string, Readonly<Record<string, InputField | LoadRegion>>>> = {
  udp: { len: 'len', hash: 'hash', srcAddr: 'srcAddr', dstAddr: 'dstAddr', srcPort: 'srcPort', dstPort: 'dstPort', payload: 'payload' },
  tcp: { hash: 'hash', srcAddr: 'srcAddr', dstAddr: 'dstAddr', srcPort: 'srcPort', dstPort: 'dstPort' },
  packet: { length: 'length', data: 'data' },
  thread: { tid: 'tid', pid: 'pid', event: 'event', lastCpu: 'lastCpu', runtimeNs: 'runtimeNs' },
};

const LOADS: Readonly<Record<string, { readonly size: 1 | 2 | 4 | 8; readonly byteOrder: 'be' | 'le' }>> = {
  u8: { size: 1, byteOrder: 'be' },
  u16: { size: 2, byteOrder: 'be' },
  u32: { size: 4, byteOrder: 'be' },
  u64: { size: 8, byteOrder: 'be' },
  u16le: { size: 2, byteOrder: 'le' },
  u32le: { size: 4, byteOrder: 'le' },
  u64le: { size: 8, byteOrder: 'le' },
};

const MAP_METHODS: Readonly<Record<string, number>> = { get: 1, set: 2, delete: 1, fetchAdd: 2, compareExchange: 3 };
const HELPERS = new Set(['random', 'now', 'cpu']);
const MODULE_FRAME: Frame = { fn: undefined, mode: 'statement', result: undefined, end: undefined, breakables: [] };

const int = (op: Operand): Value => ({ t: 'int', op });
const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

/**
 * Lowers a policy's schedule function, and every same-module function it calls (inlined), to
 * the policy IR. Params are folded in as constants, loops are unrolled (their bounds are
 * compile-time constants), constant expressions are folded with the IR's own semantics, and
 * every construct outside the subset is a {@link PolicyCompileError} at its position.
 */
export class ScheduleLowerer {
  readonly #builder: IrBuilder;
  readonly #moduleScope = new Scope(undefined);
  readonly #callStack: ModuleFunction[] = [];
  readonly #constants = new Map<string, bigint>();
  readonly #evaluating = new Set<string>();
  readonly #assigned = new Map<ts.Node, ReadonlySet<string>>();
  /** Registers that are the home of a `let` (or an assigned parameter): their value changes. */
  readonly #mutable = new Set<VReg>();
  /** Registers bound to a name: a `let` may not take one over as its home. */
  readonly #named = new Set<VReg>();
  #manifest: PolicyManifest | undefined;
  #depth = 0;
  #steps = 0;

  constructor(
    private readonly ctx: SourceContext,
    private readonly module: PolicyModule,
    private readonly limits: PolicyLimits = POLICY_LIMITS,
  ) {
    this.#builder = new IrBuilder(limits.maxIrInstructions);
    for (const [name, binding] of module.bindings) this.#moduleScope.names.set(name, { b: 'module', binding });
  }

  /** Evaluates every top-level integer constant, so a bad one is reported even when unused. */
  checkModuleConstants(): void {
    for (const [name, binding] of this.module.bindings) {
      if (binding.kind === 'constant') this.#moduleConstant(name, binding.initializer);
    }
  }

  /** A top-level constant's value, or undefined when `name` is not one (for reading the manifest). */
  moduleConstantOrUndefined(name: string, at: ts.Node): bigint | undefined {
    return this.module.bindings.get(name)?.kind === 'constant' ? this.#moduleConstant(name, at) : undefined;
  }

  /** Lowers the schedule function; returns the finished instructions and the register count. */
  lower(schedule: ModuleFunction, manifest: PolicyManifest): { insns: IrInsn[]; registerCount: number } {
    this.#manifest = manifest;
    try {
      this.#checkFunctionShape(schedule);
      const scope = new Scope(this.#moduleScope);
      const parameters = schedule.node.parameters;
      if (parameters.length > 3) {
        this.ctx.fail(parameters[3] as ts.Node, 'schedule takes at most three parameters: the input, its maps and its params');
      }
      parameters.forEach((parameter, index) => this.#bindScheduleParameter(parameter, index as 0 | 1 | 2, scope));
      const frame: Frame = { fn: schedule, mode: 'policy', result: undefined, end: undefined, breakables: [] };
      this.#callStack.push(schedule);
      this.#body(schedule, scope, frame);
      if (this.#builder.reachable) {
        this.ctx.fail(schedule.nameNode, 'schedule can reach its end without returning; every path must return an executor key, PASS or DROP');
      }
    } catch (error) {
      if (error instanceof IrBudgetExceeded) {
        this.ctx.fail(
          error.pos ?? this.ctx.posAt(0),
          `the policy compiles to more than ${this.limits.maxIrInstructions} IR instructions after inlining calls and unrolling loops`,
        );
      }
      throw error;
    }
    return compactRegisters(this.#builder.finish());
  }

  get #policy(): PolicyManifest {
    return this.#manifest as PolicyManifest;
  }

  // ---------------------------------------------------------------- bookkeeping

  #enter(node: ts.Node): void {
    if (++this.#depth > this.limits.maxNestingDepth) {
      this.ctx.fail(node, `code is nested more than ${this.limits.maxNestingDepth} levels deep (statements, expressions and inlined calls)`, undefined, 'POLICY_TOO_DEEP');
    }
    this.#step(node);
  }

  /**
   * Charges one node visited to the step budget, refusing the policy at `node` once it is
   * spent. Every walk of the lowerer that can repeat per unrolled iteration or inlined call
   * charges it (lowering through #enter, constant folding directly): a walk left out is one a
   * source can make as slow as it likes within the other limits.
   */
  #step(node: ts.Node): void {
    if (++this.#steps > this.limits.maxLoweringSteps) {
      this.ctx.fail(node, `the policy is too large: lowering it after inlining calls and unrolling loops takes more than ${this.limits.maxLoweringSteps} steps`);
    }
  }

  #leave(): void {
    this.#depth--;
  }

  #pos(node: ts.Node): SourcePosition {
    return this.ctx.pos(node);
  }

  #declare(scope: Scope, name: ts.Identifier, binding: Binding): void {
    if (scope.lookup(name.text) !== undefined) {
      this.ctx.fail(name, `'${name.text}' is already declared; policy code does not allow redeclaring or shadowing a name`);
    }
    scope.names.set(name.text, binding);
  }

  #moduleConstant(name: string, at: ts.Node): bigint {
    const cached = this.#constants.get(name);
    if (cached !== undefined) return cached;
    const binding = this.module.bindings.get(name);
    if (binding?.kind !== 'constant') return this.ctx.fail(at, `'${name}' is not a constant`);
    if (this.#evaluating.has(name)) this.ctx.fail(at, `'${name}' is used in its own initializer`);
    this.#evaluating.add(name);
    const value = this.#constant(
      binding.initializer,
      this.#moduleScope,
      MODULE_FRAME,
      `top-level const '${name}' must be an integer constant (literals, operators and other constants)`,
    );
    this.#evaluating.delete(name);
    this.#constants.set(name, value);
    return value;
  }

  /** Lowers an expression that must fold to a constant without emitting any code. */
  #constant(expression: ts.Expression, scope: Scope, frame: Frame, reason: string): bigint {
    const before = this.#builder.size;
    const value = this.#expr(expression, scope, frame);
    if (value.t !== 'int' || typeof value.op !== 'bigint' || this.#builder.size !== before) this.ctx.fail(expression, reason);
    return value.op;
  }

  /** Names a function assigns anywhere in its body: those parameters need a register of their own. */
  #assignedNames(fn: ModuleFunction): ReadonlySet<string> {
    const cached = this.#assigned.get(fn.node);
    if (cached) return cached;
    const names = new Set<string>();
    const target = (node: ts.Expression): void => {
      const e = unwrapExpression(node);
      if (ts.isIdentifier(e)) names.add(e.text);
    };
    // An explicit stack, not recursion: this walk runs before lowering checks the nesting
    // depth, and a long operator chain (a||a||...) is a tree thousands of levels deep.
    const pending: ts.Node[] = fn.node.body ? [fn.node.body] : [];
    for (let node = pending.pop(); node !== undefined; node = pending.pop()) {
      if (ts.isBinaryExpression(node) && isAssignmentOperator(node.operatorToken.kind)) target(node.left);
      if ((ts.isPrefixUnaryExpression(node) || ts.isPostfixUnaryExpression(node)) && isIncrement(node.operator)) target(node.operand);
      ts.forEachChild(node, (child) => {
        pending.push(child);
      });
    }
    this.#assigned.set(fn.node, names);
    return names;
  }

  #checkFunctionShape(fn: ModuleFunction): void {
    const node = fn.node;
    const modifiers = ts.canHaveModifiers(node) ? ts.getModifiers(node) : undefined;
    if (modifiers?.some((m) => m.kind === ts.SyntaxKind.AsyncKeyword)) this.ctx.fail(fn.nameNode, `function '${fn.name}' is async; async functions are not allowed in policy code`);
    if (node.asteriskToken) this.ctx.fail(fn.nameNode, `function '${fn.name}' is a generator; generators are not allowed in policy code`);
    if (!node.body) this.ctx.fail(fn.nameNode, `function '${fn.name}' has no body`);
    for (const parameter of node.parameters) {
      if (parameter.dotDotDotToken) this.ctx.fail(parameter, 'rest parameters are not allowed in policy code');
      if (parameter.initializer) this.ctx.fail(parameter.initializer, 'default parameter values are not allowed in policy code');
      if (parameter.questionToken) this.ctx.fail(parameter, 'optional parameters are not allowed in policy code');
      if (ts.isIdentifier(parameter.name) && parameter.name.text === 'this') this.ctx.fail(parameter, '`this` is not allowed in policy code');
      if (ts.isArrayBindingPattern(parameter.name)) this.ctx.fail(parameter.name, 'array destructuring is not allowed in policy code');
    }
  }

  #bindScheduleParameter(parameter: ts.ParameterDeclaration, index: 0 | 1 | 2, scope: Scope): void {
    const whole: Value = index === 0 ? { t: 'input' } : index === 1 ? { t: 'maps' } : { t: 'params' };
    const role: Role = (['input', 'maps', 'params'] as const)[index];
    if (ts.isIdentifier(parameter.name)) {
      this.#declare(scope, parameter.name, { b: 'value', value: whole, role });
      return;
    }
    const pattern = parameter.name as ts.ObjectBindingPattern;
    for (const element of pattern.elements) {
      this.#bindDestructured(element, whole, role === 'params' ? 'param' : role, scope);
    }
  }

  #bindDestructured(element: ts.BindingElement, whole: Value, role: Role, scope: Scope): void {
    if (element.dotDotDotToken) this.ctx.fail(element, 'rest elements are not allowed in policy code');
    if (element.initializer) this.ctx.fail(element.initializer, 'default values are not allowed in policy code');
    if (!ts.isIdentifier(element.name)) this.ctx.fail(element.name, 'nested destructuring is not allowed in policy code');
    const key = element.propertyName ? propertyNameText(element.propertyName) : element.name.text;
    if (key === undefined) this.ctx.fail(element, 'computed property names are not allowed in policy code');
    const value = this.#member(whole, key, element.propertyName ?? element.name, this.#pos(element));
    if (value.t === 'int' && typeof value.op === 'number') this.#named.add(value.op);
    this.#declare(scope, element.name, { b: 'value', value, role: role === 'maps' || role === 'input' || role === 'param' ? role : 'constant' });
  }

  // ---------------------------------------------------------------- functions

  #body(fn: ModuleFunction, scope: Scope, frame: Frame): void {
    const body = fn.node.body as ts.ConciseBody;
    if (ts.isBlock(body)) {
      for (const statement of body.statements) this.#stmt(statement, scope, frame);
    } else {
      this.#enter(body);
      this.#returnValue(body, body, scope, frame);
      this.#leave();
    }
  }

  #inline(fn: ModuleFunction, call: ts.CallExpression, scope: Scope, frame: Frame, mode: Frame['mode']): Value {
    const cycle = this.#callStack.indexOf(fn);
    if (cycle !== -1) {
      const path = [...this.#callStack.slice(cycle), fn].map((f) => f.name).join(' -> ');
      this.ctx.fail(call, `recursion is not allowed in policy code: ${path}`);
    }
    this.#checkFunctionShape(fn);
    const spread = call.arguments.find(ts.isSpreadElement);
    if (spread) this.ctx.fail(spread, 'spread is not allowed in policy code');
    const parameters = fn.node.parameters;
    if (parameters.length !== call.arguments.length) {
      this.ctx.fail(call, `function '${fn.name}' takes ${plural(parameters.length, 'argument')}, not ${call.arguments.length}`);
    }
    // Arguments are evaluated in the caller's scope, left to right, before the body runs.
    const args = call.arguments.map((argument) => {
      const value = this.#expr(argument, scope, frame);
      if (value.t === 'verdict' || value.t === 'void') this.#requireInt(value, argument);
      return value;
    });
    this.#enter(call);
    const inner = new Scope(this.#moduleScope);
    const assigned = this.#assignedNames(fn);
    const pos = this.#pos(call);
    parameters.forEach((parameter, i) => {
      if (!ts.isIdentifier(parameter.name)) this.ctx.fail(parameter.name, 'only schedule may destructure its parameters');
      const value = args[i] as Value;
      if (value.t === 'int' && assigned.has(parameter.name.text)) {
        const reg = this.#builder.newReg();
        this.#builder.mov(reg, value.op, pos);
        this.#mutable.add(reg);
        this.#named.add(reg);
        this.#declare(inner, parameter.name, { b: 'let', reg });
      } else {
        if (value.t === 'int' && typeof value.op === 'number') this.#named.add(value.op);
        this.#declare(inner, parameter.name, { b: 'value', value, role: 'argument' });
      }
    });
    const innerFrame: Frame =
      mode === 'policy'
        ? { fn, mode, result: undefined, end: undefined, breakables: [] }
        : { fn, mode, result: mode === 'value' ? this.#builder.newReg() : undefined, end: this.#builder.newLabel(), breakables: [] };
    this.#callStack.push(fn);
    this.#body(fn, inner, innerFrame);
    this.#callStack.pop();
    if (this.#builder.reachable && mode !== 'statement') {
      this.ctx.fail(fn.nameNode, `function '${fn.name}' can reach its end without returning a value`);
    }
    if (innerFrame.end) this.#builder.label(innerFrame.end, pos);
    this.#leave();
    if (innerFrame.result !== undefined) {
      this.#named.add(innerFrame.result);
      return int(innerFrame.result);
    }
    return { t: 'void', what: `function '${fn.name}'` };
  }

  // ---------------------------------------------------------------- statements

  #stmt(node: ts.Statement, scope: Scope, frame: Frame): void {
    this.#enter(node);
    const pos = this.#pos(node);
    const b = this.#builder;
    if (ts.isBlock(node)) {
      const inner = new Scope(scope);
      for (const statement of node.statements) this.#stmt(statement, inner, frame);
    } else if (ts.isVariableStatement(node)) {
      this.#variables(node.declarationList, scope, frame);
    } else if (ts.isExpressionStatement(node)) {
      this.#expressionStatement(node.expression, scope, frame);
    } else if (ts.isIfStatement(node)) {
      const elseLabel = b.newLabel();
      this.#cond(node.expression, elseLabel, false, scope, frame);
      this.#stmt(node.thenStatement, new Scope(scope), frame);
      if (node.elseStatement) {
        const end = b.newLabel();
        b.jump(end, pos);
        b.label(elseLabel, pos);
        this.#stmt(node.elseStatement, new Scope(scope), frame);
        b.label(end, pos);
      } else {
        b.label(elseLabel, pos);
      }
    } else if (ts.isReturnStatement(node)) {
      this.#return(node, scope, frame);
    } else if (ts.isSwitchStatement(node)) {
      this.#switch(node, scope, frame);
    } else if (ts.isForStatement(node)) {
      this.#for(node, scope, frame);
    } else if (ts.isBreakStatement(node)) {
      if (node.label) this.ctx.fail(node.label, 'labels are not allowed in policy code');
      const target = frame.breakables.at(-1);
      if (!target) this.ctx.fail(node, '`break` must be inside a loop or a switch');
      b.jump(target.breakLabel, pos);
    } else if (ts.isContinueStatement(node)) {
      if (node.label) this.ctx.fail(node.label, 'labels are not allowed in policy code');
      const loop = frame.breakables.findLast((x) => x.kind === 'loop');
      if (!loop) this.ctx.fail(node, '`continue` must be inside a loop');
      b.jump(loop.continueLabel, pos);
    } else if (ts.isEmptyStatement(node) || ts.isTypeAliasDeclaration(node) || ts.isInterfaceDeclaration(node)) {
      // Nothing to run.
    } else {
      this.ctx.fail(node, statementReason(node));
    }
    this.#leave();
  }

  #variables(list: ts.VariableDeclarationList, scope: Scope, frame: Frame): void {
    const kind = declarationKind(list);
    if (kind === 'using') this.ctx.fail(list, '`using` declarations are not allowed in policy code');
    if (kind === 'var') this.ctx.fail(list, '`var` is not allowed in policy code; use let or const');
    const isConst = kind === 'const';
    for (const declaration of list.declarations) {
      const name = declaration.name;
      if (ts.isArrayBindingPattern(name)) this.ctx.fail(name, 'array destructuring is not allowed in policy code');
      if (ts.isObjectBindingPattern(name)) {
        if (!isConst) this.ctx.fail(name, 'destructuring needs const');
        if (!declaration.initializer) this.ctx.fail(declaration, 'a destructuring declaration needs a value');
        const whole = this.#expr(declaration.initializer, scope, frame);
        if (whole.t !== 'input' && whole.t !== 'maps' && whole.t !== 'params' && whole.t !== 'bytes') {
          this.ctx.fail(declaration.initializer, 'only the input, the maps and the params can be destructured');
        }
        const role: Role = whole.t === 'params' ? 'param' : whole.t === 'maps' ? 'maps' : 'input';
        for (const element of name.elements) this.#bindDestructured(element, whole, role, scope);
        continue;
      }
      if (!declaration.initializer && isConst) this.ctx.fail(declaration, `const '${name.text}' needs a value`);
      // A `let` without a value starts at 0; TypeScript's definite-assignment check keeps authors from reading it first.
      const value = declaration.initializer ? this.#expr(declaration.initializer, scope, frame) : int(0n);
      if (isConst) {
        if (value.t === 'verdict' || value.t === 'void') this.#requireInt(value, declaration.initializer as ts.Expression);
        let bound = value;
        if (value.t === 'int' && typeof value.op === 'number') {
          if (this.#mutable.has(value.op)) {
            // A const keeps the value of the moment, not the variable it was read from.
            const copy = this.#builder.newReg();
            this.#builder.mov(copy, value.op, this.#pos(declaration));
            bound = int(copy);
          }
          this.#named.add((bound as { op: VReg }).op);
        }
        this.#declare(scope, name, { b: 'value', value: bound, role: 'constant' });
        continue;
      }
      if (value.t !== 'int') {
        if (value.t === 'verdict' || value.t === 'void') this.#requireInt(value, declaration.initializer as ts.Expression);
        this.ctx.fail(declaration.initializer as ts.Expression, 'a let variable holds an integer; name the input, a map or the payload with const');
      }
      let reg: VReg;
      if (typeof value.op === 'number' && !this.#named.has(value.op)) {
        reg = value.op;
      } else {
        reg = this.#builder.newReg();
        this.#builder.mov(reg, value.op, this.#pos(declaration));
      }
      this.#mutable.add(reg);
      this.#named.add(reg);
      this.#declare(scope, name, { b: 'let', reg });
    }
  }

  #expressionStatement(expression: ts.Expression, scope: Scope, frame: Frame): void {
    let e = expression;
    while (ts.isParenthesizedExpression(e)) e = e.expression;
    if (ts.isBinaryExpression(e) && isAssignmentOperator(e.operatorToken.kind)) {
      this.#assign(e, scope, frame);
    } else if ((ts.isPrefixUnaryExpression(e) || ts.isPostfixUnaryExpression(e)) && isIncrement(e.operator)) {
      const reg = this.#assignTarget(e.operand, scope, frame);
      const kind = e.operator === ts.SyntaxKind.PlusPlusToken ? 'add' : 'sub';
      this.#builder.emit({ op: 'binary', kind, dst: reg, a: reg, b: 1n, pos: this.#pos(e) });
    } else if (ts.isCallExpression(e)) {
      this.#call(e, scope, frame, 'statement');
    } else {
      const value = this.#expr(e, scope, frame);
      if (value.t === 'verdict') this.#requireInt(value, e);
    }
  }

  #assign(node: ts.BinaryExpression, scope: Scope, frame: Frame): void {
    const b = this.#builder;
    const pos = this.#pos(node);
    const operator = node.operatorToken.kind;
    if (operator === ts.SyntaxKind.AsteriskAsteriskEqualsToken) this.ctx.fail(node.operatorToken, 'the **= operator is not allowed in policy code: powers are floats in JavaScript');
    if (operator === ts.SyntaxKind.QuestionQuestionEqualsToken) this.ctx.fail(node.operatorToken, 'the ??= operator is not allowed in policy code: values are never null or undefined');
    const reg = this.#assignTarget(node.left, scope, frame);
    if (operator === ts.SyntaxKind.EqualsToken) {
      b.mov(reg, this.#int(node.right, scope, frame), pos);
      return;
    }
    if (operator === ts.SyntaxKind.AmpersandAmpersandEqualsToken || operator === ts.SyntaxKind.BarBarEqualsToken) {
      const skip = b.newLabel();
      b.jumpIf(operator === ts.SyntaxKind.AmpersandAmpersandEqualsToken ? 'eq' : 'ne', reg, 0n, skip, pos);
      b.mov(reg, this.#int(node.right, scope, frame), pos);
      b.label(skip, pos);
      return;
    }
    const kind = COMPOUND.get(operator) as BinaryOp;
    const value = this.#int(node.right, scope, frame);
    b.emit({ op: 'binary', kind, dst: reg, a: reg, b: value, pos });
  }

  /** The register of the `let` an assignment writes, or the reason it cannot be written. */
  #assignTarget(node: ts.Expression, scope: Scope, frame: Frame): VReg {
    let target = node;
    while (ts.isParenthesizedExpression(target)) target = target.expression;
    if (ts.isIdentifier(target)) {
      const name = target.text;
      const binding = scope.lookup(name);
      if (!binding) return this.ctx.fail(target, `unknown name '${name}'`);
      if (binding.b === 'let') return binding.reg;
      if (binding.b === 'module') {
        return this.ctx.fail(target, binding.binding.kind === 'constant' ? `'${name}' is a constant and cannot be assigned` : `'${name}' cannot be assigned`);
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
      return this.ctx.fail(target, reasons[binding.role]);
    }
    if (ts.isPropertyAccessExpression(target)) {
      const object = this.#expr(target.expression, scope, frame);
      if (object.t === 'input' || object.t === 'bytes') this.ctx.fail(target, 'the input is read-only');
      if (object.t === 'maps' || object.t === 'map') this.ctx.fail(target, 'maps cannot be assigned; write entries with map.set(key, value)');
      if (object.t === 'params') this.ctx.fail(target, 'params are compile-time constants and cannot be assigned');
    }
    if (ts.isElementAccessExpression(target)) this.ctx.fail(target, 'indexing with [] is not allowed in policy code');
    if (ts.isObjectLiteralExpression(target) || ts.isArrayLiteralExpression(target)) {
      this.ctx.fail(target, 'destructuring assignment is not allowed in policy code');
    }
    return this.ctx.fail(target, 'only variables declared with let can be assigned');
  }

  #return(node: ts.ReturnStatement, scope: Scope, frame: Frame): void {
    if (!node.expression) {
      if (frame.mode === 'policy') this.ctx.fail(node, 'return needs a value: an executor key, PASS or DROP');
      if (frame.mode === 'value') this.ctx.fail(node, `return needs an integer value: the call of '${frame.fn?.name}' uses its value`);
      this.#builder.jump(frame.end as string, this.#pos(node));
      return;
    }
    this.#returnValue(node.expression, node, scope, frame);
  }

  #returnValue(expression: ts.Expression, node: ts.Node, scope: Scope, frame: Frame): void {
    const b = this.#builder;
    const pos = this.#pos(node);
    if (frame.mode !== 'policy') {
      const op = this.#int(expression, scope, frame);
      if (frame.result !== undefined) b.mov(frame.result, op, pos);
      b.jump(frame.end as string, pos);
      return;
    }
    const e = unwrapExpression(expression);
    if (ts.isConditionalExpression(e)) {
      // A verdict may only be returned, so `return c ? PASS : k` lowers as two returns.
      const known = this.#fold(e.condition, scope);
      if (known !== undefined) {
        this.#returnValue(known !== 0n ? e.whenTrue : e.whenFalse, node, scope, frame);
        b.dead(() => this.#returnValue(known !== 0n ? e.whenFalse : e.whenTrue, node, scope, frame));
        return;
      }
      const elseLabel = b.newLabel();
      this.#cond(e.condition, elseLabel, false, scope, frame);
      this.#returnValue(e.whenTrue, node, scope, frame);
      b.label(elseLabel, pos);
      this.#returnValue(e.whenFalse, node, scope, frame);
      return;
    }
    if (ts.isCallExpression(e) && !e.questionDotToken) {
      const callee = unwrapExpression(e.expression);
      const binding = ts.isIdentifier(callee) ? scope.lookup(callee.text) : undefined;
      if (binding?.b === 'module' && binding.binding.kind === 'function') {
        // A tail call: the function's own returns end the policy, so it may return PASS or DROP.
        this.#inline(binding.binding.fn, e, scope, frame, 'policy');
        return;
      }
    }
    const value = this.#expr(expression, scope, frame);
    if (value.t === 'verdict') {
      b.terminate({ op: 'return', verdict: value.verdict, pos });
      return;
    }
    b.terminate({ op: 'return', verdict: 'executor', value: this.#requireInt(value, expression), pos });
  }

  #switch(node: ts.SwitchStatement, scope: Scope, frame: Frame): void {
    const b = this.#builder;
    const pos = this.#pos(node);
    const discriminant = this.#int(node.expression, scope, frame);
    const end = b.newLabel();
    const clauses = node.caseBlock.clauses;
    const labels = clauses.map(() => b.newLabel());
    const seen = new Set<bigint>();
    let defaultLabel: string | undefined;
    clauses.forEach((clause, i) => {
      const label = labels[i] as string;
      if (ts.isDefaultClause(clause)) {
        if (defaultLabel) this.ctx.fail(clause, 'a switch has at most one default clause');
        defaultLabel = label;
        return;
      }
      const value = this.#constant(clause.expression, scope, frame, 'case values must be compile-time constants (literals, params and constants)');
      if (seen.has(value)) this.ctx.fail(clause.expression, `case ${value} appears twice in this switch`);
      seen.add(value);
      b.jumpIf('eq', discriminant, value, label, this.#pos(clause));
    });
    b.jump(defaultLabel ?? end, pos);
    frame.breakables.push({ kind: 'switch', breakLabel: end, continueLabel: '' });
    clauses.forEach((clause, i) => {
      b.label(labels[i] as string, this.#pos(clause));
      // Each clause is its own scope: a name declared in one clause is not visible in the next.
      const inner = new Scope(scope);
      for (const statement of clause.statements) this.#stmt(statement, inner, frame);
    });
    frame.breakables.pop();
    b.label(end, pos);
  }

  #for(node: ts.ForStatement, scope: Scope, frame: Frame): void {
    const b = this.#builder;
    const pos = this.#pos(node);
    const init = node.initializer;
    const shape = 'a for loop must count with a constant bound: for (let i = <constant>; <condition on i>; <update of i>)';
    if (!init) this.ctx.fail(node, shape);
    if (!ts.isVariableDeclarationList(init)) this.ctx.fail(init, shape);
    const kind = declarationKind(init);
    if (kind === 'var') this.ctx.fail(init, '`var` is not allowed in policy code; use let or const');
    if (kind !== 'let') this.ctx.fail(init, 'the loop counter must be declared with let');
    const declaration = init.declarations[0];
    if (init.declarations.length !== 1 || !declaration) this.ctx.fail(init, 'a for loop declares exactly one counter');
    if (!ts.isIdentifier(declaration.name)) this.ctx.fail(declaration.name, 'the loop counter must be a plain name');
    if (!declaration.initializer) this.ctx.fail(declaration, 'the loop counter needs a start value');
    if (!node.condition) this.ctx.fail(node, 'a for loop needs a condition with a constant bound; unbounded loops are not allowed');
    if (!node.incrementor) this.ctx.fail(node, 'a for loop needs an update of its counter, such as i++');
    const name = declaration.name;
    const start = this.#constant(declaration.initializer, scope, frame, 'the loop counter must start at a compile-time constant');
    if (scope.lookup(name.text)) {
      this.ctx.fail(name, `'${name.text}' is already declared; policy code does not allow redeclaring or shadowing a name`);
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
      const holds = this.#constant(
        node.condition,
        probe,
        frame,
        'the loop condition must be a compile-time constant once the counter is known: loops need constant bounds',
      );
      if (holds === 0n) break;
      if (values.length === this.limits.maxLoopIterations) {
        this.ctx.fail(node, `the loop runs more than ${this.limits.maxLoopIterations} iterations`);
      }
      values.push(i);
      i = this.#update(node.incrementor, name.text, i, probe, frame);
    }

    const loop: Breakable = { kind: 'loop', breakLabel: b.newLabel(), continueLabel: '' };
    frame.breakables.push(loop);
    const liveAtStart = b.reachable;
    for (let k = 0; k < values.length; k++) {
      loop.continueLabel = b.newLabel();
      const before = b.size;
      this.#stmt(node.statement, counter(values[k] as bigint), frame);
      b.label(loop.continueLabel, pos);
      if (k === 0 && liveAtStart) {
        const total = (b.size - before) * values.length;
        if (total > this.limits.maxIrInstructions) {
          this.ctx.fail(
            node,
            `the loop unrolls to about ${total} IR instructions (${values.length} iterations of ${b.size - before}), more than the budget of ${this.limits.maxIrInstructions}`,
          );
        }
      }
      // When no path reaches the next iteration, the remaining ones can never run.
      if (!b.reachable) break;
    }
    frame.breakables.pop();
    b.label(loop.breakLabel, pos);
  }

  #update(update: ts.Expression, counter: string, current: bigint, probe: Scope, frame: Frame): bigint {
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
      if (e.operatorToken.kind === ts.SyntaxKind.EqualsToken) return this.#constant(e.right, probe, frame, reason);
      const kind = COMPOUND.get(e.operatorToken.kind);
      if (kind) return evalBinary(kind, current, this.#constant(e.right, probe, frame, reason));
    }
    return this.ctx.fail(update, `the loop update must change the counter '${counter}' by a constant, as in ${counter}++ or ${counter} += 2`);
  }

  // ---------------------------------------------------------------- conditions

  /** Emits a jump to `target` taken exactly when `expression`'s truth equals `jumpIfTrue`; falls through otherwise. */
  #cond(expression: ts.Expression, target: string, jumpIfTrue: boolean, scope: Scope, frame: Frame): void {
    this.#enter(expression);
    const b = this.#builder;
    const e = expression;
    if (isTypeWrapper(e)) {
      this.#cond(e.expression, target, jumpIfTrue, scope, frame);
    } else if (ts.isPrefixUnaryExpression(e) && e.operator === ts.SyntaxKind.ExclamationToken) {
      this.#cond(e.operand, target, !jumpIfTrue, scope, frame);
    } else if (ts.isBinaryExpression(e) && e.operatorToken.kind === ts.SyntaxKind.AmpersandAmpersandToken) {
      if (jumpIfTrue) {
        const skip = b.newLabel();
        this.#cond(e.left, skip, false, scope, frame);
        this.#cond(e.right, target, true, scope, frame);
        b.label(skip, this.#pos(e));
      } else {
        this.#cond(e.left, target, false, scope, frame);
        this.#cond(e.right, target, false, scope, frame);
      }
    } else if (ts.isBinaryExpression(e) && e.operatorToken.kind === ts.SyntaxKind.BarBarToken) {
      if (jumpIfTrue) {
        this.#cond(e.left, target, true, scope, frame);
        this.#cond(e.right, target, true, scope, frame);
      } else {
        const skip = b.newLabel();
        this.#cond(e.left, skip, true, scope, frame);
        this.#cond(e.right, target, false, scope, frame);
        b.label(skip, this.#pos(e));
      }
    } else if (ts.isBinaryExpression(e) && COMPARISON.has(e.operatorToken.kind)) {
      const kind = COMPARISON.get(e.operatorToken.kind) as CompareOp;
      const a = this.#int(e.left, scope, frame);
      const c = this.#int(e.right, scope, frame);
      b.jumpIf(jumpIfTrue ? kind : negateCompare(kind), a, c, target, this.#pos(e));
    } else {
      const value = this.#int(e, scope, frame);
      b.jumpIf(jumpIfTrue ? 'ne' : 'eq', value, 0n, target, this.#pos(e));
    }
    this.#leave();
  }

  /**
   * The value of an expression made only of constants (literals, params, constants, loop
   * counters, operators), without emitting anything; undefined when any part is not constant.
   * It never skips a part, so code it answers for is fully checked.
   */
  #fold(expression: ts.Expression, scope: Scope): bigint | undefined {
    const e = expression;
    // Folding emits nothing but is not free: a big constant condition folded in every iteration of an unrolled loop took seconds (issue #15).
    this.#step(e);
    if (isTypeWrapper(e)) return this.#fold(e.expression, scope);
    if (ts.isNumericLiteral(e) || ts.isBigIntLiteral(e)) return parseIntegerLiteral(this.ctx.text(e)).value;
    if (e.kind === ts.SyntaxKind.TrueKeyword) return 1n;
    if (e.kind === ts.SyntaxKind.FalseKeyword) return 0n;
    if (ts.isIdentifier(e)) {
      const binding = scope.lookup(e.text);
      if (binding?.b === 'value' && binding.value.t === 'int' && typeof binding.value.op === 'bigint') return binding.value.op;
      if (binding?.b === 'module' && binding.binding.kind === 'constant') return this.#moduleConstant(e.text, e);
      return undefined;
    }
    if (ts.isPropertyAccessExpression(e)) {
      const event = this.#threadEvent(e, scope);
      if (event !== undefined) return event;
    }
    if (ts.isPropertyAccessExpression(e) && ts.isIdentifier(e.expression) && !e.questionDotToken) {
      const binding = scope.lookup(e.expression.text);
      const params = this.#manifest?.params;
      if (binding?.b !== 'value' || binding.value.t !== 'params' || !params || !Object.hasOwn(params, e.name.text)) return undefined;
      return BigInt(params[e.name.text] as number | bigint);
    }
    if (ts.isPrefixUnaryExpression(e)) {
      const a = this.#fold(e.operand, scope);
      if (a === undefined) return undefined;
      switch (e.operator) {
        case ts.SyntaxKind.MinusToken:
          return evalUnary('neg', a);
        case ts.SyntaxKind.TildeToken:
          return evalUnary('not', a);
        case ts.SyntaxKind.ExclamationToken:
          return a === 0n ? 1n : 0n;
        case ts.SyntaxKind.PlusToken:
          return a;
        default:
          return undefined;
      }
    }
    if (ts.isBinaryExpression(e)) {
      const kind = e.operatorToken.kind;
      const arithmetic = ARITHMETIC.get(kind);
      const comparison = COMPARISON.get(kind);
      const logical = kind === ts.SyntaxKind.AmpersandAmpersandToken || kind === ts.SyntaxKind.BarBarToken;
      if (!arithmetic && !comparison && !logical) return undefined;
      const a = this.#fold(e.left, scope);
      const c = a === undefined ? undefined : this.#fold(e.right, scope);
      if (a === undefined || c === undefined) return undefined;
      if (arithmetic) return evalBinary(arithmetic, a, c);
      if (comparison) return evalCompare(comparison, a, c) ? 1n : 0n;
      return kind === ts.SyntaxKind.AmpersandAmpersandToken ? (a === 0n ? a : c) : a !== 0n ? a : c;
    }
    if (ts.isConditionalExpression(e)) {
      const c = this.#fold(e.condition, scope);
      const x = c === undefined ? undefined : this.#fold(e.whenTrue, scope);
      const y = x === undefined ? undefined : this.#fold(e.whenFalse, scope);
      if (c === undefined || x === undefined || y === undefined) return undefined;
      return c !== 0n ? x : y;
    }
    return undefined;
  }

  // ---------------------------------------------------------------- expressions

  #int(expression: ts.Expression, scope: Scope, frame: Frame): Operand {
    return this.#requireInt(this.#expr(expression, scope, frame), expression);
  }

  #requireInt(value: Value, node: ts.Node): Operand {
    switch (value.t) {
      case 'int':
        return value.op;
      case 'verdict':
        return this.ctx.fail(
          node,
          `${value.verdict.toUpperCase()} can only be returned, by schedule or by a function whose call schedule returns (return f(...))`,
        );
      case 'void':
        return this.ctx.fail(node, `${value.what} returns no value`);
      case 'input':
        return this.ctx.fail(node, 'the input is not an integer; read one of its fields');
      case 'bytes':
        return this.ctx.fail(node, `${value.region} is not an integer; read it with ${value.region}.u8(offset) and the like, or use ${value.region}.length`);
      case 'map':
        return this.ctx.fail(node, `map '${value.name}' is not an integer; call one of its methods (get, set, delete, fetchAdd, compareExchange)`);
      case 'maps':
        return this.ctx.fail(node, 'the maps are not an integer; call a method of one of them');
      case 'params':
        return this.ctx.fail(node, 'the params are not an integer; use one of them');
    }
  }

  #expr(node: ts.Expression, scope: Scope, frame: Frame): Value {
    this.#enter(node);
    const value = this.#exprInner(node, scope, frame);
    this.#leave();
    return value;
  }

  #exprInner(e: ts.Expression, scope: Scope, frame: Frame): Value {
    const b = this.#builder;
    if (isTypeWrapper(e)) return this.#expr(e.expression, scope, frame);
    if (ts.isNumericLiteral(e) || ts.isBigIntLiteral(e)) {
      const literal = parseIntegerLiteral(this.ctx.text(e));
      if (literal.value === undefined) return this.ctx.fail(e, literal.reason);
      return int(literal.value);
    }
    if (e.kind === ts.SyntaxKind.TrueKeyword) return int(1n);
    if (e.kind === ts.SyntaxKind.FalseKeyword) return int(0n);
    if (ts.isIdentifier(e)) return this.#identifier(e, scope);
    if (ts.isPropertyAccessExpression(e)) {
      if (e.questionDotToken) this.ctx.fail(e, 'optional chaining (?.) is not allowed in policy code');
      if (ts.isPrivateIdentifier(e.name)) this.ctx.fail(e.name, 'private names are not allowed in policy code');
      const object = e.expression;
      const event = this.#threadEvent(e, scope);
      if (event !== undefined) return int(event);
      if (ts.isIdentifier(object) && this.#isCoreNamespace(object, scope)) return this.#coreValue(e.name.text, e);
      return this.#member(this.#expr(object, scope, frame), e.name.text, e.name, this.#pos(e));
    }
    if (ts.isElementAccessExpression(e)) {
      if (e.questionDotToken) this.ctx.fail(e, 'optional chaining (?.) is not allowed in policy code');
      return this.ctx.fail(e, 'indexing with [] is not allowed in policy code');
    }
    if (ts.isCallExpression(e)) return this.#call(e, scope, frame, 'value');
    if (ts.isPrefixUnaryExpression(e)) {
      const pos = this.#pos(e);
      switch (e.operator) {
        case ts.SyntaxKind.MinusToken:
          return int(b.unary('neg', this.#int(e.operand, scope, frame), pos));
        case ts.SyntaxKind.PlusToken:
          return int(this.#int(e.operand, scope, frame));
        case ts.SyntaxKind.TildeToken:
          return int(b.unary('not', this.#int(e.operand, scope, frame), pos));
        case ts.SyntaxKind.ExclamationToken:
          return int(b.compare('eq', this.#int(e.operand, scope, frame), 0n, pos));
        default:
          return this.ctx.fail(e, '++ and -- can only be statements of their own, as in i++;');
      }
    }
    if (ts.isPostfixUnaryExpression(e)) return this.ctx.fail(e, '++ and -- can only be statements of their own, as in i++;');
    if (ts.isBinaryExpression(e)) return this.#binary(e, scope, frame);
    if (ts.isConditionalExpression(e)) {
      const pos = this.#pos(e);
      const known = this.#fold(e.condition, scope);
      if (known !== undefined) {
        const value = this.#int(known !== 0n ? e.whenTrue : e.whenFalse, scope, frame);
        b.dead(() => this.#int(known !== 0n ? e.whenFalse : e.whenTrue, scope, frame));
        return int(value);
      }
      const result = b.newReg();
      const elseLabel = b.newLabel();
      const end = b.newLabel();
      this.#cond(e.condition, elseLabel, false, scope, frame);
      b.mov(result, this.#int(e.whenTrue, scope, frame), pos);
      b.jump(end, pos);
      b.label(elseLabel, pos);
      b.mov(result, this.#int(e.whenFalse, scope, frame), pos);
      b.label(end, pos);
      return int(result);
    }
    return this.ctx.fail(e, expressionReason(e));
  }

  #binary(e: ts.BinaryExpression, scope: Scope, frame: Frame): Value {
    const b = this.#builder;
    const kind = e.operatorToken.kind;
    const pos = this.#pos(e);
    const arithmetic = ARITHMETIC.get(kind);
    if (arithmetic) {
      const a = this.#int(e.left, scope, frame);
      return int(b.binary(arithmetic, a, this.#int(e.right, scope, frame), pos));
    }
    const comparison = COMPARISON.get(kind);
    if (comparison) {
      const a = this.#int(e.left, scope, frame);
      return int(b.compare(comparison, a, this.#int(e.right, scope, frame), pos));
    }
    if (kind === ts.SyntaxKind.AmpersandAmpersandToken || kind === ts.SyntaxKind.BarBarToken) {
      // JavaScript value semantics over integers: `a && b` is a when a is 0, else b; `a || b` is a when a is not 0, else b.
      const isAnd = kind === ts.SyntaxKind.AmpersandAmpersandToken;
      const known = this.#fold(e.left, scope);
      if (known !== undefined) {
        const shortCircuits = isAnd ? known === 0n : known !== 0n;
        if (shortCircuits) {
          b.dead(() => this.#int(e.right, scope, frame));
          return int(known);
        }
        return int(this.#int(e.right, scope, frame));
      }
      const a = this.#int(e.left, scope, frame);
      const result = b.newReg();
      const end = b.newLabel();
      b.mov(result, a, pos);
      b.jumpIf(isAnd ? 'eq' : 'ne', a, 0n, end, pos);
      b.mov(result, this.#int(e.right, scope, frame), pos);
      b.label(end, pos);
      return int(result);
    }
    const token = e.operatorToken;
    if (isAssignmentOperator(kind)) return this.ctx.fail(e, 'an assignment can only be a statement of its own');
    switch (kind) {
      case ts.SyntaxKind.AsteriskAsteriskToken:
        return this.ctx.fail(token, 'the ** operator is not allowed in policy code: powers are floats in JavaScript');
      case ts.SyntaxKind.QuestionQuestionToken:
        return this.ctx.fail(token, 'the ?? operator is not allowed in policy code: values are never null or undefined');
      case ts.SyntaxKind.CommaToken:
        return this.ctx.fail(token, 'the comma operator is not allowed in policy code');
      case ts.SyntaxKind.InKeyword:
        return this.ctx.fail(token, 'the in operator is not allowed in policy code');
      case ts.SyntaxKind.InstanceOfKeyword:
        return this.ctx.fail(token, 'the instanceof operator is not allowed in policy code');
      default:
        return this.ctx.fail(token, `the ${token.getText(this.ctx.sourceFile)} operator is not allowed in policy code`);
    }
  }

  #identifier(node: ts.Identifier, scope: Scope): Value {
    const name = node.text;
    const binding = scope.lookup(name);
    if (!binding) {
      if (name === 'undefined' || name === 'NaN' || name === 'Infinity') return this.ctx.fail(node, `${name} is not an integer`);
      return this.ctx.fail(node, `unknown name '${name}'`);
    }
    if (binding.b === 'let') return int(binding.reg);
    if (binding.b === 'value') return binding.value;
    const m = binding.binding;
    switch (m.kind) {
      case 'function':
        return this.ctx.fail(node, `function '${name}' can only be called`);
      case 'core':
        return this.#coreValue(m.name, node);
      case 'core-namespace':
        return this.ctx.fail(node, `'${name}' is a namespace; use its members, such as ${name}.PASS`);
      case 'import':
        return this.ctx.fail(node, importReason(name, m.module));
      case 'constant':
        return int(this.#moduleConstant(name, node));
      case 'policy':
        return this.ctx.fail(node, `the policy '${name}' cannot be used inside policy code`);
    }
  }

  #isCoreNamespace(node: ts.Identifier, scope: Scope): boolean {
    const binding = scope.lookup(node.text);
    return binding?.b === 'module' && binding.binding.kind === 'core-namespace';
  }

  /**
   * `ThreadEvent.X` or `ns.ThreadEvent.X` (ThreadEvent from core): the event's integer, folded like
   * any constant; undefined when `e` does not name ThreadEvent's member. An unknown member is an error.
   */
  #threadEvent(e: ts.PropertyAccessExpression, scope: Scope): bigint | undefined {
    const object = e.expression;
    let named = false;
    if (ts.isIdentifier(object)) {
      const binding = scope.lookup(object.text);
      named = binding?.b === 'module' && binding.binding.kind === 'core' && binding.binding.name === 'ThreadEvent';
    } else if (ts.isPropertyAccessExpression(object) && ts.isIdentifier(object.expression) && object.name.text === 'ThreadEvent') {
      named = this.#isCoreNamespace(object.expression, scope);
    }
    if (!named) return undefined;
    const member = e.name.text;
    if (!Object.hasOwn(ThreadEvent, member)) {
      return this.ctx.fail(e.name, `ThreadEvent has no member '${member}'; it has ${Object.keys(ThreadEvent).join(', ')}`);
    }
    return BigInt(ThreadEvent[member as ThreadEventName]);
  }

  #coreValue(name: string, node: ts.Node): Value {
    if (name === 'ThreadEvent') return this.ctx.fail(node, 'ThreadEvent is a set of constants; use its members, such as ThreadEvent.WAKEUP');
    if (name === 'PASS') return { t: 'verdict', verdict: 'pass' };
    if (name === 'DROP') return { t: 'verdict', verdict: 'drop' };
    if (name === 'definePolicy') return this.ctx.fail(node, 'definePolicy can only be called once, at the top level of the module');
    if (HELPERS.has(name)) return this.ctx.fail(node, `${name} is a helper; call it as ${name}()`);
    return this.ctx.fail(node, `'${name}' from '${CORE_MODULE}' cannot be used in policy code`);
  }

  /** `object.name` for the compile-time references: input fields, payload length, maps, params. */
  #member(object: Value, name: string, nameNode: ts.Node, pos: SourcePosition): Value {
    const b = this.#builder;
    switch (object.t) {
      case 'input': {
        const kind = this.#policy.input;
        const member = INPUT_MEMBERS[kind]?.[name];
        if (member === undefined || !Object.hasOwn(INPUT_MEMBERS[kind] as object, name)) {
          return this.ctx.fail(nameNode, `a ${kind} input has no field '${name}'`);
        }
        if (member === 'payload' || member === 'data') return { t: 'bytes', region: member };
        const dst = b.newReg();
        b.emit({ op: 'input', dst, field: member, pos });
        return int(dst);
      }
      case 'bytes': {
        if (name === 'length') {
          const dst = b.newReg();
          b.emit({ op: 'input', dst, field: object.region === 'payload' ? 'payloadLength' : 'length', pos });
          return int(dst);
        }
        if (Object.hasOwn(LOADS, name)) return this.ctx.fail(nameNode, `${object.region}.${name} is a method; call it as ${object.region}.${name}(offset)`);
        return this.ctx.fail(nameNode, `${object.region} has no property '${name}'`);
      }
      case 'maps': {
        if (!Object.hasOwn(this.#policy.maps, name)) return this.ctx.fail(nameNode, `policy '${this.#policy.name}' declares no map '${name}'`);
        return { t: 'map', name };
      }
      case 'params': {
        const value = Object.hasOwn(this.#policy.params, name) ? this.#policy.params[name] : undefined;
        if (value === undefined) return this.ctx.fail(nameNode, `policy '${this.#policy.name}' declares no param '${name}'`);
        return int(BigInt(value));
      }
      case 'map': {
        if (Object.hasOwn(MAP_METHODS, name)) return this.ctx.fail(nameNode, `${object.name}.${name} is a method; call it`);
        return this.ctx.fail(nameNode, `map '${object.name}' has no property '${name}'`);
      }
      default:
        return this.ctx.fail(nameNode, `${describe(object)} has no property '${name}'`);
    }
  }

  #call(node: ts.CallExpression, scope: Scope, frame: Frame, mode: 'value' | 'statement'): Value {
    if (node.questionDotToken) this.ctx.fail(node, 'optional chaining (?.) is not allowed in policy code');
    const spread = node.arguments.find(ts.isSpreadElement);
    if (spread) this.ctx.fail(spread, 'spread is not allowed in policy code');
    const callee = unwrapExpression(node.expression);
    if (ts.isIdentifier(callee)) {
      const name = callee.text;
      const binding = scope.lookup(name);
      if (!binding) return this.ctx.fail(callee, `unknown function '${name}'`);
      if (binding.b !== 'module') return this.ctx.fail(callee, `'${name}' is ${describe(binding.b === 'let' ? int(0n) : binding.value)}, not a function`);
      const m = binding.binding;
      switch (m.kind) {
        case 'function':
          return this.#inline(m.fn, node, scope, frame, mode);
        case 'core':
          return this.#coreCall(m.name, node);
        case 'import':
          return this.ctx.fail(callee, importReason(name, m.module));
        default:
          return this.ctx.fail(callee, `'${name}' is not a function`);
      }
    }
    if (ts.isPropertyAccessExpression(callee)) {
      if (callee.questionDotToken) this.ctx.fail(callee, 'optional chaining (?.) is not allowed in policy code');
      const object = unwrapExpression(callee.expression);
      const method = callee.name.text;
      if (ts.isIdentifier(object)) {
        const binding = scope.lookup(object.text);
        if (!binding) return this.ctx.fail(callee, this.#unboundCallReason(object.text, method));
        if (binding.b === 'module' && binding.binding.kind === 'core-namespace') return this.#coreCall(method, node);
        if (binding.b === 'module' && binding.binding.kind === 'import') return this.ctx.fail(callee, importReason(object.text, binding.binding.module));
      }
      const target = this.#expr(callee.expression, scope, frame);
      if (target.t === 'map') return this.#mapCall(target.name, method, node, callee.name, scope, frame);
      if (target.t === 'bytes') return this.#load(target.region, method, node, callee.name, scope, frame);
      return this.ctx.fail(callee.name, `${describe(target)} has no method '${method}'`);
    }
    return this.ctx.fail(callee, 'only helpers, map methods, payload reads and functions of this module can be called');
  }

  #coreCall(name: string, node: ts.CallExpression): Value {
    if (HELPERS.has(name)) {
      if (node.arguments.length !== 0) this.ctx.fail(node, `${name}() takes no arguments`);
      const dst = this.#builder.newReg();
      this.#builder.emit({ op: 'helper', dst, helper: name as 'random' | 'now' | 'cpu', pos: this.#pos(node) });
      return int(dst);
    }
    if (name === 'PASS' || name === 'DROP') return this.ctx.fail(node, `${name} is not a function; return it as it is`);
    return this.#coreValue(name, node.expression);
  }

  #arguments(node: ts.CallExpression, what: string, count: number, scope: Scope, frame: Frame): Operand[] {
    if (node.arguments.length !== count) this.ctx.fail(node, `${what} takes ${plural(count, 'argument')}, not ${node.arguments.length}`);
    return node.arguments.map((argument) => this.#int(argument, scope, frame));
  }

  /**
   * Why `name.method(...)` names nothing: a map the policy uses without declaring it (or without
   * taking it from schedule's second parameter) is said so, with the maps it has; anything else
   * is an unknown function.
   */
  #unboundCallReason(name: string, method: string): string {
    if (!Object.hasOwn(MAP_METHODS, method)) return `unknown function '${name}.${method}'`;
    const declared = Object.keys(this.#manifest?.maps ?? {});
    const has = declared.length > 0 ? `this policy declares ${declared.join(', ')}` : 'this policy declares none';
    if (declared.includes(name)) return `map '${name}' is declared but not taken from schedule's second parameter: write schedule(input, { ${name} }) to use it`;
    return `'${name}' is not a map of this policy (${has}): declare it in maps and take it from schedule's second parameter`;
  }

  #mapCall(map: string, method: string, node: ts.CallExpression, methodNode: ts.Node, scope: Scope, frame: Frame): Value {
    const b = this.#builder;
    const count = Object.hasOwn(MAP_METHODS, method) ? MAP_METHODS[method] : undefined;
    if (count === undefined) {
      return this.ctx.fail(methodNode, `map '${map}' has no method '${method}'; maps offer get, set, delete, fetchAdd and compareExchange`);
    }
    const spec = this.#policy.maps[map];
    if (method === 'delete' && spec && isArrayKind(spec.kind)) {
      this.ctx.fail(node, `entries of ${spec.kind} map '${map}' cannot be deleted; set them to 0 instead`);
    }
    const args = this.#arguments(node, `${map}.${method}`, count, scope, frame);
    const pos = this.#pos(node);
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

  #load(region: LoadRegion, method: string, node: ts.CallExpression, methodNode: ts.Node, scope: Scope, frame: Frame): Value {
    const load = Object.hasOwn(LOADS, method) ? LOADS[method] : undefined;
    if (!load) return this.ctx.fail(methodNode, `${region} has no method '${method}'; reads are u8, u16, u32, u64, u16le, u32le and u64le`);
    const [offset] = this.#arguments(node, `${region}.${method}`, 1, scope, frame) as [Operand];
    const dst = this.#builder.newReg();
    this.#builder.emit({ op: 'load', dst, region, offset, size: load.size, byteOrder: load.byteOrder, pos: this.#pos(node) });
    return int(dst);
  }
}

function isTypeWrapper(
  e: ts.Expression,
): e is ts.ParenthesizedExpression | ts.AsExpression | ts.SatisfiesExpression | ts.NonNullExpression | ts.TypeAssertion {
  return ts.isParenthesizedExpression(e) || ts.isAsExpression(e) || ts.isSatisfiesExpression(e) || ts.isNonNullExpression(e) || ts.isTypeAssertionExpression(e);
}

function declarationKind(list: ts.VariableDeclarationList): 'let' | 'const' | 'var' | 'using' {
  const scoped = list.flags & ts.NodeFlags.BlockScoped;
  if (scoped === ts.NodeFlags.Let) return 'let';
  if (scoped === ts.NodeFlags.Const) return 'const';
  return scoped === 0 ? 'var' : 'using';
}

function isAssignmentOperator(kind: ts.SyntaxKind): boolean {
  return kind >= ts.SyntaxKind.FirstAssignment && kind <= ts.SyntaxKind.LastAssignment;
}

function isIncrement(operator: ts.SyntaxKind): boolean {
  return operator === ts.SyntaxKind.PlusPlusToken || operator === ts.SyntaxKind.MinusMinusToken;
}

function describe(value: Value): string {
  switch (value.t) {
    case 'int':
      return 'an integer';
    case 'input':
      return 'the input';
    case 'bytes':
      return `the ${value.region}`;
    case 'maps':
      return 'the maps';
    case 'map':
      return `map '${value.name}'`;
    case 'params':
      return 'the params';
    case 'verdict':
      return value.verdict.toUpperCase();
    case 'void':
      return 'no value';
  }
}

function importReason(name: string, module: string): string {
  return `'${name}' is imported from '${module}'; policy code can call only random(), now(), cpu(), map methods, payload reads and functions of its own module`;
}

