import { AsmError } from './asm-error.js';
import { Instruction } from './instruction.js';
import { INSTRUCTION_SIZE, Opcode } from './opcode.js';

/**
 * Decodes little-endian instruction bytes (our own encoding, or a kernel dump such as xlated
 * instructions) into instructions. Jumps keep their numeric offsets and map loads their raw fds;
 * no labels or map names are invented.
 *
 * Decoding is structural: any opcode byte is accepted, so that a disassembly can show what is
 * there. Only the two-slot LD_IMM64 is checked, since its second slot must be present and empty.
 */
export function decode(bytes: Uint8Array): Instruction[] {
  if (bytes.byteLength % INSTRUCTION_SIZE !== 0) {
    throw new AsmError(
      'ASM_TRUNCATED',
      `a program of ${String(bytes.byteLength)} bytes is not a whole number of 8-byte instructions.`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const slots = bytes.byteLength / INSTRUCTION_SIZE;
  const out: Instruction[] = [];
  for (let slot = 0; slot < slots; slot++) {
    const at = slot * INSTRUCTION_SIZE;
    const opcode = view.getUint8(at);
    const regs = view.getUint8(at + 1);
    const dst = regs & 0x0f;
    const src = regs >> 4;
    const offset = view.getInt16(at + 2, true);
    if (opcode !== Opcode.LD_IMM64) {
      out.push(new Instruction({ opcode, dst, src, offset, imm: view.getInt32(at + 4, true) }));
      continue;
    }
    if (slot + 1 >= slots) {
      throw new AsmError('ASM_TRUNCATED', `the LD_IMM64 at instruction ${String(slot)} is missing its second slot.`);
    }
    const next = at + INSTRUCTION_SIZE;
    if (view.getUint8(next) !== 0 || view.getUint8(next + 1) !== 0 || view.getInt16(next + 2, true) !== 0) {
      throw new AsmError(
        'ASM_MALFORMED_LD_IMM64',
        `the second slot of the LD_IMM64 at instruction ${String(slot)} has fields other than imm set.`,
      );
    }
    const low = BigInt(view.getUint32(at + 4, true));
    const high = BigInt(view.getUint32(next + 4, true));
    out.push(new Instruction({ opcode, dst, src, offset, imm: (high << 32n) | low }));
    slot++;
  }
  return out;
}
