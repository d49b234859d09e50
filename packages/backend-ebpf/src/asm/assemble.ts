import { AsmError } from './asm-error.js';
import { Instruction, referenceField, type SourceLocation } from './instruction.js';
import { INSTRUCTION_SIZE, Opcode } from './opcode.js';

/**
 * A label marker in an instruction list: it names the next instruction, as if that instruction
 * had been built with `withSymbol(name)`. Code generators emit these where control flow joins.
 */
export interface Label {
  readonly kind: 'label';
  readonly name: string;
}

/** What the assembler accepts: instructions, and label markers between them. */
export type AsmItem = Instruction | Label;

export function label(name: string): Label {
  if (typeof name !== 'string' || name === '') {
    throw new AsmError('ASM_INVALID_LABEL', 'a label must be a non-empty string.');
  }
  return Object.freeze({ kind: 'label', name });
}

export function isLabel(item: unknown): item is Label {
  return typeof item === 'object' && item !== null && (item as { kind?: unknown }).kind === 'label';
}

/** Instructions whose label references have been turned into offsets. */
export interface ResolvedProgram {
  /** The instructions, each label marker folded into the instruction after it. */
  readonly instructions: readonly Instruction[];
  /** Every label, including aliases of one instruction, mapped to its slot index. */
  readonly labels: ReadonlyMap<string, number>;
  /** Total slots: the instruction count the kernel sees, with LD_IMM64 counted twice. */
  readonly slotCount: number;
}

/**
 * Resolves label references to offsets. Offsets count 8-byte slots from the instruction after
 * the jump, so an LD_IMM64 in between counts twice.
 *
 * Raw numeric offsets (jumps built with a number, or decoded) are kept as they are, so
 * resolving twice gives the same result.
 */
export function resolveLabels(items: readonly AsmItem[]): ResolvedProgram {
  const labels = new Map<string, number>();
  const define = (name: string, slot: number): void => {
    const previous = labels.get(name);
    if (previous !== undefined) {
      throw new AsmError(
        'ASM_DUPLICATE_LABEL',
        `label '${name}' is defined twice, at instructions ${String(previous)} and ${String(slot)}.`,
      );
    }
    labels.set(name, slot);
  };

  const placed: { ins: Instruction; slot: number }[] = [];
  let pending: string[] = [];
  let slot = 0;
  for (const item of items) {
    if (item instanceof Instruction) {
      let ins = item;
      for (const name of pending) define(name, slot);
      if (ins.symbol !== undefined) define(ins.symbol, slot);
      else if (pending[0] !== undefined) ins = ins.withSymbol(pending[0]);
      pending = [];
      placed.push({ ins, slot });
      slot += ins.slots;
    } else if (isLabel(item)) {
      pending.push(label(item.name).name);
    } else {
      throw new AsmError('ASM_INVALID_OPERAND', `item ${String(placed.length)} is neither an instruction nor a label.`);
    }
  }
  if (pending[0] !== undefined) {
    throw new AsmError('ASM_DANGLING_LABEL', `label '${pending[0]}' is not followed by an instruction.`);
  }

  const instructions = placed.map(({ ins, slot: at }) => {
    if (ins.reference === undefined) return ins;
    const target = labels.get(ins.reference);
    if (target === undefined) {
      throw new AsmError(
        'ASM_UNKNOWN_LABEL',
        `instruction ${String(at)} jumps to label '${ins.reference}', which is not defined.`,
      );
    }
    const delta = target - at - 1;
    if (referenceField(ins) === 'offset') {
      if (delta < -0x8000 || delta > 0x7fff) {
        throw new AsmError(
          'ASM_JUMP_RANGE',
          `instruction ${String(at)} jumps ${String(delta)} slots to '${ins.reference}', beyond the ±32767 a jump offset can reach.`,
        );
      }
      return ins.with({ offset: delta });
    }
    // gotol and bpf-to-bpf calls keep the offset in the 32-bit imm, which any program fits.
    return ins.with({ imm: delta });
  });

  return { instructions, labels, slotCount: slot };
}

/** How the encoder finds the fd of a symbolic map: a table, or a function. */
export type MapFdResolver = ReadonlyMap<string, number> | ((name: string) => number | undefined);

export interface EncodeOptions {
  /** Fds for the maps that LD_IMM64 instructions reference by name. */
  readonly maps?: MapFdResolver;
}

/**
 * Encodes instructions as the kernel reads them: 8 little-endian bytes per slot. Labels are
 * resolved and symbolic map references replaced by fds from `options.maps`.
 */
export function encode(items: readonly AsmItem[], options: EncodeOptions = {}): Uint8Array {
  return serialize(resolveLabels(items), options);
}

/** A line-info anchor: the policy source an instruction slot was compiled from. */
export interface SlotSource {
  readonly slot: number;
  readonly source: SourceLocation;
}

export interface AssembledProgram extends ResolvedProgram {
  /** The encoded program, `slotCount * 8` bytes. */
  readonly bytes: Uint8Array;
  /** Source locations by slot, ascending, for BTF line info and verifier-error mapping. */
  readonly lineInfo: readonly SlotSource[];
}

/** Resolves labels, encodes, and collects the line info of a program in one step. */
export function assemble(items: readonly AsmItem[], options: EncodeOptions = {}): AssembledProgram {
  const resolved = resolveLabels(items);
  const bytes = serialize(resolved, options);
  const lineInfo: SlotSource[] = [];
  let slot = 0;
  for (const ins of resolved.instructions) {
    if (ins.source !== undefined) lineInfo.push({ slot, source: ins.source });
    slot += ins.slots;
  }
  return { ...resolved, bytes, lineInfo };
}

function serialize(program: ResolvedProgram, options: EncodeOptions): Uint8Array {
  const bytes = new Uint8Array(program.slotCount * INSTRUCTION_SIZE);
  const view = new DataView(bytes.buffer);
  let slot = 0;
  for (const ins of program.instructions) {
    const at = slot * INSTRUCTION_SIZE;
    view.setUint8(at, ins.opcode);
    view.setUint8(at + 1, (ins.src << 4) | ins.dst);
    view.setInt16(at + 2, ins.offset, true);
    if (ins.opcode === Opcode.LD_IMM64) {
      const imm = ins.imm as bigint;
      const low = ins.map === undefined ? Number(imm & 0xffff_ffffn) : mapFd(ins.map, slot, options.maps);
      view.setUint32(at + 4, low, true);
      // The second slot is all zeros but for the high half of the constant.
      view.setUint32(at + INSTRUCTION_SIZE + 4, Number(imm >> 32n), true);
    } else {
      view.setInt32(at + 4, ins.imm as number, true);
    }
    slot += ins.slots;
  }
  return bytes;
}

function mapFd(name: string, slot: number, maps: MapFdResolver | undefined): number {
  const fd = maps === undefined ? undefined : typeof maps === 'function' ? maps(name) : maps.get(name);
  if (fd === undefined) {
    throw new AsmError('ASM_UNKNOWN_MAP', `instruction ${String(slot)} loads map '${name}', which has no fd.`);
  }
  if (!Number.isInteger(fd) || fd < 0 || fd > 0x7fff_ffff) {
    throw new AsmError('ASM_INVALID_OPERAND', `map '${name}' resolved to ${String(fd)}, which is not an fd.`);
  }
  return fd;
}
