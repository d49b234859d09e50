import { SyrupError } from '../errors/syrup-error.js';
import { INPUT_KINDS, type InputKind } from './inputs.js';

/**
 * The scalar fields of the policy inputs, in one table: what each input kind carries, how
 * policy code reads it, how wide it is and what the userspace evaluator answers for it. The
 * front end, the IR verifier and the evaluator all read a field from here and nowhere else, so
 * a new field is one entry in {@link STANDARD_INPUT_FIELD_SPECS} (plus, for authors, its line in
 * the hand-written interfaces of inputs.ts, which a test keeps in agreement with this table;
 * and, for the eBPF backend, its entry in that backend's location table).
 *
 * Why a table built by a function ({@link defineInputFields}) and passed in, rather than one
 * module-level object the three parts import: a test can build a table with a made-up field
 * and hand it to `compilePolicy`, `verifyPolicyIr` and `PolicyEvaluator` (each takes it as an
 * optional parameter that defaults to {@link STANDARD_INPUT_FIELDS}), and no other test,
 * running in the same process, ever sees that field. Nothing in this module is mutable.
 */

/** The byte regions a policy can read: a datagram's payload, or a raw frame's data. */
export type LoadRegion = 'payload' | 'data';

/**
 * How the userspace evaluator finds a field's value in a `PolicyEvaluationInput` (whose
 * property of the same name the caller may give, as a number or bigint that must be a u64):
 * - `caller`: the given property; when absent, `zero`, `flow-hash` (core's flowHash of the
 *   addresses and ports, what every hook computes) or `region-length` (the length of the
 *   input kind's byte region plus `plus` header bytes).
 * - `region-length`: always the length of the input kind's byte region; the caller cannot give it.
 */
export type FieldEvaluation =
  | { readonly from: 'caller'; readonly absent: 'zero' }
  | { readonly from: 'caller'; readonly absent: 'flow-hash' }
  | { readonly from: 'caller'; readonly absent: 'region-length'; readonly plus: number }
  | { readonly from: 'region-length' };

/** One scalar field of the inputs. */
export interface InputFieldSpec {
  /** The IR's name of the field (`input srcPort`), and the evaluator input's property. */
  readonly name: string;
  /** The input kinds that carry it; the verifier refuses it in the IR of any other kind. */
  readonly kinds: readonly InputKind[];
  /**
   * Bits of every value a hook delivers (a port is 16, an address folded to 32): a backend
   * may rely on it to bound values. The evaluator takes what the caller gives, up to 64 bits.
   */
  readonly width: 16 | 32 | 64;
  /** True when policy code reads it as a member of the input, `pkt.<name>`. */
  readonly member: boolean;
  /** The byte region whose `length` policy code reads it as (`pkt.payload.length`). */
  readonly regionLength?: LoadRegion;
  readonly evaluation: FieldEvaluation;
}

const GIVEN = { from: 'caller', absent: 'zero' } as const;

/**
 * The fields every input kind has, in the order the IR's users list them (a backend lays out
 * its frame in this order, so reordering entries changes generated programs, not meaning).
 */
export const STANDARD_INPUT_FIELD_SPECS = [
  // The UDP length field; a caller that leaves it out means payload plus the 8-byte header.
  { name: 'len', kinds: ['udp'], width: 16, member: true, evaluation: { from: 'caller', absent: 'region-length', plus: 8 } },
  { name: 'hash', kinds: ['udp', 'tcp'], width: 32, member: true, evaluation: { from: 'caller', absent: 'flow-hash' } },
  { name: 'srcAddr', kinds: ['udp', 'tcp'], width: 32, member: true, evaluation: GIVEN },
  { name: 'dstAddr', kinds: ['udp', 'tcp'], width: 32, member: true, evaluation: GIVEN },
  { name: 'srcPort', kinds: ['udp', 'tcp'], width: 16, member: true, evaluation: GIVEN },
  { name: 'dstPort', kinds: ['udp', 'tcp'], width: 16, member: true, evaluation: GIVEN },
  { name: 'payloadLength', kinds: ['udp'], width: 16, member: false, regionLength: 'payload', evaluation: { from: 'region-length' } },
  // A frame's length is both `pkt.length` and `pkt.data.length`.
  { name: 'length', kinds: ['packet'], width: 32, member: true, regionLength: 'data', evaluation: { from: 'caller', absent: 'region-length', plus: 0 } },
  { name: 'tid', kinds: ['thread'], width: 32, member: true, evaluation: GIVEN },
  { name: 'pid', kinds: ['thread'], width: 32, member: true, evaluation: GIVEN },
  // One of ThreadEvent's codes.
  { name: 'event', kinds: ['thread'], width: 32, member: true, evaluation: GIVEN },
  { name: 'lastCpu', kinds: ['thread'], width: 32, member: true, evaluation: GIVEN },
  { name: 'runtimeNs', kinds: ['thread'], width: 64, member: true, evaluation: GIVEN },
] as const satisfies readonly InputFieldSpec[];

/** The byte region of each input kind that has one (`pkt.payload`, `pkt.data`); its loads read it. */
export const INPUT_REGIONS: Readonly<Partial<Record<InputKind, LoadRegion>>> = Object.freeze({ udp: 'payload', packet: 'data' });

/** The name of a standard field, as the IR spells it. */
export type InputField = (typeof STANDARD_INPUT_FIELD_SPECS)[number]['name'];

type StandardSpec = (typeof STANDARD_INPUT_FIELD_SPECS)[number];

/** The names of the standard fields that policy code reads as `pkt.<name>` on an input of kind `K`. */
export type InputMemberOf<K extends InputKind> = StandardSpec extends infer S
  ? S extends { readonly name: infer N; readonly kinds: readonly (infer Kinds)[]; readonly member: true }
    ? K extends Kinds
      ? N
      : never
    : never
  : never;

/** A table that breaks one of {@link defineInputFields}' invariants: a bug in the code that built it. */
export class InputFieldTableError extends SyrupError {
  override name = 'InputFieldTableError';

  constructor(message: string) {
    super('INPUT_FIELDS_INVALID', message);
  }
}

/** What the front end, the verifier and the evaluator ask of the input fields; build one with {@link defineInputFields}. */
export interface InputFieldTable {
  /** The fields of `kind` in table order (the IR's `input` instructions may name these and no other). */
  fieldsOf(kind: InputKind): readonly InputFieldSpec[];
  /** The field of `kind` named `name`, if `kind` has it. */
  field(kind: InputKind, name: string): InputFieldSpec | undefined;
  /** The field policy code reads as `pkt.<member>` on an input of `kind`, if there is one. */
  member(kind: InputKind, member: string): InputFieldSpec | undefined;
  /** The field policy code reads as `<region>.length`. */
  regionLength(region: LoadRegion): InputFieldSpec;
  /** The byte region of `kind`, if it has one. */
  regionOf(kind: InputKind): LoadRegion | undefined;
}

/**
 * Builds a table from field specs, checking what its readers rely on and throwing
 * {@link InputFieldTableError} otherwise:
 * - a name is a JavaScript identifier (the compiled evaluator writes `input.<name>` into the
 *   code it generates) that no other field, no region and no `Object.prototype` property has;
 * - a field has at least one kind, and only known ones;
 * - a field read through a region's `length`, or evaluated from one, belongs only to kinds with
 *   that region, and each region has exactly one `length` field;
 * - a field policy code cannot read (no member, no region length) does not exist.
 */
export function defineInputFields(specs: readonly InputFieldSpec[]): InputFieldTable {
  const byName = new Map<string, InputFieldSpec>();
  const lengthOf = new Map<LoadRegion, InputFieldSpec>();
  const fail = (spec: InputFieldSpec, reason: string): never => {
    throw new InputFieldTableError(`input field ${JSON.stringify(spec.name)} ${reason}.`);
  };
  for (const spec of specs) {
    if (!/^[A-Za-z_$][\w$]*$/.test(spec.name) || spec.name in Object.prototype) fail(spec, 'is not a JavaScript identifier, or is a property every object has');
    if (byName.has(spec.name) || Object.values(INPUT_REGIONS).includes(spec.name as LoadRegion)) fail(spec, 'is defined twice or names a region');
    if (spec.kinds.length === 0 || spec.kinds.some((kind) => !INPUT_KINDS.includes(kind))) fail(spec, `has no kinds, or one that is not one of ${INPUT_KINDS.join(', ')}`);
    if (!spec.member && spec.regionLength === undefined) fail(spec, 'is neither a member of the input nor the length of a region, so no policy can read it');
    const evaluation = spec.evaluation;
    const readsRegion = spec.regionLength !== undefined || evaluation.from === 'region-length' || evaluation.absent === 'region-length';
    if (readsRegion && spec.kinds.some((kind) => INPUT_REGIONS[kind] === undefined || (spec.regionLength ?? INPUT_REGIONS[kind]) !== INPUT_REGIONS[kind])) {
      fail(spec, 'reads the length of a region that not all of its kinds have');
    }
    const field: InputFieldSpec = Object.freeze({ ...spec, kinds: Object.freeze([...spec.kinds]) });
    if (spec.regionLength !== undefined) {
      if (lengthOf.has(spec.regionLength)) fail(spec, `is a second length of region ${spec.regionLength}`);
      lengthOf.set(spec.regionLength, field);
    }
    byName.set(spec.name, field);
  }
  for (const region of new Set(Object.values(INPUT_REGIONS))) {
    if (!lengthOf.has(region)) throw new InputFieldTableError(`no input field is the length of region ${region}.`);
  }
  const fields = [...byName.values()];
  const byKind = new Map(INPUT_KINDS.map((kind) => [kind, Object.freeze(fields.filter((f) => f.kinds.includes(kind)))]));
  const ofKind = (kind: InputKind): readonly InputFieldSpec[] => byKind.get(kind) ?? [];
  return Object.freeze({
    fieldsOf: ofKind,
    field: (kind: InputKind, name: string) => ofKind(kind).find((f) => f.name === name),
    member: (kind: InputKind, member: string) => ofKind(kind).find((f) => f.member && f.name === member),
    regionLength: (region: LoadRegion) => lengthOf.get(region) as InputFieldSpec,
    regionOf: (kind: InputKind) => INPUT_REGIONS[kind],
  });
}

/** The policy language's input fields: what every part of core reads unless a test hands it another table. */
export const STANDARD_INPUT_FIELDS: InputFieldTable = defineInputFields(STANDARD_INPUT_FIELD_SPECS);
