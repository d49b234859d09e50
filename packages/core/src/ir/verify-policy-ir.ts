import { SyrupError } from '../errors/syrup-error.js';
import { INPUT_KINDS, type InputKind } from '../policy/inputs.js';
import { STANDARD_INPUT_FIELDS, type InputFieldTable } from '../policy/input-fields.js';
import { HELPER_NAMES, POLICY_IR_VERSION, type IrInsn, type Operand, type PolicyIr } from './policy-ir.js';

/** An IR that breaks the contract of `policy-ir.ts`: a bug in its producer, or untrusted data. */
export class PolicyIrError extends SyrupError {
  override name = 'PolicyIrError';
  /** Index of the offending instruction, when one is to blame. */
  readonly index: number | undefined;

  constructor(message: string, index?: number) {
    super('POLICY_IR_INVALID', message);
    this.index = index;
  }
}

const U64_MAX = (1n << 64n) - 1n;
const BINARY_OPS = new Set(['add', 'sub', 'mul', 'div', 'mod', 'and', 'or', 'xor', 'shl', 'shr']);
const COMPARE_OPS = new Set(['eq', 'ne', 'lt', 'le', 'gt', 'ge']);
const UNARY_OPS = new Set(['neg', 'not']);
const HELPERS: ReadonlySet<string> = new Set(HELPER_NAMES);

/**
 * How much of the contract {@link verifyPolicyIr} checks.
 * - `strict` (the default): all of it. What a deployment, the evaluator and IR read from JSON need.
 * - `lenient`: each instruction on its own (operations, fields, registers, immediates, labels,
 *   maps, regions, helpers, verdicts), not the control flow: a fall-through off the end,
 *   unreachable code and reads before writes pass. For a code generator, which removes
 *   unreachable code and finds a path off the end itself, zeroes what is read before it is
 *   written, and is tested with IR written by hand.
 */
export type PolicyIrCheck = 'strict' | 'lenient';

/**
 * Checks an IR against its contract and throws {@link PolicyIrError} on the first violation:
 * known operations and fields, registers below `registerCount`, u64 immediates, unique and
 * defined labels, declared maps, fields and regions the input kind has, no fall-through off the
 * end, every instruction reachable (the kernel verifier refuses dead code), and every register
 * written on all paths before it is read (the verifier refuses reads of unset registers).
 * Backends may call it on IR they did not produce; the front end's output always passes. In
 * `lenient` mode it stops after the instruction checks (see {@link PolicyIrCheck}). The input
 * fields and regions are those of `inputFields` (a test may pass a table with a field of its own).
 */
export function verifyPolicyIr(ir: PolicyIr, check: PolicyIrCheck = 'strict', inputFields: InputFieldTable = STANDARD_INPUT_FIELDS): void {
  if (ir.version !== POLICY_IR_VERSION) {
    throw new PolicyIrError(`policy IR version ${String(ir.version)} is not the supported version ${POLICY_IR_VERSION}.`);
  }
  if (!INPUT_KINDS.includes(ir.manifest?.input)) {
    throw new PolicyIrError(`policy IR input kind ${JSON.stringify(ir.manifest?.input)} is not one of ${INPUT_KINDS.join(', ')}.`);
  }
  if (!Number.isSafeInteger(ir.registerCount) || ir.registerCount < 0) {
    throw new PolicyIrError(`policy IR register count ${String(ir.registerCount)} is not a non-negative integer.`);
  }
  if (!Array.isArray(ir.insns) || ir.insns.length === 0) {
    throw new PolicyIrError('policy IR has no instructions.');
  }
  const labels = new Map<string, number>();
  ir.insns.forEach((insn, index) => {
    if (insn.op !== 'label') return;
    if (typeof insn.label !== 'string' || labels.has(insn.label)) {
      throw new PolicyIrError(`instruction ${index}: label ${JSON.stringify(insn.label)} is defined twice or is not a string.`, index);
    }
    labels.set(insn.label, index);
  });
  ir.insns.forEach((insn, index) => checkInsn(ir, insn, index, labels, inputFields));
  if (check === 'lenient') return;
  const last = ir.insns[ir.insns.length - 1];
  if (last?.op !== 'return' && last?.op !== 'jump') {
    throw new PolicyIrError(`instruction ${ir.insns.length - 1}: the last instruction can fall through off the end.`, ir.insns.length - 1);
  }
  checkFlow(ir, labels);
}

function checkInsn(ir: PolicyIr, insn: IrInsn, index: number, labels: ReadonlyMap<string, number>, inputFields: InputFieldTable): void {
  const kind: InputKind = ir.manifest.input;
  const fail = (reason: string): never => {
    throw new PolicyIrError(`instruction ${index} (${String(insn.op)}): ${reason}.`, index);
  };
  const reg = (r: unknown, what: string): void => {
    if (typeof r !== 'number' || !Number.isInteger(r) || r < 0 || r >= ir.registerCount) {
      fail(`${what} ${String(r)} is not a register below ${ir.registerCount}`);
    }
  };
  const operand = (o: unknown, what: string): void => {
    if (typeof o === 'bigint') {
      if (o < 0n || o > U64_MAX) fail(`${what} immediate ${o} is not a u64`);
      return;
    }
    reg(o, what);
  };
  const map = (name: unknown): void => {
    if (typeof name !== 'string' || !Object.hasOwn(ir.manifest.maps, name)) fail(`map ${JSON.stringify(name)} is not declared`);
  };
  const target = (label: unknown): void => {
    if (typeof label !== 'string' || !labels.has(label)) fail(`label ${JSON.stringify(label)} is not defined`);
  };
  switch (insn.op) {
    case 'const':
      reg(insn.dst, 'dst');
      operand(insn.value, 'value');
      if (typeof insn.value !== 'bigint') fail('value is not an immediate');
      return;
    case 'mov':
      reg(insn.dst, 'dst');
      operand(insn.src, 'src');
      return;
    case 'binary':
      if (!BINARY_OPS.has(insn.kind)) fail(`unknown binary kind ${JSON.stringify(insn.kind)}`);
      reg(insn.dst, 'dst');
      operand(insn.a, 'a');
      operand(insn.b, 'b');
      return;
    case 'unary':
      if (!UNARY_OPS.has(insn.kind)) fail(`unknown unary kind ${JSON.stringify(insn.kind)}`);
      reg(insn.dst, 'dst');
      operand(insn.a, 'a');
      return;
    case 'compare':
      if (!COMPARE_OPS.has(insn.kind)) fail(`unknown compare kind ${JSON.stringify(insn.kind)}`);
      reg(insn.dst, 'dst');
      operand(insn.a, 'a');
      operand(insn.b, 'b');
      return;
    case 'label':
      return;
    case 'jump':
      target(insn.target);
      return;
    case 'jump-if':
      if (!COMPARE_OPS.has(insn.kind)) fail(`unknown compare kind ${JSON.stringify(insn.kind)}`);
      operand(insn.a, 'a');
      operand(insn.b, 'b');
      target(insn.target);
      return;
    case 'input': {
      reg(insn.dst, 'dst');
      if (typeof insn.field !== 'string' || inputFields.field(kind, insn.field) === undefined) fail(`a ${kind} input has no field ${JSON.stringify(insn.field)}`);
      return;
    }
    case 'load':
      reg(insn.dst, 'dst');
      if (inputFields.regionOf(kind) !== insn.region) {
        fail(`a ${kind} input has no region ${JSON.stringify(insn.region)}`);
      }
      operand(insn.offset, 'offset');
      if (![1, 2, 4, 8].includes(insn.size)) fail(`size ${String(insn.size)} is not 1, 2, 4 or 8`);
      if (insn.byteOrder !== 'be' && insn.byteOrder !== 'le') fail(`byte order ${JSON.stringify(insn.byteOrder)} is not be or le`);
      return;
    case 'map-get':
      reg(insn.dst, 'dst');
      map(insn.map);
      operand(insn.key, 'key');
      return;
    case 'map-set':
      map(insn.map);
      operand(insn.key, 'key');
      operand(insn.value, 'value');
      return;
    case 'map-delete':
      map(insn.map);
      operand(insn.key, 'key');
      return;
    case 'map-fetch-add':
      reg(insn.dst, 'dst');
      map(insn.map);
      operand(insn.key, 'key');
      operand(insn.delta, 'delta');
      return;
    case 'map-cmpxchg':
      reg(insn.dst, 'dst');
      map(insn.map);
      operand(insn.key, 'key');
      operand(insn.expected, 'expected');
      operand(insn.desired, 'desired');
      return;
    case 'helper':
      reg(insn.dst, 'dst');
      if (!HELPERS.has(insn.helper)) fail(`unknown helper ${JSON.stringify(insn.helper)}`);
      return;
    case 'return':
      if (insn.verdict === 'executor') {
        operand(insn.value, 'value');
      } else if (insn.verdict !== 'pass' && insn.verdict !== 'drop') {
        fail(`unknown verdict ${JSON.stringify((insn as { verdict: unknown }).verdict)}`);
      }
      return;
    default:
      fail('unknown operation');
  }
}

/** The registers an instruction reads and the one it writes. */
export function insnRegisters(insn: IrInsn): { reads: number[]; write: number | undefined } {
  const reads: number[] = [];
  const read = (o: Operand): void => {
    if (typeof o === 'number') reads.push(o);
  };
  let write: number | undefined;
  switch (insn.op) {
    case 'const':
      write = insn.dst;
      break;
    case 'mov':
      read(insn.src);
      write = insn.dst;
      break;
    case 'binary':
    case 'compare':
      read(insn.a);
      read(insn.b);
      write = insn.dst;
      break;
    case 'unary':
      read(insn.a);
      write = insn.dst;
      break;
    case 'jump-if':
      read(insn.a);
      read(insn.b);
      break;
    case 'input':
    case 'helper':
      write = insn.dst;
      break;
    case 'load':
      read(insn.offset);
      write = insn.dst;
      break;
    case 'map-get':
      read(insn.key);
      write = insn.dst;
      break;
    case 'map-set':
      read(insn.key);
      read(insn.value);
      break;
    case 'map-delete':
      read(insn.key);
      break;
    case 'map-fetch-add':
      read(insn.key);
      read(insn.delta);
      write = insn.dst;
      break;
    case 'map-cmpxchg':
      read(insn.key);
      read(insn.expected);
      read(insn.desired);
      write = insn.dst;
      break;
    case 'return':
      if (insn.verdict === 'executor') read(insn.value);
      break;
    case 'label':
    case 'jump':
      break;
  }
  return { reads, write };
}

interface Block {
  readonly start: number;
  readonly end: number; // exclusive
  readonly successors: number[];
}

function checkFlow(ir: PolicyIr, labels: ReadonlyMap<string, number>): void {
  const insns = ir.insns;
  const blockAt = new Map<number, number>();
  const starts: number[] = [0];
  insns.forEach((insn, index) => {
    if (insn.op === 'label' && index !== 0) starts.push(index);
    if ((insn.op === 'jump' || insn.op === 'jump-if' || insn.op === 'return') && index + 1 < insns.length) starts.push(index + 1);
  });
  const uniqueStarts = [...new Set(starts)].sort((a, b) => a - b);
  uniqueStarts.forEach((start, i) => blockAt.set(start, i));
  const blocks: Block[] = uniqueStarts.map((start, i) => {
    const end = uniqueStarts[i + 1] ?? insns.length;
    const lastInsn = insns[end - 1] as IrInsn;
    const successors: number[] = [];
    const labelBlock = (label: string): number => blockAt.get(labels.get(label) as number) as number;
    if (lastInsn.op === 'jump') successors.push(labelBlock(lastInsn.target));
    else if (lastInsn.op === 'jump-if') successors.push(labelBlock(lastInsn.target), i + 1);
    else if (lastInsn.op !== 'return') successors.push(i + 1);
    return { start, end, successors: successors.filter((s) => s < uniqueStarts.length) };
  });

  const words = Math.max(1, Math.ceil(ir.registerCount / 32));
  const predecessors: number[][] = blocks.map(() => []);
  blocks.forEach((block, i) => block.successors.forEach((s) => predecessors[s]?.push(i)));
  const reachable = new Uint8Array(blocks.length);
  const stack = [0];
  reachable[0] = 1;
  while (stack.length > 0) {
    const b = stack.pop() as number;
    for (const s of (blocks[b] as Block).successors) {
      if (!reachable[s]) {
        reachable[s] = 1;
        stack.push(s);
      }
    }
  }
  blocks.forEach((block, i) => {
    if (!reachable[i]) {
      throw new PolicyIrError(`instruction ${block.start} (${insns[block.start]?.op}): unreachable code.`, block.start);
    }
  });

  // Definite assignment: a forward "must" data flow over the blocks.
  const full = (): Uint32Array => new Uint32Array(words).fill(0xffffffff);
  const out = blocks.map((_, i) => (i === 0 ? new Uint32Array(words) : full()));
  const gen = blocks.map((block) => {
    const set = new Uint32Array(words);
    for (let k = block.start; k < block.end; k++) {
      const { write } = insnRegisters(insns[k] as IrInsn);
      if (write !== undefined) set[write >>> 5]! |= 1 << (write & 31);
    }
    return set;
  });
  const inOf = (i: number): Uint32Array => {
    if (i === 0) return new Uint32Array(words);
    const result = full();
    for (const p of predecessors[i] as number[]) {
      const o = out[p] as Uint32Array;
      for (let w = 0; w < words; w++) result[w]! &= o[w]!;
    }
    return result;
  };
  let changed = true;
  while (changed) {
    changed = false;
    for (let i = 0; i < blocks.length; i++) {
      const next = inOf(i);
      const g = gen[i] as Uint32Array;
      const o = out[i] as Uint32Array;
      for (let w = 0; w < words; w++) {
        const v = (next[w]! | g[w]!) >>> 0;
        if (v !== o[w]) {
          o[w] = v;
          changed = true;
        }
      }
    }
  }
  blocks.forEach((block, i) => {
    const defined = inOf(i);
    for (let k = block.start; k < block.end; k++) {
      const insn = insns[k] as IrInsn;
      const { reads, write } = insnRegisters(insn);
      for (const r of reads) {
        if (!(defined[r >>> 5]! & (1 << (r & 31)))) {
          throw new PolicyIrError(`instruction ${k} (${insn.op}): register r${r} may be read before it is written.`, k);
        }
      }
      if (write !== undefined) defined[write >>> 5]! |= 1 << (write & 31);
    }
  });
}
