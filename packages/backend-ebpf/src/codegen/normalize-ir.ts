import { PolicyIrError, evalCompare, verifyPolicyIr, type IrInsn, type PolicyIr } from '@syrup/core';
import { CodegenError } from './codegen-error.js';
import { computeLiveness, insnDef } from './liveness.js';

/**
 * A policy IR checked and simplified for code generation: jumps whose outcome is known are
 * resolved (also a `goto` to a test of a constant just assigned), instructions no path reaches
 * are gone (the verifier rejects unreachable code), and so are assignments nothing reads.
 */
export interface NormalizedIr {
  readonly source: PolicyIr;
  readonly insns: readonly IrInsn[];
  /** For each instruction, its index in `source.insns`. */
  readonly originalIndex: readonly number[];
  readonly registerCount: number;
}

/** Validates `ir` and returns it ready for liveness analysis; malformed IR throws CodegenError. */
export function normalizeIr(ir: PolicyIr): NormalizedIr {
  validate(ir);
  const folded = ir.insns.map((insn): IrInsn | undefined => {
    if (insn.op !== 'jump-if' || typeof insn.a !== 'bigint' || typeof insn.b !== 'bigint') return insn;
    if (!evalCompare(insn.kind, insn.a, insn.b)) return undefined;
    return insn.pos === undefined ? { op: 'jump', target: insn.target } : { op: 'jump', target: insn.target, pos: insn.pos };
  });

  const labels = new Map<string, number>();
  folded.forEach((insn, index) => {
    if (insn?.op === 'label') labels.set(insn.label, index);
  });
  threadConstantJumps(folded, labels);

  // Reachability over the folded instructions; undefined entries (folded-away jumps) fall through.
  const reached = new Array<boolean>(folded.length).fill(false);
  const work = [0];
  while (work.length > 0) {
    const index = work.pop()!;
    if (index >= folded.length) {
      const last = lastInsn(ir, folded, index);
      throw new CodegenError('CODEGEN_INVALID_IR', `${ir.fileName}: the policy IR falls off its end without a return.`, {
        location: last,
      });
    }
    if (reached[index]) continue;
    reached[index] = true;
    const insn = folded[index];
    if (insn === undefined) {
      work.push(index + 1);
      continue;
    }
    switch (insn.op) {
      case 'return':
        break;
      case 'jump':
        work.push(labels.get(insn.target)!);
        break;
      case 'jump-if':
        work.push(labels.get(insn.target)!, index + 1);
        break;
      default:
        work.push(index + 1);
    }
  }

  let insns: IrInsn[] = [];
  let originalIndex: number[] = [];
  folded.forEach((insn, index) => {
    // Unreached labels are kept out too: nothing can jump to them.
    if (insn === undefined || !reached[index]) return;
    insns.push(insn);
    originalIndex.push(index);
  });
  // Assignments whose value nothing reads (left behind by threading, or written so) go; removing
  // one can make the assignments it read dead too.
  for (let round = 0; round < 8; round++) {
    const liveness = computeLiveness(insns, ir.registerCount);
    const keep = insns.map((insn, index) => {
      const def = insnDef(insn);
      return def === undefined || !PURE.has(insn.op) || liveness.liveOut[index]!.has(def);
    });
    if (keep.every(Boolean)) break;
    insns = insns.filter((_, index) => keep[index]);
    originalIndex = originalIndex.filter((_, index) => keep[index]);
  }
  return { source: ir, insns, originalIndex, registerCount: ir.registerCount };
}

/** Operations with no effect but their result: an unread result makes them removable. */
const PURE: ReadonlySet<IrInsn['op']> = new Set(['const', 'mov', 'binary', 'unary', 'compare', 'input']);

/**
 * `x = c; ...; goto L` where L starts with `if x cmp k goto T`: the outcome is known where the
 * goto is, so the goto goes to T, or, when the test fails and a `return` or `goto` follows it,
 * is replaced by a copy of that. (Front ends write boolean results of inlined functions this
 * way: `ok = 1; goto done; ... done: if ok == 0 ...`.) Nothing between the goto and its new
 * destination can change a value, so the copy computes what the original would.
 */
function threadConstantJumps(insns: (IrInsn | undefined)[], labels: ReadonlyMap<string, number>): void {
  /** The first instruction at or after `index` that is not a label or folded away. */
  const firstAt = (index: number): number => {
    let at = index;
    while (at < insns.length && (insns[at] === undefined || insns[at]!.op === 'label')) at++;
    return at;
  };
  insns.forEach((insn, index) => {
    if (insn?.op !== 'jump') return;
    const testAt = firstAt(labels.get(insn.target)!);
    const test = insns[testAt];
    if (test?.op !== 'jump-if') return;
    const register = typeof test.a === 'number' && typeof test.b === 'bigint' ? test.a : typeof test.b === 'number' && typeof test.a === 'bigint' ? test.b : undefined;
    if (register === undefined) return;
    const value = constantBefore(insns, index, register);
    if (value === undefined) return;
    const a = typeof test.a === 'bigint' ? test.a : value;
    const b = typeof test.b === 'bigint' ? test.b : value;
    if (evalCompare(test.kind, a, b)) {
      insns[index] = { ...insn, target: test.target };
      return;
    }
    const next = insns[firstAt(testAt + 1)];
    // Only a jump straight after the test, not a label: a label there could be jumped to from elsewhere, which is fine, but then it is simpler to leave it.
    if (next?.op === 'return' || next?.op === 'jump') insns[index] = next;
  });
}

/** The constant `register` surely holds at `index`, from an assignment earlier in the same straight run. */
function constantBefore(insns: readonly (IrInsn | undefined)[], index: number, register: number): bigint | undefined {
  for (let at = index - 1; at >= 0; at--) {
    const insn = insns[at];
    if (insn === undefined) continue;
    if (insn.op === 'label' || insn.op === 'jump' || insn.op === 'jump-if' || insn.op === 'return') return undefined;
    if (insnDef(insn) !== register) continue;
    if (insn.op === 'const') return insn.value;
    if (insn.op === 'mov' && typeof insn.src === 'bigint') return insn.src;
    return undefined;
  }
  return undefined;
}

function lastInsn(ir: PolicyIr, folded: readonly (IrInsn | undefined)[], end: number): { file: string; line: number; column: number } | undefined {
  for (let i = Math.min(end, folded.length) - 1; i >= 0; i--) {
    const pos = folded[i]?.pos;
    if (pos !== undefined) return { file: ir.fileName, line: pos.line, column: pos.column };
  }
  return undefined;
}

/**
 * Checks `ir` with core's verifier in its lenient mode (see PolicyIrCheck): every instruction,
 * not the control flow, which normalizeIr works out itself. A violation is CODEGEN_INVALID_IR
 * at the offending instruction's source position, in the verifier's words.
 */
function validate(ir: PolicyIr): void {
  try {
    verifyPolicyIr(ir, 'lenient');
  } catch (error) {
    if (!(error instanceof PolicyIrError)) throw error;
    const pos = error.index === undefined ? undefined : ir.insns[error.index]?.pos;
    throw new CodegenError('CODEGEN_INVALID_IR', `${ir.fileName}${pos ? `:${pos.line}:${pos.column}` : ''}: ${error.message}`, {
      cause: error,
      location: pos ? { file: ir.fileName, line: pos.line, column: pos.column } : undefined,
    });
  }
}
