import { SyrupError } from '../errors/syrup-error.js';

/**
 * Stable codes of the front end's refusals: `POLICY_TOO_DEEP` when the policy nests deeper
 * than the front end goes (brackets, statements, expressions or inlined calls past
 * `POLICY_LIMITS.maxNestingDepth`, or past what the parser's stack holds), `POLICY_COMPILE`
 * for everything else outside the policy language.
 */
export type PolicyCompileErrorCode = 'POLICY_COMPILE' | 'POLICY_TOO_DEEP';

/**
 * A policy module the front end cannot compile. The message is exactly
 * `file:line:column: reason` on one line (1-based line and column of the offending node's
 * start), so editors and terminals can jump to it; the parts are also kept as fields.
 */
export class PolicyCompileError extends SyrupError {
  override name = 'PolicyCompileError';
  declare readonly code: PolicyCompileErrorCode;
  readonly fileName: string;
  readonly line: number;
  readonly column: number;
  readonly reason: string;

  constructor(fileName: string, line: number, column: number, reason: string, options?: { cause?: unknown; code?: PolicyCompileErrorCode }) {
    const oneLine = reason.replace(/\s*[\r\n]+\s*/g, ' ');
    super(options?.code ?? 'POLICY_COMPILE', `${fileName}:${line}:${column}: ${oneLine}`, options?.cause === undefined ? undefined : { cause: options.cause });
    this.fileName = fileName;
    this.line = line;
    this.column = column;
    this.reason = oneLine;
  }
}
