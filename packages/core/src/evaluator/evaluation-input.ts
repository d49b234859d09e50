import type { InputFieldSpec, LoadRegion, STANDARD_INPUT_FIELD_SPECS } from '../policy/input-fields.js';
import type { flowHash } from '../policy/flow-hash.js';
import { PolicyEvaluationError } from './policy-evaluation-error.js';

/** A field value as the caller has it: a number (exact up to 2^53) or a bigint. */
export type U64Like = number | bigint;

/** The standard fields a caller may give (every field the table evaluates `from: 'caller'`). */
type GivenField = Extract<(typeof STANDARD_INPUT_FIELD_SPECS)[number], { readonly evaluation: { readonly from: 'caller' } }>['name'];

/**
 * One input for the evaluator, with the fields of every input kind optional (a policy reads
 * only those of its own kind). What an absent field is, is the input-field table's
 * `evaluation` (policy/input-fields.ts): 0, except `len`, which defaults to the payload's
 * length plus the 8-byte UDP header, a packet's `length`, which defaults to `data.length`, and
 * `hash`, which defaults to the framework's {@link flowHash} of the addresses and ports (what
 * every hook computes). Payload and frame reads are bounded by the byte array's length.
 */
export interface PolicyEvaluationInput extends Readonly<Partial<Record<GivenField, U64Like>>> {
  /** A UDP datagram's payload. */
  readonly payload?: Uint8Array;
  /** A raw frame (packet input). */
  readonly data?: Uint8Array;
}

const U64_MAX = (1n << 64n) - 1n;
const EMPTY = new Uint8Array(0);

/** Converts a caller-supplied field to a u64, refusing values that are not one. */
export function toU64(value: U64Like, field: string): bigint {
  if (typeof value === 'bigint') {
    if (value >= 0n && value <= U64_MAX) return value;
  } else if (Number.isSafeInteger(value) && value >= 0) {
    return BigInt(value);
  }
  throw new PolicyEvaluationError(`input field '${field}' is ${String(value)}, not an unsigned 64-bit integer.`);
}

/** The bytes of `region` (none for a kind without one). */
export function inputBytes(input: PolicyEvaluationInput, region: LoadRegion | undefined): Uint8Array {
  return (region === 'payload' ? input.payload : region === 'data' ? input.data : undefined) ?? EMPTY;
}

/** The value of input field `spec` for this input, as its table entry says; `bytes` is the region of the policy's input kind. */
export function inputField(input: PolicyEvaluationInput, spec: InputFieldSpec, bytes: Uint8Array): bigint {
  const evaluation = spec.evaluation;
  if (evaluation.from === 'region-length') return BigInt(bytes.length);
  const value = (input as Readonly<Record<string, U64Like | undefined>>)[spec.name];
  if (value !== undefined) return toU64(value, spec.name);
  switch (evaluation.absent) {
    case 'zero':
      return 0n;
    case 'flow-hash':
      return inputFlowHash(input);
    case 'region-length':
      return BigInt(bytes.length + evaluation.plus);
  }
}

/**
 * The flow hash of the input's addresses and ports, for inputs that do not carry `hash`: the
 * algorithm of {@link flowHash}, written with `BigInt.asUintN(64, ...)` products, which V8
 * compiles to 64-bit multiplies (about twice as fast; a test keeps the two equal).
 */
export function inputFlowHash(input: PolicyEvaluationInput): bigint {
  const ports = ((u32(input.srcPort, 'srcPort') & 0xffff) * 0x1_0000 + (u32(input.dstPort, 'dstPort') & 0xffff));
  let x = ((BigInt(u32(input.srcAddr, 'srcAddr')) << 32n) | BigInt(u32(input.dstAddr, 'dstAddr'))) ^ BigInt.asUintN(64, BigInt(ports) * 0x9e37_79b9_7f4a_7c15n);
  x ^= x >> 33n;
  x = BigInt.asUintN(64, x * 0xff51_afd7_ed55_8ccdn);
  x ^= x >> 33n;
  x = BigInt.asUintN(64, x * 0xc4ce_b9fe_1a85_ec53n);
  x ^= x >> 33n;
  return x & 0xffff_ffffn;
}

/** A field's low 32 bits (0 when absent), without a bigint for plain u32 numbers. */
function u32(value: U64Like | undefined, field: string): number {
  if (value === undefined) return 0;
  if (typeof value === 'number' && value >>> 0 === value) return value;
  return Number(toU64(value, field) & 0xffff_ffffn);
}
