import { readFileSync } from 'node:fs';
import { PolicyTestError } from './policy-test-error.js';
import type { DataMapStore } from '@syrup/maps';
import type { PolicySource } from '../backend/backend.js';
import { compilePolicy } from '../compiler/compile-policy.js';
import type { PolicyEvaluationInput, U64Like } from '../evaluator/evaluation-input.js';
import type { PolicyDecision } from '../evaluator/policy-decision.js';
import { PolicyEvaluator } from '../evaluator/policy-evaluator.js';

/** A map's contents before the run: key -> value (a u64, or one value per CPU slot). */
export type MapContents = Readonly<Record<number, U64Like | readonly U64Like[]>> | ReadonlyMap<number, U64Like | readonly U64Like[]>;

export interface RunPolicyOptions {
  /** Values for the policy's params, replacing the declared defaults (as `--param` does). */
  readonly params?: Readonly<Record<string, number | bigint>>;
  /** Contents of the policy's maps before the first input, by declared name; other maps start empty. */
  readonly maps?: Readonly<Record<string, MapContents>>;
  /** The CPU the policy runs on (what `cpu()` returns); default 0. */
  readonly cpu?: number;
  /** Source of `random()`; inject it for determinism. */
  readonly random?: () => number | bigint;
  /** Source of `now()` in nanoseconds; inject it for determinism. */
  readonly now?: () => number | bigint;
}

/** A finished run: one decision per input, in order, and the maps as the policy left them. */
export interface PolicyRun {
  readonly decisions: readonly PolicyDecision[];
  readonly evaluator: PolicyEvaluator;
  /** The value of `key` in map `name` now (slot 0 of a per-CPU map unless `cpu` is given); 0n for an absent key. */
  mapValue(name: string, key: number, cpu?: number): bigint;
}

/**
 * Compiles a policy (a file path, or a PolicySource) with the same front end syrupd uses and
 * runs it over `inputs` in the userspace evaluator: the decisions a deployment would make,
 * with no root, no kernel and no daemon. What a policy pack's unit tests call
 * (docs/writing-a-policy-pack.md). Throws the compiler's PolicyCompileError for a policy
 * syrupd would refuse, with its file, line and column.
 */
export function runPolicy(policy: string | PolicySource, inputs: readonly PolicyEvaluationInput[], options: RunPolicyOptions = {}): PolicyRun {
  const source = typeof policy === 'string' ? { fileName: policy, text: readFileSync(policy, 'utf8') } : policy;
  const { ir } = compilePolicy(source, options.params !== undefined ? { params: options.params } : {});
  const evaluator = new PolicyEvaluator(ir, {
    ...(options.cpu !== undefined ? { cpu: options.cpu } : {}),
    ...(options.random !== undefined ? { random: options.random } : {}),
    ...(options.now !== undefined ? { now: options.now } : {}),
  });
  for (const [name, contents] of Object.entries(options.maps ?? {})) fill(evaluator, name, contents);
  const decisions = inputs.map((input) => evaluator.evaluate(input));
  return {
    decisions,
    evaluator,
    mapValue: (name, key, cpu = 0) => storeOf(evaluator, name).lookup(key)?.[cpu] ?? 0n,
  };
}

function fill(evaluator: PolicyEvaluator, name: string, contents: MapContents): void {
  const store = storeOf(evaluator, name);
  const entries = contents instanceof Map ? [...contents] : Object.entries(contents).map(([k, v]) => [Number(k), v] as const);
  for (const [key, value] of entries) {
    const values = Array.isArray(value) ? (value as readonly U64Like[]) : Array.from({ length: store.slotsPerKey }, () => value as U64Like);
    store.update(key, values.map((v) => BigInt(v)));
  }
}

function storeOf(evaluator: PolicyEvaluator, name: string): DataMapStore {
  const store = evaluator.maps.get(name);
  if (store === undefined) {
    throw new PolicyTestError(`policy '${evaluator.ir.manifest.name}' declares no map '${name}' (it declares ${[...evaluator.maps.keys()].join(', ') || 'none'}).`);
  }
  return store;
}

/** What a test expects of one decision: an executor index, or `'pass'` / `'drop'`. */
export type ExpectedDecision = number | bigint | 'pass' | 'drop';

/** A decision as a test writes it: the executor index as a number, or `'pass'` / `'drop'`. */
export function decisionOf(decision: PolicyDecision): number | 'pass' | 'drop' {
  return decision.kind === 'executor' ? Number(decision.key) : decision.kind;
}

/**
 * Asserts, without any test framework, that `run` decided `expected`, input by input; throws
 * a PolicyTestError naming the first input that differs and what it got.
 */
export function assertDecisions(run: Pick<PolicyRun, 'decisions'>, expected: readonly ExpectedDecision[]): void {
  const got = run.decisions.map(decisionOf);
  const want = expected.map((e) => (typeof e === 'bigint' ? Number(e) : e));
  if (got.length !== want.length) throw new PolicyTestError(`expected ${want.length} decisions, got ${got.length}: ${got.join(', ')}.`);
  const at = got.findIndex((g, i) => g !== want[i]);
  if (at !== -1) throw new PolicyTestError(`input ${at} was decided ${String(got[at])}, expected ${String(want[at])} (all decisions: ${got.join(', ')}).`);
}
