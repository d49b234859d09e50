import { LowLevelError } from '@syrup/errors';
import type { SourceLocation } from '../asm/index.js';
import { errnoName, type ErrnoCode } from '../errors/errno.js';

export interface VerifierErrorDetails {
  readonly programName: string;
  readonly errno: number;
  readonly log: readonly string[];
  readonly summary: string | undefined;
  readonly failingInstruction: number | undefined;
  /** Our own disassembly of the failing slot, `(71) r0 = *(u8 *)(r2 +14)`. */
  readonly instruction: string | undefined;
  readonly source: SourceLocation | undefined;
  readonly truncated: boolean;
  readonly cause?: unknown;
}

export interface VerifierLogFormat {
  /** Print only the first `head` lines. */
  readonly head?: number;
  /** Print only the last `tail` lines (combined with `head`, both ends). */
  readonly tail?: number;
}

/**
 * The kernel's verifier refused a program. The error is data (cilium/ebpf's VerifierError):
 * the errno, the log split into lines, the slot the verifier stopped at with our own
 * disassembly of it, and the policy source it came from when the instructions or BTF line
 * info say. `message` is one sentence built from the verifier's last complaint; the full
 * log is one `format()` away.
 */
export class VerifierError extends LowLevelError<'VERIFIER_REJECTED'> {
  override readonly name = 'VerifierError';
  readonly errno: number;
  readonly errnoName: ErrnoCode;
  readonly programName: string;
  readonly log: readonly string[];
  /** The verifier's last meaningful line, e.g. `R0 !read_ok`, or a fallback when the log has none. */
  readonly summary: string;
  readonly failingInstruction: number | undefined;
  readonly instruction: string | undefined;
  readonly source: SourceLocation | undefined;
  /** The log was cut short (its statistics trailer is missing). */
  readonly truncated: boolean;

  constructor(details: VerifierErrorDetails) {
    const summary = details.summary ?? `the verifier refused the program with ${errnoName(details.errno)} and gave no reason`;
    const at =
      details.failingInstruction === undefined
        ? ''
        : ` at instruction ${details.failingInstruction}${details.instruction === undefined ? '' : ` (${details.instruction})`}`;
    const where = details.source === undefined ? '' : ` from ${formatSource(details.source)}`;
    super('VERIFIER_REJECTED', `program '${details.programName}' was rejected by the verifier${at}${where}: ${summary}.`, { cause: details.cause });
    this.errno = details.errno;
    this.errnoName = errnoName(details.errno);
    this.programName = details.programName;
    this.log = details.log;
    this.summary = summary;
    this.failingInstruction = details.failingInstruction;
    this.instruction = details.instruction;
    this.source = details.source;
    this.truncated = details.truncated;
  }

  /** The log as text: all of it, or its first `head` and/or last `tail` lines with a count of what was left out. */
  format(options: VerifierLogFormat = {}): string {
    const { head, tail } = options;
    const lines = this.log;
    if ((head === undefined && tail === undefined) || (head ?? 0) + (tail ?? 0) >= lines.length) return lines.join('\n');
    const first = lines.slice(0, head ?? 0);
    const last = tail === undefined || tail === 0 ? [] : lines.slice(-tail);
    const omitted = lines.length - first.length - last.length;
    return [...first, `... (${omitted} line${omitted === 1 ? '' : 's'} omitted)`, ...last].join('\n');
  }
}

export function formatSource(source: SourceLocation): string {
  return `${source.file}:${source.line}:${source.column}`;
}
