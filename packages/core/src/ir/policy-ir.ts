import { INPUT_KINDS, type InputKind } from '../policy/inputs.js';
import { STANDARD_INPUT_FIELDS, type InputField, type LoadRegion } from '../policy/input-fields.js';
import type { PolicyManifest } from '../policy/define-policy.js';

/**
 * The policy IR: what the front end produces from a policy module and what every target
 * consumes (the userspace evaluator interprets it, backends generate code from it).
 *
 * It is a linear list of three-address instructions over virtual registers, with labels and
 * conditional jumps, after inlining every same-module call (the subset has no recursion, so
 * inlining ends). Values are unsigned 64-bit integers; every operation wraps modulo 2^64.
 * Semantics every target must keep bit for bit:
 * - `div` is unsigned integer division and `x div 0 = 0`; `mod` gives `x mod 0 = x` (as eBPF).
 * - `shl`/`shr` shift by `(amount & 63)`; `shr` is logical (values are unsigned).
 * - comparisons are unsigned and produce 0 or 1.
 * - a `load` whose bytes are not all inside the region makes the policy answer PASS.
 * - `map-get` of an absent key is 0; `map-set` on a full hash does nothing; per-CPU maps use
 *   the current CPU's slot; `map-fetch-add` on an absent hash key inserts the delta and
 *   returns 0; `map-cmpxchg` on an absent hash key behaves as if the value were 0.
 *
 * Clarifications (added with the front end and the evaluator; every target keeps them too):
 * - `unary not` is the bitwise complement (`~x`), `unary neg` wraps (`0 - x`); the front end
 *   writes a logical `!x` as `compare eq x, 0`.
 * - `jump-if` jumps when `compare kind a, b` would produce 1, and falls through otherwise.
 * - a map key is the low 32 bits of its operand (keys are u32).
 * - array keys at or beyond `maxEntries`: `map-get` answers 0, and `map-set`, `map-fetch-add`
 *   and `map-cmpxchg` change nothing and answer 0 (the kernel finds no element there).
 * - `map-cmpxchg` on an absent hash key: when `expected` is 0 it inserts `desired` (unless the
 *   hash is full) and answers 0; otherwise it changes nothing and answers 0. `map-fetch-add`
 *   on an absent key of a full hash changes nothing and answers 0.
 * - `map-delete` of an absent key does nothing; on an array kind it does nothing (the front
 *   end refuses to emit it).
 * - `helper random` is a u32, `helper now` is monotonic nanoseconds, `helper cpu` is the
 *   current CPU's index (the per-CPU slot).
 * - the front end emits only forward jumps (it unrolls loops) and never reads a register
 *   before every path to the read has written it; other producers may emit backward jumps.
 */
export const POLICY_IR_VERSION = 1;

/** A virtual register number (0-based, dense). */
export type VReg = number;

/** An operand: a virtual register (`number`) or an immediate u64 (`bigint`). */
export type Operand = VReg | bigint;

/** Where an instruction came from in the policy module (1-based), for line info and errors. */
export interface SourcePosition {
  readonly line: number;
  readonly column: number;
}

export type BinaryOp = 'add' | 'sub' | 'mul' | 'div' | 'mod' | 'and' | 'or' | 'xor' | 'shl' | 'shr';
export type CompareOp = 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge';
export type UnaryOp = 'neg' | 'not';

export type { InputField, LoadRegion };

/**
 * The standard scalar fields of the inputs by input kind, in table order: a view of
 * policy/input-fields.ts, which defines them (`payloadLength` is `payload.length`).
 */
export const INPUT_FIELDS: Readonly<Record<InputKind, readonly InputField[]>> = Object.freeze(
  Object.fromEntries(INPUT_KINDS.map((kind) => [kind, Object.freeze(STANDARD_INPUT_FIELDS.fieldsOf(kind).map((f) => f.name as InputField))])) as Record<
    InputKind,
    readonly InputField[]
  >,
);

/** The helpers policy code can call (`random()`, `now()`, `cpu()`), each an IR `helper` instruction. */
export const HELPER_NAMES = ['random', 'now', 'cpu'] as const;
export type HelperName = (typeof HELPER_NAMES)[number];

interface Located {
  readonly pos?: SourcePosition;
}

export type IrInsn =
  | ({ readonly op: 'const'; readonly dst: VReg; readonly value: bigint } & Located)
  | ({ readonly op: 'mov'; readonly dst: VReg; readonly src: Operand } & Located)
  | ({ readonly op: 'binary'; readonly kind: BinaryOp; readonly dst: VReg; readonly a: Operand; readonly b: Operand } & Located)
  | ({ readonly op: 'unary'; readonly kind: UnaryOp; readonly dst: VReg; readonly a: Operand } & Located)
  | ({ readonly op: 'compare'; readonly kind: CompareOp; readonly dst: VReg; readonly a: Operand; readonly b: Operand } & Located)
  | ({ readonly op: 'label'; readonly label: string } & Located)
  | ({ readonly op: 'jump'; readonly target: string } & Located)
  | ({
      readonly op: 'jump-if';
      readonly kind: CompareOp;
      readonly a: Operand;
      readonly b: Operand;
      readonly target: string;
    } & Located)
  | ({ readonly op: 'input'; readonly dst: VReg; readonly field: InputField } & Located)
  | ({
      readonly op: 'load';
      readonly dst: VReg;
      readonly region: LoadRegion;
      readonly offset: Operand;
      readonly size: 1 | 2 | 4 | 8;
      readonly byteOrder: 'be' | 'le';
    } & Located)
  | ({ readonly op: 'map-get'; readonly dst: VReg; readonly map: string; readonly key: Operand } & Located)
  | ({ readonly op: 'map-set'; readonly map: string; readonly key: Operand; readonly value: Operand } & Located)
  | ({ readonly op: 'map-delete'; readonly map: string; readonly key: Operand } & Located)
  | ({ readonly op: 'map-fetch-add'; readonly dst: VReg; readonly map: string; readonly key: Operand; readonly delta: Operand } & Located)
  | ({
      readonly op: 'map-cmpxchg';
      readonly dst: VReg;
      readonly map: string;
      readonly key: Operand;
      readonly expected: Operand;
      readonly desired: Operand;
    } & Located)
  | ({ readonly op: 'helper'; readonly dst: VReg; readonly helper: HelperName } & Located)
  | ({ readonly op: 'return'; readonly verdict: 'executor'; readonly value: Operand } & Located)
  | ({ readonly op: 'return'; readonly verdict: 'pass' | 'drop' } & Located);

/** A compiled policy, target-independent. */
export interface PolicyIr {
  readonly version: typeof POLICY_IR_VERSION;
  readonly manifest: PolicyManifest;
  readonly fileName: string;
  /** Number of virtual registers used (registers are 0 .. registerCount-1). */
  readonly registerCount: number;
  /** Ends with a `return` on every path: the front end guarantees no fall-through off the end. */
  readonly insns: readonly IrInsn[];
}
