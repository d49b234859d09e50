import ts from './lazy-typescript.js';
import { evalBinary, evalCompare, evalUnary } from '../ir/ir-semantics.js';
import type { CompareOp } from '../ir/policy-ir.js';
import { ThreadEvent, type ThreadEventName } from '../policy/inputs.js';
import { parseIntegerLiteral } from './integer-literal.js';
import { checkMemberAccess, lowerExpression, lowerInt } from './lower-expressions.js';
import type { CompileTimeConstants, Lowering } from './lowering.js';
import { isCoreNamespace, MODULE_FRAME, type Frame, type Scope } from './lowering-scope.js';
import { ARITHMETIC, COMPARISON, isTypeWrapper } from './policy-syntax.js';

/**
 * Everything the front end knows before run time: top-level constants (each evaluated once,
 * cycles refused), `ThreadEvent` members, and the one evaluator of constant expressions,
 * {@link evaluate}, that decides both questions lowering asks: which branch of a condition it
 * need not emit, and the value of what must be a constant ({@link require}: case values, loop
 * bounds, top-level constants).
 *
 * One walk, one set of rules (docs/policy-language.md, "Compile-time constants"):
 * - every node it visits goes through {@link Lowering.enter}, like lowering: one step of the
 *   budget and one level of nesting, so a constant nests and costs as the same code would at
 *   run time (`params.X` is two nodes, the access and `params`);
 * - literals, `true`/`false`, constants, loop counters, arguments that are constants, params,
 *   `ThreadEvent` members, the unary, arithmetic and comparison operators with the IR's own
 *   semantics; `a && b`, `a || b` and `c ? x : y` follow JavaScript: a constant left side
 *   (condition) that decides the result makes the expression constant whatever the other
 *   side is, and that side is still checked as dead code;
 * - it refuses what lowering refuses at the nodes it reads (`?.`, private names, an unknown
 *   `ThreadEvent` member, a bad top-level constant) and answers undefined for anything else
 *   that is not a constant, which lowering then lowers (and refuses, when it is wrong).
 */
export class ConstantFolder implements CompileTimeConstants {
  readonly #values = new Map<string, bigint>();
  readonly #evaluating = new Set<string>();

  constructor(private readonly l: Lowering) {}

  /** The value of top-level constant `name`, evaluated on first use; a constant that is not an integer, or uses itself, is refused at `at`. */
  moduleConstant(name: string, at: ts.Node): bigint {
    const cached = this.#values.get(name);
    if (cached !== undefined) return cached;
    const binding = this.l.module.bindings.get(name);
    if (binding?.kind !== 'constant') return this.l.ctx.fail(at, `'${name}' is not a constant`);
    if (this.#evaluating.has(name)) this.l.ctx.fail(at, `'${name}' is used in its own initializer`);
    this.#evaluating.add(name);
    const value = this.require(
      binding.initializer,
      this.l.moduleScope,
      MODULE_FRAME,
      `top-level const '${name}' must be an integer constant (literals, operators and other constants)`,
    );
    this.#evaluating.delete(name);
    this.#values.set(name, value);
    return value;
  }

  /**
   * The value of an expression that must be a constant. One that is not is lowered as code to
   * say what is wrong with it, as anywhere else; when nothing is, `reason` is the refusal.
   */
  require(expression: ts.Expression, scope: Scope, frame: Frame, reason: string): bigint {
    const value = this.evaluate(expression, scope, frame);
    if (value !== undefined) return value;
    lowerExpression(this.l, expression, scope, frame);
    return this.l.ctx.fail(expression, reason);
  }

  /** The value of `expression` when it is a constant, without emitting anything; undefined otherwise. */
  evaluate(expression: ts.Expression, scope: Scope, frame: Frame): bigint | undefined {
    const mark = this.l.builder.labelMark;
    this.l.enter(expression);
    const value = this.#evaluateKind(expression, scope, frame);
    this.l.leave();
    // Not a constant: the caller lowers the expression, which checks the operands skipped here
    // again, so the labels they named (never targets: they are dead code) are named again.
    if (value === undefined) this.l.builder.forgetLabels(mark);
    return value;
  }

  #evaluateKind(e: ts.Expression, scope: Scope, frame: Frame): bigint | undefined {
    if (isTypeWrapper(e)) return this.evaluate(e.expression, scope, frame);
    if (ts.isNumericLiteral(e) || ts.isBigIntLiteral(e)) return parseIntegerLiteral(this.l.ctx.text(e)).value;
    if (e.kind === ts.SyntaxKind.TrueKeyword) return 1n;
    if (e.kind === ts.SyntaxKind.FalseKeyword) return 0n;
    if (ts.isIdentifier(e)) {
      const binding = scope.lookup(e.text);
      if (binding?.b === 'value' && binding.value.t === 'int' && typeof binding.value.op === 'bigint') return binding.value.op;
      if (binding?.b === 'module' && binding.binding.kind === 'constant') return this.moduleConstant(e.text, e);
      return undefined;
    }
    if (ts.isPropertyAccessExpression(e)) {
      checkMemberAccess(this.l, e);
      const event = this.threadEvent(e, scope);
      if (event !== undefined) return event;
      const params = this.l.manifest?.params;
      if (!this.#isParams(e.expression, scope) || !params || !Object.hasOwn(params, e.name.text)) return undefined;
      return BigInt(params[e.name.text] as number | bigint);
    }
    if (ts.isPrefixUnaryExpression(e)) {
      const operator = e.operator;
      const known = operator === ts.SyntaxKind.MinusToken || operator === ts.SyntaxKind.TildeToken;
      if (!known && operator !== ts.SyntaxKind.ExclamationToken && operator !== ts.SyntaxKind.PlusToken) return undefined;
      const a = this.evaluate(e.operand, scope, frame);
      if (a === undefined) return undefined;
      if (known) return evalUnary(operator === ts.SyntaxKind.MinusToken ? 'neg' : 'not', a);
      return operator === ts.SyntaxKind.ExclamationToken ? (a === 0n ? 1n : 0n) : a;
    }
    if (ts.isBinaryExpression(e)) {
      const kind = e.operatorToken.kind;
      if (kind === ts.SyntaxKind.AmpersandAmpersandToken || kind === ts.SyntaxKind.BarBarToken) {
        const a = this.evaluate(e.left, scope, frame);
        if (a === undefined) return undefined;
        if (kind === ts.SyntaxKind.AmpersandAmpersandToken ? a === 0n : a !== 0n) return this.#skipping(e.right, a, scope, frame);
        return this.evaluate(e.right, scope, frame);
      }
      const arithmetic = ARITHMETIC.get(kind);
      const comparison = COMPARISON.get(kind);
      if (!arithmetic && !comparison) return undefined;
      const a = this.evaluate(e.left, scope, frame);
      const c = a === undefined ? undefined : this.evaluate(e.right, scope, frame);
      if (a === undefined || c === undefined) return undefined;
      if (arithmetic) return evalBinary(arithmetic, a, c);
      return evalCompare(comparison as CompareOp, a, c) ? 1n : 0n;
    }
    if (ts.isConditionalExpression(e)) {
      const c = this.evaluate(e.condition, scope, frame);
      if (c === undefined) return undefined;
      const value = this.evaluate(c !== 0n ? e.whenTrue : e.whenFalse, scope, frame);
      return value === undefined ? undefined : this.#skipping(c !== 0n ? e.whenFalse : e.whenTrue, value, scope, frame);
    }
    return undefined;
  }

  /** `value`, after checking `skipped`, the operand a constant decided away, as dead code (as lowering does). */
  #skipping(skipped: ts.Expression, value: bigint, scope: Scope, frame: Frame): bigint {
    this.l.builder.dead(() => lowerInt(this.l, skipped, scope, frame));
    return value;
  }

  /** Whether `object` is the params (through type wrappers), each node visited as lowering visits it. */
  #isParams(object: ts.Expression, scope: Scope): boolean {
    this.l.enter(object);
    let params = false;
    if (isTypeWrapper(object)) params = this.#isParams(object.expression, scope);
    else if (ts.isIdentifier(object)) {
      const binding = scope.lookup(object.text);
      params = binding?.b === 'value' && binding.value.t === 'params';
    }
    this.l.leave();
    return params;
  }

  /**
   * `ThreadEvent.X` or `ns.ThreadEvent.X` (ThreadEvent from core): the event's integer, folded like
   * any constant; undefined when `e` does not name ThreadEvent's member. An unknown member is an error.
   */
  threadEvent(e: ts.PropertyAccessExpression, scope: Scope): bigint | undefined {
    const object = e.expression;
    let named = false;
    if (ts.isIdentifier(object)) {
      const binding = scope.lookup(object.text);
      named = binding?.b === 'module' && binding.binding.kind === 'core' && binding.binding.name === 'ThreadEvent';
    } else if (ts.isPropertyAccessExpression(object) && ts.isIdentifier(object.expression) && object.name.text === 'ThreadEvent') {
      named = isCoreNamespace(scope, object.expression.text);
    }
    if (!named) return undefined;
    const member = e.name.text;
    if (!Object.hasOwn(ThreadEvent, member)) {
      return this.l.ctx.fail(e.name, `ThreadEvent has no member '${member}'; it has ${Object.keys(ThreadEvent).join(', ')}`);
    }
    return BigInt(ThreadEvent[member as ThreadEventName]);
  }
}
