/**
 * Reading the verifier's log (kernel/bpf/verifier.c and log.c), pure and kernel-free.
 *
 * The log interleaves register states (`3: R0=pkt(r=0) R1=...`), the instructions the
 * verifier walked (`3: (71) r0 = *(u8 *)(r2 +14)`), source lines from BTF line info
 * (`; return pkt[0]; @ policy.ts:2`), and finally the complaint and a statistics trailer
 * (`processed 4 insns (limit 1000000) ...`). The complaint follows the last instruction the
 * verifier looked at, which is the one it rejected.
 */

export interface ParsedVerifierLog {
  /** The log split into lines, without the trailing empty line. */
  readonly lines: readonly string[];
  /** Slot index of the last instruction line, `N: (op) ...`: where verification stopped. */
  readonly failingInstruction: number | undefined;
  /** The verifier's own text of that instruction, without the index. */
  readonly failingInstructionText: string | undefined;
  /** The last line that says what is wrong, e.g. `R0 !read_ok`. */
  readonly summary: string | undefined;
  /** The source the log printed for the failing instruction (`; text @ file:line`), if any. */
  readonly sourceLine: { readonly text: string; readonly file: string; readonly line: number } | undefined;
  /**
   * True when the trailer (`processed N insns`) is missing, which means the log was cut off
   * and the complaint may be lost (bpftrace's is_log_trimmed).
   */
  readonly truncated: boolean;
}

const INSTRUCTION_LINE = /^(\d+): (\([0-9a-f]{2}\).*)$/;
const STATE_LINE = /^\d+: (?:R\d|frame\d|\(|fp-)/;
const SOURCE_LINE = /^; (.*) @ (.+):(\d+)$/;
const BOILERPLATE = [
  /^processed \d+ insns/,
  /^verification time \d+/,
  /^stack depth /,
  /^mark_precise: /,
  /^last_idx \d+ first_idx \d+/,
  /^regs=/,
  /^from \d+ to \d+: /,
  /^(?:func#\d+ @\d+|Live regs before insn:)/,
  /^\s*$/,
];

/** Splits a NUL-terminated log buffer into text. */
export function logText(buffer: Uint8Array): string {
  const end = buffer.indexOf(0);
  return new TextDecoder().decode(end < 0 ? buffer : buffer.subarray(0, end));
}

export function parseVerifierLog(text: string): ParsedVerifierLog {
  const lines = text.split('\n');
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();

  let failingIndex = -1;
  let failingInstruction: number | undefined;
  let failingInstructionText: string | undefined;
  for (let i = lines.length - 1; i >= 0; i--) {
    const match = INSTRUCTION_LINE.exec(lines[i] ?? '');
    if (match !== null) {
      failingIndex = i;
      failingInstruction = Number(match[1]);
      failingInstructionText = match[2];
      break;
    }
  }

  let sourceLine: ParsedVerifierLog['sourceLine'];
  for (let i = failingIndex - 1; i >= 0; i--) {
    const line = lines[i] ?? '';
    const match = SOURCE_LINE.exec(line);
    if (match !== null) {
      sourceLine = { text: match[1] ?? '', file: match[2] ?? '', line: Number(match[3]) };
      break;
    }
    // Only the source printed right before the instruction (state lines may sit between) belongs to it.
    if (INSTRUCTION_LINE.test(line)) break;
  }

  let summary: string | undefined;
  for (let i = lines.length - 1; i > failingIndex; i--) {
    const line = lines[i] ?? '';
    if (isMeaningful(line)) {
      summary = line.trim();
      break;
    }
  }
  // Errors raised before the walk (a bad opcode, a missing license) have no instruction line.
  if (summary === undefined) {
    for (let i = lines.length - 1; i >= 0; i--) {
      const line = lines[i] ?? '';
      if (isMeaningful(line) && !INSTRUCTION_LINE.test(line)) {
        summary = line.trim();
        break;
      }
    }
  }

  const truncated = lines.length > 0 && !lines.some((l) => /^processed \d+ insns/.test(l));
  return { lines, failingInstruction, failingInstructionText, summary, sourceLine, truncated };
}

function isMeaningful(line: string): boolean {
  if (BOILERPLATE.some((pattern) => pattern.test(line))) return false;
  if (STATE_LINE.test(line) || line.startsWith('; ')) return false;
  return true;
}
