import { InMemoryDataMapStore, isPerCpuKind, type DataMapStore } from '@syrup/maps';
import type { PolicyIr } from '../ir/policy-ir.js';
import { verifyPolicyIr } from '../ir/verify-policy-ir.js';
import { STANDARD_INPUT_FIELDS, type InputFieldTable } from '../policy/input-fields.js';
import type { EvaluationRuntime } from './evaluation-runtime.js';
import type { PolicyEvaluationInput } from './evaluation-input.js';
import type { PolicyDecision } from './policy-decision.js';
import { PolicyEvaluationError } from './policy-evaluation-error.js';
import { PolicyMapAccess } from './policy-map-access.js';
import { interpretPolicyIr } from './reference-interpreter.js';
import { translatePolicyIr, type EvaluateFn } from './translate-policy-ir.js';

export interface PolicyEvaluatorOptions {
  /**
   * Stores for the policy's maps, by declared name (shared with an application, another
   * policy, or a test). Maps not given are created in memory, empty.
   */
  readonly maps?: Readonly<Record<string, DataMapStore>> | ReadonlyMap<string, DataMapStore>;
  /** The CPU the policy runs on: what `cpu()` returns and the slot per-CPU maps use. Default 0. */
  readonly cpu?: number;
  /** Slots of the per-CPU maps the evaluator creates; default `cpu + 1`. */
  readonly cpus?: number;
  /** Source of `random()` (masked to 32 bits); default `Math.random`. Inject it for determinism. */
  readonly random?: () => number | bigint;
  /** Source of `now()` in nanoseconds; default the monotonic clock. Inject it for determinism. */
  readonly now?: () => number | bigint;
  /**
   * `compiled` (default) translates the IR into a JavaScript function once; `reference`
   * interprets it instruction by instruction (slow, the definition the other is tested against).
   */
  readonly engine?: 'compiled' | 'reference';
  /**
   * The input fields the IR may read and how each is evaluated; default the language's own,
   * `STANDARD_INPUT_FIELDS`. For tests of a field before it joins the table (policy/input-fields.ts).
   */
  readonly inputFields?: InputFieldTable;
}

/**
 * Runs a compiled policy in userspace with the IR's exact semantics: the userspace target of
 * a policy (agents, tests, the simulator), not a model of the kernel. Maps live in
 * {@link DataMapStore}s (in memory unless given), so the application can read and write them
 * between decisions. A decision is synchronous and allocation-light; one evaluator serves any
 * number of inputs.
 */
export class PolicyEvaluator {
  readonly ir: PolicyIr;
  /** The policy's map stores by declared name. */
  readonly maps: ReadonlyMap<string, DataMapStore>;
  readonly #run: EvaluateFn;
  readonly #cpu: number;
  readonly #cpuSlots: number;

  constructor(ir: PolicyIr, options: PolicyEvaluatorOptions = {}) {
    const inputFields = options.inputFields ?? STANDARD_INPUT_FIELDS;
    verifyPolicyIr(ir, 'strict', inputFields);
    this.ir = ir;
    this.#cpu = checkCpu(options.cpu ?? 0);
    const given = options.maps instanceof Map ? options.maps : new Map(Object.entries(options.maps ?? {}));
    const cpus = options.cpus ?? this.#cpu + 1;
    const stores = new Map<string, DataMapStore>();
    for (const [name, spec] of Object.entries(ir.manifest.maps)) {
      const store = given.get(name) ?? new InMemoryDataMapStore(spec, { name, cpus });
      if (store.spec.kind !== spec.kind || store.spec.maxEntries !== spec.maxEntries) {
        throw new PolicyEvaluationError(
          `map '${name}' is declared as ${spec.kind} with ${spec.maxEntries} entries, but the given store is ${store.spec.kind} with ${store.spec.maxEntries}.`,
        );
      }
      stores.set(name, store);
    }
    for (const name of given.keys()) {
      if (!stores.has(name)) throw new PolicyEvaluationError(`policy '${ir.manifest.name}' declares no map '${name}' for the given store.`);
    }
    this.maps = stores;
    this.#cpuSlots = Math.min(Infinity, ...[...stores.values()].filter((s) => isPerCpuKind(s.spec.kind)).map((s) => s.slotsPerKey));
    this.#checkSlots(this.#cpu);

    const random = options.random;
    const now = options.now;
    const runtime: EvaluationRuntime = {
      maps: new Map([...stores].map(([name, store]) => [name, new PolicyMapAccess(store)])),
      random: random ? () => BigInt.asUintN(32, BigInt(random())) : () => BigInt(Math.floor(Math.random() * 0x1_0000_0000)),
      now: now ? () => BigInt.asUintN(64, BigInt(now())) : () => process.hrtime.bigint(),
    };
    this.#run =
      options.engine === 'reference'
        ? (input, cpu) => interpretPolicyIr(ir, input, runtime, cpu, inputFields)
        : translatePolicyIr(ir, inputFields).bind(runtime);
  }

  /** The policy's decision for one input; `cpu` overrides the evaluator's CPU for this decision. */
  evaluate(input: PolicyEvaluationInput, options?: { readonly cpu?: number }): PolicyDecision {
    let cpu = this.#cpu;
    if (options?.cpu !== undefined) {
      cpu = checkCpu(options.cpu);
      this.#checkSlots(cpu);
    }
    return this.#run(input, cpu);
  }

  #checkSlots(cpu: number): void {
    if (cpu >= this.#cpuSlots) {
      throw new PolicyEvaluationError(`cpu ${cpu} has no slot in the policy's per-CPU maps, which have ${this.#cpuSlots}.`);
    }
  }
}

/**
 * One decision with a fresh evaluator: maps start empty unless `options.maps` gives stores.
 * Build a {@link PolicyEvaluator} once to evaluate many inputs.
 */
export function evaluatePolicy(ir: PolicyIr, input: PolicyEvaluationInput, options?: PolicyEvaluatorOptions): PolicyDecision {
  return new PolicyEvaluator(ir, options).evaluate(input);
}

function checkCpu(cpu: number): number {
  if (!Number.isSafeInteger(cpu) || cpu < 0) throw new PolicyEvaluationError(`cpu ${String(cpu)} is not a CPU index.`);
  return cpu;
}
