import { disassemble } from '../asm/disasm.js';
import type { ProgramSpec } from './program-spec.js';

/** A program's instructions as the kernel's disassembler prints them, one line each, with their policy source positions. */
export function programListing(spec: Pick<ProgramSpec, 'instructions'>): string[] {
  return disassemble(spec.instructions, { sources: true }).split('\n');
}
