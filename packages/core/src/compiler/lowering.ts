import ts from './lazy-typescript.js';
import type { SourcePosition, VReg } from '../ir/policy-ir.js';
import type { PolicyManifest } from '../policy/define-policy.js';
import { STANDARD_INPUT_FIELDS, type InputFieldTable } from '../policy/input-fields.js';
import { IrBuilder } from './ir-builder.js';
import type { ModuleFunction, PolicyModule } from './policy-module.js';
import type { PolicyLimits } from './policy-limits.js';
import { isAssignmentOperator, isIncrement } from './policy-syntax.js';
import { Scope, type Binding, type Frame } from './lowering-scope.js';
import { unwrapExpression, type SourceContext } from './source-context.js';

/**
 * The state of one lowering run, shared by its parts (functions, statements, conditions,
 * expressions, constants), and the bookkeeping every part goes through: the nesting depth and
 * the step budget (both limits of {@link PolicyLimits}), declarations, and what each register
 * is to the names bound to it.
 */
/**
 * What the lowering asks of compile-time constants (constant-folder.ts's ConstantFolder is
 * the one implementation; stated here so that this file does not import it, and the folder,
 * which lowers to find the error of a non-constant, can import the lowering's type).
 */
export interface CompileTimeConstants {
  /** The value of top-level constant `name`; refused at `at` when it is not an integer constant. */
  moduleConstant(name: string, at: ts.Node): bigint;
  /** The value of `expression`, which must be a constant; refused with `reason` at it otherwise. */
  require(expression: ts.Expression, scope: Scope, frame: Frame, reason: string): bigint;
  /** The value of `expression` when it is a constant, without emitting anything; undefined otherwise. */
  evaluate(expression: ts.Expression, scope: Scope, frame: Frame): bigint | undefined;
  /** The value of a `ThreadEvent.X` member access; undefined when `e` is not one. */
  threadEvent(e: ts.PropertyAccessExpression, scope: Scope): bigint | undefined;
}

export class Lowering {
  readonly builder: IrBuilder;
  readonly moduleScope = new Scope(undefined);
  readonly constants: CompileTimeConstants;
  /** The functions being inlined, outermost first: a call of one of them is recursion. */
  readonly callStack: ModuleFunction[] = [];
  /** Registers that are the home of a `let` (or an assigned parameter): their value changes. */
  readonly mutable = new Set<VReg>();
  /** Registers bound to a name: a `let` may not take one over as its home. */
  readonly named = new Set<VReg>();
  readonly #assigned = new Map<ts.Node, ReadonlySet<string>>();
  #manifest: PolicyManifest | undefined;
  #depth = 0;
  #steps = 0;

  constructor(
    readonly ctx: SourceContext,
    readonly module: PolicyModule,
    readonly limits: PolicyLimits,
    /** Makes this lowering's compile-time constants (a ConstantFolder over it). */
    constants: (lowering: Lowering) => CompileTimeConstants,
    /** The fields policy code may read from its input (`pkt.srcPort`, `pkt.payload.length`). */
    readonly inputFields: InputFieldTable = STANDARD_INPUT_FIELDS,
  ) {
    this.builder = new IrBuilder(limits.maxIrInstructions);
    this.constants = constants(this);
    for (const [name, binding] of module.bindings) this.moduleScope.names.set(name, { b: 'module', binding });
  }

  /** The manifest of the policy being lowered; undefined while top-level constants are checked, before it is read. */
  get manifest(): PolicyManifest | undefined {
    return this.#manifest;
  }

  /** The manifest, for the parts that only run while schedule is lowered. */
  get policy(): PolicyManifest {
    return this.#manifest as PolicyManifest;
  }

  startPolicy(manifest: PolicyManifest): void {
    this.#manifest = manifest;
  }

  /**
   * Enters a statement, an expression or an inlined call: one level deeper, and one step of the
   * budget spent, refusing the policy at `node` once either limit is crossed. Every walk of the
   * front end that can repeat per unrolled iteration or inlined call enters each node it visits
   * (lowering, dead code, constant evaluation): a walk left out is one a source can make as
   * slow as it likes within the other limits.
   */
  enter(node: ts.Node): void {
    if (++this.#depth > this.limits.maxNestingDepth) {
      this.ctx.fail(node, `code is nested more than ${this.limits.maxNestingDepth} levels deep (statements, expressions and inlined calls)`, undefined, 'POLICY_TOO_DEEP');
    }
    if (++this.#steps > this.limits.maxLoweringSteps) {
      this.ctx.fail(node, `the policy is too large: lowering it after inlining calls and unrolling loops takes more than ${this.limits.maxLoweringSteps} steps`);
    }
  }

  leave(): void {
    this.#depth--;
  }

  pos(node: ts.Node): SourcePosition {
    return this.ctx.pos(node);
  }

  declare(scope: Scope, name: ts.Identifier, binding: Binding): void {
    if (scope.lookup(name.text) !== undefined) {
      this.ctx.fail(name, `'${name.text}' is already declared; policy code does not allow redeclaring or shadowing a name`);
    }
    scope.names.set(name.text, binding);
  }

  /** Names a function assigns anywhere in its body: those parameters need a register of their own. */
  assignedNames(fn: ModuleFunction): ReadonlySet<string> {
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

  checkFunctionShape(fn: ModuleFunction): void {
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
}
