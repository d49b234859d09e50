import type { BinaryOp, CompareOp, IrInsn, Operand, PolicyIr } from '../ir/policy-ir.js';
import type { EvaluationRuntime } from './evaluation-runtime.js';
import { inputFlowHash, toU64, type PolicyEvaluationInput } from './evaluation-input.js';
import { DROP_DECISION, PASS_DECISION, type PolicyDecision } from './policy-decision.js';
import type { PolicyMapAccess } from './policy-map-access.js';
import { STANDARD_INPUT_FIELDS, type InputFieldSpec, type InputFieldTable } from '../policy/input-fields.js';

/** A policy IR as a JavaScript function of one input and the CPU it runs on. */
export type EvaluateFn = (input: PolicyEvaluationInput, cpu: number) => PolicyDecision;

/** The JavaScript text of a translated IR, and how to bind it to a runtime. */
export interface TranslatedPolicy {
  /** The generated function body (for reading and debugging; it is built with `new Function`). */
  readonly source: string;
  bind(runtime: EvaluationRuntime): EvaluateFn;
}

const JS_COMPARE: Readonly<Record<CompareOp, string>> = { eq: '===', ne: '!==', lt: '<', le: '<=', gt: '>', ge: '>=' };
const EMPTY = new Uint8Array(0);

/**
 * Translates a verified policy IR into a JavaScript function, once, so V8 can optimize it:
 * registers become `let` bigints, every operation is written with `BigInt.asUintN(64, ...)`
 * exactly as ir-semantics.ts defines it, and jumps become a dispatch loop over the labels
 * (`for (;;) switch (block)`), which also serves IR with backward jumps. Only values from
 * closed sets (operations, field names, indices, u64 literals) are written into the text, so
 * a hostile IR cannot inject code; verify the IR first (the evaluator does). Input fields are
 * written as `inputFields`, the table the IR was verified with, says; its names are identifiers.
 */
export function translatePolicyIr(ir: PolicyIr, inputFields: InputFieldTable = STANDARD_INPUT_FIELDS): TranslatedPolicy {
  const mapNames = Object.keys(ir.manifest.maps);
  const mapIndex = new Map(mapNames.map((name, i) => [name, i]));
  const blockOf = new Map<string, number>();
  for (const insn of ir.insns) if (insn.op === 'label') blockOf.set(insn.label, blockOf.size + 1);
  const hasJumps = ir.insns.some((insn) => insn.op === 'jump' || insn.op === 'jump-if');
  const kind = ir.manifest.input;
  // A kind without a region reads no bytes; its `payload` is then absent and blen is 0.
  const region = inputFields.regionOf(kind) ?? 'payload';

  const R = (r: number): string => `r${r}`;
  const O = (o: Operand): string => (typeof o === 'bigint' ? `${BigInt.asUintN(64, o)}n` : `r${o}`);
  const M = (name: string): string => `m${mapIndex.get(name) as number}`;
  const go = (label: string): string => `{ bb = ${blockOf.get(label) as number}; continue; }`;

  const lines: string[] = [];
  for (const insn of ir.insns) lines.push(statement(insn));

  function statement(insn: IrInsn): string {
    switch (insn.op) {
      case 'const':
        return `${R(insn.dst)} = ${O(insn.value)};`;
      case 'mov':
        return `${R(insn.dst)} = ${O(insn.src)};`;
      case 'binary':
        return `${R(insn.dst)} = ${binary(insn.kind, insn.a, insn.b)};`;
      case 'unary':
        return insn.kind === 'neg' ? `${R(insn.dst)} = BigInt.asUintN(64, -${O(insn.a)});` : `${R(insn.dst)} = ${O(insn.a)} ^ 0xffffffffffffffffn;`;
      case 'compare':
        return `${R(insn.dst)} = ${O(insn.a)} ${JS_COMPARE[insn.kind]} ${O(insn.b)} ? 1n : 0n;`;
      case 'label':
        return `case ${blockOf.get(insn.label) as number}:`;
      case 'jump':
        return go(insn.target);
      case 'jump-if':
        return `if (${O(insn.a)} ${JS_COMPARE[insn.kind]} ${O(insn.b)}) ${go(insn.target)}`;
      case 'input':
        return `${R(insn.dst)} = ${field(insn.field)};`;
      case 'load':
        return load(insn);
      case 'map-get':
        return `${R(insn.dst)} = ${M(insn.map)}.get(${O(insn.key)}, cpu);`;
      case 'map-set':
        return `${M(insn.map)}.set(${O(insn.key)}, ${O(insn.value)}, cpu);`;
      case 'map-delete':
        return `${M(insn.map)}.delete(${O(insn.key)});`;
      case 'map-fetch-add':
        return `${R(insn.dst)} = ${M(insn.map)}.fetchAdd(${O(insn.key)}, ${O(insn.delta)}, cpu);`;
      case 'map-cmpxchg':
        return `${R(insn.dst)} = ${M(insn.map)}.compareExchange(${O(insn.key)}, ${O(insn.expected)}, ${O(insn.desired)}, cpu);`;
      case 'helper':
        return `${R(insn.dst)} = ${insn.helper === 'cpu' ? 'BigInt(cpu)' : `${insn.helper}()`};`;
      case 'return':
        if (insn.verdict === 'executor') return `return { kind: 'executor', key: ${O(insn.value)} };`;
        return insn.verdict === 'pass' ? 'return PASS;' : 'return DROP;';
    }
  }

  function binary(kind: BinaryOp, a: Operand, b: Operand): string {
    const x = O(a);
    const y = O(b);
    switch (kind) {
      case 'add':
        return `BigInt.asUintN(64, ${x} + ${y})`;
      case 'sub':
        return `BigInt.asUintN(64, ${x} - ${y})`;
      case 'mul':
        return `BigInt.asUintN(64, ${x} * ${y})`;
      case 'div':
        if (typeof b === 'bigint') return b === 0n ? '0n' : `${x} / ${y}`;
        return `(${y} === 0n ? 0n : ${x} / ${y})`;
      case 'mod':
        if (typeof b === 'bigint') return b === 0n ? x : `${x} % ${y}`;
        return `(${y} === 0n ? ${x} : ${x} % ${y})`;
      case 'and':
        return `(${x} & ${y})`;
      case 'or':
        return `(${x} | ${y})`;
      case 'xor':
        return `(${x} ^ ${y})`;
      case 'shl':
        return typeof b === 'bigint' ? `BigInt.asUintN(64, ${x} << ${b & 63n}n)` : `BigInt.asUintN(64, ${x} << (${y} & 63n))`;
      case 'shr':
        return typeof b === 'bigint' ? `(${x} >> ${b & 63n}n)` : `(${x} >> (${y} & 63n))`;
    }
  }

  /** The expression of a field: what evaluation-input.ts's `inputField` computes, written out. */
  function field(name: string): string {
    const spec = inputFields.field(kind, name) as InputFieldSpec;
    const evaluation = spec.evaluation;
    if (evaluation.from === 'region-length') return 'BigInt(blen)';
    const absent =
      evaluation.absent === 'zero'
        ? '0n'
        : evaluation.absent === 'flow-hash'
          ? 'flowHashOf(input)'
          : evaluation.plus === 0
            ? 'BigInt(blen)'
            : `BigInt(blen + ${evaluation.plus})`;
    return `(input.${name} === undefined ? ${absent} : toU64(input.${name}, '${name}'))`;
  }

  function load(insn: Extract<IrInsn, { op: 'load' }>): string {
    const size = insn.size;
    // Byte positions from most to least significant.
    const order = Array.from({ length: size }, (_, i) => (insn.byteOrder === 'be' ? i : size - 1 - i));
    const read = (at: (k: number) => string): string => {
      const byte = (k: number): string => `bytes[${at(k)}]`;
      const word = (ks: number[]): string =>
        ks.length === 1
          ? byte(ks[0] as number)
          : ks.length === 2
            ? `((${byte(ks[0] as number)} << 8) | ${byte(ks[1] as number)})`
            : `(((${byte(ks[0] as number)} << 24) | (${byte(ks[1] as number)} << 16) | (${byte(ks[2] as number)} << 8) | ${byte(ks[3] as number)}) >>> 0)`;
      if (size <= 4) return `BigInt(${word(order)})`;
      return `((BigInt(${word(order.slice(0, 4))}) << 32n) | BigInt(${word(order.slice(4))}))`;
    };
    const offset = insn.offset;
    if (typeof offset === 'bigint') {
      if (offset + BigInt(size) > 0xffff_ffffn) return 'return PASS;';
      const o = Number(offset);
      return `if (blen < ${o + size}) return PASS; ${R(insn.dst)} = ${read((k) => String(o + k))};`;
    }
    const r = R(offset);
    return `if (${r} > 4294967295n || Number(${r}) + ${size} > blen) return PASS; { const o = Number(${r}); ${R(insn.dst)} = ${read((k) => (k === 0 ? 'o' : `o + ${k}`))}; }`;
  }

  const registers = Array.from({ length: ir.registerCount }, (_, r) => `${R(r)} = 0n`);
  const body = [
    '"use strict";',
    `const maps = rt.maps, random = rt.random, now = rt.now, toU64 = rt.toU64, flowHashOf = rt.flowHashOf, PASS = rt.PASS, DROP = rt.DROP, EMPTY = rt.EMPTY;`,
    ...mapNames.map((_, i) => `const m${i} = maps[${i}];`),
    'return function evaluate(input, cpu) {',
    registers.length > 0 ? `  let ${registers.join(', ')};` : '',
    `  const bytes = input.${region} ?? EMPTY, blen = bytes.length;`,
    ...(hasJumps ? ['  let bb = 0;', '  for (;;) switch (bb) {', '  case 0:', ...lines.map((l) => `    ${l}`), '  }'] : lines.map((l) => `  ${l}`)),
    '};',
  ].join('\n');

  return {
    source: body,
    bind(runtime: EvaluationRuntime): EvaluateFn {
      const maps = mapNames.map((name) => runtime.maps.get(name) as PolicyMapAccess);
      const factory = new Function('rt', body) as (rt: unknown) => EvaluateFn;
      return factory({ maps, random: runtime.random, now: runtime.now, toU64, flowHashOf: inputFlowHash, PASS: PASS_DECISION, DROP: DROP_DECISION, EMPTY });
    },
  };
}
