import { AsmError } from './asm-error.js';
import { isLabel, resolveLabels, type AsmItem } from './assemble.js';
import { decode } from './decode.js';
import { helperName } from './helpers.js';
import { Instruction, hex2 } from './instruction.js';
import {
  AluCode,
  AtomicCode,
  CallSrc,
  Endian,
  InsnClass,
  JumpCode,
  Mode,
  PseudoSrc,
  opCode,
  opMode,
  opSize,
  opSource,
} from './opcode.js';

/*
 * The text follows the kernel's own disassembler (kernel/bpf/disasm.c), which both the
 * verifier log and `bpftool prog dump xlated` print, so a line here can be compared with a
 * line of a verifier error as is.
 */

export interface FormatOptions {
  /** Prefix the opcode byte as the verifier log does, `(b7) r0 = 1`. Default true. */
  readonly opcodes?: boolean;
}

export interface DisasmOptions extends FormatOptions {
  /** Print `name:` lines where labels are defined, and `<name>` after jumps. Default true. */
  readonly labels?: boolean;
  /** Append `; file:line:column` to instructions that carry a source location. Default false. */
  readonly sources?: boolean;
}

const ALU_TEXT: Readonly<Record<number, string>> = {
  [AluCode.ADD]: '+=',
  [AluCode.SUB]: '-=',
  [AluCode.MUL]: '*=',
  [AluCode.DIV]: '/=',
  [AluCode.OR]: '|=',
  [AluCode.AND]: '&=',
  [AluCode.LSH]: '<<=',
  [AluCode.RSH]: '>>=',
  [AluCode.MOD]: '%=',
  [AluCode.XOR]: '^=',
  [AluCode.MOV]: '=',
  [AluCode.ARSH]: 's>>=',
};

const ATOMIC_NAMES: Readonly<Record<number, string>> = {
  [AtomicCode.ADD]: 'add',
  [AtomicCode.OR]: 'or',
  [AtomicCode.AND]: 'and',
  [AtomicCode.XOR]: 'xor',
};

const JUMP_TEXT: Readonly<Record<number, string>> = {
  [JumpCode.JEQ]: '==',
  [JumpCode.JGT]: '>',
  [JumpCode.JGE]: '>=',
  [JumpCode.JSET]: '&',
  [JumpCode.JNE]: '!=',
  [JumpCode.JSGT]: 's>',
  [JumpCode.JSGE]: 's>=',
  [JumpCode.JLT]: '<',
  [JumpCode.JLE]: '<=',
  [JumpCode.JSLT]: 's<',
  [JumpCode.JSLE]: 's<=',
};

/** BPF_JCOND, whose only use is may_goto (kernel 6.9); not in the opcode tables. */
const JCOND = 0xe0;
/** The movsx-like offset of ALU64 MOV X that marks addr_space_cast (kernel 6.9). */
const ADDR_SPACE_CAST = 1;

const MEM_TYPES = { W: 'u32', H: 'u16', B: 'u8', DW: 'u64' } as const;
const MEMSX_TYPES = { W: 's32', H: 's16', B: 's8', DW: undefined } as const;

/**
 * One instruction as readable assembly, e.g. `(61) r1 = *(u32 *)(r6 +0)`, without its index.
 * A jump that references a label shows it after the offset: `goto pc+3 <out>`.
 */
export function formatInstruction(ins: Instruction, options: FormatOptions = {}): string {
  return format(ins, options.opcodes ?? true, 'annotate');
}

/**
 * How a jump shows its label reference: after the resolved offset, instead of an offset that
 * was never resolved, or not at all.
 */
type ReferenceStyle = 'annotate' | 'only' | 'hide';

/**
 * A listing with one line per instruction, each prefixed by its slot index (which is what the
 * verifier's `insn N` refers to; an LD_IMM64 uses two indices).
 *
 * Accepts encoded bytes or an instruction list. A list's labels are resolved first; when that
 * fails (an unknown label, say), the list is still printed, with jumps showing only their
 * label, so the listing can explain the error.
 */
export function disassemble(input: readonly AsmItem[] | Uint8Array, options: DisasmOptions = {}): string {
  const opcodes = options.opcodes ?? true;
  const showLabels = options.labels ?? true;
  const sources = options.sources ?? false;

  let instructions: readonly Instruction[];
  const labelsAt = new Map<number, string[]>();
  let resolved = true;
  if (input instanceof Uint8Array) {
    instructions = decode(input);
  } else {
    let labels: ReadonlyMap<string, number>;
    try {
      ({ instructions, labels } = resolveLabels(input));
    } catch (error) {
      if (!(error instanceof AsmError)) throw error;
      ({ instructions, labels } = unresolved(input));
      resolved = false;
    }
    for (const [name, slot] of labels) {
      const names = labelsAt.get(slot);
      if (names === undefined) labelsAt.set(slot, [name]);
      else names.push(name);
    }
  }

  const lines: string[] = [];
  let slot = 0;
  for (const ins of instructions) {
    if (showLabels) for (const name of labelsAt.get(slot) ?? []) lines.push(`${name}:`);
    let text = format(ins, opcodes, !showLabels ? 'hide' : resolved ? 'annotate' : 'only');
    if (sources && ins.source !== undefined) {
      text += `  ; ${ins.source.file}:${String(ins.source.line)}:${String(ins.source.column)}`;
    }
    lines.push(`${String(slot)}: ${text}`);
    slot += ins.slots;
  }
  return lines.join('\n');
}

/** The labels of a list that cannot be resolved, collected without checking them. */
function unresolved(items: readonly AsmItem[]): { instructions: Instruction[]; labels: Map<string, number> } {
  const instructions: Instruction[] = [];
  const labels = new Map<string, number>();
  let slot = 0;
  for (const item of items) {
    if (isLabel(item)) {
      if (!labels.has(item.name)) labels.set(item.name, slot);
    } else if (item instanceof Instruction) {
      if (item.symbol !== undefined && !labels.has(item.symbol)) labels.set(item.symbol, slot);
      instructions.push(item);
      slot += item.slots;
    }
  }
  return { instructions, labels };
}

function format(ins: Instruction, opcodes: boolean, style: ReferenceStyle): string {
  const text = body(ins, style);
  return opcodes ? `(${hex2(ins.opcode)}) ${text}` : text;
}

function body(ins: Instruction, style: ReferenceStyle): string {
  switch (ins.opcode & 0x07) {
    case InsnClass.ALU:
    case InsnClass.ALU64:
      return alu(ins);
    case InsnClass.STX:
      return stx(ins);
    case InsnClass.ST:
      return opMode(ins.opcode) === Mode.MEM ? `${mem(ins, ins.dst)} = ${String(ins.imm)}` : invalid(ins);
    case InsnClass.LDX:
      return ldx(ins);
    case InsnClass.LD:
      return ld(ins);
    default:
      return jump(ins, style);
  }
}

function alu(ins: Instruction): string {
  const is64 = (ins.opcode & 0x07) === InsnClass.ALU64;
  const w = is64 ? 'r' : 'w';
  const op = opCode(ins.opcode);
  const dst = `${w}${String(ins.dst)}`;
  if (op === AluCode.END) {
    const kind = is64 ? 'bswap' : opSource(ins.opcode) === Endian.TO_BE ? 'be' : 'le';
    return `r${String(ins.dst)} = ${kind}${String(ins.imm)} r${String(ins.dst)}`;
  }
  if (op === AluCode.NEG) return `${dst} = -${dst}`;
  let text = ALU_TEXT[op];
  if (text === undefined) return invalid(ins);
  if ((op === AluCode.DIV || op === AluCode.MOD) && ins.offset === 1) text = `s${text}`;
  if (opSource(ins.opcode) === 0) return `${dst} ${text} ${String(ins.imm)}`;
  if (is64 && op === AluCode.MOV && ins.offset === ADDR_SPACE_CAST) {
    const imm = (ins.imm as number) >>> 0;
    return `r${String(ins.dst)} = addr_space_cast(r${String(ins.src)}, ${String(imm >>> 16)}, ${String(imm & 0xffff)})`;
  }
  const cast = op === AluCode.MOV && [8, 16, 32].includes(ins.offset) ? `(s${String(ins.offset)})` : '';
  return `${dst} ${text} ${cast}${w}${String(ins.src)}`;
}

/** `*(u32 *)(r6 +0)`: the kernel's `%+d` keeps the sign on zero. */
function mem(ins: Instruction, base: number, types: Readonly<Record<string, string | undefined>> = MEM_TYPES): string {
  return `*(${types[opSize(ins.opcode)] ?? '?'} *)(r${String(base)} ${signed(ins.offset)})`;
}

function signed(value: number): string {
  return value < 0 ? String(value) : `+${String(value)}`;
}

function stx(ins: Instruction): string {
  const mode = opMode(ins.opcode);
  if (mode === Mode.MEM) return `${mem(ins, ins.dst)} = r${String(ins.src)}`;
  if (mode !== Mode.ATOMIC) return invalid(ins);
  const size = opSize(ins.opcode);
  if (size !== 'W' && size !== 'DW') return invalid(ins);
  const bits = size === 'DW' ? '64' : '';
  const where = `(${MEM_TYPES[size]} *)(r${String(ins.dst)} ${signed(ins.offset)})`;
  const src = `r${String(ins.src)}`;
  const imm = ins.imm as number;
  const name = ATOMIC_NAMES[imm & ~AtomicCode.FETCH];
  if (imm === AtomicCode.XCHG) return `${src} = atomic${bits}_xchg(${where}, ${src})`;
  if (imm === AtomicCode.CMPXCHG) return `r0 = atomic${bits}_cmpxchg(${where}, r0, ${src})`;
  if (name === undefined) return invalid(ins);
  if ((imm & AtomicCode.FETCH) === 0) return `lock *${where} ${ALU_TEXT[imm] ?? '?'} ${src}`;
  return `${src} = atomic${bits}_fetch_${name}(${where}, ${src})`;
}

function ldx(ins: Instruction): string {
  const mode = opMode(ins.opcode);
  if (mode === Mode.MEM) return `r${String(ins.dst)} = ${mem(ins, ins.src)}`;
  if (mode === Mode.MEMSX && opSize(ins.opcode) !== 'DW') return `r${String(ins.dst)} = ${mem(ins, ins.src, MEMSX_TYPES)}`;
  return invalid(ins);
}

function ld(ins: Instruction): string {
  const mode = opMode(ins.opcode);
  const size = opSize(ins.opcode);
  if ((mode === Mode.ABS || mode === Mode.IND) && size !== 'DW') {
    const index = mode === Mode.ABS ? String(ins.imm) : `r${String(ins.src)} + ${String(ins.imm)}`;
    return `r0 = *(${MEM_TYPES[size]} *)skb[${index}]`;
  }
  if (mode !== Mode.IMM || size !== 'DW') return invalid(ins);
  const imm = ins.imm as bigint;
  const dst = `r${String(ins.dst)}`;
  const map = ins.map === undefined ? `fd:${String(imm & 0xffff_ffffn)}` : `name:${ins.map}`;
  if (ins.src === PseudoSrc.MAP_FD) return `${dst} = map[${map}]`;
  if (ins.src === PseudoSrc.MAP_VALUE) return `${dst} = map[${map}][0]+${String(imm >> 32n)}`;
  return `${dst} = 0x${imm.toString(16)}`;
}

function jump(ins: Instruction, style: ReferenceStyle): string {
  const is32 = (ins.opcode & 0x07) === InsnClass.JMP32;
  const op = opCode(ins.opcode);
  const ref = ins.reference;
  const pc = (delta: number): string => {
    if (ref === undefined || style === 'hide') return `pc${signed(delta)}`;
    return style === 'only' ? `<${ref}>` : `pc${signed(delta)} <${ref}>`;
  };
  if (op === JumpCode.CALL && !is32) {
    const imm = ins.imm as number;
    if (ins.src === CallSrc.PSEUDO_CALL) return `call ${pc(imm)}`;
    if (ins.src === CallSrc.KFUNC) return `call kernel-function#${String(imm)}`;
    const name = ins.src === CallSrc.HELPER ? helperName(imm) : undefined;
    return `call ${name === undefined ? 'unknown' : `bpf_${name}`}#${String(imm)}`;
  }
  if (op === JumpCode.EXIT && !is32) return 'exit';
  if (op === JumpCode.JA) return is32 ? `gotol ${pc(ins.imm as number)}` : `goto ${pc(ins.offset)}`;
  if (op === JCOND && !is32 && ins.src === 0) return `may_goto ${pc(ins.offset)}`;
  const text = JUMP_TEXT[op];
  if (text === undefined) return invalid(ins);
  const w = is32 ? 'w' : 'r';
  const right =
    opSource(ins.opcode) === 0 ? `0x${((ins.imm as number) >>> 0).toString(16)}` : `${w}${String(ins.src)}`;
  return `if ${w}${String(ins.dst)} ${text} ${right} goto ${pc(ins.offset)}`;
}

function invalid(ins: Instruction): string {
  return `invalid opcode 0x${hex2(ins.opcode)}`;
}
