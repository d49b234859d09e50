import { SyrupError } from '../errors/syrup-error.js';
import { evalBinary, evalCompare, evalUnary, isCommutative, swapCompare } from '../ir/ir-semantics.js';
import type { BinaryOp, CompareOp, IrInsn, Operand, SourcePosition, UnaryOp, VReg } from '../ir/policy-ir.js';

/**
 * Raised when the program grows past the instruction budget. Internal: the lowerer catches it
 * and refuses the policy at `pos` with a PolicyCompileError, so it never reaches a caller.
 */
export class IrBudgetExceeded extends SyrupError<'IR_BUDGET_EXCEEDED'> {
  override readonly name = 'IrBudgetExceeded';

  constructor(readonly pos: SourcePosition | undefined) {
    super('IR_BUDGET_EXCEEDED', 'the policy needs more IR instructions than the budget allows.');
  }
}

/**
 * Emits IR while keeping track of reachability: code after a `return` or `jump` is not emitted
 * until a label that some emitted jump targets. The front end only jumps forward (loops are
 * unrolled), so when a label is placed every jump to it is already known, and dead code never
 * reaches the output (the kernel verifier refuses unreachable instructions). Dead code is
 * still walked by the lowerer, so it is checked like live code.
 */
export class IrBuilder {
  readonly insns: IrInsn[] = [];
  #registers = 0;
  #labels = 0;
  #reachable = true;
  readonly #referenced = new Set<string>();

  constructor(private readonly maxInsns: number) {}

  get registerCount(): number {
    return this.#registers;
  }

  get reachable(): boolean {
    return this.#reachable;
  }

  get size(): number {
    return this.insns.length;
  }

  newReg(): VReg {
    return this.#registers++;
  }

  newLabel(): string {
    return `L${this.#labels++}`;
  }

  /** How many labels have been named; {@link forgetLabels} takes it back to this mark. */
  get labelMark(): number {
    return this.#labels;
  }

  /**
   * Reuses the names of the labels named since `mark`, for a walk that emitted nothing and is
   * walked again (a constant evaluation that found no constant), so its labels leave no gap.
   */
  forgetLabels(mark: number): void {
    for (let i = mark; i < this.#labels; i++) {
      if (this.#referenced.has(`L${i}`)) throw new Error(`label L${i} is already the target of a jump`);
    }
    this.#labels = mark;
  }

  emit(insn: IrInsn): void {
    if (!this.#reachable) return;
    if (this.insns.length >= this.maxInsns) throw new IrBudgetExceeded(insn.pos);
    this.insns.push(insn);
  }

  binary(kind: BinaryOp, a: Operand, b: Operand, pos: SourcePosition): Operand {
    if (typeof a === 'bigint' && typeof b === 'bigint') return evalBinary(kind, a, b);
    const identity = typeof b === 'bigint' ? simplify(kind, a, b) : undefined;
    if (identity !== undefined) return identity;
    const dst = this.newReg();
    // Immediates go second where the result allows it; eBPF ALU ops take `reg op imm`.
    if (typeof a === 'bigint' && isCommutative(kind)) this.emit({ op: 'binary', kind, dst, a: b, b: a, pos });
    else this.emit({ op: 'binary', kind, dst, a, b, pos });
    return dst;
  }

  unary(kind: UnaryOp, a: Operand, pos: SourcePosition): Operand {
    if (typeof a === 'bigint') return evalUnary(kind, a);
    const dst = this.newReg();
    this.emit({ op: 'unary', kind, dst, a, pos });
    return dst;
  }

  compare(kind: CompareOp, a: Operand, b: Operand, pos: SourcePosition): Operand {
    if (typeof a === 'bigint' && typeof b === 'bigint') return evalCompare(kind, a, b) ? 1n : 0n;
    const dst = this.newReg();
    if (typeof a === 'bigint') this.emit({ op: 'compare', kind: swapCompare(kind), dst, a: b, b: a, pos });
    else this.emit({ op: 'compare', kind, dst, a, b, pos });
    return dst;
  }

  mov(dst: VReg, src: Operand, pos: SourcePosition): void {
    if (src === dst) return;
    this.emit({ op: 'mov', dst, src, pos });
  }

  jump(target: string, pos: SourcePosition): void {
    if (!this.#reachable) return;
    this.emit({ op: 'jump', target, pos });
    this.#referenced.add(target);
    this.#reachable = false;
  }

  jumpIf(kind: CompareOp, a: Operand, b: Operand, target: string, pos: SourcePosition): void {
    if (!this.#reachable) return;
    if (typeof a === 'bigint' && typeof b === 'bigint') {
      if (evalCompare(kind, a, b)) this.jump(target, pos);
      return;
    }
    if (typeof a === 'bigint') this.emit({ op: 'jump-if', kind: swapCompare(kind), a: b, b: a, target, pos });
    else this.emit({ op: 'jump-if', kind, a, b, target, pos });
    this.#referenced.add(target);
  }

  /** Places a label; code after it is live again when an emitted jump targets it. */
  label(label: string, pos: SourcePosition): void {
    if (!this.#referenced.has(label)) return;
    this.#reachable = true;
    this.emit({ op: 'label', label, pos });
  }

  /** Emits a `return` (or any instruction that ends the path) and marks what follows dead. */
  terminate(insn: IrInsn): void {
    this.emit(insn);
    this.#reachable = false;
  }

  /** Walks code that can never run (to check it) without emitting it; restores reachability after. */
  dead<T>(walk: () => T): T {
    const saved = this.#reachable;
    this.#reachable = false;
    try {
      return walk();
    } finally {
      this.#reachable = saved;
    }
  }

  /** The instruction list after dropping jumps to the very next instruction and unused labels. */
  finish(): IrInsn[] {
    let insns = this.insns;
    for (let changed = true; changed; ) {
      changed = false;
      const kept: IrInsn[] = [];
      for (let i = 0; i < insns.length; i++) {
        const insn = insns[i] as IrInsn;
        if ((insn.op === 'jump' || insn.op === 'jump-if') && fallsThroughTo(insns, i + 1, insn.target)) {
          changed = true;
          continue;
        }
        kept.push(insn);
      }
      const targets = new Set<string>();
      for (const insn of kept) if (insn.op === 'jump' || insn.op === 'jump-if') targets.add(insn.target);
      insns = kept.filter((insn) => insn.op !== 'label' || targets.has(insn.label));
      if (insns.length !== kept.length) changed = true;
    }
    return insns;
  }
}

function fallsThroughTo(insns: readonly IrInsn[], from: number, label: string): boolean {
  for (let i = from; i < insns.length; i++) {
    const insn = insns[i] as IrInsn;
    if (insn.op !== 'label') return false;
    if (insn.label === label) return true;
  }
  return false;
}

/** `x op k` that needs no instruction (unrolled loops produce many `i + 0`), by the IR's own semantics. */
function simplify(kind: BinaryOp, a: Operand, b: bigint): Operand | undefined {
  if (b === 0n) {
    if (kind === 'add' || kind === 'sub' || kind === 'or' || kind === 'xor' || kind === 'shl' || kind === 'shr' || kind === 'mod') return a;
    if (kind === 'mul' || kind === 'and' || kind === 'div') return 0n;
  }
  if (b === 1n && (kind === 'mul' || kind === 'div')) return a;
  return undefined;
}
