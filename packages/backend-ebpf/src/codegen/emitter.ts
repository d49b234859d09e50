import { InsnClass, Instruction, JumpCode, Mode, Mov, Opcode, R0, Size, isLabel, label, opSize, storeMem, type AsmItem, type Register, type SourceLocation } from '../asm/index.js';
import type { SlotOrigin } from './program-spec.js';

type Origin = Omit<SlotOrigin, 'slot'>;

/** Conditional and unconditional jumps (not calls, whose references are functions). */
function isJump(ins: Instruction): boolean {
  const cls = ins.opcode & 0x07;
  return (cls === 0x05 || cls === 0x06) && ins.opcode !== Opcode.CALL && ins.opcode !== Opcode.EXIT;
}

/** Each conditional jump code and the code of its negation (JSET has none). */
const NEGATED: ReadonlyMap<number, number> = new Map([
  [JumpCode.JEQ, JumpCode.JNE],
  [JumpCode.JNE, JumpCode.JEQ],
  [JumpCode.JGT, JumpCode.JLE],
  [JumpCode.JLE, JumpCode.JGT],
  [JumpCode.JGE, JumpCode.JLT],
  [JumpCode.JLT, JumpCode.JGE],
  [JumpCode.JSGT, JumpCode.JSLE],
  [JumpCode.JSLE, JumpCode.JSGT],
  [JumpCode.JSGE, JumpCode.JSLT],
  [JumpCode.JSLT, JumpCode.JSGE],
]);

const STORE_DW = InsnClass.STX | Mode.MEM | Size.DW;
const LOAD_DW = InsnClass.LDX | Mode.MEM | Size.DW;

/** The conditional jump with the opposite condition, or undefined for JSET and non-jumps. */
function negatedJump(ins: Instruction): Instruction | undefined {
  const cls = ins.opcode & 0x07;
  if (cls !== InsnClass.JMP && cls !== InsnClass.JMP32) return undefined;
  const negated = NEGATED.get(ins.opcode & 0xf0);
  return negated === undefined ? undefined : ins.with({ opcode: (ins.opcode & 0x0f) | negated });
}

/** `*(size *)(dst + off) = imm` as `r0 = imm; *(size *)(dst + off) = r0`; other instructions as they are. */
function throughRegister(ins: Instruction): Instruction[] {
  if ((ins.opcode & 0x07) !== InsnClass.ST || (ins.opcode & 0xe0) !== Mode.MEM) return [ins];
  if (ins.dst === R0) throw new RangeError('an immediate store based on r0 cannot go through r0');
  return [Mov.imm(R0, Number(ins.imm)), storeMem(ins.dst as Register, ins.offset, R0, opSize(ins.opcode))];
}

/**
 * Collects instructions and label markers with the origin (prologue, body instruction,
 * epilogue) of each, so slots can be mapped back to the policy source after assembly.
 */
export class Emitter {
  readonly #items: AsmItem[] = [];
  readonly #origins: (Origin | undefined)[] = [];
  #origin: Origin = { section: 'prologue' };
  #source: SourceLocation | undefined;
  #labels = 0;
  readonly #referenced = new Set<string>();
  #immediateStores = true;

  /** Sets the origin of the instructions emitted from now on. */
  at(origin: Origin, source?: SourceLocation): void {
    this.#origin = origin;
    this.#source = source;
  }

  /** The policy position instructions are emitted for now, if any (for refusals at a line). */
  get source(): SourceLocation | undefined {
    return this.#source;
  }

  /**
   * Immediate stores (`BPF_ST`) become a move into r0 and a register store, for devices
   * without them. r0 is scratch wherever the generator and the targets here store a constant
   * (never a base register or a live value then); a store based on r0 is refused.
   */
  storeImmediates(allowed: boolean): void {
    this.#immediateStores = allowed;
  }

  emit(...instructions: Instruction[]): void {
    if (!this.#immediateStores) instructions = instructions.flatMap(throughRegister);
    for (const ins of instructions) {
      if (ins.reference !== undefined) this.#referenced.add(ins.reference);
      this.#items.push(this.#source === undefined ? ins : ins.withSource(this.#source));
      this.#origins.push(this.#origin);
    }
  }

  /**
   * Places a label. A `goto` to it right before is dropped: falling through does the same and
   * the verifier would otherwise see a jump of zero.
   */
  label(name: string): void {
    const last = this.#items.at(-1);
    if (last instanceof Instruction && last.opcode === Opcode.JA && last.reference === name) {
      this.#items.pop();
      this.#origins.pop();
    }
    this.#items.push(label(name));
    this.#origins.push(undefined);
  }

  /** A label name no other call returns; `hint` makes disassembly readable. */
  fresh(hint: string): string {
    this.#labels += 1;
    return `.${hint}${this.#labels}`;
  }

  /** True when some emitted jump targets `name`. */
  isReferenced(name: string): boolean {
    return this.#referenced.has(name);
  }

  get items(): readonly AsmItem[] {
    return this.#items;
  }

  /**
   * Jump threading and dead-code removal, once everything is emitted: a jump to a `goto X`
   * goes to X directly (so `if (c) return PASS` is one conditional jump), then instructions no
   * path reaches are dropped (the verifier rejects them), with labels nothing jumps to.
   */
  optimize(): void {
    const items = this.#items;
    const labelAt = new Map<string, number>();
    items.forEach((item, index) => {
      if (isLabel(item)) labelAt.set(item.name, index);
      else if (item instanceof Instruction && item.symbol !== undefined) labelAt.set(item.symbol, index);
    });
    const instructionAt = (index: number): { ins: Instruction; at: number } | undefined => {
      for (let i = index; i < items.length; i++) {
        const item = items[i];
        if (item instanceof Instruction) return { ins: item, at: i };
      }
      return undefined;
    };
    const finalTarget = (name: string): string => {
      let target = name;
      for (let hops = 0; hops < 16; hops++) {
        const next = instructionAt(labelAt.get(target) ?? items.length)?.ins;
        if (next === undefined || next.opcode !== Opcode.JA || next.reference === undefined || next.reference === target) break;
        target = next.reference;
      }
      return target;
    };
    items.forEach((item, index) => {
      if (!(item instanceof Instruction) || item.reference === undefined || !isJump(item)) return;
      const target = finalTarget(item.reference);
      if (target !== item.reference) items[index] = item.with({ reference: target });
    });
    this.#peephole();

    labelAt.clear();
    items.forEach((item, index) => {
      if (isLabel(item)) labelAt.set(item.name, index);
      else if (item instanceof Instruction && item.symbol !== undefined) labelAt.set(item.symbol, index);
    });
    const reached = new Array<boolean>(items.length).fill(false);
    const work = [0];
    while (work.length > 0) {
      const found = instructionAt(work.pop()!);
      if (found === undefined || reached[found.at]) continue;
      reached[found.at] = true;
      const { ins, at } = found;
      if (ins.reference !== undefined && isJump(ins)) work.push(labelAt.get(ins.reference)!);
      const isExit = ins.opcode === Opcode.EXIT;
      if (!isExit && ins.opcode !== Opcode.JA) work.push(at + 1);
    }
    const referenced = new Set<string>();
    items.forEach((item, index) => {
      if (item instanceof Instruction && reached[index] && item.reference !== undefined) referenced.add(item.reference);
    });
    const keptItems: AsmItem[] = [];
    const keptOrigins: (Origin | undefined)[] = [];
    items.forEach((item, index) => {
      const keep = isLabel(item) ? referenced.has(item.name) : reached[index];
      if (!keep) return;
      // A goto straight to the label that follows it is a jump of zero.
      const last = keptItems.at(-1);
      if (isLabel(item) && last instanceof Instruction && last.opcode === Opcode.JA && last.reference === item.name) {
        keptItems.pop();
        keptOrigins.pop();
      }
      keptItems.push(item);
      keptOrigins.push(this.#origins[index]);
    });
    this.#items.splice(0, this.#items.length, ...keptItems);
    this.#origins.splice(0, this.#origins.length, ...keptOrigins);
  }

  /**
   * Two local rewrites that only ever remove instructions:
   * - `if c goto L; goto X; L:` becomes `if !c goto X; L:` (an `if (c) return PASS` the IR
   *   wrote as a jump over the return);
   * - `*(u64 *)(r10 + k) = rA; rA = *(u64 *)(r10 + k)` loses the load, which reads back what
   *   rA still holds.
   * Neither fires across a label between the two instructions, which another jump could reach.
   */
  #peephole(): void {
    const items = this.#items;
    const drop = new Set<number>();
    const nextInstruction = (from: number): number | undefined => {
      for (let i = from; i < items.length; i++) if (items[i] instanceof Instruction) return i;
      return undefined;
    };
    for (let i = 0; i + 1 < items.length; i++) {
      const first = items[i];
      const second = items[i + 1];
      if (!(first instanceof Instruction) || !(second instanceof Instruction) || second.symbol !== undefined) continue;
      if (
        first.opcode === STORE_DW &&
        second.opcode === LOAD_DW &&
        first.dst === 10 &&
        second.src === 10 &&
        first.offset === second.offset &&
        first.src === second.dst
      ) {
        drop.add(i + 1);
        continue;
      }
      if (first.reference === undefined || second.opcode !== Opcode.JA || second.reference === undefined) continue;
      // The labels right after the goto, up to the next instruction: one must be the jump's target.
      const after = nextInstruction(i + 2) ?? items.length;
      let landsAfter = false;
      for (let k = i + 2; k < after; k++) {
        const item = items[k];
        if (isLabel(item) && item.name === first.reference) landsAfter = true;
      }
      const after0 = items[after];
      if (after0 instanceof Instruction && after0.symbol === first.reference) landsAfter = true;
      const negated = landsAfter ? negatedJump(first) : undefined;
      if (negated === undefined) continue;
      items[i] = negated.with({ reference: second.reference });
      drop.add(i + 1);
      i++;
    }
    if (drop.size === 0) return;
    const keptItems = items.filter((_, index) => !drop.has(index));
    const keptOrigins = this.#origins.filter((_, index) => !drop.has(index));
    this.#items.splice(0, this.#items.length, ...keptItems);
    this.#origins.splice(0, this.#origins.length, ...keptOrigins);
  }

  /** Origins by slot, one entry where the origin changes, the first at slot 0. */
  origins(): SlotOrigin[] {
    const out: SlotOrigin[] = [];
    let slot = 0;
    let previous: Origin | undefined;
    this.#items.forEach((item, index) => {
      if (isLabel(item)) return;
      const origin = this.#origins[index] ?? { section: 'prologue' };
      if (origin !== previous) {
        out.push({ slot, ...origin });
        previous = origin;
      }
      slot += (item as Instruction).slots;
    });
    return out;
  }

  /** Slots of the program as assembled. */
  get slotCount(): number {
    let slots = 0;
    for (const item of this.#items) if (!isLabel(item)) slots += (item as Instruction).slots;
    return slots;
  }
}
