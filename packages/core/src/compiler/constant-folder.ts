import ts from './lazy-typescript.js';
import { evalBinary, evalCompare, evalUnary } from '../ir/ir-semantics.js';
import { ThreadEvent, type ThreadEventName } from '../policy/inputs.js';
import { parseIntegerLiteral } from './integer-literal.js';
import { lowerExpression } from './lower-expressions.js';
import type { Lowering } from './lowering.js';
import { isCoreNamespace, MODULE_FRAME, type Frame, type Scope } from './lowering-scope.js';
import { ARITHMETIC, COMPARISON, isTypeWrapper } from './policy-syntax.js';

/**
 * Everything the front end knows before run time: top-level constants (each evaluated once,
 * cycles refused), `ThreadEvent` members, and the two questions lowering asks of an expression.
 *
 * - {@link fold}: is it a constant, and which? It evaluates literals, params, constants, loop
 *   counters and operators with the IR's own semantics and emits nothing; it refuses only what
 *   lowering refuses too (an unknown ThreadEvent member, a bad top-level constant) and a spent
 *   step budget. Lowering asks it to pick the branch of a condition it need not emit.
 * - {@link require}: it must be a constant (case values, loop bounds, top-level constants). It
 *   lowers the expression, so the expression is checked exactly like run-time code (nesting
 *   depth, error messages and positions), and the result must be an immediate with no code
 *   emitted: the IR builder folds constant operands with the same semantics as `fold`.
 *
 * The two are not one walk on purpose: `require` refuses what lowering refuses (a 250-term
 * `1 + 1 + ...` as a case value is nested too deeply, `ThreadEvent?.NEW` uses optional
 * chaining) and accepts what lowering folds away (`case 0 && pkt.len:` is 0), while `fold`
 * must decide a condition of any depth, which lowering never walks when it folds. Answering
 * `require` with `fold` would change which policies compile. Both charge every node they
 * visit to the step budget.
 */
export class ConstantFolder {
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

  /** Lowers an expression that must fold to a constant without emitting any code; `reason` is the refusal otherwise. */
  require(expression: ts.Expression, scope: Scope, frame: Frame, reason: string): bigint {
    const before = this.l.builder.size;
    const value = lowerExpression(this.l, expression, scope, frame);
    if (value.t !== 'int' || typeof value.op !== 'bigint' || this.l.builder.size !== before) this.l.ctx.fail(expression, reason);
    return value.op;
  }

  /**
   * The value of an expression made only of constants (literals, params, constants, loop
   * counters, operators), without emitting anything; undefined when any part is not constant.
   * It never skips a part, so code it answers for is fully checked.
   */
  fold(expression: ts.Expression, scope: Scope): bigint | undefined {
    const e = expression;
    // Folding emits nothing but is not free: a big constant condition folded in every iteration of an unrolled loop took seconds (issue #15).
    this.l.step(e);
    if (isTypeWrapper(e)) return this.fold(e.expression, scope);
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
      const event = this.threadEvent(e, scope);
      if (event !== undefined) return event;
    }
    if (ts.isPropertyAccessExpression(e) && ts.isIdentifier(e.expression) && !e.questionDotToken) {
      const binding = scope.lookup(e.expression.text);
      const params = this.l.manifest?.params;
      if (binding?.b !== 'value' || binding.value.t !== 'params' || !params || !Object.hasOwn(params, e.name.text)) return undefined;
      return BigInt(params[e.name.text] as number | bigint);
    }
    if (ts.isPrefixUnaryExpression(e)) {
      const a = this.fold(e.operand, scope);
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
      const a = this.fold(e.left, scope);
      const c = a === undefined ? undefined : this.fold(e.right, scope);
      if (a === undefined || c === undefined) return undefined;
      if (arithmetic) return evalBinary(arithmetic, a, c);
      if (comparison) return evalCompare(comparison, a, c) ? 1n : 0n;
      return kind === ts.SyntaxKind.AmpersandAmpersandToken ? (a === 0n ? a : c) : a !== 0n ? a : c;
    }
    if (ts.isConditionalExpression(e)) {
      const c = this.fold(e.condition, scope);
      const x = c === undefined ? undefined : this.fold(e.whenTrue, scope);
      const y = x === undefined ? undefined : this.fold(e.whenFalse, scope);
      if (c === undefined || x === undefined || y === undefined) return undefined;
      return c !== 0n ? x : y;
    }
    return undefined;
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
