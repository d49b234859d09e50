import type { JsonValue } from '../backend/persistence.js';
import { PolicyDefinitionError } from '../errors/syrup-error.js';
import { parsePolicyManifest } from '../policy/define-policy.js';
import type { IrInsn, PolicyIr } from './policy-ir.js';
import { PolicyIrError, verifyPolicyIr } from './verify-policy-ir.js';

/**
 * The instruction fields that hold an operand or an immediate, the only places an IR has a
 * bigint besides the manifest's params. No other instruction field is ever a string of digits
 * that means a number (labels, map names and kinds are strings, registers are numbers), so in
 * JSON these fields carry a u64 immediate as its decimal string.
 */
const IMMEDIATE_FIELDS: ReadonlySet<string> = new Set(['value', 'src', 'a', 'b', 'offset', 'key', 'delta', 'expected', 'desired']);
const DECIMAL = /^(0|[1-9][0-9]{0,19})$/;

/**
 * The policy IR as JSON (for a state file): bigints are written explicitly as decimal strings,
 * in operand fields and in the manifest's params, and nothing else changes.
 * {@link policyIrFromJson} reads it back.
 */
export function policyIrToJson(ir: PolicyIr): JsonValue {
  const params: Record<string, JsonValue> = {};
  for (const [name, value] of Object.entries(ir.manifest.params)) params[name] = typeof value === 'bigint' ? value.toString() : value;
  return {
    version: ir.version,
    manifest: { name: ir.manifest.name, input: ir.manifest.input, maps: ir.manifest.maps as unknown as JsonValue, params },
    fileName: ir.fileName,
    registerCount: ir.registerCount,
    insns: ir.insns.map((insn) => {
      const out: Record<string, JsonValue> = {};
      for (const [field, value] of Object.entries(insn)) {
        if (value === undefined) continue;
        out[field] = typeof value === 'bigint' ? value.toString() : (value as JsonValue);
      }
      return out;
    }),
  };
}

/**
 * Reads an IR that {@link policyIrToJson} wrote, trusting none of it: the manifest is
 * validated as a policy module's would be (`parsePolicyManifest`), immediates must be decimal
 * u64 strings, positions positive integers, and the result must pass `verifyPolicyIr`.
 * Throws {@link PolicyIrError} (code `POLICY_IR_INVALID`) with one sentence on the first fault.
 */
export function policyIrFromJson(json: unknown): PolicyIr {
  if (!isRecord(json)) throw new PolicyIrError('the policy IR is not a JSON object.');
  const { version, manifest, fileName, registerCount, insns } = json;
  if (typeof fileName !== 'string') throw new PolicyIrError('the policy IR has no file name.');
  if (!Array.isArray(insns)) throw new PolicyIrError('the policy IR has no instruction list.');
  if (!isRecord(manifest)) throw new PolicyIrError('the policy IR has no manifest.');
  let parsed;
  try {
    parsed = parsePolicyManifest({ name: manifest['name'], input: manifest['input'], maps: manifest['maps'], params: paramsFromJson(manifest['params']) });
  } catch (error) {
    if (error instanceof PolicyDefinitionError) throw new PolicyIrError(`the policy IR's manifest is invalid: ${error.message}`);
    throw error;
  }
  const ir = {
    version,
    manifest: parsed,
    fileName,
    registerCount,
    insns: insns.map((insn, index) => insnFromJson(insn, index)),
  } as PolicyIr;
  verifyPolicyIr(ir);
  return ir;
}

function paramsFromJson(params: unknown): unknown {
  if (!isRecord(params)) return params;
  return Object.fromEntries(Object.entries(params).map(([name, value]) => [name, typeof value === 'string' && DECIMAL.test(value) ? BigInt(value) : value]));
}

function insnFromJson(json: unknown, index: number): IrInsn {
  if (!isRecord(json)) throw new PolicyIrError(`instruction ${index} is not a JSON object.`, index);
  // Built from entries, never by assignment: a `__proto__` key stays an ordinary (unknown) field.
  const fields = Object.entries(json).map(([field, value]): [string, unknown] => {
    if (IMMEDIATE_FIELDS.has(field) && typeof value === 'string') {
      // verifyPolicyIr bounds the value to u64; the pattern keeps BigInt() from reading hex or whitespace.
      if (!DECIMAL.test(value)) throw new PolicyIrError(`instruction ${index}: ${field} ${JSON.stringify(value)} is not a decimal u64.`, index);
      return [field, BigInt(value)];
    }
    if (field === 'pos') {
      if (!isRecord(value) || !isPositiveInteger(value['line']) || !isPositiveInteger(value['column'])) {
        throw new PolicyIrError(`instruction ${index}: its source position is not a line and a column.`, index);
      }
      return [field, { line: value['line'], column: value['column'] }];
    }
    return [field, value];
  });
  return Object.fromEntries(fields) as unknown as IrInsn;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isPositiveInteger(value: unknown): boolean {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0;
}
