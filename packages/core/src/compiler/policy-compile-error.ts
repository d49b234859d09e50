import { SyrupError } from '../errors/syrup-error.js';

/**
 * A policy module the front end cannot compile. The message is exactly
 * `file:line:column: reason` on one line (1-based line and column of the offending node's
 * start), so editors and terminals can jump to it; the parts are also kept as fields.
 */
export class PolicyCompileError extends SyrupError {
  override name = 'PolicyCompileError';
  readonly fileName: string;
  readonly line: number;
  readonly column: number;
  readonly reason: string;

  constructor(fileName: string, line: number, column: number, reason: string, options?: { cause?: unknown }) {
    const oneLine = reason.replace(/\s*[\r\n]+\s*/g, ' ');
    super('POLICY_COMPILE', `${fileName}:${line}:${column}: ${oneLine}`, options);
    this.fileName = fileName;
    this.line = line;
    this.column = column;
    this.reason = oneLine;
  }
}
