import { AluCode, AtomicCode, CallSrc, Endian, InsnClass, Instruction, JumpCode, Mode, Opcode, PseudoSrc, Source } from '@syrup/backend-ebpf/asm';

/**
 * The NFP JIT's instruction whitelist (drivers/net/ethernet/netronome/nfp/bpf/jit.c,
 * `instr_cb[]`, and the checks of bpf/verifier.c), as a rule over one eBPF instruction:
 * returns what the instruction is, for the sentence, or undefined when the JIT takes it.
 *
 * What a rule over one instruction cannot see is checked elsewhere: that multiplier and
 * dividend are proven at most 2^32-1 (the code generator's `u32-operands` lowering builds them
 * so), that no map value is both read and atomically added and that counters are only ever
 * initialised to zero (validate-for-nfp.ts), and the stack and packet reach (the profile).
 */
export function nfpInstructionRule(ins: Instruction): string | undefined {
  const cls = ins.opcode & 0x07;
  const code = ins.opcode & 0xf0;
  const imm = Number(ins.imm);
  if (cls === InsnClass.ALU || cls === InsnClass.ALU64) {
    if (code === AluCode.MOD) return 'a remainder instruction (the NFP JIT has none)';
    if (code === AluCode.DIV && (ins.opcode & 0x08) === Source.X) return 'a division by a register (the NFP divides only by constants)';
    if (code === AluCode.DIV && imm < 0) return 'a division by a negative constant';
    // cpu-v4 reuses the opcodes of MOV and DIV with a non-zero offset (MOVSX, SDIV); the NFP JIT never reads it.
    if ((code === AluCode.DIV || code === AluCode.MOV) && ins.offset !== 0) return 'a cpu-v4 signed move or division';
    if (code === AluCode.MUL && cls === InsnClass.ALU64 && (ins.opcode & 0x08) === Source.K && imm < 0) return 'a 64-bit multiplication by a negative constant';
    if (code === AluCode.END && (cls === InsnClass.ALU64 || (ins.opcode & 0x08) !== Endian.TO_BE)) return 'a byte swap other than to big-endian';
    return undefined;
  }
  if (cls === InsnClass.ST) return 'an immediate store (BPF_ST)';
  if (cls === InsnClass.LDX && (ins.opcode & 0xe0) === Mode.MEMSX) return 'a cpu-v4 sign-extending load';
  if (cls === InsnClass.STX && (ins.opcode & 0xe0) === Mode.ATOMIC && imm !== AtomicCode.ADD) return 'an atomic operation other than a plain add';
  if (ins.opcode === Opcode.LD_IMM64 && ins.src !== PseudoSrc.NONE && ins.src !== PseudoSrc.MAP_FD) return 'a 64-bit load of a map value address or kernel symbol';
  if (cls === InsnClass.JMP32 && code === JumpCode.JA) return 'a cpu-v4 32-bit jump';
  if (ins.opcode === 0xe5) return 'a may_goto';
  if (ins.opcode === Opcode.CALL && ins.src === CallSrc.KFUNC) return 'a kfunc call';
  return undefined;
}
