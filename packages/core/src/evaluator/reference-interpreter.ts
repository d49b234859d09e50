import { evalBinary, evalCompare, evalUnary } from '../ir/ir-semantics.js';
import type { IrInsn, Operand, PolicyIr } from '../ir/policy-ir.js';
import type { EvaluationRuntime } from './evaluation-runtime.js';
import { inputBytes, inputField, type PolicyEvaluationInput } from './evaluation-input.js';
import { DROP_DECISION, PASS_DECISION, type PolicyDecision } from './policy-decision.js';
import type { PolicyMapAccess } from './policy-map-access.js';
import { PolicyIrError } from '../ir/verify-policy-ir.js';
import { STANDARD_INPUT_FIELDS, type InputFieldSpec, type InputFieldTable } from '../policy/input-fields.js';

/**
 * Runs a (verified) policy IR one instruction at a time, straight from the contract in
 * policy-ir.ts and the functions of ir-semantics.ts. It is the slow, obvious definition the
 * fast evaluator is tested against; it also runs IR with backward jumps. Input fields are
 * evaluated as `inputFields`, the table the IR was verified with, says.
 */
export function interpretPolicyIr(
  ir: PolicyIr,
  input: PolicyEvaluationInput,
  runtime: EvaluationRuntime,
  cpu: number,
  inputFields: InputFieldTable = STANDARD_INPUT_FIELDS,
): PolicyDecision {
  const kind = ir.manifest.input;
  const regionBytes = inputBytes(input, inputFields.regionOf(kind));
  const labels = new Map<string, number>();
  ir.insns.forEach((insn, index) => {
    if (insn.op === 'label') labels.set(insn.label, index);
  });
  const regs = new Array<bigint>(ir.registerCount).fill(0n);
  const value = (o: Operand): bigint => (typeof o === 'bigint' ? o : (regs[o] as bigint));
  const map = (name: string): PolicyMapAccess => runtime.maps.get(name) as PolicyMapAccess;
  for (let pc = 0; pc < ir.insns.length; ) {
    const insn = ir.insns[pc] as IrInsn;
    pc++;
    switch (insn.op) {
      case 'const':
        regs[insn.dst] = insn.value;
        break;
      case 'mov':
        regs[insn.dst] = value(insn.src);
        break;
      case 'binary':
        regs[insn.dst] = evalBinary(insn.kind, value(insn.a), value(insn.b));
        break;
      case 'unary':
        regs[insn.dst] = evalUnary(insn.kind, value(insn.a));
        break;
      case 'compare':
        regs[insn.dst] = evalCompare(insn.kind, value(insn.a), value(insn.b)) ? 1n : 0n;
        break;
      case 'label':
        break;
      case 'jump':
        pc = labels.get(insn.target) as number;
        break;
      case 'jump-if':
        if (evalCompare(insn.kind, value(insn.a), value(insn.b))) pc = labels.get(insn.target) as number;
        break;
      case 'input':
        regs[insn.dst] = inputField(input, inputFields.field(kind, insn.field) as InputFieldSpec, regionBytes);
        break;
      case 'load': {
        const bytes = inputBytes(input, insn.region);
        const offset = value(insn.offset);
        if (offset + BigInt(insn.size) > BigInt(bytes.length)) return PASS_DECISION;
        let result = 0n;
        for (let i = 0; i < insn.size; i++) {
          const byte = BigInt(bytes[Number(offset) + (insn.byteOrder === 'be' ? i : insn.size - 1 - i)] as number);
          result = (result << 8n) | byte;
        }
        regs[insn.dst] = result;
        break;
      }
      case 'map-get':
        regs[insn.dst] = map(insn.map).get(value(insn.key), cpu);
        break;
      case 'map-set':
        map(insn.map).set(value(insn.key), value(insn.value), cpu);
        break;
      case 'map-delete':
        map(insn.map).delete(value(insn.key));
        break;
      case 'map-fetch-add':
        regs[insn.dst] = map(insn.map).fetchAdd(value(insn.key), value(insn.delta), cpu);
        break;
      case 'map-cmpxchg':
        regs[insn.dst] = map(insn.map).compareExchange(value(insn.key), value(insn.expected), value(insn.desired), cpu);
        break;
      case 'helper':
        regs[insn.dst] = insn.helper === 'random' ? runtime.random() : insn.helper === 'now' ? runtime.now() : BigInt(cpu);
        break;
      case 'return':
        if (insn.verdict === 'executor') return { kind: 'executor', key: value(insn.value) };
        return insn.verdict === 'pass' ? PASS_DECISION : DROP_DECISION;
    }
  }
  // A verified IR never gets here: its last instruction is a return or a jump.
  throw new PolicyIrError('policy IR fell off its end.');
}
