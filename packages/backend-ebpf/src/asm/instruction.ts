import { AsmError } from './asm-error.js';
import { CallSrc, InsnClass, JumpCode, Opcode, PseudoSrc, opClass, opCode } from './opcode.js';
import { checkImm32, checkImm64, checkS16 } from './range.js';

/** Where in the policy source an instruction came from, for BTF line info and error messages. */
export interface SourceLocation {
  readonly file: string;
  /** 1-based. */
  readonly line: number;
  /** 1-based. */
  readonly column: number;
}

/** The fields an Instruction is built from; omitted numeric fields are 0. */
export interface InstructionFields {
  readonly opcode: number;
  readonly dst?: number;
  readonly src?: number;
  readonly offset?: number;
  /** 32-bit immediate, or the whole 64-bit constant of LD_IMM64. */
  readonly imm?: number | bigint;
  /** The label this instruction defines. */
  readonly symbol?: string | undefined;
  /** The label a jump or bpf-to-bpf call targets, resolved to an offset by the assembler. */
  readonly reference?: string | undefined;
  /** The symbolic map an LD_IMM64 loads, replaced by its fd at encode time. */
  readonly map?: string | undefined;
  readonly source?: SourceLocation | undefined;
}

/** Where the assembler writes a resolved label: the off field, or imm for long jumps and calls. */
export type ReferenceField = 'offset' | 'imm';

/**
 * One eBPF instruction: the raw fields of its encoding plus metadata the assembler uses.
 *
 * `dst` and `src` are the raw 4-bit fields. For LD_IMM64 `imm` is a bigint holding the full
 * 64-bit constant (unsigned bit pattern) and the instruction occupies two slots; for every
 * other instruction it is the signed 32-bit immediate.
 *
 * Instances are immutable; the `with*` methods return copies.
 */
export class Instruction {
  readonly opcode: number;
  readonly dst: number;
  readonly src: number;
  readonly offset: number;
  readonly imm: number | bigint;
  readonly symbol: string | undefined;
  readonly reference: string | undefined;
  readonly map: string | undefined;
  readonly source: SourceLocation | undefined;

  constructor(fields: InstructionFields) {
    const { opcode } = fields;
    if (!Number.isInteger(opcode) || opcode < 0 || opcode > 0xff) {
      throw new AsmError('ASM_INVALID_OPERAND', `opcode ${String(opcode)} is not a byte.`);
    }
    this.opcode = opcode;
    this.dst = nibble(fields.dst ?? 0, 'dst');
    this.src = nibble(fields.src ?? 0, 'src');
    this.offset = checkS16(fields.offset ?? 0, 'offset');
    const imm = fields.imm ?? 0;
    if (opcode === Opcode.LD_IMM64) {
      this.imm = checkImm64(imm, 'LD_IMM64 constant');
    } else {
      if (typeof imm === 'bigint' && (imm < -(1n << 31n) || imm > 0xffff_ffffn)) {
        throw new AsmError('ASM_IMMEDIATE_RANGE', `immediate ${imm} does not fit in 32 bits.`);
      }
      this.imm = checkImm32(Number(imm), 'immediate');
    }
    this.symbol = checkLabel(fields.symbol);
    this.reference = checkLabel(fields.reference);
    if (this.reference !== undefined && referenceField(this) === undefined) {
      throw new AsmError(
        'ASM_INVALID_OPERAND',
        `only jumps and bpf-to-bpf calls can reference a label, not opcode 0x${hex2(opcode)}.`,
      );
    }
    this.map = fields.map;
    if (this.map !== undefined) {
      if (this.map === '') throw new AsmError('ASM_INVALID_OPERAND', 'a map reference needs a non-empty name.');
      if (opcode !== Opcode.LD_IMM64 || (this.src !== PseudoSrc.MAP_FD && this.src !== PseudoSrc.MAP_VALUE)) {
        throw new AsmError(
          'ASM_INVALID_OPERAND',
          'only an LD_IMM64 with src map_fd or map_value can reference a map.',
        );
      }
    }
    this.source = fields.source;
    Object.freeze(this);
  }

  /** Number of 8-byte slots: 2 for LD_IMM64, 1 otherwise. Jump offsets count slots. */
  get slots(): 1 | 2 {
    return this.opcode === Opcode.LD_IMM64 ? 2 : 1;
  }

  /** A copy with some fields replaced. */
  with(changes: Partial<InstructionFields>): Instruction {
    return new Instruction({ ...this.fields(), ...changes });
  }

  /** A copy that defines `symbol`, so jumps can target it by name. */
  withSymbol(symbol: string): Instruction {
    return this.with({ symbol });
  }

  /** A copy annotated with the policy source it was compiled from. */
  withSource(source: SourceLocation): Instruction {
    return this.with({ source });
  }

  /** The plain fields of this instruction. */
  fields(): InstructionFields {
    return {
      opcode: this.opcode,
      dst: this.dst,
      src: this.src,
      offset: this.offset,
      imm: this.imm,
      symbol: this.symbol,
      reference: this.reference,
      map: this.map,
      source: this.source,
    };
  }
}

/**
 * Which field holds the branch target of `ins`, or undefined when it has none. Conditional jumps
 * and JA use off; JMP32 JA (gotol) and bpf-to-bpf calls use imm, which reaches further.
 */
export function referenceField(ins: Pick<Instruction, 'opcode' | 'src'>): ReferenceField | undefined {
  const cls = opClass(ins.opcode);
  if (cls !== 'JMP' && cls !== 'JMP32') return undefined;
  const op = opCode(ins.opcode);
  if (op === JumpCode.EXIT) return undefined;
  if (op === JumpCode.CALL) return cls === 'JMP' && ins.src === CallSrc.PSEUDO_CALL ? 'imm' : undefined;
  if (op === JumpCode.JA) return cls === 'JMP32' ? 'imm' : 'offset';
  return 'offset';
}

/** True for the 32-bit halves of the arithmetic and jump classes. */
export function is32Bit(opcode: number): boolean {
  const cls = opcode & 0x07;
  return cls === InsnClass.ALU || cls === InsnClass.JMP32;
}

function nibble(value: number, what: string): number {
  if (!Number.isInteger(value) || value < 0 || value > 0x0f) {
    throw new AsmError('ASM_INVALID_REGISTER', `${what} ${String(value)} does not fit the 4-bit register field.`);
  }
  return value;
}

function checkLabel(name: string | undefined): string | undefined {
  if (name === undefined) return undefined;
  if (typeof name !== 'string' || name === '') {
    throw new AsmError('ASM_INVALID_LABEL', 'a label must be a non-empty string.');
  }
  return name;
}

export function hex2(byte: number): string {
  return byte.toString(16).padStart(2, '0');
}
