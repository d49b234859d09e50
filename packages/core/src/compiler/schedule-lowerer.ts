import type ts from './lazy-typescript.js';
import type { IrInsn } from '../ir/policy-ir.js';
import type { PolicyManifest } from '../policy/define-policy.js';
import { STANDARD_INPUT_FIELDS, type InputFieldTable } from '../policy/input-fields.js';
import { compactRegisters } from './compact-registers.js';
import { IrBudgetExceeded } from './ir-builder.js';
import { bindScheduleParameter, lowerBody } from './lower-functions.js';
import { ConstantFolder } from './constant-folder.js';
import { Lowering } from './lowering.js';
import { Scope, type Frame } from './lowering-scope.js';
import type { ModuleFunction, PolicyModule } from './policy-module.js';
import { POLICY_LIMITS, type PolicyLimits } from './policy-limits.js';
import type { SourceContext } from './source-context.js';

/**
 * Lowers a policy's schedule function, and every same-module function it calls (inlined), to
 * the policy IR. Params are folded in as constants, loops are unrolled (their bounds are
 * compile-time constants), constant expressions are folded with the IR's own semantics, and
 * every construct outside the subset is a {@link PolicyCompileError} at its position.
 *
 * The work is split by what it lowers: lower-functions.ts (bodies, inlined calls, parameter
 * bindings), lower-statements.ts, lower-expressions.ts (values, and conditions as jumps), and
 * constant-folder.ts (what is known before run time); lowering.ts
 * holds the state they share and the limits every one of them is charged against.
 */
export class ScheduleLowerer {
  readonly #lowering: Lowering;

  constructor(
    private readonly ctx: SourceContext,
    private readonly module: PolicyModule,
    private readonly limits: PolicyLimits = POLICY_LIMITS,
    inputFields: InputFieldTable = STANDARD_INPUT_FIELDS,
  ) {
    this.#lowering = new Lowering(ctx, module, limits, (lowering) => new ConstantFolder(lowering), inputFields);
  }

  /** Evaluates every top-level integer constant, so a bad one is reported even when unused. */
  checkModuleConstants(): void {
    for (const [name, binding] of this.module.bindings) {
      if (binding.kind === 'constant') this.#lowering.constants.moduleConstant(name, binding.initializer);
    }
  }

  /** A top-level constant's value, or undefined when `name` is not one (for reading the manifest). */
  moduleConstantOrUndefined(name: string, at: ts.Node): bigint | undefined {
    return this.module.bindings.get(name)?.kind === 'constant' ? this.#lowering.constants.moduleConstant(name, at) : undefined;
  }

  /** Lowers the schedule function; returns the finished instructions and the register count. */
  lower(schedule: ModuleFunction, manifest: PolicyManifest): { insns: IrInsn[]; registerCount: number } {
    const l = this.#lowering;
    l.startPolicy(manifest);
    try {
      l.checkFunctionShape(schedule);
      const scope = new Scope(l.moduleScope);
      const parameters = schedule.node.parameters;
      if (parameters.length > 3) {
        this.ctx.fail(parameters[3] as ts.Node, 'schedule takes at most three parameters: the input, its maps and its params');
      }
      parameters.forEach((parameter, index) => bindScheduleParameter(l, parameter, index as 0 | 1 | 2, scope));
      const frame: Frame = { fn: schedule, mode: 'policy', result: undefined, end: undefined, breakables: [] };
      l.callStack.push(schedule);
      lowerBody(l, schedule, scope, frame);
      if (l.builder.reachable) {
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
    return compactRegisters(l.builder.finish());
  }
}
