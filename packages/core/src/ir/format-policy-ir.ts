import type { IrInsn, Operand, PolicyIr } from './policy-ir.js';

const operand = (o: Operand): string => (typeof o === 'bigint' ? o.toString() : `r${o}`);

/** One instruction as a line of text, for tests, logs and `syrup` debugging output. */
export function formatIrInsn(insn: IrInsn): string {
  switch (insn.op) {
    case 'const':
      return `r${insn.dst} = ${insn.value}`;
    case 'mov':
      return `r${insn.dst} = ${operand(insn.src)}`;
    case 'binary':
      return `r${insn.dst} = ${insn.kind} ${operand(insn.a)}, ${operand(insn.b)}`;
    case 'unary':
      return `r${insn.dst} = ${insn.kind} ${operand(insn.a)}`;
    case 'compare':
      return `r${insn.dst} = ${insn.kind} ${operand(insn.a)}, ${operand(insn.b)}`;
    case 'label':
      return `${insn.label}:`;
    case 'jump':
      return `jump ${insn.target}`;
    case 'jump-if':
      return `if ${insn.kind} ${operand(insn.a)}, ${operand(insn.b)} jump ${insn.target}`;
    case 'input':
      return `r${insn.dst} = input ${insn.field}`;
    case 'load':
      return `r${insn.dst} = load ${insn.region}[${operand(insn.offset)}] u${insn.size * 8}${insn.byteOrder === 'le' ? 'le' : ''}`;
    case 'map-get':
      return `r${insn.dst} = ${insn.map}.get ${operand(insn.key)}`;
    case 'map-set':
      return `${insn.map}.set ${operand(insn.key)}, ${operand(insn.value)}`;
    case 'map-delete':
      return `${insn.map}.delete ${operand(insn.key)}`;
    case 'map-fetch-add':
      return `r${insn.dst} = ${insn.map}.fetch-add ${operand(insn.key)}, ${operand(insn.delta)}`;
    case 'map-cmpxchg':
      return `r${insn.dst} = ${insn.map}.cmpxchg ${operand(insn.key)}, ${operand(insn.expected)}, ${operand(insn.desired)}`;
    case 'helper':
      return `r${insn.dst} = ${insn.helper}()`;
    case 'return':
      return insn.verdict === 'executor' ? `return ${operand(insn.value)}` : `return ${insn.verdict}`;
  }
}

/** The whole program, one instruction per line; labels flush left, the rest indented. */
export function formatPolicyIr(ir: Pick<PolicyIr, 'insns'>, options: { positions?: boolean } = {}): string {
  return ir.insns
    .map((insn) => {
      const text = insn.op === 'label' ? formatIrInsn(insn) : `  ${formatIrInsn(insn)}`;
      return options.positions && insn.pos ? `${text.padEnd(40)} ; ${insn.pos.line}:${insn.pos.column}` : text;
    })
    .join('\n');
}
